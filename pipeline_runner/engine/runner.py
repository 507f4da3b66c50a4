"""Plan and run a recipe's stages: decide cheaply what is stale, run it, record it.

Decisions go from cheap to expensive: forced, no record, last run failed, key
changed (explained field by field), artifact missing, artifact altered. Each stage
writes into a temporary folder; its artifacts are moved into place only when it
succeeded, and its manifest record is written last.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_runner import progress
from pipeline_runner.engine.cache import (
    Manifest,
    artifact_state,
    canonical,
    explain_change,
    file_sha256,
    fingerprint,
    key_document,
    sha256_text,
)
from pipeline_runner.engine.lock import build_lock
from pipeline_runner.engine.remote_cache import CacheMiss, RemoteCache
from pipeline_runner.engine.stage import StageContext, StageInstance, expand, order_stages, upstream_of
from pipeline_runner.errors import PipelineError, StageError, ValidationFailed
from pipeline_runner.recipe import Recipe


@dataclass
class Decision:
    instance: StageInstance
    key: str
    key_doc: dict
    run: bool
    reason: str


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

    @property
    def ok(self) -> bool:
        return self.error is None


def plan(recipe: Recipe, build_dir: Path, force: set[str] | None = None,
         manifest: Manifest | None = None) -> list[Decision]:
    """What each stage instance would do now, and why. Imports no heavy library."""
    from pipeline_runner.stages import STAGES

    force = force or set()
    manifest = manifest or Manifest(build_dir)
    instances = expand(order_stages(STAGES), recipe)
    decisions: dict[str, Decision] = {}
    file_hashes = _FileHashes(manifest)
    for inst in instances:
        ups = upstream_of(inst, instances)
        files = {str(p): file_hashes.get(p) for p in (inst.stage.reads_files(recipe) if inst.stage.reads_files else [])}
        doc = key_document(inst, recipe, {u.name: decisions[u.name].key for u in ups}, files)
        key = sha256_text(canonical(doc))
        record = manifest.record(inst.name)
        forced_up = [u.name for u in ups if decisions[u.name].run and decisions[u.name].reason.startswith("forced")]
        if "all" in force or inst.stage.name in force:
            reason = "forced (--force)"
        elif forced_up:
            reason = f"forced: upstream {forced_up[0]} is forced"
        elif record is None:
            reason = "no previous run" + (" (the manifest was unreadable)" if manifest.corrupt else "")
        elif record.get("status") != "ok":
            reason = f"last run {record.get('status', 'did not finish')}"
        elif record.get("key") != key:
            reason = "key changed: " + explain_change(record.get("key_doc"), doc)
        else:
            reason = _artifacts_changed(build_dir, record) or ""
        decisions[inst.name] = Decision(inst, key, doc, bool(reason), reason or "up to date")
    return list(decisions.values())


def _artifacts_changed(build_dir: Path, record: dict) -> str | None:
    for rel, recorded in record.get("artifacts", {}).items():
        state = artifact_state(build_dir / rel, recorded)
        if state:
            return f"artifact {state}: {rel}"
    return None


class _FileHashes:
    """Content hashes of input files (checkpoints), memoised in the manifest by size+mtime."""

    def __init__(self, manifest: Manifest):
        self.memo = manifest.data.setdefault("file_hashes", {})

    def get(self, path: Path) -> str:
        st = path.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
        entry = self.memo.get(str(path))
        if entry and entry.get("stamp") == stamp:
            return entry["sha256"]
        digest = file_sha256(path)
        self.memo[str(path)] = {"stamp": stamp, "sha256": digest}
        return digest


def run_recipe(recipe: Recipe, build_root: Path, *, force: set[str] | None = None,
               dry_run: bool = False, log=print, cache: RemoteCache | None = None) -> RunReport:
    build_dir = build_root / recipe.name
    report = RunReport(recipe.name, build_dir)
    if dry_run:
        for d in plan(recipe, build_dir, force):
            status = "cached"
            if d.run:
                status = "would pull" if _pullable(cache, d) and _remote_has(cache, d, log) else "will run"
            report.outcomes.append(Outcome(d.instance.name, status, d.reason))
        return report
    from pipeline_runner.quiet import quiet_third_party

    quiet_third_party()
    with build_lock(build_dir, log):
        _clear_stale_work(build_dir)
        manifest = Manifest(build_dir)
        decisions = plan(recipe, build_dir, force, manifest)
        manifest.data.update({"recipe": recipe.name, "recipe_file": str(recipe.path),
                              "recipe_sha256": recipe.sha256})
        failed: set[str] = set()
        for d in decisions:
            ups = upstream_of(d.instance, [x.instance for x in decisions])
            blocked = [u.name for u in ups if u.name in failed]
            if blocked:
                failed.add(d.instance.name)
                report.outcomes.append(Outcome(d.instance.name, "skipped", f"{blocked[0]} failed"))
                continue
            if not d.run:
                report.outcomes.append(Outcome(d.instance.name, "cached", d.reason))
                continue
            pulled = _pull(cache, build_dir, manifest, d, log) if _pullable(cache, d) else None
            if pulled is not None:
                report.outcomes.append(pulled)
                continue
            outcome, error = _execute(recipe, build_dir, manifest, d, log)
            if cache is not None and error is None:
                _push(cache, build_dir, manifest, d, log)
            report.outcomes.append(outcome)
            if error is not None:
                failed.add(d.instance.name)
                report.error = report.error or error
        manifest.save()
        _write_validation_summary(build_dir, manifest)
        from pipeline_runner.report.hook import after_run  # cheap: imports nothing heavy

        after_run(build_dir, report.outcomes, log)
    return report


def _pullable(cache: RemoteCache | None, d: Decision) -> bool:
    return cache is not None and not d.reason.startswith("forced")


def _remote_has(cache: RemoteCache, d: Decision, log) -> bool:
    try:
        return cache.has(d.key)
    except Exception as exc:  # an unreachable cache never fails a build
        log(f"  [{d.instance.name}] cache {cache} unreachable: {type(exc).__name__}: {exc}")
        return False


def _pull(cache: RemoteCache, build_dir: Path, manifest: Manifest, d: Decision, log) -> Outcome | None:
    """Fetch the stage's result by its key instead of running it; None when the cache cannot serve it."""
    name = d.instance.name
    work = build_dir / ".work" / f"{name}-pull-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    try:
        entry = cache.pull(d.key, work)
        missing = [rel for rel in entry.artifacts if not (work / rel).exists()]
        if missing:
            raise CacheMiss(f"entry lacks {', '.join(missing)}")
    except CacheMiss as exc:
        shutil.rmtree(work, ignore_errors=True)
        if str(exc) != "no entry":
            log(f"  [{name}] ignoring cache entry {d.key[:12]}: {exc}; running the stage")
        return None
    except Exception as exc:  # network, permissions, a broken backend: build locally instead
        shutil.rmtree(work, ignore_errors=True)
        log(f"  [{name}] cache {cache} unreachable: {type(exc).__name__}: {exc}; running the stage")
        return None
    artifacts = _install(work, build_dir, entry.artifacts)
    rec = entry.record
    manifest.put(name, {
        "key": d.key, "key_doc": d.key_doc, "status": "ok", "artifacts": artifacts,
        "info": rec.get("info", {}), "notes": rec.get("notes", []), "seconds": rec.get("seconds"),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "pulled_from": cache.url,
    })
    return Outcome(name, "pulled", d.reason, time.perf_counter() - started)


