"""Between a build directory and the shared stage cache (engine/remote_cache.py): pull a stage's
result by its key instead of running it, push it after it ran; and moving a finished stage's
artifacts into place, which both a run and a pull end with.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

from pipeline_runner.engine.cache import Manifest, fingerprint
from pipeline_runner.engine.remote_cache import CacheMiss, RemoteCache
from pipeline_runner.engine.signals import deferred


def install_artifacts(work: Path, build_dir: Path, rels: list[str]) -> dict[str, dict]:
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


def pullable(cache: RemoteCache | None, d) -> bool:
    return cache is not None and not d.reason.startswith("forced")


def remote_has(cache: RemoteCache, d, log) -> bool:
    try:
        return cache.has(d.key)
    except Exception as exc:  # an unreachable cache never fails a build
        log(f"  [{d.instance.name}] cache {cache} unreachable: {type(exc).__name__}: {exc}")
        return False


def predicted_record(cache: RemoteCache | None, d, log) -> dict | None:
    """For a dry run: the record pulling ``d`` would give (key and artifact hashes), or None."""
    if not pullable(cache, d) or not remote_has(cache, d, log):
        return None
    try:
        hashes = cache.entry(d.key)["record"].get("artifact_sha256")
    except Exception:  # unreadable or corrupt: the real pull would find out
        return None
    if not isinstance(hashes, dict):  # pushed without them: consumers cannot be predicted
        return {"key": d.key, "artifacts": {}}
    return {"key": d.key, "artifacts": {rel: {"sha256": h} for rel, h in hashes.items()}}


def pull(cache: RemoteCache, build_dir: Path, manifest: Manifest, d, log):
    """Fetch the stage's result by its key instead of running it: (artifacts, seconds), or None
    when the cache cannot serve it."""
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
    rec = entry.record
    with deferred():
        artifacts = install_artifacts(work, build_dir, entry.artifacts)
        manifest.put(name, {
            "key": d.key, "key_doc": d.key_doc, "status": "ok", "artifacts": artifacts,
            "info": rec.get("info", {}), "notes": rec.get("notes", []), "seconds": rec.get("seconds"),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "pulled_from": cache.url,
        })
    return time.perf_counter() - started


def push(cache: RemoteCache, build_dir: Path, manifest: Manifest, d, log) -> None:
    """Share a stage's successful result under its key; a failed push is a warning, not a failure."""
    rec = manifest.record(d.instance.name) or {}
    if cache.read_only or rec.get("status") != "ok":
        return
    try:
        shared = {k: rec.get(k) for k in ("info", "notes", "seconds")}
        # The artifacts' hashes as the manifest records them: consumers' keys hold them, so a dry run
        # can tell that a consumer of a pullable stage is pullable too.
        shared["artifact_sha256"] = {rel: a["sha256"] for rel, a in rec["artifacts"].items()}
        cache.push(d.key, d.instance.name, build_dir, list(rec["artifacts"]), shared)
    except Exception as exc:
        log(f"  [{d.instance.name}] could not push to cache {cache}: {type(exc).__name__}: {exc}")
