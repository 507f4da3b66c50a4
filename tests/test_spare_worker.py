"""A warm spare worker: imports the later stages' modules on an idle core, then takes over."""

from __future__ import annotations

import os
import sys
import time

from tests.cli_process import Run, no_leftovers
from tests.conftest import TINY_VIT, stage_statuses

MODULE = "tabnanny"  # a standard module nothing here imports


def _probe(job, log):
    import sys as worker_sys

    return os.getpid(), job in worker_sys.modules


def test_a_preloaded_worker_has_the_modules_before_its_first_job(monkeypatch):
    from pipeline_runner.engine.worker import StageWorker

    monkeypatch.setenv("PIPELINE_RUNNER_WORKER", "fork")
    assert MODULE not in sys.modules
    spare, cold = StageWorker(_probe), StageWorker(_probe)
    try:
        spare.preload((MODULE, "no_such_module_anywhere"))  # a missing module is the stage's business
        deadline = time.monotonic() + 30
        while not spare.ready():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pid, loaded = spare.run(MODULE, print, ("recipe", "stage"))
        assert loaded and pid != os.getpid()
        assert cold.run(MODULE, print, ("recipe", "stage"))[1] is False
        queued = StageWorker(_probe)  # a job sent while the preload runs waits for it
        queued.preload((MODULE,))
        assert queued.run(MODULE, print, ("recipe", "stage"))[1] is True and queued.ready()
        queued.stop()
    finally:
        spare.stop()
        cold.stop()
    assert MODULE not in sys.modules


def test_a_build_with_a_forced_spare_runs_every_stage_and_leaves_nothing(write_recipe, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_RUNNER_SPARE_WORKER", "1")
    recipe = write_recipe(TINY_VIT)
    code, out, err = Run(recipe, tmp_path / "build").finish()
    assert code == 0, out + err
    assert set(stage_statuses(out).values()) == {"ran"}
    no_leftovers(tmp_path / "build" / "tiny_vit")
    code, out, err = Run(recipe, tmp_path / "build").finish()  # nothing to do: no spare, nothing imported
    assert code == 0 and set(stage_statuses(out).values()) == {"cached"}, out + err


def test_the_first_job_after_the_spare_is_ready_runs_on_the_spare(monkeypatch):
    from pipeline_runner.engine.worker import HandoverWorker, StageWorker

    monkeypatch.setenv("PIPELINE_RUNNER_WORKER", "fork")
    first, spare = StageWorker(_probe), StageWorker(_probe)
    worker = HandoverWorker(first, spare, (MODULE,))
    try:
        worker.start()
        assert first._proc is not None
        deadline = time.monotonic() + 30
        while not spare.ready():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pid, loaded = worker.run(MODULE, print, ("recipe", "stage"))
        assert loaded and worker.run(MODULE, print, ("recipe", "stage"))[0] == pid  # it stays on the spare
        assert first._proc is None  # the first worker was stopped
    finally:
        worker.stop()
