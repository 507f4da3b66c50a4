"""Shared fixtures: tiny recipes written into tmp_path, and a runner that calls the CLI in-process."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

TINY_VIT = """\
name: tiny_vit
model:
  source: builtin
  architecture: vit
  params: {image_size: 32, patch_size: 8, num_classes: 10, dim: 32, depth: 2, heads: 4}
inputs:
  - name: image
    shape: [1, 3, 32, 32]
    dynamic_axes: {0: batch}
    image: {mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3]}
outputs:
  - name: logits
    kind: logits
export:
  opset: 17
convert:
  precision: fp32
ios:
  class_name: TinyViT
  wrapper: image_classifier
validate:
  samples: 2
"""


@pytest.fixture
def write_recipe(tmp_path):
    """write_recipe(text, name="recipe.yaml") -> path of the written recipe."""

    def write(text: str, name: str = "recipe.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def run_cli(tmp_path, capsys):
    """run_cli(*args) -> (exit code, stdout, stderr) of `pipeline-runner ARGS`, build dir in tmp_path."""
    from pipeline_runner.cli import main

    def run(*args: str, build: bool = True):
        argv = [str(a) for a in args]
        if build and argv and argv[0] not in ("check", "stages"):
            argv += ["--build-dir", str(tmp_path / "build")]
        code = main(argv)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def built(write_recipe, run_cli, tmp_path):
    """The tiny ViT built once; returns (recipe path, build dir)."""
    path = write_recipe(TINY_VIT)
    code, out, err = run_cli(path)
    assert code == 0, out + err
    assert set(stage_statuses(out).values()) == {"ran"}, out
    return path, tmp_path / "build" / "tiny_vit"


def stage_statuses(stdout: str) -> dict[str, str]:
    """{stage instance: status} from the runner's summary lines."""
    statuses = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ("ran", "cached", "pulled", "failed", "skipped", "will", "would"):
            statuses[parts[0]] = parts[1]
    return statuses


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
