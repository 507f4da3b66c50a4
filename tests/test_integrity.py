"""Cache integrity under tampering, malformed records, full disks and read-only build directories."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import pathlib
import shutil
import signal

import pytest

from pipeline_runner.engine.runner import plan
from pipeline_runner.engine.worker import WORKER_ENV, worker_mode
from pipeline_runner.recipe import load_recipe
from tests.conftest import TINY_VIT, read_json, stage_statuses

ALL = ["build", "export[tiny_vit]", "convert[tiny_vit]", "validate[tiny_vit]", "swift"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The tiny ViT built once for this module."""
    from pipeline_runner.cli import main

    root = tmp_path_factory.mktemp("template")
    (root / "recipe.yaml").write_text(TINY_VIT)
    assert main([str(root / "recipe.yaml"), "--build-dir", str(root / "build"), "--quiet"]) == 0
    return root


@pytest.fixture
def built(template, tmp_path):
    """A private copy of the template build (mtimes kept, so it is as cached as the original)."""
    shutil.copy2(template / "recipe.yaml", tmp_path / "recipe.yaml")
    shutil.copytree(template / "build", tmp_path / "build", symlinks=True)
    return tmp_path / "recipe.yaml", tmp_path / "build" / "tiny_vit"


def _snapshot(root: pathlib.Path) -> dict:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in [root, *root.rglob("*")]}


def test_a_no_op_run_writes_nothing(built, run_cli):
    path, build = built
    before = _snapshot(build)
    code, out, err = run_cli(path)
    assert code == 0 and stage_statuses(out) == dict.fromkeys(ALL, "cached"), out + err
    assert _snapshot(build) == before  # so it also works where nothing may be written


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_a_no_op_run_on_a_read_only_build_dir(built, run_cli):
    path, build = built
    modes = {p: p.stat().st_mode for p in [build, *build.rglob("*")]}
    try:
        for p in modes:
            p.chmod(p.stat().st_mode & ~0o222)
        code, out, err = run_cli(path)
        assert code == 0, out + err
    finally:
        for p, mode in sorted(modes.items(), key=lambda kv: len(kv[0].parts)):
            p.chmod(mode)


def test_validate_and_swift_leave_the_core_ml_package_untouched(built):
    _, build = built
    manifest = read_json(build / "manifest.json")["stages"]
    recorded = manifest["convert[tiny_vit]"]["artifacts"]["coreml/tiny_vit.mlpackage"]
    from pipeline_runner.engine.cache import stamp

    assert stamp(build / "coreml/tiny_vit.mlpackage") == (recorded["size"], recorded["mtime_ns"])


def test_a_stage_that_modifies_an_upstream_artifact_fails_as_a_bug(built, run_cli, monkeypatch):
    path, build = built
    from pipeline_runner.stages import STAGES

    original = STAGES["swift"].run

    def rewrites_upstream(ctx):
        (ctx.existing("coreml/tiny_vit.mlpackage") / "Manifest.json").touch()
        return original(ctx)

    monkeypatch.setitem(STAGES, "swift", dataclasses.replace(STAGES["swift"], run=rewrites_upstream))
    code, out, err = run_cli(path, "--force", "swift")
    assert code == 1 and "modified upstream artifact coreml/tiny_vit.mlpackage" in err, err


def test_consumers_rerun_when_upstream_content_changes(built, run_cli, monkeypatch):
    """A tampered package is reconverted; when the new package differs, validate and swift run again."""
    path, build = built
    weights = next((build / "coreml/tiny_vit.mlpackage").rglob("weight.bin"))
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x01")
    import pipeline_runner.convert.coreml as coreml

    original = coreml.convert_graph

    def converts_differently(onnx_path, out, *args):
        info = original(onnx_path, out, *args)
        (out / "extra.txt").write_text("different output")
        return info

    monkeypatch.setattr(coreml, "convert_graph", converts_differently)
    code, out, err = run_cli(path)
    assert code == 0, out + err
    assert stage_statuses(out) == {"build": "cached", "export[tiny_vit]": "cached", "convert[tiny_vit]": "ran",
                                   "validate[tiny_vit]": "ran", "swift": "ran"}
    assert "coreml/tiny_vit.mlpackage (from convert[tiny_vit]) changed" in out


@pytest.mark.parametrize("content", ["[]", "null", '{"stages": []}', '{"stages": {"build": []}}',
                                     '{"stages": {"build": {"artifacts": []}}}', '{"stages": {"build": {"key": 1}}}',
                                     '{"stages": {}, "file_hashes": {"x": 3}}', "{not json"])
def test_a_malformed_manifest_is_treated_as_absent(built, run_cli, content):
    path, build = built
    (build / "manifest.json").write_text(content)
    code, out, err = run_cli(path, "--dry-run")
    assert code == 0 and "Traceback" not in err, out + err
    if content != '{"stages": {}, "file_hashes": {"x": 3}}':
        assert "the manifest was unreadable" in out and "treating it as absent" in out


