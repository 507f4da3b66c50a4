"""Numeric agreement between two arrays, judged against the signal.

Pure NumPy; shared by every comparison (ONNX Runtime, Core ML, compressed variants).
Arrays are stacked per sample: ``[samples, ...]``. Besides absolute error the metrics
give the error relative to the reference's scale (max |ref| and RMS) and to how much the
reference changes with the input (the discrimination figure), so one tolerance serves
outputs of any scale.
"""

from __future__ import annotations

import numpy as np


def _as_float(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a)))) if a.size else 0.0


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


def _ratio(num: float, den: float) -> float:
    if num == 0.0:
        return 0.0
    return num / den if den > 0.0 else float("inf")


def compare_arrays(actual, expected) -> dict:
    """Metrics of ``actual`` against ``expected`` (same shape, samples on axis 0). JSON-ready
    once passed through ``report.strict``.

    max_abs_error        max |a - e|
    reference_scale      max |e|;  rel_max_error = max_abs_error / reference_scale
    rel_rms_error        rms(a - e) / rms(e)
    input_dependence     rms(e - mean over samples) / rms(e): how much the reference changes with the
                         input (0: the same output whatever the input); None with one sample
    error_to_spread      rms(a - e) / rms(e - mean over samples): the error against the input-driven
                         spread (>= 1: a model ignoring its input would do as well); None with one sample
    Non-finite values in ``actual`` make the errors ``inf`` and ``finite`` False.
    """
    a, e = _as_float(actual), _as_float(expected)
    if a.shape != e.shape:
        if a.size != e.size:
            raise ValueError(f"shape mismatch: actual {a.shape} vs expected {e.shape}")
        a = a.reshape(e.shape)
    finite = bool(np.all(np.isfinite(a)))
    out = {"max_abs_error": 0.0, "reference_scale": 0.0, "rel_max_error": 0.0, "rel_rms_error": 0.0,
           "cosine_similarity": 1.0, "top1_agreement": None, "finite": finite,
           "input_dependence": None, "error_to_spread": None}
    if a.size == 0:
        return out
    with np.errstate(invalid="ignore", over="ignore"):
        diff = a - e
        scale = float(np.max(np.abs(e)))
        ref_rms = _rms(e)
        err_rms = _rms(diff) if finite else float("inf")
        max_abs = float(np.max(np.abs(diff))) if finite else float("inf")
    out.update(max_abs_error=max_abs, reference_scale=scale, rel_max_error=_ratio(max_abs, scale),
               rel_rms_error=_ratio(err_rms, ref_rms),
               cosine_similarity=cosine_similarity(a, e) if finite else 0.0,
               top1_agreement=top1_agreement(a, e) if is_classifier_shaped(e.shape) else None)
    if e.shape[0] >= 2:
        spread = _rms(e - e.mean(axis=0, keepdims=True))
        out["input_dependence"] = _ratio(spread, ref_rms)
        out["error_to_spread"] = _ratio(err_rms, spread) if spread > 0 else (0.0 if err_rms == 0 else None)
    return out
