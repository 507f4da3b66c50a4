"""torch.library ops used only by the tests: a two-input op and an op with a float argument.

Importing this module registers them, as a user's model module would.
"""

from __future__ import annotations

import torch


@torch.library.custom_op("pr_tests::gated", mutates_args=())
def gated(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a * torch.sigmoid(b)


@gated.register_fake
def _gated_fake(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(a)


@torch.library.custom_op("pr_tests::scaled_tanh", mutates_args=())
def scaled_tanh(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return torch.tanh(x) * alpha


@scaled_tanh.register_fake
def _scaled_tanh_fake(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return torch.empty_like(x)


@torch.library.custom_op("pr_tests::half_tanh", mutates_args=())
def half_tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x)·0.5; the ONNX node gets alpha=0.5 from the recipe's onnx.attributes."""
    return torch.tanh(x) * 0.5


@half_tanh.register_fake
def _half_tanh_fake(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)
