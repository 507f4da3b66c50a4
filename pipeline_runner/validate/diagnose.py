"""Why a Core ML build disagrees with PyTorch, told apart by replays of the saved program.

Categories (``diagnosis["category"]``):
  fp16_range     activations leave fp16's range (overflow past 65504, or a whole tensor below
                 fp16's smallest normal 6.1e-5, where it underflows) while the fp32 replay passes
                 or only differs by weight rounding
  fp16_weights   the fp32 replay (every activation fp32) still fails, and PyTorch run with its
                 weights rounded to fp16 reproduces it: the fp16 weights stored in the file are the
                 cause (a replay cannot undo that rounding; `convert.precision: fp32` does)
  fp16_rounding  activations in range, the fp32 replay passes: fp16 rounding of some op
  ill_conditioned  the fp32 replay fails too, but PyTorch's own fp32 rounding (against fp64),
                 scaled to fp16's, already reaches the bound: the model amplifies rounding
                 (``validate.conditioning``), fp16 cannot hold it whatever the conversion
  conversion     the program computed in fp32 end to end disagrees with PyTorch (and, when
                 given, with PyTorch on fp16-rounded weights): the conversion is wrong
Suggestions are replayed before they are printed (``verified``): `precision: fp32` by the fp32
replay, `fp32_op_types` by a replay keeping exactly those op types in fp32.
"""

from __future__ import annotations

import numpy as np

from pipeline_runner.validate.gates import stack, verdict

FP16_MAX = 65504.0
FP16_MIN_NORMAL = 2.0 ** -14
# An op "diverges" when its fp16 output differs from the fp32 replay by more than this
# fraction of the output's magnitude, or becomes non-finite where fp32 is finite.
DIVERGENCE_THRESHOLD = 0.05
MAX_FP32_OP_TYPES = 4  # suggest fp32_op_types only when this few op types would fix it


def diagnose(model, samples, actual, expected, tolerance, kinds=None, fp16_weights_expected=None,
             rounding_error=None) -> dict:
    """The diagnosis dict for a failed comparison of ``model`` (a ReferenceModel) with PyTorch.

    ``fp16_weights_expected``: optional callable returning PyTorch's outputs on ``samples`` with
    the weights rounded to fp16 (tells weight rounding from a wrong conversion).
    ``rounding_error``: optional callable returning PyTorch's fp32-vs-fp64 relative error
    (``validate.conditioning``; tells an ill-conditioned model from a wrong conversion).
    """
    if model.compute_precision == "fp32":
        return _finding("conversion", "the saved program computes in fp32 end to end and disagrees with PyTorch: "
                        "the conversion is wrong (or the tolerance is tighter than fp32 arithmetic)", [],
                        {"fp32_end_to_end": True})
    fp32_rows = [model.predict(s, fp32=True) for s in samples]
    fp32_ok = verdict(fp32_rows, expected, tolerance, kinds)
    evidence = {"fp32_replay_passed": fp32_ok}
    weights_explain = None
    if not fp32_ok and fp16_weights_expected is not None:
        weights_explain = verdict(fp32_rows, fp16_weights_expected(), tolerance, kinds)
        evidence["pytorch_with_fp16_weights_matches_fp32_replay"] = weights_explain
    worst = _worst_sample(actual, expected)
    pairs = list(_trace_pairs(model, samples[worst]))
    out_of_range = _out_of_range(pairs)
    divergence = _first_divergence(pairs)
    evidence.update(sample_index=worst, out_of_range_ops=out_of_range[:10], first_divergence=divergence)
    fp32_fixes = fp32_ok or bool(weights_explain)
    precision = {"change": "convert.precision: fp32", "verified": fp32_fixes,
                 "evidence": "the program replayed in fp32 end to end passes" if fp32_ok else
                 "the fp32 replay matches PyTorch run with fp16-rounded weights; fp32 weights remove that too"
                 if weights_explain else "not verified: the fp32 replay fails too"}
    if not fp32_fixes:
        from pipeline_runner.validate import conditioning

        noise = rounding_error() if rounding_error is not None else None
        evidence["pytorch_fp32_vs_fp64"] = noise
        if conditioning.explains(noise, tolerance.get("max_rel"), fp16=True):
            return _finding("ill_conditioned", conditioning.advice(noise, fp16=True),
                            [{**precision, "evidence": "not verified: fp32 needs bounds above the model's fp32 "
                                                       f"rounding noise ({noise:.2g} of the output scale)"}],
                            evidence)
        told = "" if weights_explain is None else ", and PyTorch with fp16-rounded weights does not explain it"
        return _finding("conversion", "the program replayed in fp32 end to end disagrees with PyTorch" + told +
                        ": the conversion is wrong, not fp16 precision", [], evidence)
    if out_of_range:
        first = out_of_range[0]
        types = sorted({o["op_type"] for o in out_of_range})
        suggestions = [precision, {"change": "rescale the values that leave fp16's range (real weights, "
                                   "normalisation; for random weights model.norm_calibration)", "verified": False,
                                   "evidence": f"first out of range: {first['op_type']} op {first['op_name']!r} "
                                   f"({first['problem']}, max |value| {first['max_abs']:.3g})"}]
        ops = _try_fp32_ops(model, samples, expected, tolerance, kinds, types, worst)
        if ops:
            suggestions.append(ops)
        return _finding("fp16_range", f"fp16 range: {len(out_of_range)} op outputs leave fp16's range, first "
                        f"{first['op_type']} op {first['op_name']!r} ({first['problem']}); op types {types}",
                        suggestions, evidence)
    if not fp32_ok:
        return _finding("fp16_weights", "fp16 rounding of weights: activations stay in fp16's range, but the "
                        "weights stored in fp16 change the outputs beyond the tolerance", [precision], evidence)
    suggestions = []
    if divergence:
        ops = _try_fp32_ops(model, samples, expected, tolerance, kinds, [divergence["op_type"]], worst)
        if ops:
            suggestions.append(ops)
    suggestions.append(precision)
    where = (f"; first diverging op: {divergence['op_type']} {divergence['op_name']!r} ({divergence['reason']})"
             if divergence else "")
    return _finding("fp16_rounding", "fp16 rounding of activations" + where, suggestions, evidence)


