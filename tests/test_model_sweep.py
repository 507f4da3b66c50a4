"""The model sweep's CI subset: a timm CNN, EdgeNeXt (CumSum), a torchvision model and a Transformers
encoder, each written as a recipe on the fly and run through the runner in its own process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_sweep_recipes_are_valid(tmp_path):
    from tools.model_sweep.worker import recipe_for

    from pipeline_runner.recipe import load_recipe

    import yaml

    entry = {"id": "transformers:BertModel", "source": "transformers", "architecture": "BertModel",
             "kind": "text", "params": {"hidden_size": 8}}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe_for(entry)))
    recipe = load_recipe(path)
    assert recipe.graphs[0].inputs[0].dtype == "int32"


@pytest.mark.timeout(3600)
def test_fast_sweep_builds_and_verifies(tmp_path):
    out = tmp_path / "coverage.md"
    proc = subprocess.run([sys.executable, "-m", "tools.model_sweep", "--fast", "--work", str(tmp_path / "sweep"),
                           "--out", str(out), "--only", "timm:edgenext", "transformers:BertModel"],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = [json.loads(p.read_text()) for p in (tmp_path / "sweep" / "results_fast").glob("*.json")]
    assert {r["id"] for r in results} == {"timm:edgenext", "transformers:BertModel"}
    failed = {r["id"]: r.get("reason") for r in results if not r["ok"]}
    assert not failed, failed
    table = out.read_text()
    assert "2 of 2 models run (100 %) built and Core ML-verified" in table and "edgenext_xx_small" in table
