"""Idempotent, cached stages: what reruns after which change, and that a run never leaves a lie behind."""

from __future__ import annotations

import json
import subprocess
import sys


from pipeline_runner.engine.runner import plan
from pipeline_runner.recipe import load_recipe
from tests.conftest import REPO, TINY_VIT, read_json, stage_statuses

ALL = ["build", "export[tiny_vit]", "convert[tiny_vit]", "validate[tiny_vit]", "swift"]


def test_first_run_writes_artifacts_manifest_and_report(built):
    _, build = built
    for rel in ("weights/model.safetensors", "onnx/tiny_vit.onnx", "coreml/tiny_vit.mlpackage",
                "validation/tiny_vit.json", "validation.json", "manifest.json"):
        assert (build / rel).exists(), rel
    manifest = read_json(build / "manifest.json")
    record = manifest["stages"]["export[tiny_vit]"]
    assert record["status"] == "ok" and len(record["key"]) == 64
    assert record["artifacts"]["onnx/tiny_vit.onnx"]["size"] > 0
    assert record["info"]["op_histogram"]["MatMul"] > 0
    assert manifest["stages"]["build"]["info"]["random_weights"] is True
    report = read_json(build / "validation.json")
    assert report["passed"] is True
    onnx = report["graphs"]["tiny_vit"]["checks"]["onnx_vs_pytorch"]["outputs"]["logits"]
    assert onnx["max_abs_error"] < 1e-4 and onnx["cosine_similarity"] > 0.99999


