"""Core ML numerics from the saved artifact, checked on Linux with the NumPy reference executor.

``check_coreml`` runs the saved model on the validation samples and compares every output
with the expected (PyTorch) outputs through the one gate (``validate.gates``); when something
fails, ``validate.diagnose`` tells fp16 range, fp16 weight rounding, fp16 rounding and a wrong
conversion apart by replaying the program. On macOS the Core ML runtime is also run and compared.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from pipeline_runner.validate.gates import compare_outputs, stack
from pipeline_runner.validate.metrics import compare_arrays

LABEL = "Core ML (reference executor) vs PyTorch"


def _runtime_check(model_path, samples, reference_outputs, function: str | None = None) -> dict:
    if platform.system() != "Darwin":
        return {"ran": False, "reason": f"Core ML runtime unavailable on {platform.system()}: coremltools cannot "
                                        "run models there (no libcoremlpython); the NumPy reference executor stands in"}
    try:
        import shutil
        import tempfile

        import coremltools as ct

        with tempfile.TemporaryDirectory() as scratch:  # loading may rewrite the package: never the artifact
            copy = Path(scratch) / Path(model_path).name
            (shutil.copytree if Path(model_path).is_dir() else shutil.copy2)(model_path, copy)
            mlmodel = ct.models.MLModel(str(copy), **({"function_name": function} if function else {}))
            runtime = [mlmodel.predict(s) for s in samples]
    except Exception as exc:  # report, don't hide: the reference result still stands
        return {"ran": False, "reason": f"Core ML runtime failed: {type(exc).__name__}: {exc}"}
    agreement = {}
    for name in reference_outputs[0]:
        got, want = stack(runtime, name), stack(reference_outputs, name)
        if got is not None and want is not None:
            agreement[name] = compare_arrays(got, want)
    return {"ran": True, "where": "coremltools MLModel.predict", "reference_vs_runtime": agreement}


def check_coreml(model_path, samples: list[dict[str, np.ndarray]], expected: list[dict[str, np.ndarray]],
                 tolerance: dict, *, custom_layers=None, kinds: dict | None = None,
                 fp16_weights_expected=None, outputs_sink: list | None = None, function: str | None = None,
                 label: str | None = None, rounding_error=None, noise_factor: float = 0.0,
                 traced: dict | None = None) -> dict:
    """Run the saved Core ML model on ``samples`` and compare with ``expected``.

    ``tolerance``: the gate's bounds (``validate.gates``). ``kinds`` maps output names to
    "logits"/"probabilities"/... (top-1 is gated only for those). ``fp16_weights_expected``:
    optional callable giving PyTorch's outputs with fp16-rounded weights, for the diagnosis;
    ``rounding_error``: optional callable giving PyTorch's fp32-vs-fp64 error (``validate.conditioning``);
    with ``noise_factor`` > 0 an fp32 program's failed max_rel is judged against that noise
    (``conditioning.noise_floored``).
    ``outputs_sink``: a list that receives the model's outputs per sample (they are not JSON);
    ``traced``: a dict that receives the loaded ``model`` and the op ``trace`` of the first sample
    (the build report's fp16 profile reuses both instead of loading and running again).
    ``function``: which function of a multifunction package to run (None: its default);
    ``label`` replaces the comparison's name in failure lines.
    Returns the comparison report (``gates.compare_outputs`` shape) plus ``model_kind``,
    ``compute_precision``, ``diagnosis`` (None when passed) and ``runtime_check``. Models the
    executor cannot run raise ``CoreMLReferenceError`` (e.g. ``UnsupportedOpError`` naming the ops).
    """
    from pipeline_runner.coreml_reference import load_model
    from pipeline_runner.validate.diagnose import diagnose

    if len(samples) != len(expected) or not samples:
        raise ValueError(f"need one expected output dict per sample (got {len(samples)} samples, {len(expected)} expected)")
    model = load_model(model_path, custom_layers=custom_layers, function=function)
    label = label or LABEL
    # Samples may carry more than the model takes (e.g. both pixels and the normalised tensor).
    ignored = sorted({k for s in samples for k in s} - set(model.input_names))
    samples = [{k: v for k, v in s.items() if k in model.input_names} for s in samples]
    actual = []
    for k, sample in enumerate(samples):
        if k == 0 and traced is not None:
            outputs, trace = model.predict_traced(sample)
            traced.update(model=model, trace=trace)
        else:
            outputs = model.predict(sample)
        actual.append(outputs)
    if outputs_sink is not None:
        outputs_sink.extend(actual)

    def compare(bounds):
        return compare_outputs(actual, expected, bounds, kinds, label=label, where="linux-reference")

    if model.compute_precision == "fp32" and rounding_error is not None:
        from pipeline_runner.validate.conditioning import noise_floored

        comparison = noise_floored(compare, tolerance, rounding_error, noise_factor, label)
    else:
        comparison = compare(tolerance)
    report = {"model_kind": model.kind, "compute_precision": model.compute_precision,
              **({"function": model.function} if model.function else {}), **comparison, "diagnosis": None}
    if ignored:
        report["ignored_sample_keys"] = ignored
    if not report["passed"]:
        report["diagnosis"] = diagnose(model, samples, actual, expected, tolerance, kinds, fp16_weights_expected,
                                        rounding_error)
        report["failures"].append(f"{label}: {report['diagnosis']['summary']}")
    report["runtime_check"] = _runtime_check(model_path, samples, actual, model.function)
    return report
