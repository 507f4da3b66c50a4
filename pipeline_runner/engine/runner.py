"""Run a recipe's stale stages and record them; nothing half-done survives a failure or a signal.

Each stage runs in a worker process (engine/worker.py) and writes into a scratch
folder; its artifacts are moved into place only when it succeeded, and its manifest
record is written last, in a section signals cannot cut (engine/signals.py). A run
with nothing to do writes nothing, so it also works on a read-only build directory.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_runner import progress
from pipeline_runner.engine.cache import Manifest, stamp
from pipeline_runner.engine.cache_transfer import install_artifacts, predicted_record, pull, pullable, push
from pipeline_runner.engine.failures import stage_failure
from pipeline_runner.engine.lock import build_lock
from pipeline_runner.engine.planner import Decision, Planner, plan
from pipeline_runner.engine.remote_cache import RemoteCache
from pipeline_runner.engine.signals import deferred, interruptible
from pipeline_runner.engine.stage import StageContext, StageInstance
from pipeline_runner.engine.worker import HandoverWorker, StageWorker
from pipeline_runner.errors import ModelSpecError, PipelineError, StageError, ValidationFailed
from pipeline_runner.machine import idle_cpus
from pipeline_runner.recipe import Recipe

__all__ = ["Outcome", "RunReport", "plan", "run_recipe"]

SPARE_ENV = "PIPELINE_RUNNER_SPARE_WORKER"


@dataclass
class Outcome:
    name: str
    status: str  # "cached" | "ran" | "pulled" | "failed" | "skipped" (dry run: "will run" | "would pull")
    reason: str
    seconds: float = 0.0


@dataclass
class RunReport:
    recipe: str
    build_dir: Path
    outcomes: list[Outcome] = field(default_factory=list)
    error: PipelineError | None = None
    altered: list[str] | None = None  # with verify: the artifacts whose content no longer matches

    @property
    def ok(self) -> bool:
        return self.error is None


def run_recipe(recipe: Recipe, build_root: Path, *, force: set[str] | None = None,
               dry_run: bool = False, verify: bool = False, log=print, cache: RemoteCache | None = None,
               jobs: int = 1, html_report: bool = True) -> RunReport:
    """Run ``recipe``'s stale stages; ``jobs`` > 1 runs independent ones (its graphs) side by side.
    ``html_report=False`` writes no build report (a caller that discards the build, e.g. the model sweep)."""
    build_dir = build_root / recipe.name
    report = RunReport(recipe.name, build_dir)
    try:
        manifest = Manifest(build_dir)
        planner = Planner(recipe, build_dir, manifest, force=force, verify=verify)
        predict = functools.partial(predicted_record, cache, log=log) if dry_run and cache is not None else None
        decisions = planner.plan(predict)
        if verify:
            report.altered = planner.altered
        if dry_run or not any(d.run for d in decisions):
            _warn_if_corrupt(manifest, log)
            for d in decisions:
                status = ("would pull" if d.pull else "will run") if d.run else "cached"
                report.outcomes.append(Outcome(d.instance.name, status, d.reason))
            if not dry_run and html_report:
                _after_run(build_dir, report, log)  # writes only a missing or stale report
            return report
        from pipeline_runner.quiet import quiet_third_party

        quiet_third_party()
        with interruptible(), build_lock(build_dir, log) as lock_fd:
            _run_locked(recipe, build_dir, report, force, verify, lock_fd, log, cache, jobs)
            if html_report:
                _after_run(build_dir, report, log)
    except PipelineError as exc:  # e.g. the build directory cannot be written
        report.error = report.error or exc
    return report


def _run_locked(recipe: Recipe, build_dir: Path, report: RunReport, force, verify: bool, lock_fd: int, log,
                cache: RemoteCache | None, jobs: int) -> None:
    _clear_stale_work(build_dir)
    manifest = Manifest(build_dir)  # again: another run may have finished while we waited for the lock
    _warn_if_corrupt(manifest, log)
    planner = Planner(recipe, build_dir, manifest, force=force, verify=verify)
    manifest.data.update({"recipe": recipe.name, "recipe_file": str(recipe.path), "recipe_sha256": recipe.sha256})
    instances = {inst.name: inst for inst in planner.instances}
    target = functools.partial(_run_job, recipe, build_dir, instances)
    workers = [StageWorker(target, close_fds=(lock_fd,))]
    if jobs > 1 and not workers[0].in_process:  # in process, stages cannot run side by side
        workers += [StageWorker(target, close_fds=(lock_fd,)) for _ in range(jobs - 1)]
        for w in workers:
            w.start()  # fork them all before any thread exists
    elif not workers[0].in_process:
        workers = [_with_warm_spare(workers[0], planner, target, lock_fd)]
    try:
        _schedule(recipe, build_dir, manifest, planner, report, workers, log, cache)
    finally:
        for w in workers:
            w.stop()
    report.outcomes.sort(key=lambda o: list(instances).index(o.name))
    manifest.save()
    _write_validation_summary(build_dir, manifest)


def _schedule(recipe: Recipe, build_dir: Path, manifest: Manifest, planner: Planner, report: RunReport,
              workers: list[StageWorker], log, cache: RemoteCache | None) -> None:
    """Run each stale instance as soon as its producers are done and a worker is free.

    With one worker this is the plan's order, in this thread. With more, independent
    instances (one recipe's graphs) run side by side: a thread per running stage waits on
    its worker process, while this thread alone decides, pulls, pushes and records, so the
    manifest and the signal handlers (engine/signals.py) stay single-threaded.
    """
    todo, failed, free = list(planner.instances), set(), list(workers)
    running: dict[Future, tuple] = {}
    threads = ThreadPoolExecutor(len(workers), thread_name_prefix="stage") if len(workers) > 1 else None
    try:
        while todo or running:
            unfinished = {i.name for i in todo} | {r.decision.instance.name for r in running.values()}
            for inst in list(todo):
                ups = planner.upstream(inst)
                if any(u.name in unfinished for u in ups):
                    continue
                blocked = [u.name for u in ups if u.name in failed]
                if not blocked and not free:
                    continue  # ready, but every worker is busy: only cached or pulled ones go on
                d = None if blocked else planner.decide(inst)
                if d is not None and d.run:
                    seconds = pull(cache, build_dir, manifest, d, log) if pullable(cache, d) else None
                    if seconds is None:
                        if not free:
                            continue
                        todo.remove(inst)  # still unfinished: it is running
                        stage = _Running(d, free.pop(), _work_dir(build_dir, inst), time.perf_counter())
                        running[_dispatch(threads, stage, manifest, recipe, log)] = stage
                        continue
                    planner.ran(inst)
                    report.outcomes.append(Outcome(inst.name, "pulled", d.reason, seconds))
                elif d is not None:
                    report.outcomes.append(Outcome(inst.name, "cached", d.reason))
                else:
                    failed.add(inst.name)
                    report.outcomes.append(Outcome(inst.name, "skipped", f"{blocked[0]} failed"))
                todo.remove(inst)
                unfinished.discard(inst.name)
            if not running:
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                run = running.pop(future)
                d = run.decision
                free.append(run.worker)
                outcome, error = _finish(recipe, build_dir, manifest, planner, run, future)
                if cache is not None and error is None:
                    push(cache, build_dir, manifest, d, log)
                planner.ran(d.instance)
                report.outcomes.append(outcome)
                if error is not None:
                    failed.add(d.instance.name)
                    report.error = report.error or error
    except BaseException:  # interrupted: stop the workers first, then remove what they were writing
        for run in running.values():
            run.worker.kill()
        if threads is not None:
            threads.shutdown(wait=True)
        shutil.rmtree(build_dir / ".work", ignore_errors=True)
        raise
    if threads is not None:
        threads.shutdown(wait=True)


def _with_warm_spare(worker: StageWorker, planner: Planner, target, lock_fd: int):
    """With one job on an idle multi-core machine: ``worker`` plus a spare that imports the heavy modules
    of the later stages (``Stage.imports``: coremltools, onnxruntime...) while the first stage runs and
    takes over when done (``HandoverWorker``). A cold ViT build spends ~5 s importing coremltools alone;
    this way that happens on the other core. ``PIPELINE_RUNNER_SPARE_WORKER=0|1`` turns it off or on
    whatever the load."""
    choice = os.environ.get(SPARE_ENV, "").strip()
    modules = tuple(dict.fromkeys(m for inst in planner.instances[1:] for m in inst.stage.imports))
    if choice == "0" or not modules or (choice != "1" and idle_cpus() < 2):
        return worker
    return HandoverWorker(worker, StageWorker(target, close_fds=(lock_fd,)), modules)


@dataclass
class _Running:
    """A stage started on a worker: it writes into ``work``, a scratch folder."""

    decision: Decision
    worker: StageWorker
    work: Path
    started: float


def _work_dir(build_dir: Path, inst: StageInstance) -> Path:
    work = build_dir / ".work" / f"{inst.name}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    return work


def _dispatch(threads: ThreadPoolExecutor | None, stage: _Running, manifest: Manifest, recipe: Recipe,
              log) -> Future:
    """Start the stage on its worker: in a thread, or (no threads) run it here, now."""
    d, inst = stage.decision, stage.decision.instance
    upstream_info = {name: rec.get("info", {}) for name, rec in manifest.data["stages"].items()}
    job = (inst.name, str(stage.work), upstream_info, d.key)

    def run():
        with progress.stage(inst.name, d.reason) as handle:
            return stage.worker.run(job, log, (recipe.name, inst.name),
                                    on_progress=functools.partial(_show_progress, handle))

    if threads is not None:
        future = threads.submit(run)
    else:
        future = Future()
        try:
            future.set_result(run())
        except PipelineError as exc:
            future.set_exception(exc)
    return future


def _finish(recipe: Recipe, build_dir: Path, manifest: Manifest, planner: Planner, run: _Running, future: Future):
    """Check a stage's result, move its artifacts into place and record it (or record its failure)."""
    d, work, started = run.decision, run.work, run.started
    inst = d.instance

    def failed(message: str, error: PipelineError):
        """Nothing of a failed stage is moved into place; its record says why."""
        shutil.rmtree(work, ignore_errors=True)
        _mark_failed(manifest, inst.name, d, message)
        return Outcome(inst.name, "failed", d.reason, time.perf_counter() - started), error

    try:
        result = future.result()
    except PipelineError as exc:
        return failed(str(exc), exc)
    seconds = time.perf_counter() - started
    touched = _touched_upstream(build_dir, manifest, planner.upstream(inst))
    if touched:  # a stage bug: consumers must read their inputs, never rewrite them
        message = f"internal error, a bug in pipeline_runner: the stage modified upstream artifact {touched}"
        return failed(message, StageError(recipe.name, inst.name, message))
    unwritten = [rel for rel in result.artifacts if not (work / rel).exists()]
    if unwritten:  # a stage bug: move nothing rather than record a lie
        message = f"declared artifacts it did not write: {', '.join(unwritten)}"
        return failed(message, StageError(recipe.name, inst.name, message))
    with deferred():  # move into place and record: a signal waits until both are done
        artifacts = install_artifacts(work, build_dir, result.artifacts)
        status = "failed" if result.failures else "ok"
        manifest.put(inst.name, {
            "key": d.key, "key_doc": d.key_doc, "status": status, "artifacts": artifacts,
            "info": result.info, "notes": result.notes, "seconds": round(seconds, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
        shutil.rmtree(work, ignore_errors=True)
    if result.failures:
        report_path = str(build_dir / result.artifacts[0]) if result.artifacts else ""
        err = ValidationFailed(recipe.name, inst.name, result.failures, report_path)
        return Outcome(inst.name, "failed", d.reason, seconds), err
    return Outcome(inst.name, "ran", d.reason, seconds), None



def _after_run(build_dir: Path, report: RunReport, log) -> None:
    from pipeline_runner.report.hook import after_run  # cheap: imports nothing heavy

    after_run(build_dir, report.outcomes, log)


def _warn_if_corrupt(manifest: Manifest, log) -> None:
    if manifest.corrupt:
        log(f"warning: {manifest.path} is malformed ({manifest.problem}); treating it as absent: every stage reruns")


def _clear_stale_work(build_dir: Path) -> None:
    """Leftovers of an interrupted or killed run; safe to delete because we hold the lock."""
    shutil.rmtree(build_dir / ".work", ignore_errors=True)
    for tmp in build_dir.glob("manifest.json.tmp*"):
        tmp.unlink(missing_ok=True)


def _run_job(recipe: Recipe, build_dir: Path, instances: dict[str, StageInstance], job, log):
    """In the worker: run one stage instance; every exception leaves as a PipelineError."""
    name, work, upstream_info, key = job
    inst = instances[name]
    ctx = StageContext(
        recipe=recipe,
        graph=recipe.graph(inst.graph) if inst.graph else None,
        build_dir=build_dir,
        work_dir=Path(work),
        log=lambda msg: log(f"  [{name}] {msg}"),
        upstream_info=upstream_info,
        key=key,
    )
    try:
        return inst.stage.run(ctx)
    except ModelSpecError as exc:  # model.architecture/params that the source's library refused
        raise recipe.model_error(exc) from exc
    except Exception as exc:
        raise stage_failure(recipe.name, name, exc) from exc


def _show_progress(handle, state: tuple) -> None:
    """The worker's stage reported progress: show it on the runner's display."""
    if handle is not None:
        handle.step, handle.done, handle.total, handle.unit = state
        handle.reporter.stage_changed(handle)


def _touched_upstream(build_dir: Path, manifest: Manifest, upstream: list[StageInstance]) -> str | None:
    for u in upstream:
        for rel, recorded in (manifest.record(u.name) or {}).get("artifacts", {}).items():
            path = build_dir / rel
            if path.exists() and stamp(path) != (recorded.get("size"), recorded.get("mtime_ns")):
                return rel
    return None


def _mark_failed(manifest: Manifest, name: str, d: Decision, message: str) -> None:
    old = manifest.record(name) or {}
    manifest.put(name, {**old, "status": "failed", "error": message, "key_doc": d.key_doc, "key": d.key})


def _write_validation_summary(build_dir: Path, manifest: Manifest) -> None:
    """validation.json: every graph's validation report in one file (rewritten only if changed)."""
    reports = {}
    for name, rec in sorted(manifest.data["stages"].items()):
        if not name.startswith("validate"):
            continue
        for rel in rec.get("artifacts", {}):
            if not rel.endswith(".json"):
                continue  # e.g. validation/<graph>.npz, the report's output samples
            path = build_dir / rel
            if path.exists():
                reports[rec.get("key_doc", {}).get("graph") or name] = json.loads(path.read_text())
    if not reports:
        return
    summary = {"recipe": manifest.data.get("recipe"),
               "passed": all(r.get("passed", False) for r in reports.values()),
               "graphs": reports}
    compression = _compression_tables(build_dir, manifest)
    if compression:
        summary["compression"] = compression
    text = json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n"  # reports are strict JSON
    path = build_dir / "validation.json"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _compression_tables(build_dir: Path, manifest: Manifest) -> dict:
    """Each graph's size/accuracy table of its compression variants and the suggested variant."""
    tables = {}
    for name, rec in sorted(manifest.data["stages"].items()):
        if not name.startswith("compress[") or rec.get("status") not in ("ok", "failed"):
            continue
        info = rec.get("info", {})
        if info.get("table"):
            tables[rec.get("key_doc", {}).get("graph") or name] = {"table": info["table"],
                                                                   "suggested": info.get("suggested")}
    return tables
