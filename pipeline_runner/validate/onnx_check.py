"""PyTorch and ONNX Runtime outputs on the same seeded samples."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from pipeline_runner import progress


def torch_outputs(module, graph, samples) -> list[dict[str, np.ndarray]]:
    import torch

    from pipeline_runner.coreml_reference.ops._util import kernel_threads

    names = [i.name for i in graph.inputs]
    out_names = [o.name for o in graph.outputs]
    results = []
    # Threads only when the machine is idle: on busy shared cores torch's pool makes a ViT forward 5x slower.
    with torch.no_grad(), kernel_threads():
        for k, s in enumerate(samples):
            out = module(*(torch.from_numpy(s.tensors[n]) for n in names))
            progress.advance(k + 1, len(samples), "samples")
            outs = out if isinstance(out, (tuple, list)) else (out,)
            results.append({n: o.detach().float().numpy() for n, o in zip(out_names, outs, strict=True)})
    return results


def fp16_weights_outputs(module, graph, samples) -> list[dict[str, np.ndarray]]:
    """PyTorch's outputs with every float parameter and buffer rounded to fp16 (computed in fp32):
    what an fp16 Core ML program's weights hold, to tell weight rounding from a wrong conversion."""
    import torch

    rounded = copy.deepcopy(module)
    with torch.no_grad():
        for tensor in [*rounded.parameters(), *rounded.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().to(tensor.dtype))
    return torch_outputs(rounded, graph, samples)


def onnx_session(onnx_path: Path):
    import onnxruntime as ort

    from pipeline_runner.coreml_reference.ops._util import kernel_thread_count

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = kernel_thread_count()  # as for torch: threads only when idle
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def onnx_outputs(session, graph, samples) -> list[dict[str, np.ndarray]]:
    """ONNX Runtime's outputs; ``session`` from :func:`onnx_session` (or a path: one is opened)."""
    if isinstance(session, (str, Path)):
        session = onnx_session(Path(session))
    out_names = [o.name for o in graph.outputs]
    results = []
    for k, s in enumerate(samples):
        values = session.run(out_names, {i.name: s.tensors[i.name] for i in graph.inputs})
        progress.advance(k + 1, len(samples), "samples")
        results.append({n: np.asarray(v, dtype=np.float32) for n, v in zip(out_names, values, strict=True)})
    return results


def onnx_comparison(actual, expected, tolerance: dict, kinds: dict, label: str, rounding_error,
                    noise_factor: float) -> dict:
    """ONNX Runtime vs PyTorch through the one gate (``gates.compare_outputs``), judged against the
    model's own fp32 rounding noise when it fails (``conditioning.noise_floored``; ``rounding_error``:
    a callable, run only then)."""
    from pipeline_runner.validate.conditioning import noise_floored
    from pipeline_runner.validate.gates import compare_outputs

    return noise_floored(lambda t: compare_outputs(actual, expected, t, kinds, label=label, where="onnxruntime CPU"),
                         tolerance, rounding_error, noise_factor, label)


def resized_inputs(graph):
    """The graph's input specs with every dynamic axis doubled (None: no dynamic axes).

    Axes with declared Core ML sizes (``inputs[].coreml``) are left alone: validation runs at
    each declared size, and a model's limit (e.g. a maximum sequence length) may forbid doubling."""
    import dataclasses

    from pipeline_runner.convert.shape_specs import declared_axes

    resized, doubled = [], False
    for spec in graph.inputs:
        shape = list(spec.shape)
        for axis in spec.dynamic_axes:
            axis = int(axis) % len(shape)
            if axis not in declared_axes(spec):
                shape[axis] *= 2
                doubled = True
        resized.append(dataclasses.replace(spec, shape=tuple(shape)))
    return resized if doubled else None
