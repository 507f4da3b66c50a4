"""Signals and kills at any stage: a prompt exit with 130/143, nothing half-written, no stale lock, a resumable build."""

from __future__ import annotations

import json
import signal
import time

from tests.cli_process import STOP_WITHIN, Run, children, gone, no_leftovers
from tests.conftest import TINY_VIT, stage_statuses


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
    no_leftovers(build)

    # SIGINT in the middle of `convert` (third-party code that used to swallow or mangle it).
    run = Run(recipe, build_root)
    run.wait_for("[export[tiny_vit]]")
    time.sleep(1.0)
    code, took, err = run.stop(signal.SIGINT)
    assert code == 130 and took < STOP_WITHIN, (code, took, err)
    assert "Traceback" not in err
    no_leftovers(build)
    records = json.loads((build / "manifest.json").read_text())["stages"]
    assert records["export[tiny_vit]"]["status"] == "ok"
    assert "convert[tiny_vit]" not in records
    assert not (build / "coreml").exists()

    # kill -9 of the runner during `convert`: its worker follows, and the lock is free at once.
    run = Run(recipe, build_root)
    run.wait_for("tiny_vit (")
    deadline = time.monotonic() + 60
    while not children(run.proc.pid):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)
    workers = children(run.proc.pid)  # the stage's worker, and a warm spare on an idle machine
    assert 1 <= len(workers) <= 2, workers
    run.proc.kill()
    run.proc.wait()
    deadline = time.monotonic() + STOP_WITHIN
    while not all(gone(w) for w in workers):
        assert time.monotonic() < deadline, "a worker outlived its runner"
        time.sleep(0.1)

    # The next run resumes: what finished stays cached, the rest runs, nothing waits for a lock.
    code, out, err = Run(recipe, build_root).finish()
    assert code == 0, out + err
    assert "waiting for" not in out + err
    statuses = stage_statuses(out)
    assert statuses["build"] == "cached" and statuses["export[tiny_vit]"] == "cached"
    assert statuses["convert[tiny_vit]"] == "ran" and statuses["swift"] == "ran"
    no_leftovers(build)
