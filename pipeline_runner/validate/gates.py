"""The one gate: an output's metrics against a tolerance, and one report shape per comparison.

Every comparison (ONNX Runtime vs PyTorch, Core ML vs PyTorch, a compressed variant vs its
base, ...) goes through :func:`compare_outputs`, which returns::

    {"ran": True, "where": ..., "tolerance": {...}, "passed": bool,
     "outputs": {name: {<metrics.compare_arrays>, "passed", "reasons": [...], "warnings": [...]}},
     "failures": ["<label> <output>: <reason>", ...], "warnings": [...]}

Tolerance bounds (any subset; a bound left out is not checked):
  max_abs             absolute: max |actual - expected|
  max_rel             max |actual - expected| / max |expected|  (scale-aware)
  min_cosine          cosine similarity over all samples
  top1_agreement      fraction of rows whose argmax agrees (outputs of kind logits/probabilities)
  max_error_to_spread rms error / rms of the input-driven spread: below 1 means the comparison tells
                      this model from one that ignores its input; the default keeps well below that
Weak discrimination (the reference barely depends on the input) is a warning, not a failure: the
error_to_spread bound already fails any build whose error rivals the input's effect, while a
build that passes it is right about what little the input changes. The warning says the check
proves little and what to do.
"""

from __future__ import annotations

import numpy as np

from pipeline_runner.validate.metrics import compare_arrays

# Below this, outputs change by less than 0.1 % of their size across inputs.
WEAK_INPUT_DEPENDENCE = 1e-3
WEAK_ADVICE = ("the check proves little: use real weights (model.checkpoint), or for random weights keep "
               "model.norm_calibration enabled (BatchNorm models) so activations have realistic ranges")


def gate(metrics: dict, tolerance: dict, kind: str = "tensor") -> tuple[list[str], list[str]]:
    """(reasons it failed, warnings) for one output's metrics."""
    reasons, warnings = [], []
    if not metrics.get("finite", True):
        reasons.append("non-finite values (inf/nan)")
    if "max_abs" in tolerance and metrics["max_abs_error"] > tolerance["max_abs"]:
        reasons.append(f"max abs error {metrics['max_abs_error']:.3g} > max_abs {tolerance['max_abs']:.3g}")
    if "max_rel" in tolerance and metrics["rel_max_error"] > tolerance["max_rel"]:
        reasons.append(f"max abs error {metrics['max_abs_error']:.3g} is {metrics['rel_max_error']:.3g} of the "
                       f"output scale {metrics['reference_scale']:.3g} > max_rel {tolerance['max_rel']:.3g}")
    if "min_cosine" in tolerance and metrics["cosine_similarity"] < tolerance["min_cosine"]:
        reasons.append(f"cosine similarity {metrics['cosine_similarity']:.6f} < min_cosine {tolerance['min_cosine']}")
    top1 = metrics.get("top1_agreement")
    if kind in ("logits", "probabilities") and top1 is not None and "top1_agreement" in tolerance:
        if top1 < tolerance["top1_agreement"]:
            reasons.append(f"top-1 agreement {top1:.3f} < top1_agreement {tolerance['top1_agreement']}")
    ratio, dependence = metrics.get("error_to_spread"), metrics.get("input_dependence")
    if "max_error_to_spread" in tolerance and ratio is not None and ratio > tolerance["max_error_to_spread"]:
        reasons.append(f"error is {ratio:.3g}x the difference the input makes (input dependence "
                       f"{dependence:.3g}) > max_error_to_spread {tolerance['max_error_to_spread']}: the "
                       "converted model does not tell inputs apart as PyTorch does"
                       + (f"; the outputs barely depend on the input, so {WEAK_ADVICE}"
                          if dependence is not None and dependence < WEAK_INPUT_DEPENDENCE else ""))
    if metrics.get("reference_scale") == 0 and metrics.get("finite", True):
        warnings.append("the reference output is all zeros (e.g. a zero-initialised head with random weights): "
                        f"this comparison proves nothing; {WEAK_ADVICE}")
    elif dependence is None:
        warnings.append("one sample: how much the output depends on the input was not measured")
    elif dependence < WEAK_INPUT_DEPENDENCE:
        warnings.append(f"weak discrimination: the outputs change by {dependence:.2g} of their size across "
                        f"different inputs; {WEAK_ADVICE}")
    elif ratio is None:
        warnings.append("the output does not depend on the input at all; only its values are checked")
    return reasons, warnings


def _as_array(value):
    if isinstance(value, dict):  # classifier probabilities: in label order
        return np.asarray(list(value.values()), dtype=np.float64)
    if isinstance(value, (str, bytes, int)):  # a class label
        return None
    return np.asarray(value)


def stack(rows: list[dict], name: str) -> np.ndarray | None:
    """One output over all samples, stacked on a new axis 0 (None: not numeric, e.g. a class label)."""
    arrays = [_as_array(r[name]) for r in rows]
    if any(a is None or a.dtype.kind not in "biuf" for a in arrays):
        return None
    return np.stack([a.astype(np.float64) for a in arrays])


def compare_outputs(actual: list[dict], expected: list[dict], tolerance: dict, kinds: dict | None = None,
                    *, label: str, where: str) -> dict:
    """The comparison report for per-sample output dicts (see the module docstring)."""
    if len(actual) != len(expected) or not expected:
        raise ValueError(f"need one actual output dict per expected one (got {len(actual)} and {len(expected)})")
    outputs, failures, warnings = {}, [], []
    for name in expected[0]:
        if name not in actual[0]:
            entry = {"passed": False, "reasons": [f"output {name!r} missing (has {sorted(actual[0])})"], "warnings": []}
        else:
            got, want = stack(actual, name), stack(expected, name)
            if got is None or want is None:
                outputs[name] = {"passed": True, "reasons": [], "warnings": [], "skipped": "non-numeric output (class label)"}
                continue
            metrics = compare_arrays(got, want)
            reasons, notes = gate(metrics, tolerance, (kinds or {}).get(name, "tensor"))
            entry = {**metrics, "passed": not reasons, "reasons": reasons, "warnings": notes}
        outputs[name] = entry
        failures += [f"{label} {name}: {r}" for r in entry["reasons"]]
        warnings += [f"{label} {name}: {w}" for w in entry["warnings"]]
    return {"ran": True, "where": where, "tolerance": dict(tolerance), "passed": not failures,
            "outputs": outputs, "failures": failures, "warnings": warnings}


def verdict(actual: list[dict], expected: list[dict], tolerance: dict, kinds: dict | None = None) -> bool:
    """Would these outputs pass? (diagnosis replays)"""
    return compare_outputs(actual, expected, tolerance, kinds, label="", where="")["passed"]
