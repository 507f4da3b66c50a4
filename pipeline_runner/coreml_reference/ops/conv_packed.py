"""2-D convolution with a constant weight repacked once, on channels-last activations.

``torch.nn.functional.conv2d`` hands the weight to oneDNN in PyTorch's OIHW layout, and oneDNN
reorders it into its blocked layout on every call: for ResNet's 3x3 layers that reorder costs
as much as the convolution. Here a constant weight is reordered once per op (kept in the op's
cache, ``OpContext.cache``) and run through the oneDNN convolution PyTorch's own compiler uses for
frozen weights (``torch.ops.mkldnn._convolution_pointwise``, with the weight from
``mkldnn_reorder_conv2d_weight``), on a channels-last (NHWC) input as oneDNN prefers. Same
arithmetic as ``conv2d`` (both are oneDNN's fp32 direct/GEMM kernels); tests compare the two.
Where oneDNN or these ops are missing (some builds), ``conv.py`` keeps ``conv2d``.
"""

from __future__ import annotations

from functools import lru_cache

from ._util import to_torch, torch


@lru_cache(maxsize=1)
def available() -> bool:
    t = torch()
    try:
        return (t.backends.mkldnn.is_available() and hasattr(t.ops.mkldnn, "_convolution_pointwise")
                and hasattr(t._C._nn, "mkldnn_reorder_conv2d_weight"))
    except (AttributeError, RuntimeError):
        return False


# oneDNN's post-op names for the activations the executor fuses into a convolution
_POST_OPS = {None: "none", "silu": "swish", "relu": "relu"}


def conv2d(ctx, xt, w, b, strides, padding, dilations, groups: int, then: str | None = None):
    """``xt`` (a 4-D tensor, any layout) convolved with the constant NumPy ``w``, then the activation
    ``then`` ("silu", "relu") as the kernel's post-op; channels-last result."""
    t = torch()
    xt = xt.contiguous(memory_format=t.channels_last)
    key = ("packed_conv", id(w), tuple(xt.shape), tuple(strides), tuple(padding), tuple(dilations), groups)
    entry = ctx.cache.get(key)
    if entry is None:  # holding w keeps its id from being reused while the entry lives
        packed = t._C._nn.mkldnn_reorder_conv2d_weight(to_torch(w).to_mkldnn(), list(padding), list(strides),
                                                       list(dilations), groups, list(xt.shape))
        entry = ctx.cache[key] = (w, packed)
    return t.ops.mkldnn._convolution_pointwise(xt, entry[1], None if b is None else to_torch(b), list(padding),
                                               list(strides), list(dilations), groups, _POST_OPS[then], [], "")
