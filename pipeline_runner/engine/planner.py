"""Decide cheaply what is stale, and why. Imports no heavy library.

Decisions go from cheap to expensive: forced, no record, last run failed, key
changed (explained field by field), artifact missing, artifact altered (size and
mtime first, the content hash only when they differ, or always with ``verify``).
A consumer's key holds its producers' artifact hashes, so its decision is made
after its producers ran (``Planner.decide``, one instance at a time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline_runner.engine.cache import (
    Manifest,
    artifact_state,
    canonical,
    explain_change,
    file_sha256,
    key_document,
    sha256_text,
    upstream_entry,
)
from pipeline_runner.engine.stage import StageInstance, expand, order_stages, upstream_of
from pipeline_runner.recipe import Recipe


@dataclass
class Decision:
    instance: StageInstance
    key: str
    key_doc: dict
    run: bool
    reason: str
    done: bool = False  # it ran in this run: its record is the new one
    pull: bool = False  # planning ahead: the shared cache has its result (``Planner.plan(predict=...)``)


class Planner:
    def __init__(self, recipe: Recipe, build_dir: Path, manifest: Manifest, *,
                 force: set[str] | None = None, verify: bool = False):
        from pipeline_runner.stages import STAGES

        self.recipe, self.build_dir, self.manifest = recipe, build_dir, manifest
        self.force, self.verify = force or set(), verify
        self.instances = expand(order_stages(STAGES), recipe)
        self.decisions: dict[str, Decision] = {}
        self.file_hashes = _FileHashes(manifest)
        self.altered: list[str] = []  # artifacts found missing or altered (for --verify's report)
        self.predicted: dict[str, dict] = {}  # instance -> the record a pull would give it

    def plan(self, predict=None) -> list[Decision]:
        """Every instance's decision. ``predict(decision)``: the record the shared cache would give a
        stale instance (or None), so that its consumers are planned against the pulled artifacts."""
        decisions = []
        for inst in self.instances:
            d = self.decide(inst)
            record = predict(d) if predict is not None and d.run else None
            if record is not None:
                self.predicted[inst.name] = record
                d.done = d.pull = True
            decisions.append(d)
        return decisions

    def upstream(self, inst: StageInstance) -> list[StageInstance]:
        return upstream_of(inst, self.instances)

    def decide(self, inst: StageInstance) -> Decision:
        ups = self.upstream(inst)
        recipe_dir = self.recipe.path.resolve().parent
        files = {}
        for p in inst.stage.reads_files(self.recipe) if inst.stage.reads_files else []:
            files[Path(os.path.relpath(p, recipe_dir)).as_posix()] = self.file_hashes.get(p)
        upstream = {u.name: upstream_entry(self.predicted.get(u.name) or self.manifest.record(u.name)) for u in ups}
        doc = key_document(inst, self.recipe, upstream, files)
        key = sha256_text(canonical(doc))
        record = self.manifest.record(inst.name)
        pending = [u.name for u in ups if self.decisions[u.name].run and not self.decisions[u.name].done]
        forced_up = [u.name for u in ups if self.decisions[u.name].run and self.decisions[u.name].reason.startswith("forced")]
        if "all" in self.force or inst.stage.name in self.force:
            reason = "forced (--force)"
        elif forced_up:
            reason = f"forced: upstream {forced_up[0]} is forced"
        elif record is None:
            reason = "no previous run" + (" (the manifest was unreadable)" if self.manifest.corrupt else "")
        elif record.get("status") != "ok":
            reason = f"last run {record.get('status', 'did not finish')}"
        elif pending:  # only when planning ahead (dry run): the producer's new artifacts are not known yet
            reason = f"upstream {pending[0]} will run"
        elif record.get("key") != key:
            reason = "key changed: " + explain_change(record.get("key_doc"), doc)
        else:
            reason = self._artifacts_changed(record) or ""
        decision = Decision(inst, key, doc, bool(reason), reason or "up to date")
        self.decisions[inst.name] = decision
        return decision

    def ran(self, inst: StageInstance) -> None:
        """``inst`` has run (its new record is in the manifest): consumers now decide against it."""
        self.decisions[inst.name].done = True

    def _artifacts_changed(self, record: dict) -> str | None:
        found = None
        for rel, recorded in record.get("artifacts", {}).items():
            state = artifact_state(self.build_dir / rel, recorded, rehash=self.verify)
            if state:
                self.altered.append(f"{rel} ({state})")
                found = found or f"artifact {state}: {rel}"
                if not self.verify:
                    break
        return found


def plan(recipe: Recipe, build_dir: Path, force: set[str] | None = None,
         manifest: Manifest | None = None, *, verify: bool = False) -> list[Decision]:
    """What each stage instance would do now, and why."""
    return Planner(recipe, build_dir, manifest or Manifest(build_dir), force=force, verify=verify).plan()


class _FileHashes:
    """Content hashes of input files (checkpoints), memoised in the manifest by size+mtime."""

    def __init__(self, manifest: Manifest):
        self.memo = manifest.data.setdefault("file_hashes", {})

    def get(self, path: Path) -> str:
        st = path.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
        entry = self.memo.get(str(path))
        if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str):
            return entry["sha256"]
        digest = file_sha256(path)
        self.memo[str(path)] = {"stamp": stamp, "sha256": digest}
        return digest
