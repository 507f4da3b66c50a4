"""Export workaround: run a module with ``nn.MultiheadAttention``'s fused fast path off.

In eval mode PyTorch takes a fused attention kernel (``aten::_native_multi_head_attention``)
that no ONNX exporter can express; with the fast path off, nn.MultiheadAttention and
nn.TransformerEncoderLayer run their plain ops, which export. The export stage exports
every model inside :func:`fast_path_off`; :func:`without_mha_fast_path` keeps it off for
a module's every call.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def fast_path_off():
    """nn.MultiheadAttention's fused fast path off for the block; the previous setting restored after."""
    import torch

    mha = getattr(torch.backends, "mha", None)
    if mha is None:  # a torch without the switch has no fast path to avoid
        yield
        return
    previous = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(previous)


def without_mha_fast_path(module):
    """``module`` run with nn.MultiheadAttention's fused fast path off (it has no ONNX export)."""
    import torch

    class NoFastPath(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            with fast_path_off():
                return self.inner(*args)

    return NoFastPath(module).eval()
