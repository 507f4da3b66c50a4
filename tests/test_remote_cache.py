"""The shared stage cache: a build done once is pulled, verified, everywhere else."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline_runner.cli import main
from pipeline_runner.engine.remote_cache import RemoteCache
from tests.conftest import TINY_VIT, stage_statuses

ALL = ["build", "export[tiny_vit]", "convert[tiny_vit]", "validate[tiny_vit]", "swift"]


def _run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def _tree_digests(root: Path) -> dict[str, str]:
    """sha256 of every file of every stage artifact recorded in a build directory's manifest."""
    manifest = json.loads((root / "manifest.json").read_text())
    files = [root / rel for rec in manifest["stages"].values() for rel in rec["artifacts"]]
    files = [f for path in files for f in ([*path.rglob("*")] if path.is_dir() else [path]) if f.is_file()]
    assert files
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A tiny ViT built once with a file cache: (recipe, first build dir, cache dir)."""
    root = tmp_path_factory.mktemp("remote")
    recipe = root / "checkout1" / "tiny.yaml"
    recipe.parent.mkdir()
    recipe.write_text(TINY_VIT)
    cache = root / "cache"
    code = main([str(recipe), "--build-dir", str(root / "build1"), "--cache", str(cache)])
    assert code == 0
    return recipe, root / "build1" / "tiny_vit", cache


def _fresh_checkout(seeded, tmp_path) -> Path:
    """The same recipe in another folder, as a second machine would have it."""
    recipe = tmp_path / "checkout2" / "tiny.yaml"
    recipe.parent.mkdir()
    shutil.copy(seeded[0], recipe)
    return recipe


def test_push_writes_blobs_then_records(seeded):
    _, _, cache = seeded
    records = list((cache / "ac").rglob("*.json"))
    assert len(records) == len(ALL)
    assert list((cache / "cas").rglob("*")), "blobs pushed"
    assert not list(cache.rglob("*.tmp-*")), "no temporary names left behind"


def test_second_checkout_pulls_every_stage_byte_identical(seeded, tmp_path, capsys):
    recipe = _fresh_checkout(seeded, tmp_path)
    code, out = _run(capsys, recipe, "--build-dir", tmp_path / "b", "--cache", seeded[2], "--dry-run")
    assert code == 0 and stage_statuses(out) == dict.fromkeys(ALL, "would"), out
    code, out = _run(capsys, recipe, "--build-dir", tmp_path / "b", "--cache", seeded[2])
    assert code == 0, out
    assert stage_statuses(out) == dict.fromkeys(ALL, "pulled"), out
    assert _tree_digests(tmp_path / "b" / "tiny_vit") == _tree_digests(seeded[1])
    # pulled stages are ordinary cached stages afterwards, and a no-op run needs no cache at all
    code, out = _run(capsys, recipe, "--build-dir", tmp_path / "b")
    assert code == 0 and stage_statuses(out) == dict.fromkeys(ALL, "cached"), out


def test_environment_variable_names_the_cache(seeded, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PIPELINE_RUNNER_CACHE", str(seeded[2]))
    code, out = _run(capsys, _fresh_checkout(seeded, tmp_path), "--build-dir", tmp_path / "b")
    assert code == 0 and set(stage_statuses(out).values()) == {"pulled"}, out


def _copy_cache(seeded, tmp_path) -> Path:
    cache = tmp_path / "cache"
    shutil.copytree(seeded[2], cache)
    return cache


def test_corrupt_blob_is_ignored_and_the_stage_rebuilt(seeded, tmp_path, capsys):
    cache = _copy_cache(seeded, tmp_path)
    onnx = seeded[1] / "onnx" / "tiny_vit.onnx"
    digest = hashlib.sha256(onnx.read_bytes()).hexdigest()
    blob = cache / "cas" / digest[:2] / digest
    blob.write_bytes(blob.read_bytes()[:-10] + b"tampered!!")
    code, out = _run(capsys, _fresh_checkout(seeded, tmp_path), "--build-dir", tmp_path / "b", "--cache", cache)
    assert code == 0, out
    statuses = stage_statuses(out)
    assert statuses["export[tiny_vit]"] == "ran", out
    assert statuses["build"] == statuses["convert[tiny_vit]"] == "pulled", out
    assert "does not match its sha256" in out
    # the rebuilt stage pushed a good blob again
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("damage", ["garbage", "missing_blob", "unsafe_path"])
def test_broken_entries_are_misses_never_hits(seeded, tmp_path, capsys, damage):
    cache = _copy_cache(seeded, tmp_path)
    key = next(iter(p for p in (cache / "ac").rglob("*.json") if '"stage": "build"' in p.read_text()))
    if damage == "garbage":
        key.write_text("{not json")
    elif damage == "missing_blob":
        for blob in (cache / "cas").rglob("*"):
            if blob.is_file() and blob.stat().st_size > 100_000:  # the weights
                blob.unlink()
    else:
        key.write_text(key.read_text().replace('"weights/model.safetensors"', '"../../escape"', 1))
    code, out = _run(capsys, _fresh_checkout(seeded, tmp_path), "--build-dir", tmp_path / "b", "--cache", cache)
    assert code == 0, out
    assert stage_statuses(out)["build"] == "ran", out
    assert not (tmp_path / "escape").exists()


def test_read_only_mode_pulls_but_never_pushes(seeded, tmp_path, capsys):
    cache = _copy_cache(seeded, tmp_path)
    before = sorted(p.name for p in cache.rglob("*"))
    recipe = _fresh_checkout(seeded, tmp_path)
    recipe.write_text(recipe.read_text().replace("samples: 2", "samples: 3"))
    code, out = _run(capsys, recipe, "--build-dir", tmp_path / "b", "--cache", cache, "--cache-mode", "read-only")
    assert code == 0, out
    statuses = stage_statuses(out)
    assert statuses["validate[tiny_vit]"] == "ran" and statuses["convert[tiny_vit]"] == "pulled", out
    assert sorted(p.name for p in cache.rglob("*")) == before


def test_concurrent_pushers_of_one_key_leave_a_valid_entry(seeded, tmp_path):
    cache_dir = tmp_path / "cache"
    build = seeded[1]
    errors = []

    def push():
        try:
            RemoteCache(str(cache_dir)).push("ab" * 32, "export[tiny_vit]", build, ["onnx/tiny_vit.onnx",
                                             "coreml/tiny_vit.mlpackage"], {"info": {}})
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=push) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert not list(cache_dir.rglob("*.tmp-*"))
    pulled = RemoteCache(str(cache_dir)).pull("ab" * 32, tmp_path / "out")
    assert set(pulled.artifacts) == {"onnx/tiny_vit.onnx", "coreml/tiny_vit.mlpackage"}
    assert (tmp_path / "out" / "onnx" / "tiny_vit.onnx").read_bytes() == (build / "onnx" / "tiny_vit.onnx").read_bytes()


def test_unreachable_cache_builds_locally(seeded, tmp_path, capsys):
    cache = tmp_path / "not-a-dir"
    cache.write_text("a file where the cache should be")
    code, out = _run(capsys, _fresh_checkout(seeded, tmp_path), "--build-dir", tmp_path / "b", "--cache", cache)
    assert code == 0, out
    assert set(stage_statuses(out).values()) == {"ran"}, out
    assert "could not push" in out


# --- a real S3 API: moto's server on loopback ---------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    pytest.importorskip("s3fs")
    pytest.importorskip("moto")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("moto server did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    import boto3

    for var, value in {"AWS_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "test",
                       "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(var, value)
    bucket = f"cache-{os.getpid()}-{time.monotonic_ns()}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/pipeline"


def test_s3_push_then_pull_in_another_checkout(seeded, tmp_path, capsys, s3_env):
    recipe = _fresh_checkout(seeded, tmp_path)
    code, out = _run(capsys, recipe, "--build-dir", tmp_path / "a", "--cache", s3_env)
    assert code == 0 and set(stage_statuses(out).values()) == {"ran"}, out
    other = tmp_path / "third" / "tiny.yaml"
    other.parent.mkdir()
    shutil.copy(recipe, other)
    code, out = _run(capsys, other, "--build-dir", tmp_path / "b", "--cache", s3_env)
    assert code == 0 and stage_statuses(out) == dict.fromkeys(ALL, "pulled"), out
    assert _tree_digests(tmp_path / "b" / "tiny_vit") == _tree_digests(tmp_path / "a" / "tiny_vit")


def test_s3_tampered_entry_is_rebuilt(seeded, tmp_path, capsys, s3_env):
    import fsspec

    code, out = _run(capsys, _fresh_checkout(seeded, tmp_path), "--build-dir", tmp_path / "a", "--cache", s3_env)
    assert code == 0, out
    fs = fsspec.filesystem("s3")
    weights = hashlib.sha256((tmp_path / "a" / "tiny_vit" / "weights" / "model.safetensors").read_bytes()).hexdigest()
    fs.pipe_file(f"{s3_env}/cas/{weights[:2]}/{weights}", b"evil")
    code, out = _run(capsys, seeded[0], "--build-dir", tmp_path / "b", "--cache", s3_env)
    assert code == 0, out
    assert stage_statuses(out)["build"] == "ran" and "does not match its sha256" in out, out


# --- -j: recipes in worker processes -------------------------------------------------------------

def test_parallel_recipes_build_in_workers_with_readable_output(tmp_path, capsys):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "a.yaml").write_text(TINY_VIT)
    broken = TINY_VIT.replace("name: tiny_vit", "name: broken").replace(
        "source: builtin\n  architecture: vit", "source: python\n  architecture: no_such_module_xyz:make")
    (recipes / "c.yaml").write_text(broken)
    code = main([str(recipes), "--build-dir", str(tmp_path / "build"), "-j", "2", "--keep-going"])
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 2, text  # the broken recipe's unknown module is a located recipe error (found at build)
    assert (tmp_path / "build" / "tiny_vit" / "validation.json").exists(), text
    # each recipe's log is one block: its header, then only its own lines
    lines = out.out.splitlines()
    headers = [i for i, line in enumerate(lines) if " → " in line and not line[0].isdigit()]
    names = [lines[i].split()[0] for i in headers]
    assert sorted(names) == ["broken", "tiny_vit"], out.out
    first, second = names
    block = "\n".join(lines[headers[0]:headers[1]])
    assert f"export[{first}]" in block and f"export[{second}]" not in block, out.out
    assert "failed: broken" in out.err