def _finding(category: str, explanation: str, suggestions: list[dict], evidence: dict) -> dict:
    first = next((s for s in suggestions if s["verified"]), suggestions[0] if suggestions else None)
    summary = f"{category}: {explanation}"
    if first:
        summary += f". Suggestion: `{first['change']}` ({'verified by replay' if first['verified'] else 'not verified'})"
    return {"category": category, "explanation": explanation, "suggestions": suggestions, "evidence": evidence,
            "summary": summary}


def _try_fp32_ops(model, samples, expected, tolerance, kinds, types, worst: int = 0) -> dict | None:
    """Replay with ``types`` kept in fp32; while it fails, add the type of the first op still going
    non-finite or out of range in that replay (the next op the fp16 cast breaks), up to a few types."""
    types = set(types)
    while types and len(types) <= MAX_FP32_OP_TYPES:
        rows = [model.predict(s, fp32_ops=frozenset(types)) for s in samples]
        if verdict(rows, expected, tolerance, kinds):
            return {"change": f"convert.fp32_op_types: [{', '.join(sorted(types))}]", "verified": True,
                    "evidence": "the program replayed with these op types in fp32 passes"}
        culprit = _first_broken(model.trace(samples[worst], fp32_ops=frozenset(types)), types)
        if culprit is None:
            return None
        types.add(culprit)
    return None


def _first_broken(trace, types) -> str | None:
    for entry in trace:
        if entry.type in types:
            continue
        for dtype, value in zip(entry.dtypes, entry.outputs):
            x = _float(value)
            if dtype == "fp16" and x is not None and x.size and not np.all(np.isfinite(x)):
                return entry.type
    return None


def _float(value):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64)
    return None


def _trace_pairs(model, sample):
    """(op entry, as-saved output, fp32-replay output) for every fp16 float output."""
    low, high = model.trace(sample), model.trace(sample, fp32=True)
    for a, b in zip(low, high):
        for dtype, x, y in zip(a.dtypes, a.outputs, b.outputs):
            x, y = _float(x), _float(y)
            if dtype == "fp16" and x is not None and y is not None and x.shape == y.shape and x.size:
                yield a, x, y


def _out_of_range(pairs) -> list[dict]:
    found = []
    for entry, _x, y in pairs:
        if not np.all(np.isfinite(y)):
            continue  # non-finite even in fp32: not a range problem of fp16
        top = float(np.max(np.abs(y)))
        problem = ("overflow: values beyond fp16's 65504" if top > FP16_MAX else
                   "underflow: the whole tensor is below fp16's smallest normal 6.1e-5" if 0 < top < FP16_MIN_NORMAL
                   else None)
        if problem:
            found.append({"op_name": entry.name, "op_type": entry.type, "problem": problem, "max_abs": top})
    return found


def _first_divergence(pairs, threshold: float = DIVERGENCE_THRESHOLD) -> dict | None:
    for entry, x, y in pairs:
        if not np.all(np.isfinite(y)):
            continue
        scale = float(np.max(np.abs(y))) or 1.0
        finite = bool(np.all(np.isfinite(x)))
        diff = float(np.max(np.abs(x - y))) if finite else float("inf")
        if not finite or diff > threshold * scale:
            reason = ("fp16 overflow (inf/nan) where fp32 is finite" if not finite
                      else f"fp16 output differs from fp32 by {diff / scale:.3g} of its scale")
            return {"op_name": entry.name, "op_type": entry.type, "reason": reason,
                    "max_abs_difference": diff, "output_scale": scale, "threshold": threshold}
    return None


def _worst_sample(actual, expected) -> int:
    errors = []
    for i in range(len(expected)):
        e = 0.0
        for name in expected[i]:
            got, want = stack([actual[i]], name) if name in actual[i] else None, stack([expected[i]], name)
            if got is None or want is None or got.size != want.size:
                continue
            with np.errstate(invalid="ignore", over="ignore"):
                d = np.abs(got.reshape(-1) - want.reshape(-1)) / (float(np.max(np.abs(want))) or 1.0)
            e = max(e, float(np.max(np.where(np.isfinite(d), d, np.inf))) if d.size else 0.0)
        errors.append(e)
    return int(np.argmax(errors))
