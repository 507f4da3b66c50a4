"""Cache keys, artifact fingerprints and the manifest that records them.

A stage instance's key is the sha256 of a canonical JSON document: the stage name
and version, its slice of the recipe, the keys of the instances it consumes and the
content hashes of the artifacts they made (so a consumer reruns whenever what it
reads changed, even when its producer's key did not), the content hashes of input
files (named relative to the recipe, so moving a checkout keeps its cache), the
versions of the libraries it calls, and a hash of our own source it runs. The
document itself is kept in the manifest so that a changed key can be explained
field by field.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path

from pipeline_runner.engine.stage import StageInstance
from pipeline_runner.recipe.typed import plain

MANIFEST = "manifest.json"
# Every stage receives the typed recipe, whose values and helpers (``convert.is_program``,
# ``CustomOp.function``) are this code.
RECIPE_CODE = ("pipeline_runner.recipe.typed", "pipeline_runner.recipe.custom_op")


def canonical(doc) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=None)
def tool_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@lru_cache(maxsize=None)
def code_hash(module: str) -> str:
    """Hash of a module's source (a package: every file below it — .py and package data such as
    templates — except bytecode), found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise RuntimeError(f"stage code module {module!r} not found")
    if spec.submodule_search_locations:  # a package: all of its source
        root = Path(list(spec.submodule_search_locations)[0])
        files = sorted(p for p in root.rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"))
    else:
        root = Path(spec.origin).parent
        files = [Path(spec.origin)]
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(path: Path) -> dict:
    """Size, newest mtime and sha256 of a file or of a directory (e.g. an .mlpackage)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        h = hashlib.sha256()
        size, mtime = 0, 0
        for f in files:
            st = f.stat()
            size += st.st_size
            mtime = max(mtime, st.st_mtime_ns)
            h.update(f.relative_to(path).as_posix().encode())
            h.update(file_sha256(f).encode())
        return {"size": size, "mtime_ns": mtime, "sha256": h.hexdigest()}
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file_sha256(path)}


def artifact_state(path: Path, recorded: dict, *, rehash: bool = False) -> str | None:
    """None if ``path`` still is what was recorded, else "missing" or "altered".

    Size and mtime are compared first; only when they differ (or with ``rehash``) is the content hashed.
    """
    if not path.exists():
        return "missing"
    if not rehash and stamp(path) == (recorded.get("size"), recorded.get("mtime_ns")):
        return None
    return None if fingerprint(path)["sha256"] == recorded.get("sha256") else "altered"


def stamp(path: Path) -> tuple[int, int]:
    """(size, newest mtime) of a file or of every file in a directory: the cheap change check."""
    if path.is_dir():
        stats = [p.stat() for p in path.rglob("*") if p.is_file()]
        return sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats), default=0)
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def upstream_entry(record: dict | None) -> dict:
    """What a consumer's key holds of a producer: its key and its artifacts' content hashes."""
    record = record or {}
    return {"key": record.get("key"),
            "artifacts": {rel: a.get("sha256") for rel, a in record.get("artifacts", {}).items()}}


def key_document(instance: StageInstance, recipe, upstream: dict[str, dict],
                 file_hashes: dict[str, str]) -> dict:
    stage = instance.stage
    recipe_slice = {}
    for dotted in stage.reads:
        if dotted == "graph":
            recipe_slice["graph"] = plain(recipe.graph(instance.graph)) if instance.graph else None
        else:
            recipe_slice[dotted] = recipe.section(dotted)
    return {
        "stage": stage.name,
        "version": stage.version,
        "graph": instance.graph,
        "recipe": recipe_slice,
        "upstream": upstream,
        "files": file_hashes,
        "tools": {d: tool_version(d) for d in stage.tools},
        "code": {m: code_hash(m) for m in (*RECIPE_CODE, *stage.code)},
    }


def explain_change(old: dict | None, new: dict) -> str:
    """A short reason why two key documents differ, naming the changed fields."""
    if old is None:
        return "no previous run"
    changes = []
    flat_old, flat_new = _flatten(old), _flatten(new)
    for path in sorted(set(flat_old) | set(flat_new)):
        a, b = flat_old.get(path, "<unset>"), flat_new.get(path, "<unset>")
        if a != b:
            changes.append(_describe(path, a, b))
    if not changes:
        return "key changed"
    more = f" (+{len(changes) - 3} more)" if len(changes) > 3 else ""
    return "; ".join(changes[:3]) + more


def _describe(path: str, a, b) -> str:
    if path.startswith("recipe."):
        field = path.removeprefix("recipe.")
        return f"{field} {_short(a)} → {_short(b)}"
    if path.startswith("upstream."):
        name, sep, rel = path.removeprefix("upstream.").partition(".artifacts.")
        if sep:
            return f"{rel} (from {name}) changed"
        return f"{name.removesuffix('.key')} changed"
    if path.startswith("code."):
        return f"code of {path.removeprefix('code.')} changed"
    if path.startswith("tools."):
        return f"{path.removeprefix('tools.')} {a} → {b}"
    if path.startswith("files."):
        return f"input file {path.removeprefix('files.')} changed"
    return f"{path} changed"


def _short(value) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def _flatten(doc, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    if isinstance(doc, dict) and doc:
        for k, v in doc.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(doc, list) and doc and prefix.startswith("recipe.graph"):
        for i, v in enumerate(doc):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = doc
    return out


class Manifest:
    """build/<name>/manifest.json: one record per stage instance, written atomically.

    A manifest that does not parse, or whose structure is not what this code writes, is
    treated as absent (``problem`` says why; every stage reruns), never as a jam.
    """

    def __init__(self, build_dir: Path):
        self.path = build_dir / MANIFEST
        self.data: dict = {"stages": {}}
        self.problem: str | None = None
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                self.problem = f"unreadable: {exc}"
            else:
                self.problem = _structure_problem(data)
                if self.problem is None:
                    self.data = data
                    self.data.setdefault("stages", {})
            if not isinstance(self.data.get("file_hashes", {}), dict):
                self.data.pop("file_hashes")

    @property
    def corrupt(self) -> bool:
        return self.problem is not None

    def record(self, name: str) -> dict | None:
        return self.data["stages"].get(name)

    def put(self, name: str, record: dict) -> None:
        self.data["stages"][name] = record
        self.save()

    def save(self) -> None:
        from pipeline_runner.errors import PipelineError

        tmp = self.path.with_name(f"{MANIFEST}.tmp{os.getpid()}")
        try:
            tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise PipelineError(f"cannot write {self.path}: {exc.strerror or exc}") from exc


def _structure_problem(data) -> str | None:
    if not isinstance(data, dict):
        return f"expected an object, got {type(data).__name__}"
    stages = data.get("stages", {})
    if not isinstance(stages, dict):
        return "'stages' is not an object"
    for name, rec in stages.items():
        if not isinstance(rec, dict):
            return f"the record of {name} is not an object"
        shapes = {"key": str, "status": str, "key_doc": dict, "info": dict, "artifacts": dict, "notes": list}
        for field, kind in shapes.items():
            if field in rec and not isinstance(rec[field], kind):
                return f"{name}.{field} is not a {kind.__name__}"
        for rel, art in rec.get("artifacts", {}).items():
            if not isinstance(art, dict) or not isinstance(art.get("sha256"), str):
                return f"{name}: artifact {rel} has no sha256"
    return None
