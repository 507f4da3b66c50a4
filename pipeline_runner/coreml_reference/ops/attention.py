"""scaled_dot_product_attention (iOS18): softmax(Q K^T / sqrt(E) + mask) V."""

from __future__ import annotations

import numpy as np

from ._util import matmul
from .activation import softmax


def _sdpa(ctx):
    q, k, v = ctx["query"], ctx["key"], ctx["value"]
    scores = matmul(q, np.swapaxes(k, -1, -2)) / np.sqrt(np.float32(q.shape[-1]))
    mask = ctx.get("attn_mask")
    if mask is not None:
        mask = np.asarray(mask)
        scores = np.where(mask, scores, -np.inf) if mask.dtype == np.bool_ else scores + mask
    with np.errstate(invalid="ignore"):
        return matmul(softmax(scores, -1), v)


REGISTRY = {"scaled_dot_product_attention": _sdpa}
