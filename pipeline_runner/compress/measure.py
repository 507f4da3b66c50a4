"""What a compressed package weighs on disk and which of its ops carry compressed weights."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def disk_size(path: Path) -> int:
    """Bytes of a file, or of every file under a package directory."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def weights_size(path: Path) -> int:
    """Bytes of a package's weight files (``Data/com.apple.CoreML/weights``); the whole file otherwise."""
    path = Path(path)
    weights = list(path.glob("Data/*/weights")) if path.is_dir() else []
    return sum(disk_size(w) for w in weights) if weights else disk_size(path)


def compressed_ops(reference_model) -> dict:
    """{"constexpr": {constexpr op type: count}, "consumers": {op type: count of ops reading a
    decompressed weight}} from the saved program as the reference executor parsed it."""
    ops = list(reference_model.program.all_ops())
    produced = {}
    for op in ops:
        if op.type.startswith("constexpr_"):
            produced.update({name: op.type for name, _ in op.outputs})
    consumers = Counter()
    for op in ops:
        if op.type.startswith("constexpr_"):
            continue
        if any(a.name in produced for args in op.inputs.values() for a in args):
            consumers[op.type] += 1
    kinds = Counter(op.type for op in ops if op.type.startswith("constexpr_") or op.type in ("quantize", "dequantize"))
    return {"constexpr": dict(sorted(kinds.items())), "consumers": dict(sorted(consumers.items()))}
