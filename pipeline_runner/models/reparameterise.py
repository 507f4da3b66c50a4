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
    import torch
    from timm.utils import reparameterize_model

    module = module.eval()
    reparam = reparameterize_model(module)  # a deep copy; the original is untouched
    with torch.no_grad():
        before, after = _as_tuple(module(*example_inputs)), _as_tuple(reparam(*example_inputs))
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        scale = float(a.abs().max().clamp_min(1e-6))
        err = float((a - b).abs().max())
        if not err <= rtol * scale:  # also catches nan
            raise ReparameterisationError(
                f"reparameterised model differs from the original on output {i}: max abs error {err:.3g} "
                f"> {rtol:g} x output scale {scale:.3g}; timm's reparameterize_model does not preserve "
                "this model (model.architecture / model.params), so it cannot be exported reparameterised")
    return reparam.eval()


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
