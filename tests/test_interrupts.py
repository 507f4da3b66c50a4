"""Signals and kills at any stage: a prompt exit with 130/143, nothing half-written, no stale lock, a resumable build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import REPO, TINY_VIT, stage_statuses

STOP_WITHIN = 5.0  # seconds; ~1 s on an idle machine, slack for a loaded CI runner


class Run:
    """The CLI in a subprocess, its output collected line by line."""

    def __init__(self, recipe: Path, build: Path, *extra: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline_runner", str(recipe), "--build-dir", str(build), *extra],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    def wait_for(self, text: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, "".join(self.lines) + self.proc.stderr.read()
            assert time.monotonic() < deadline, f"no {text!r} in {self.lines}"
            time.sleep(0.05)

    def stop(self, signum: int) -> tuple[int, float, str]:
        started = time.monotonic()
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=60)
        took = time.monotonic() - started
        self.reader.join(5)
        return code, took, self.proc.stderr.read()

    def finish(self) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=900)
        self.reader.join(5)
        return code, "".join(self.lines), self.proc.stderr.read()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state  # a zombie nobody reaped (PID 1 in a container may not)


def _no_leftovers(build: Path) -> None:
    assert not [p for p in build.glob(".work/**/*") if p.is_file()]
    assert not list(build.glob("manifest.json.tmp*"))


def test_signals_and_kill_at_any_stage_leave_a_resumable_build(write_recipe, tmp_path):
    recipe = write_recipe(TINY_VIT)
    build_root = tmp_path / "build"
    build = build_root / "tiny_vit"

    # SIGTERM while `build` runs (importing torch, making the model).
    run = Run(recipe, build_root)
    run.wait_for("tiny_vit (")
    time.sleep(0.5)
    code, took, err = run.stop(signal.SIGTERM)
    assert code == 143 and took < STOP_WITHIN, (code, took, err)
    assert "interrupted (SIGTERM)" in err and "Traceback" not in err
    _no_leftovers(build)

    # SIGINT in the middle of `convert` (third-party code that used to swallow or mangle it).
    run = Run(recipe, build_root)
    run.wait_for("[export[tiny_vit]]")
    time.sleep(1.0)
    code, took, err = run.stop(signal.SIGINT)
    assert code == 130 and took < STOP_WITHIN, (code, took, err)
    assert "Traceback" not in err
    _no_leftovers(build)
    records = json.loads((build / "manifest.json").read_text())["stages"]
    assert records["export[tiny_vit]"]["status"] == "ok"
    assert "convert[tiny_vit]" not in records
    assert not (build / "coreml").exists()

    # kill -9 of the runner during `convert`: its worker follows, and the lock is free at once.
    run = Run(recipe, build_root)
    run.wait_for("tiny_vit (")
    deadline = time.monotonic() + 60
    while not _children(run.proc.pid):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [worker] = _children(run.proc.pid)
    time.sleep(1.0)
    run.proc.kill()
    run.proc.wait()
    deadline = time.monotonic() + STOP_WITHIN
    while not _gone(worker):
        assert time.monotonic() < deadline, "the worker outlived its runner"
        time.sleep(0.1)

    # The next run resumes: what finished stays cached, the rest runs, nothing waits for a lock.
    code, out, err = Run(recipe, build_root).finish()
    assert code == 0, out + err
    assert "waiting for" not in out + err
    statuses = stage_statuses(out)
    assert statuses["build"] == "cached" and statuses["export[tiny_vit]"] == "cached"
    assert statuses["convert[tiny_vit]"] == "ran" and statuses["swift"] == "ran"
    _no_leftovers(build)
