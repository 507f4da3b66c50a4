"""Core ML numerics from the saved artifact, checked on Linux with the NumPy reference executor.

``check_coreml`` runs the saved model on the validation samples, compares every output
with the expected (PyTorch) outputs, and when something fails, localises it: the same
program is traced once as saved (fp16 where it is fp16) and once with every op kept in
fp32, and the first op whose output parts ways is reported with the recipe setting that
keeps such ops in fp32. On macOS the Core ML runtime is also run and compared.
"""

from __future__ import annotations

import platform

import numpy as np

from pipeline_runner.validate.metrics import compare_arrays

# An op "diverges" when its fp16 output differs from the all-fp32 run by more than this
# fraction of the output's magnitude, or becomes non-finite where fp32 is finite.
DIVERGENCE_THRESHOLD = 0.05
_LOGIT_HINTS = ("logit", "prob", "score", "class", "pred")


def _as_array(value):
    if isinstance(value, dict):  # classifier probabilities: in label order
        return np.asarray(list(value.values()), dtype=np.float64)
    if isinstance(value, (str, bytes)):
        return None
    return np.asarray(value)


def _stack(rows: list[dict], name: str):
    arrays = [_as_array(r[name]) for r in rows]
    if any(a is None for a in arrays):
        return None
    return np.stack([a.astype(np.float64) for a in arrays])


def _gate(name: str, metrics: dict, tolerances: dict, kinds: dict | None) -> tuple[bool, list[str]]:
    why = []
    if not metrics["finite"]:
        why.append("non-finite values")
    if "max_abs" in tolerances and metrics["max_abs_error"] > tolerances["max_abs"]:
        why.append(f"max_abs_error {metrics['max_abs_error']:.3g} > {tolerances['max_abs']:.3g}")
    if "min_cosine" in tolerances and metrics["cosine_similarity"] < tolerances["min_cosine"]:
        why.append(f"cosine {metrics['cosine_similarity']:.6f} < {tolerances['min_cosine']}")
    kind = (kinds or {}).get(name)
    logits_like = kind in ("logits", "probabilities") if kind else any(h in name.lower() for h in _LOGIT_HINTS)
    top1 = metrics.get("top1_agreement")
    if logits_like and top1 is not None and "top1_agreement" in tolerances and top1 < tolerances["top1_agreement"]:
        why.append(f"top1_agreement {top1:.3f} < {tolerances['top1_agreement']}")
    return not why, why


def compare_outputs(actual: list[dict], expected: list[dict], tolerances: dict, kinds=None) -> dict:
    """{output name: metrics + passed (+ why)} over all samples, stacked."""
    report = {}
    for name in expected[0]:
        if name not in actual[0]:
            report[name] = {"passed": False, "why": [f"output {name!r} missing from the Core ML model"]}
            continue
        got, want = _stack(actual, name), _stack(expected, name)
        if got is None or want is None:
            report[name] = {"passed": True, "skipped": "non-numeric output (class label)"}
            continue
        metrics = compare_arrays(got, want)
        passed, why = _gate(name, metrics, tolerances, kinds)
        report[name] = {**metrics, "passed": passed, **({"why": why} if why else {})}
    return report


def _float_outputs(entry):
    return [np.asarray(o, np.float64) for o in entry.outputs
            if isinstance(o, np.ndarray) and o.dtype.kind == "f"]


def localise_divergence(model, sample: dict, threshold: float = DIVERGENCE_THRESHOLD) -> dict | None:
    """First op whose as-saved (fp16) output departs from the same program run all in fp32.

    Departs: becomes non-finite where fp32 is finite, or differs by more than ``threshold`` of
    the output's magnitude. If no op crosses the threshold, the op with the largest relative
    difference is reported instead (``crossed_threshold: False``). None if nothing differs.
    """
    low = model.trace(sample)
    high = model.trace(sample, fp32=True)
    worst = None
    for a, b in zip(low, high):
        for x, y in zip(_float_outputs(a), _float_outputs(b)):
            if x.shape != y.shape or x.size == 0 or not np.all(np.isfinite(y)):
                continue  # non-finite even in fp32: not a precision problem
            scale = float(np.max(np.abs(y))) or 1.0
            finite = bool(np.all(np.isfinite(x)))
            diff = float(np.max(np.abs(x - y))) if finite else float("inf")
            if not finite or diff > threshold * scale:
                reason = ("fp16 overflow (inf/nan) where fp32 is finite" if not finite
                          else f"fp16 output differs from fp32 by {diff / scale:.3g} of its scale")
                return _divergence(a, reason, diff, scale, threshold, True)
            if diff > 0 and (worst is None or diff / scale > worst[0]):
                worst = (diff / scale, a, diff, scale)
    if worst is None:
        return None
    ratio, entry, diff, scale = worst
    reason = f"no op crosses the threshold; the largest fp16-vs-fp32 difference is {ratio:.3g} of its scale"
    return _divergence(entry, reason, diff, scale, threshold, False)


