"""Verified reparameterisation: timm's branch folding (FastViT, MobileOne, RepVGG...), checked against the original.

``reparameterize_model`` rewrites train-time branches into single convolutions;
it is meant to compute the same function, and we check that it does on seeded
inputs before anything is exported from it. Shared by the timm and open_clip sources.
"""

from __future__ import annotations


class ReparameterisationError(ValueError):
    pass


def verified_reparameterisation(module, example_inputs: tuple, *, rtol: float = 1e-4):
    """timm's reparameterisation of ``module`` (a deep copy), checked on ``example_inputs``.

    Any output further than ``rtol`` × the output's scale from the original's raises,
    naming the output and the error.
    """
    import copy

    import torch
    from timm.utils import reparameterize_model

    # Fused in fp64 and compared in fp64: reparameterisation is exact algebra, so what is left is
    # a wrong fusion, not fp32 rounding — which an ill-conditioned (e.g. random-weight) network
    # amplifies past any fixed bound. The result is returned in the module's own precision.
    dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)
    wide = copy.deepcopy(module).eval().double()
    reparam = reparameterize_model(wide)  # a deep copy; the original is untouched
    wide_inputs = tuple(x.double() if x.is_floating_point() else x for x in example_inputs)
    with torch.no_grad():
        try:
            before, after = _as_tuple(wide(*wide_inputs)), _as_tuple(reparam(*wide_inputs))
        except RuntimeError:  # a fused layer made in fp32 whatever its input (timm's EfficientViT-MSRA)
            module = module.eval()
            reparam = reparameterize_model(module)
            before, after = _as_tuple(module(*example_inputs)), _as_tuple(reparam(*example_inputs))
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        scale = float(a.abs().max().clamp_min(1e-6))
        err = float((a - b).abs().max())
        if not err <= rtol * scale:  # also catches nan
            raise ReparameterisationError(
                f"reparameterised model differs from the original on output {i}: max abs error {err:.3g} "
                f"> {rtol:g} x output scale {scale:.3g}; timm's reparameterize_model does not preserve "
                "this model (model.architecture / model.params), so it cannot be exported reparameterised")
    return reparam.to(dtype).eval()


def seeded(make_inputs) -> tuple:
    """``make_inputs()`` under torch seed 0, without disturbing the caller's random state."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(0)
        return make_inputs()


def _as_tuple(out):
    if isinstance(out, dict):
        return tuple(v for v in out.values() if hasattr(v, "shape"))
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)