def test_second_run_does_no_work_and_imports_no_ml_library(built, tmp_path):
    path, _ = built
    code = (
        "import sys; from pipeline_runner.cli import main; "
        f"rc = main([{str(path)!r}, '--build-dir', {str(tmp_path / 'build')!r}]); "
        "print('HEAVY', [m for m in ('torch', 'coremltools', 'onnxruntime', 'onnx') if m in sys.modules], rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert stage_statuses(out.stdout) == dict.fromkeys(ALL, "cached"), out.stdout
    assert "HEAVY [] 0" in out.stdout


def test_changing_opset_reruns_exactly_its_dependents(built, run_cli):
    path, _ = built
    path.write_text(path.read_text().replace("opset: 17", "opset: 18"))
    code, out, _ = run_cli(path, "--dry-run")
    assert "key changed: export.opset 17 → 18" in out
    code, out, err = run_cli(path)
    assert code == 0, err
    assert stage_statuses(out) == {"build": "cached", "export[tiny_vit]": "ran",
                                   "convert[tiny_vit]": "ran", "validate[tiny_vit]": "ran", "swift": "ran"}


def test_changing_validation_settings_reruns_only_validate(built, run_cli):
    path, _ = built
    path.write_text(path.read_text().replace("samples: 2", "samples: 3"))
    code, out, _ = run_cli(path)
    assert code == 0
    assert stage_statuses(out) == {**dict.fromkeys(ALL, "cached"), "validate[tiny_vit]": "ran"}


def test_changing_model_params_reruns_everything(built, run_cli):
    path, _ = built
    path.write_text(path.read_text().replace("depth: 2", "depth: 1"))
    code, out, _ = run_cli(path)
    assert code == 0 and stage_statuses(out) == dict.fromkeys(ALL, "ran")


def test_altered_or_missing_artifact_reruns_its_stage(built, run_cli):
    path, build = built
    onnx = build / "onnx" / "tiny_vit.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    code, out, _ = run_cli(path, "--dry-run")
    assert "artifact altered: onnx/tiny_vit.onnx" in out
    code, out, _ = run_cli(path)
    assert stage_statuses(out)["export[tiny_vit]"] == "ran"
    assert stage_statuses(out)["convert[tiny_vit]"] == "cached"
    (build / "weights" / "model.json").unlink()
    code, out, _ = run_cli(path, "--dry-run")
    assert "artifact missing: weights/model.json" in out


def test_touching_an_artifact_without_changing_it_is_not_a_change(built, run_cli):
    path, build = built
    (build / "onnx" / "tiny_vit.onnx").touch()
    code, out, _ = run_cli(path)
    assert stage_statuses(out) == dict.fromkeys(ALL, "cached")


def test_force_one_stage_reruns_it_and_its_consumers(built, run_cli):
    path, _ = built
    code, out, _ = run_cli(path, "--force", "convert")
    assert stage_statuses(out) == {"build": "cached", "export[tiny_vit]": "cached",
                                   "convert[tiny_vit]": "ran", "validate[tiny_vit]": "ran", "swift": "ran"}
    code, out, err = run_cli(path, "--force", "nonsense")
    assert code == 2 and "unknown stage 'nonsense'" in err


def test_corrupt_manifest_is_a_cache_miss_not_a_crash(built, run_cli):
    path, build = built
    (build / "manifest.json").write_text("{not json")
    code, out, _ = run_cli(path, "--dry-run")
    assert code == 0 and "the manifest was unreadable" in out


def test_a_failing_stage_moves_nothing_into_place(built, run_cli, monkeypatch):
    """An exception inside export leaves the old artifact and no 'ok' record for the new key."""
    path, build = built
    import pipeline_runner.export.onnx_export as onnx_export

    def explode(*args, **kwargs):
        out = args[-1]
        out.write_bytes(b"half-written")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(onnx_export, "export_graph", explode)
    before = (build / "onnx" / "tiny_vit.onnx").read_bytes()
    path.write_text(path.read_text().replace("opset: 17", "opset: 18"))
    code, out, err = run_cli(path)
    assert code == 1 and "disk on fire" in err
    assert stage_statuses(out)["convert[tiny_vit]"] == "skipped"
    assert (build / "onnx" / "tiny_vit.onnx").read_bytes() == before
    assert not list((build / ".work").glob("*/onnx/*"))
    record = read_json(build / "manifest.json")["stages"]["export[tiny_vit]"]
    assert record["status"] == "failed"
    monkeypatch.undo()
    code, out, _ = run_cli(path)
    assert code == 0 and stage_statuses(out)["export[tiny_vit]"] == "ran"


def test_validation_outside_tolerance_fails_the_run(built, run_cli):
    path, build = built
    text = path.read_text().replace("  samples: 2", "  samples: 2\n  tolerances:\n    onnx: {max_abs: 1.0e-12}")
    path.write_text(text)
    code, out, err = run_cli(path)
    assert code == 1
    assert "validation failed" in err and "max abs error" in err
    report = read_json(build / "validation.json")
    assert report["passed"] is False
    # A failed validation is not cached: the next run checks again.
    code, out, _ = run_cli(path, "--dry-run")
    assert "last run failed" in out


def test_plan_explains_without_running(built):
    path, build = built
    decisions = plan(load_recipe(path), build)
    assert [d.instance.name for d in decisions] == ALL
    assert all(not d.run and d.reason == "up to date" for d in decisions)


def test_concurrent_runs_do_not_corrupt_the_build(write_recipe, tmp_path):
    path = write_recipe(TINY_VIT)
    cmd = [sys.executable, "-m", "pipeline_runner", str(path), "--build-dir", str(tmp_path / "build")]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    # Exactly one of the two did the work; the other waited for the lock and found it cached.
    ran = [stage_statuses(o[0]).get("export[tiny_vit]") for o in outs]
    assert sorted(ran) == ["cached", "ran"]
    manifest = json.loads((tmp_path / "build" / "tiny_vit" / "manifest.json").read_text())
    assert all(r["status"] == "ok" for r in manifest["stages"].values())


def test_a_stage_that_does_not_write_its_artifact_fails_cleanly(built, run_cli, monkeypatch):
    path, build = built
    import dataclasses

    from pipeline_runner.engine.stage import StageResult
    from pipeline_runner.stages import STAGES

    broken = dataclasses.replace(STAGES["swift"], run=lambda ctx: StageResult(["swift/Nothing.swift"]))
    monkeypatch.setitem(STAGES, "swift", broken)
    code, out, err = run_cli(path, "--force", "swift")
    assert code == 1 and "declared artifacts it did not write: swift/Nothing.swift" in err
    assert read_json(build / "manifest.json")["stages"]["swift"]["status"] == "failed"
