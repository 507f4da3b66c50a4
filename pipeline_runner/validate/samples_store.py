"""Small samples of the actual output values, kept for the build report's plots.

validation/<graph>.json holds metrics only; the report's parity plots and per-op fp16 error
profile need values. For the first few validation samples this stores, per output, the
PyTorch, ONNX Runtime and Core ML (reference executor) values (the first ``MAX_VALUES`` of
each, in the same order), and for fp16 programs the fp16-vs-fp32 difference of every op
along the program (one sample traced both ways), in ``validation/<graph>.npz``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline_runner import progress

KEEP_SAMPLES = 2  # at most; one when a sample's outputs alone have ENOUGH_VALUES for the plots
ENOUGH_VALUES = 512
MAX_VALUES = 4096  # per output and source: enough for a scatter plot, small on disk


def samples_artifact(graph: str) -> str:
    return f"validation/{graph}.npz"


def _values(rows: list[dict], name: str) -> np.ndarray | None:
    flat = []
    for row in rows:
        value = row.get(name)
        if isinstance(value, dict):  # classifier probabilities, in label order
            value = list(value.values())
        if value is None or isinstance(value, (str, bytes, int)):
            return None
        flat.append(np.asarray(value, np.float32).reshape(-1))
    return np.concatenate(flat)[:MAX_VALUES] if flat else None


def op_error_profile(model, sample: dict, low: list | None = None) -> dict[str, np.ndarray]:
    """Per executed op: max |fp16 - fp32| of its float outputs, relative to the fp32 output's scale
    (``low``: the trace of ``sample`` as saved, when the caller has it)."""
    if low is None:
        progress.step("fp16-vs-fp32 op profile: as saved")
        low = model.trace(sample)
    progress.step("fp16-vs-fp32 op profile: all fp32")
    high = model.trace(sample, fp32=True)
    names, types, errors = [], [], []
    for a, b in zip(low, high):
        worst = None
        for x, y in zip(a.outputs, b.outputs):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)) or x.dtype.kind != "f":
                continue
            if x.shape != y.shape or x.size == 0 or not np.all(np.isfinite(y)):
                continue
            y64 = y.astype(np.float64)
            scale = float(np.max(np.abs(y64))) or 1.0
            with np.errstate(invalid="ignore", over="ignore"):
                diff = float(np.max(np.abs(x.astype(np.float64) - y64)))
            rel = diff / scale if np.isfinite(diff) else float("inf")
            worst = rel if worst is None else max(worst, rel)
        if worst is not None:
            names.append(a.name)
            types.append(a.type)
            errors.append(worst)
    return {"ops::name": np.array(names, dtype=str), "ops::type": np.array(types, dtype=str),
            "ops::rel_error": np.array(errors, dtype=np.float64)}


def keep_samples(path: Path, coreml_path: Path, recipe, graph, samples, expected: list[dict],
                 onnx_actual: list[dict], coreml_actual: list[dict] | None = None, traced: dict | None = None) -> None:
    """Write the npz described above to ``path`` (``coreml_actual``: the Core ML outputs the check
    already computed, per sample, so they are not predicted again; ``traced``: the check's loaded
    model and its trace of the first sample, from ``check_coreml``)."""
    from pipeline_runner.coreml_reference import load_model
    from pipeline_runner.customops import coreml_reference_layers

    traced = traced or {}
    model = traced.get("model") or load_model(coreml_path, custom_layers=coreml_reference_layers(recipe.custom_ops))
    per_sample = sum(np.asarray(v).size for v in expected[0].values() if isinstance(v, np.ndarray))
    kept = samples[:1 if per_sample >= ENOUGH_VALUES else KEEP_SAMPLES]  # each Core ML run costs a predict
    feeds = [{k: v for k, v in {**s.tensors, **s.pixels}.items() if k in model.input_names} for s in kept]
    coreml = list(coreml_actual[:len(kept)]) if coreml_actual else []
    for i, feed in enumerate(feeds[len(coreml):], start=len(coreml)):
        progress.step(f"report samples: Core ML reference {i + 1}/{len(feeds)}")
        coreml.append(model.predict(feed))
    arrays: dict[str, np.ndarray] = {}
    for out in graph.outputs:
        name = out.name
        for source, rows in (("pytorch", expected), ("onnx", onnx_actual), ("coreml", coreml)):
            values = _values(rows[:len(kept)], name)
            if values is not None:
                arrays[f"{name}::{source}"] = values
    if model.compute_precision != "fp32":
        arrays.update(op_error_profile(model, feeds[0], traced.get("trace")))
    np.savez_compressed(path, **arrays)