def _push(cache: RemoteCache, build_dir: Path, manifest: Manifest, d: Decision, log) -> None:
    """Share a stage's successful result under its key; a failed push is a warning, not a failure."""
    rec = manifest.record(d.instance.name) or {}
    if cache.read_only or rec.get("status") != "ok":
        return
    try:
        cache.push(d.key, d.instance.name, build_dir, list(rec["artifacts"]),
                   {k: rec.get(k) for k in ("info", "notes", "seconds")})
    except Exception as exc:
        log(f"  [{d.instance.name}] could not push to cache {cache}: {type(exc).__name__}: {exc}")


def _clear_stale_work(build_dir: Path) -> None:
    """Leftovers of an interrupted run; safe to delete because we hold the lock."""
    shutil.rmtree(build_dir / ".work", ignore_errors=True)


def _execute(recipe: Recipe, build_dir: Path, manifest: Manifest, d: Decision, log):
    inst = d.instance
    work = build_dir / ".work" / f"{inst.name}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    ctx = StageContext(
        recipe=recipe,
        graph=recipe.graph(inst.graph) if inst.graph else None,
        build_dir=build_dir,
        work_dir=work,
        log=lambda msg: log(f"  [{inst.name}] {msg}"),
        upstream_info={name: rec.get("info", {}) for name, rec in manifest.data["stages"].items()},
        key=d.key,
    )
    started = time.perf_counter()

    def failed(message: str, error: PipelineError):
        """Nothing of a failed stage is moved into place; its record says why."""
        shutil.rmtree(work, ignore_errors=True)
        _mark_failed(manifest, inst.name, d, message)
        return Outcome(inst.name, "failed", d.reason, time.perf_counter() - started), error

    try:
        with progress.stage(inst.name, d.reason):
            result = inst.stage.run(ctx)
    except PipelineError as exc:
        return failed(str(exc), exc)
    except Exception as exc:  # any other failure inside a stage: keep the cause, name the stage
        message = f"{type(exc).__name__}: {exc}"
        err = StageError(recipe.name, inst.name, message)
        err.__cause__ = exc
        err.traceback = traceback.format_exc()
        return failed(message, err)
    seconds = time.perf_counter() - started
    unwritten = [rel for rel in result.artifacts if not (work / rel).exists()]
    if unwritten:  # a stage bug: move nothing rather than record a lie
        message = f"declared artifacts it did not write: {', '.join(unwritten)}"
        return failed(message, StageError(recipe.name, inst.name, message))
    artifacts = _install(work, build_dir, result.artifacts)
    status = "failed" if result.failures else "ok"
    manifest.put(inst.name, {
        "key": d.key, "key_doc": d.key_doc, "status": status, "artifacts": artifacts,
        "info": result.info, "notes": result.notes, "seconds": round(seconds, 3),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
    if result.failures:
        report_path = str(build_dir / result.artifacts[0]) if result.artifacts else ""
        err = ValidationFailed(recipe.name, inst.name, result.failures, report_path)
        return Outcome(inst.name, "failed", d.reason, seconds), err
    return Outcome(inst.name, "ran", d.reason, seconds), None


def _install(work: Path, build_dir: Path, rels: list[str]) -> dict[str, dict]:
    """Move a finished stage's artifacts from its work folder into place; their fingerprints."""
    artifacts = {}
    for rel in rels:
        src, dest = work / rel, build_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_dir():
            shutil.rmtree(dest)
        elif dest.exists():
            dest.unlink()
        src.replace(dest)
        artifacts[rel] = fingerprint(dest)
    shutil.rmtree(work, ignore_errors=True)
    return artifacts


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
