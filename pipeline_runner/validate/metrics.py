"""Numeric agreement between two arrays: max abs/rel error, cosine, top-1 agreement.

Pure NumPy; shared by the ONNX-vs-PyTorch and Core ML-vs-PyTorch checks.
"""

from __future__ import annotations

import numpy as np

# Relative error is |a - e| / max(|e|, floor), the floor being a fraction of the
# expected output's scale, so near-zero expected values don't blow it up.
_REL_FLOOR = 1e-3


def _as_float(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def is_classifier_shaped(shape: tuple[int, ...]) -> bool:
    """Last dim > 1 and at most two other non-singleton dims (e.g. [N, C] or [N, T, C])."""
    if len(shape) == 0 or shape[-1] <= 1:
        return False
    return sum(1 for d in shape[:-1] if d > 1) <= 2


def top1_agreement(actual, expected) -> float:
    """Fraction of rows (all axes but the last) whose argmax over the last axis agrees."""
    a, e = _as_float(actual), _as_float(expected)
    a = a.reshape(-1, a.shape[-1])
    e = e.reshape(-1, e.shape[-1])
    return float(np.mean(np.argmax(a, axis=-1) == np.argmax(e, axis=-1)))


def cosine_similarity(actual, expected) -> float:
    a, e = _as_float(actual).ravel(), _as_float(expected).ravel()
    na, ne = np.linalg.norm(a), np.linalg.norm(e)
    if na == 0.0 and ne == 0.0:
        return 1.0
    if na == 0.0 or ne == 0.0 or not (np.isfinite(na) and np.isfinite(ne)):
        return 0.0
    return float(np.dot(a, e) / (na * ne))


def compare_arrays(actual, expected) -> dict:
    """Metrics of ``actual`` against ``expected`` (same shape). JSON-serialisable.

    Non-finite values in ``actual`` make the errors ``inf`` and ``finite`` False.
    """
    a, e = _as_float(actual), _as_float(expected)
    if a.shape != e.shape:
        if a.size != e.size:
            raise ValueError(f"shape mismatch: actual {a.shape} vs expected {e.shape}")
        a = a.reshape(e.shape)
    finite = bool(np.all(np.isfinite(a)))
    if a.size == 0:
        return {"max_abs_error": 0.0, "max_rel_error": 0.0, "cosine_similarity": 1.0,
                "top1_agreement": None, "finite": finite}
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - e)
        scale = float(np.max(np.abs(e))) if np.all(np.isfinite(e)) else 1.0
        floor = max(scale * _REL_FLOOR, np.finfo(np.float32).tiny)
        rel = diff / np.maximum(np.abs(e), floor)
    max_abs = float(np.max(diff)) if finite else float("inf")
    max_rel = float(np.max(rel)) if finite else float("inf")
    return {
        "max_abs_error": max_abs,
        "max_rel_error": max_rel,
        "cosine_similarity": cosine_similarity(a, e) if finite else 0.0,
        "top1_agreement": top1_agreement(a, e) if is_classifier_shaped(e.shape) else None,
        "finite": finite,
    }
