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


def noise_floored(compare, tolerance: dict, rounding_error, factor: float, label: str) -> dict:
    """``compare(tolerance)``'s report (``gates.compare_outputs`` shape) for an fp32 comparison, judged
    against the model's own rounding noise when it fails.

    No fp32 implementation can match PyTorch more closely than PyTorch's fp32 result matches the
    exact (fp64) one: both round, in different orders. So when the check fails and ``factor`` times
    that noise (``rounding_error()``, measured lazily: an fp64 forward pass) is above ``max_rel``,
    the outputs are judged again with ``max_rel`` raised to it; the report keeps the raised bound
    under ``noise_floor`` and warns that the check is that much weaker. The other bounds (cosine,
    top-1, error to spread) are unchanged. A failure that remains is not the conditioning's doing;
    with ``factor`` 0 a failure that the noise explains says so and what to set."""
    report = compare(tolerance)
    max_rel = tolerance.get("max_rel")
    if report["passed"] or not max_rel:
        return report
    noise = rounding_error()
    if not noise:
        return report
    if factor and factor * noise > max_rel:
        raised = factor * noise
        report = compare({**tolerance, "max_rel": raised})
        report["noise_floor"] = {"pytorch_fp32_vs_fp64": noise, "factor": factor, "configured_max_rel": max_rel,
                                 "max_rel": raised}
        if report["passed"]:
            report["warnings"].append(
                f"{label}: max_rel raised from {max_rel:.2g} to {raised:.2g}, {factor:g}x the model's own fp32 "
                f"rounding noise (PyTorch fp32 vs fp64: {noise:.2g} of the output scale; a well-conditioned model: "
                "~1e-7): no fp32 implementation matches PyTorch more closely, so this check is that much weaker. "
                "Real weights (model.checkpoint) usually give a sharper one; validate.fp32_noise_factor: 0 turns "
                "the raise off")
        else:
            report["failures"].append(
                f"{label}: fails even with max_rel at {factor:g}x the model's own fp32 rounding noise "
                f"({noise:.2g}): the model's conditioning does not explain it")
    elif explains(noise, max_rel, fp16=False):
        report["failures"].append(f"{label}: {advice(noise, fp16=False)}")
        report["pytorch_fp32_vs_fp64"] = noise
    return report


def advice(rounding_error: float, fp16: bool) -> str:
    what = (f"fp16, {FP16_OVER_FP32:.0f}x coarser, cannot reproduce it" if fp16 else
            "another fp32 implementation (other summation order) differs by as much")
    return (f"the model amplifies rounding: PyTorch's own fp32 result differs from fp64 by {rounding_error:.2g} "
            f"of the output scale (a well-conditioned model: ~1e-7), so {what} — not a conversion error. "
            "With random weights this comes from the initialisation: give real weights (model.checkpoint); "
            + ("otherwise set `convert.precision: fp32` (fp32 checks then allow for that noise: "
               "validate.fp32_noise_factor)" if fp16 else
               "otherwise set bounds above that noise (validate.fp32_noise_factor, or "
               "validate.tolerances.onnx.max_rel)"))
