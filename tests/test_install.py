"""The install path a new user takes: runtime dependencies, package data, and CI proving both."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile

from tests.conftest import REPO


def _first_line(lines: list[str], *needles: str) -> int:
    return next(i for i, line in enumerate(lines) if any(n in line for n in needles))


def test_ci_runs_the_main_job_in_a_fresh_venv_before_installing_test_extras():
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    venv = _first_line(lines, "-m venv")
    plain_install = lines.index("pip install -q .")
    main_job = _first_line(lines, "pipeline_runner pipelines")
    assert venv < plain_install < main_job < _first_line(lines, "[test]", "pytest")
    assert "mktemp" in "\n".join(lines[:venv])  # a new directory every run


def test_runtime_dependencies_cover_every_stage():
    deps = " ".join(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    for dist in ("tree-sitter", "tree-sitter-swift", "coremltools", "onnx2coreml", "onnxruntime", "jsonschema"):
        assert dist in deps, dist


def test_wheel_carries_the_schema_and_works_from_any_directory(tmp_path):
    """Build the wheel, install it (no deps: the test venv has them) into a target dir, check from elsewhere."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels), str(REPO)], check=True, capture_output=True, cwd=tmp_path)
    [wheel] = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pipeline_runner/recipe/recipe.schema.json" in names and "pipeline_runner/py.typed" in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import pipeline_runner, sys; from pipeline_runner.cli import main; "
            f"assert pipeline_runner.__file__.startswith({str(target)!r}), pipeline_runner.__file__; "
            f"sys.exit(main(['check', {str(REPO / 'pipelines')!r}]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ok" in out.stdout and "vit.yaml" in out.stdout
