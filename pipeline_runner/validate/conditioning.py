"""How much a model amplifies rounding: PyTorch in fp32 against the same model in fp64.

A well-conditioned network's fp32 result differs from its fp64 result by a few fp32 ulps
(~1e-7 of the output scale). Some random-weight networks (deep BatchNorm stacks such as
torchvision's Inception v3 with its std-0.1 initialisation) amplify every rounding by
hundreds: fp32 alone then moves the output by ~1e-4, ONNX Runtime (fp32, other summation
order) differs from PyTorch by as much, and fp16 — whose unit roundoff is 2^13 times fp32's —
cannot reproduce the output at all. That is the model's conditioning, not a wrong conversion,
and the validation says so with what to set (:func:`advice`).
"""

from __future__ import annotations

import numpy as np

FP16_OVER_FP32 = 2.0 ** 13  # unit roundoff 2^-11 vs 2^-24


def fp32_rounding_error(module, graph, samples) -> float | None:
    """max over outputs of |fp32 − fp64| / max |fp64| of PyTorch on ``samples``; None when the model
    cannot run in fp64 (an op without a double kernel)."""
    import copy

    import torch

    names = [i.name for i in graph.inputs]
    try:
        wide = copy.deepcopy(module).double()
        with torch.no_grad():
            worst = 0.0
            for s in samples:
                args = [torch.from_numpy(s.tensors[n]) for n in names]
                narrow = module(*args)
                high = wide(*(a.double() if a.is_floating_point() else a for a in args))
                narrow = narrow if isinstance(narrow, (tuple, list)) else (narrow,)
                high = high if isinstance(high, (tuple, list)) else (high,)
                for a, b in zip(narrow, high):
                    a, b = a.detach().double().numpy(), b.detach().numpy()
                    scale = float(np.max(np.abs(b))) if b.size else 0.0
                    if scale > 0 and np.all(np.isfinite(b)):
                        worst = max(worst, float(np.max(np.abs(a - b))) / scale)
        return worst
    except Exception:  # a double kernel missing, or outputs that are not tensors: no measurement
        return None


def explains(rounding_error: float | None, max_rel: float | None, fp16: bool) -> bool:
    """fp32's own rounding (scaled to fp16's for an fp16 comparison) comes within a tenth of the bound:
    then the bound asks for more than the arithmetic can hold on this model."""
    if not rounding_error or not max_rel:
        return False
    return rounding_error * (FP16_OVER_FP32 if fp16 else 1.0) > max_rel / 10


def advice(rounding_error: float, fp16: bool) -> str:
    what = (f"fp16, {FP16_OVER_FP32:.0f}x coarser, cannot reproduce it" if fp16 else
            "another fp32 implementation (other summation order) differs by as much")
    return (f"the model amplifies rounding: PyTorch's own fp32 result differs from fp64 by {rounding_error:.2g} "
            f"of the output scale (a well-conditioned model: ~1e-7), so {what} — not a conversion error. "
            "With random weights this comes from the initialisation: give real weights (model.checkpoint); "
            + ("otherwise set `convert.precision: fp32` and bounds above that noise "
               "(validate.tolerances.onnx.max_rel, validate.tolerances.coreml_fp32.max_rel)" if fp16 else
               "otherwise set bounds above that noise (validate.tolerances.onnx.max_rel)"))
