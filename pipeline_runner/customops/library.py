"""PyTorch ops this project defines, registered with ``torch.library`` on import.

``pipeline_runner::custom_square`` (x → x·x) is the seed Transformer's feed-forward
activation. Each op has a fake (abstract) implementation so tracing and
``torch.export`` see its output without running it; export then emits exactly one
custom-domain ONNX node per call (see :mod:`pipeline_runner.customops.torch_export`).
"""

from __future__ import annotations

import torch


@torch.library.custom_op("pipeline_runner::custom_square", mutates_args=())
def custom_square(x: torch.Tensor) -> torch.Tensor:
    return x * x


@custom_square.register_fake
def _custom_square_fake(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


def resolve_op(qualified: str):
    """The registered op ``namespace::name`` (an OpOverloadPacket), or None."""
    namespace, _, name = qualified.partition("::")
    try:
        return getattr(getattr(torch.ops, namespace), name)
    except (AttributeError, RuntimeError):
        return None


def tensor_arguments(qualified: str) -> list[str]:
    """Names of the op's Tensor arguments, in schema order."""
    op = resolve_op(qualified)
    if op is None:
        raise LookupError(qualified)
    schema = op.default._schema
    return [a.name for a in schema.arguments if a.type.kind() == "TensorType"]
