"""The GitHub Actions workflows: valid YAML, with the triggers, jobs and steps the project relies on.

PyYAML reads the key ``on`` as the boolean ``True`` (YAML 1.1); ``triggers`` handles both.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def triggers(workflow: dict) -> dict:
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {name: None for name in on}
    return on


def steps(job: dict) -> list[dict]:
    return job["steps"]


def runs(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


def uses(job: dict) -> list[str]:
    return [s["uses"] for s in steps(job) if "uses" in s]


@pytest.mark.parametrize("name", ["tests.yml", "rebuild.yml", "macos.yml"])
def test_workflow_is_valid(name):
    workflow = load(name)
    assert workflow["name"] and triggers(workflow) and workflow["jobs"]
    for job_id, job in workflow["jobs"].items():
        assert "runs-on" in job, job_id
        for step in steps(job):
            assert ("run" in step) != ("uses" in step), f"{job_id}: {step}"
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def test_tests_workflow_runs_ci_on_linux_for_every_push_and_pr():
    workflow = load("tests.yml")
    assert set(triggers(workflow)) == {"push", "pull_request"}
    assert triggers(workflow)["push"] is None  # every branch
    job = workflow["jobs"]["tests"]
    assert job["runs-on"].startswith("ubuntu")
    setup = next(s for s in steps(job) if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    assert "bash .ci/run" in runs(job)
    assert (REPO / ".ci" / "run").is_file()


def test_rebuild_workflow_lists_recipes_into_a_matrix():
    workflow = load("rebuild.yml")
    on = triggers(workflow)
    assert "workflow_dispatch" in on
    assert re.fullmatch(r"[\d*/,-]+( [\d*/,-]+){4}", on["schedule"][0]["cron"])
    jobs = workflow["jobs"]
    assert "pipelines" in runs(jobs["list"]) and "GITHUB_OUTPUT" in runs(jobs["list"])
    assert jobs["list"]["outputs"]["recipes"] == "${{ steps.list.outputs.recipes }}"

    build = jobs["build"]
    assert build["needs"] == "list"
    assert build["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.list.outputs.recipes) }}"
    assert build["strategy"]["fail-fast"] is False
    assert "pip install -e '.[s3]'" in runs(build)
    assert 'python -m pipeline_runner "pipelines/$RECIPE_FILE"' in runs(build)
    setup = next(s for s in steps(build) if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["cache"] == "pip"
    uploads = [s for s in steps(build) if s.get("uses", "").startswith("actions/upload-artifact@")]
    paths = "\n".join(s["with"]["path"] for s in uploads)
    assert "build/${{ matrix.name }}/validation.json" in paths and "build/${{ matrix.name }}/\n" in paths
    assert all(s.get("if") == "always()" for s in uploads)


def test_rebuild_list_step_finds_the_recipes(tmp_path):
    """Run the list step's Python as Actions would, against the real pipelines/."""
    step = next(s for s in load("rebuild.yml")["jobs"]["list"]["steps"] if s.get("id") == "list")
    assert step["shell"] == "python3 {0}"
    output = tmp_path / "output"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "ONLY": ""}
    subprocess.run([sys.executable, "-c", step["run"]], cwd=REPO, env=env, check=True, capture_output=True)
    line = output.read_text().strip()
    assert line.startswith("recipes=")
    recipes = json.loads(line.removeprefix("recipes="))
    files = sorted(p.name for p in (REPO / "pipelines").glob("*.yaml"))
    assert [r["file"] for r in recipes] == files
    assert {"file": "vit.yaml", "name": "vit"} in recipes

    env["ONLY"] = "vit"
    output.unlink()
    subprocess.run([sys.executable, "-c", step["run"]], cwd=REPO, env=env, check=True, capture_output=True)
    assert json.loads(output.read_text().strip().removeprefix("recipes=")) == [{"file": "vit.yaml", "name": "vit"}]


def test_macos_workflow_validates_tests_and_builds_the_app():
    workflow = load("macos.yml")
    job = workflow["jobs"]["macos"]
    package = (REPO / "ios_app" / "ModelKit" / "Package.swift").read_text(encoding="utf-8")
    assert package.startswith("// swift-tools-version: 6.0")
    assert job["runs-on"] == "macos-15"  # Xcode 16: the first with the Swift 6 toolchain
    commands = runs(job)
    order = [
        "pip install -e .",
        "python -m pipeline_runner pipelines/vit.yaml",
        "python -m pipeline_runner pipelines/custom_transformer.yaml",
        "swift test --package-path ios_app/ModelKit",
        "brew install xcodegen",
        "ios_app/scripts/copy_models.py",
        "xcodegen generate --spec ios_app/project.yml",
        "xcodebuild build",
    ]
    positions = [commands.index(c) for c in order]
    assert positions == sorted(positions)
    build = next(s["run"] for s in steps(job) if "xcodebuild build" in s.get("run", ""))
    assert "-scheme ModelDemo" in build
    assert "-destination 'generic/platform=iOS Simulator'" in build
    assert "CODE_SIGNING_ALLOWED=NO" in build
    assert "-project ios_app/ModelDemo.xcodeproj" in build


def test_macos_workflow_matches_the_app_project():
    project = yaml.safe_load((REPO / "ios_app" / "project.yml").read_text(encoding="utf-8"))
    assert project["name"] == "ModelDemo" and "ModelDemo" in project["targets"]
    assert (REPO / "ios_app" / "ModelKit" / "Package.swift").is_file()
    assert (REPO / "ios_app" / "scripts" / "copy_models.py").is_file()


def test_workflows_share_the_pipeline_cache():
    """Builds in CI pull stages from the shared cache; pull requests only read it."""
    build = load("rebuild.yml")["jobs"]["build"]
    assert "PIPELINE_RUNNER_CACHE" in build["env"]
    cache_step = next(s for s in steps(build) if s.get("uses", "").startswith("actions/cache@"))
    assert cache_step["with"]["path"] == ".pipeline-cache"
    assert build["env"]["PIPELINE_RUNNER_CACHE"].endswith("format('{0}/.pipeline-cache', github.workspace) }}")
    job = load("tests.yml")["jobs"]["tests"]
    ci = next(s for s in steps(job) if "bash .ci/run" in s.get("run", ""))
    assert ci["env"]["PIPELINE_RUNNER_CACHE"].endswith("/.pipeline-cache")
    assert "pull_request" in ci["env"]["PIPELINE_RUNNER_CACHE_MODE"] and "read-only" in ci["env"]["PIPELINE_RUNNER_CACHE_MODE"]
    assert any(s.get("uses", "").startswith("actions/cache@") and s["with"]["path"] == ".pipeline-cache"
               for s in steps(job))