def test_a_full_disk_gives_a_message_and_leaves_no_temp_files(built, run_cli, monkeypatch):
    path, build = built
    from pipeline_runner.stages import STAGES

    def fills_the_disk(ctx):
        with open("/dev/full", "wb") as fh:
            fh.write(b"x" * 10)
            fh.flush()

    monkeypatch.setitem(STAGES, "swift", dataclasses.replace(STAGES["swift"], run=fills_the_disk))
    code, out, err = run_cli(path, "--force", "swift")
    assert code == 1 and "no space left on device" in err and "Traceback" not in err, err
    monkeypatch.undo()

    real_write = pathlib.Path.write_text

    def full(self, *args, **kwargs):
        if self.name.startswith("manifest.json.tmp"):
            real_write(self, "{partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    code, out, err = run_cli(path, "--force", "swift")
    assert code == 1 and "No space left on device" in err and "Traceback" not in err, err
    assert not list(build.glob("manifest.json.tmp*"))
    assert not [p for p in build.glob(".work/**/*") if p.is_file()]


def test_verify_finds_content_changes_that_keep_size_and_mtime(built, run_cli):
    path, build = built
    onnx = build / "onnx/tiny_vit.onnx"
    st = onnx.stat()
    data = bytearray(onnx.read_bytes())
    data[-1] ^= 0xFF
    onnx.write_bytes(bytes(data))
    os.utime(onnx, ns=(st.st_atime_ns, st.st_mtime_ns))
    code, out, _ = run_cli(path, "--dry-run")
    assert stage_statuses(out) == dict.fromkeys(ALL, "cached")  # the cheap check cannot see it
    code, out, _ = run_cli(path, "--verify", "--dry-run")
    assert "artifact altered: onnx/tiny_vit.onnx" in out and "verify: 1 artifact(s) altered" in out
    code, out, err = run_cli(path, "--verify")
    assert code == 0 and stage_statuses(out)["export[tiny_vit]"] == "ran", out + err
    code, out, _ = run_cli(path, "--verify", "--dry-run")
    assert "verify: 0 artifact(s) altered" in out


def test_keys_do_not_depend_on_where_the_checkout_is(tmp_path):
    """Input files are keyed by their path relative to the recipe and their content."""
    text = TINY_VIT.replace("  params:", "  checkpoint: weights/model.safetensors\n  params:")
    keys = []
    for where in ("a", "b/c"):
        root = tmp_path / where
        (root / "weights").mkdir(parents=True)
        (root / "weights/model.safetensors").write_bytes(b"same bytes")
        (root / "r.yaml").write_text(text)
        decisions = plan(load_recipe(root / "r.yaml"), root / "build")
        assert str(tmp_path) not in json.dumps([d.key_doc for d in decisions])
        keys.append([d.key for d in decisions])
    assert keys[0] == keys[1]


def test_a_native_crash_in_a_stage_is_a_clean_failure(built, run_cli, monkeypatch):
    path, build = built
    from pipeline_runner.stages import STAGES

    def crashes(ctx):
        import faulthandler

        faulthandler.disable()  # pytest's fault handler would print the crash's stack into the test log
        os.kill(os.getpid(), signal.SIGSEGV)

    monkeypatch.setitem(STAGES, "swift", dataclasses.replace(STAGES["swift"], run=crashes))
    monkeypatch.setenv(WORKER_ENV, "fork")  # this process ran torch: the runner would stay in process
    code, out, err = run_cli(path, "--force", "swift")
    assert code == 1 and "killed by SIGSEGV (a native crash inside a library)" in err, err
    assert read_json(build / "manifest.json")["stages"]["swift"]["status"] == "failed"


def test_model_errors_have_no_traceback_unless_debug_and_bugs_say_so(built, run_cli, monkeypatch):
    path, build = built
    from pipeline_runner.stages import STAGES

    def refuses(ctx):
        raise RuntimeError("the exporter refused this model")

    monkeypatch.setitem(STAGES, "swift", dataclasses.replace(STAGES["swift"], run=refuses))
    code, out, err = run_cli(path, "--force", "swift")
    assert code == 1 and "the exporter refused this model" in err
    assert "Traceback" not in err and "--debug" in err
    code, out, err = run_cli(path, "--force", "swift", "--debug")
    assert "Traceback" in err and "def refuses" not in out

    def buggy(ctx):
        from pipeline_runner.engine.cache import upstream_entry

        return upstream_entry(42)  # an AttributeError inside pipeline_runner: a bug

    monkeypatch.setitem(STAGES, "swift", dataclasses.replace(STAGES["swift"], run=buggy))
    code, out, err = run_cli(path, "--force", "swift")
    assert code == 1 and "internal error, a bug in pipeline_runner" in err and "Traceback" in err


def test_a_pickled_checkpoint_is_refused_without_advice_to_run_it(write_recipe, run_cli, tmp_path):
    import torch

    torch.save({"w": torch.zeros(1), "payload": pathlib.PurePosixPath("/tmp")}, tmp_path / "evil.pt")
    path = write_recipe(TINY_VIT.replace("  params:", "  checkpoint: evil.pt\n  params:"))
    code, out, err = run_cli(path)
    assert code == 1 and "holds Python objects besides tensors" in err, err
    assert "weights_only=False" not in err and "Traceback" not in err


def test_the_worker_forks_only_from_a_process_without_openmp(monkeypatch):
    import subprocess
    import sys

    import torch

    torch.ones(64, 64) @ torch.ones(64, 64)  # this process now has OpenMP loaded
    monkeypatch.delenv(WORKER_ENV, raising=False)
    assert worker_mode() == "in-process"
    monkeypatch.setenv(WORKER_ENV, "fork")
    assert worker_mode() == "fork"
    fresh = subprocess.run([sys.executable, "-c", "from pipeline_runner.engine.worker import worker_mode; "
                            "print(worker_mode())"], capture_output=True, text=True, env={
                                k: v for k, v in os.environ.items() if k != WORKER_ENV}, check=True)
    assert fresh.stdout.strip() == "fork"  # the CLI's runner: nothing heavy imported