def _divergence(entry, reason, diff, scale, threshold, crossed):
    return {
        "op_name": entry.name, "op_type": entry.type, "output_dtypes": list(entry.dtypes), "reason": reason,
        "max_abs_difference": diff, "output_scale": scale, "threshold": threshold, "crossed_threshold": crossed,
        "suggestion": _suggest(entry.type),
    }


def _suggest(op_type: str) -> str:
    if op_type == "cast":
        return ("a value is out of fp16 range before any compute op (inputs or constants): "
                "rescale it, or convert with `convert.precision: fp32`")
    return (f"keep {op_type} ops in fp32: set `convert.fp32_op_types: [{op_type}]` in the recipe "
            "(add later ops too if the next run still diverges)")


def _runtime_check(model_path, samples, reference_outputs) -> dict:
    if platform.system() != "Darwin":
        return {"ran": False, "reason": f"Core ML runtime unavailable on {platform.system()}: coremltools cannot "
                                        "run models there (no libcoremlpython); the NumPy reference executor stands in"}
    try:
        import coremltools as ct

        mlmodel = ct.models.MLModel(str(model_path))
        runtime = [mlmodel.predict(s) for s in samples]
    except Exception as exc:  # report, don't hide: the reference result still stands
        return {"ran": False, "reason": f"Core ML runtime failed: {type(exc).__name__}: {exc}"}
    agreement = {}
    for name in reference_outputs[0]:
        got, want = _stack(runtime, name), _stack(reference_outputs, name)
        if got is not None and want is not None:
            agreement[name] = compare_arrays(got, want)
    return {"ran": True, "where": "coremltools MLModel.predict", "reference_vs_runtime": agreement}


def check_coreml(model_path, samples: list[dict[str, np.ndarray]], expected: list[dict[str, np.ndarray]],
                 tolerances: dict, *, custom_layers=None, kinds: dict | None = None,
                 divergence_threshold: float = DIVERGENCE_THRESHOLD) -> dict:
    """Run the saved Core ML model on ``samples`` and compare with ``expected``.

    ``tolerances``: ``{"max_abs", "min_cosine", "top1_agreement"}`` (any subset). ``kinds`` optionally
    maps output names to "logits"/"probabilities"/... (top-1 is gated only for those; without it,
    for outputs whose names look like logits). Returns a JSON-serialisable report. Models the
    executor cannot run raise ``CoreMLReferenceError`` (e.g. ``UnsupportedOpError`` naming the ops).
    """
    from pipeline_runner.coreml_reference import load_model

    if len(samples) != len(expected) or not samples:
        raise ValueError(f"need one expected output dict per sample (got {len(samples)} samples, {len(expected)} expected)")
    model = load_model(model_path, custom_layers=custom_layers)
    # Samples may carry more than the model takes (e.g. both pixels and the normalised tensor).
    ignored = sorted({k for s in samples for k in s} - set(model.input_names))
    samples = [{k: v for k, v in s.items() if k in model.input_names} for s in samples]
    actual = [model.predict(s) for s in samples]
    outputs = compare_outputs(actual, expected, tolerances, kinds)
    passed = all(o["passed"] for o in outputs.values())
    report = {
        "where": "linux-reference",
        "model_kind": model.kind,
        "compute_precision": model.compute_precision,
        "tolerances": dict(tolerances),
        "outputs": outputs,
        "passed": passed,
        "divergence": None,
    }
    if ignored:
        report["ignored_sample_keys"] = ignored
    if not passed:
        if model.compute_precision == "fp32":
            report["diagnosis"] = "the model computes in fp32, so this is not fp16 precision: check the conversion"
        else:
            fp32_actual = [model.predict(s, fp32=True) for s in samples]
            fp32_outputs = compare_outputs(fp32_actual, expected, tolerances, kinds)
            report["fp32_run_passed"] = all(o["passed"] for o in fp32_outputs.values())
            worst = _worst_sample(actual, expected)
            report["divergence"] = localise_divergence(model, samples[worst], divergence_threshold)
            if report["divergence"]:
                report["divergence"]["sample_index"] = worst
            if not report["fp32_run_passed"]:
                report["diagnosis"] = ("the program fails even with every op in fp32: the conversion is wrong, "
                                       "not (only) fp16 precision")
            elif report["divergence"]:
                report["diagnosis"] = "fp16 precision: " + report["divergence"]["suggestion"]
    report["runtime_check"] = _runtime_check(model_path, samples, actual)
    return report


def _worst_sample(actual, expected) -> int:
    errors = []
    for got, want in zip(actual, expected):
        e = 0.0
        for name, w in want.items():
            g, w = _as_array(got.get(name)), _as_array(w)
            if g is None or w is None:
                continue
            with np.errstate(invalid="ignore", over="ignore"):
                d = np.abs(np.asarray(g, np.float64).reshape(-1) - np.asarray(w, np.float64).reshape(-1))
            e = max(e, float(np.nanmax(np.where(np.isfinite(d), d, np.inf))) if d.size else 0.0)
        errors.append(e)
    return int(np.argmax(errors))
