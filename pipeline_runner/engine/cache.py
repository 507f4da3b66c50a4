"""Cache keys, artifact fingerprints and the manifest that records them.

A stage instance's key is the sha256 of a canonical JSON document: the stage name
and version, its slice of the recipe, the keys of the instances it consumes, the
content hashes of input files, the versions of the libraries it calls, and a hash
of our own source it runs. The document itself is kept in the manifest so that a
changed key can be explained field by field.
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


def artifact_state(path: Path, recorded: dict) -> str | None:
    """None if ``path`` still is what was recorded, else "missing" or "altered".

    Size and mtime are compared first; only when they differ is the content hashed.
    """
    if not path.exists():
        return "missing"
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        size = sum(f.stat().st_size for f in files)
        mtime = max((f.stat().st_mtime_ns for f in files), default=0)
    else:
        st = path.stat()
        size, mtime = st.st_size, st.st_mtime_ns
    if size == recorded.get("size") and mtime == recorded.get("mtime_ns"):
        return None
    return None if fingerprint(path)["sha256"] == recorded.get("sha256") else "altered"


def key_document(instance: StageInstance, recipe, upstream_keys: dict[str, str],
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
        "upstream": upstream_keys,
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
        return f"{path.removeprefix('upstream.')} changed"
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
    """build/<name>/manifest.json: one record per stage instance, written atomically."""

    def __init__(self, build_dir: Path):
        self.path = build_dir / MANIFEST
        self.data: dict = {"stages": {}}
        if self.path.exists():
            try:
                self.data = json.loads(self.path.read_text())
                self.data.setdefault("stages", {})
            except (OSError, ValueError):
                # A corrupt record is a cache miss, never a crash.
                self.corrupt = True
                self.data = {"stages": {}}

    corrupt = False

    def record(self, name: str) -> dict | None:
        return self.data["stages"].get(name)

    def put(self, name: str, record: dict) -> None:
        self.data["stages"][name] = record
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp, self.path)
