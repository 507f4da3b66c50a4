"""Export workaround: run a module with ``nn.MultiheadAttention``'s fused fast path off.

In eval mode PyTorch takes a fused attention kernel that the ONNX exporter cannot
export; wrapping the module turns the fast path off for the duration of each call.
"""

from __future__ import annotations


def without_mha_fast_path(module):
    """``module`` run with nn.MultiheadAttention's fused fast path off (it has no ONNX export)."""
    import torch

    class NoFastPath(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            previous = torch.backends.mha.get_fastpath_enabled()
            torch.backends.mha.set_fastpath_enabled(False)
            try:
                return self.inner(*args)
            finally:
                torch.backends.mha.set_fastpath_enabled(previous)

    return NoFastPath(module).eval()
