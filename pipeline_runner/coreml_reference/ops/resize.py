"""Spatial resizing of the last two dims: nearest-neighbour and bilinear, per MIL's grid rules."""

from __future__ import annotations

import numpy as np


def bilinear_grid(n_in: int, n_out: int, mode: str) -> np.ndarray:
    """Sample positions in input coordinates for one axis (MIL resize_bilinear / upsample_bilinear notes)."""
    i = np.arange(n_out, dtype=np.float64)
    if mode in ("STRICT_ALIGN_CORNERS", "ALIGN_CORNERS"):
        if n_out == 1:
            g = np.full(1, (n_in - 1) / 2.0 if mode == "ALIGN_CORNERS" else 0.0)
        else:
            g = i * (n_in - 1) / (n_out - 1)
    elif mode == "DEFAULT":
        g = i * ((n_in - n_in / n_out) / (n_out - 1)) if n_out > 1 else np.zeros(1)
    elif mode == "OFFSET_CORNERS":
        delta = max(1, n_in - 1) / n_out
        g = 0.5 * delta + i * delta
    elif mode == "UNALIGN_CORNERS":  # half-pixel centres
        s = n_in / n_out
        g = i * s + 0.5 * s - 0.5
    elif mode == "ASYMMETRIC":
        g = i * (n_in / n_out)
    else:
        raise ValueError(f"unknown sampling mode {mode!r}")
    return np.clip(g, 0, n_in - 1)


def _lerp_axis(x: np.ndarray, grid: np.ndarray, axis: int) -> np.ndarray:
    n = x.shape[axis]
    lo = np.floor(grid).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    w = (grid - lo).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = -1
    w = w.reshape(shape)
    a, b = np.take(x, lo, axis=axis), np.take(x, hi, axis=axis)
    return a + (b - a) * w


def bilinear(x, out_h, out_w, mode_h, mode_w=None):
    y = _lerp_axis(x, bilinear_grid(x.shape[-2], out_h, mode_h), x.ndim - 2)
    return _lerp_axis(y, bilinear_grid(x.shape[-1], out_w, mode_w or mode_h), x.ndim - 1)


def _nearest(x, out_h, out_w):
    """Source index floor(i * in / out), as MIL nearest-neighbour resizing."""
    ih = np.minimum(np.floor(np.arange(out_h) * (x.shape[-2] / out_h)).astype(np.int64), x.shape[-2] - 1)
    iw = np.minimum(np.floor(np.arange(out_w) * (x.shape[-1] / out_w)).astype(np.int64), x.shape[-1] - 1)
    return np.take(np.take(x, ih, axis=x.ndim - 2), iw, axis=x.ndim - 1)


def _upsample_nn(ctx):
    x = ctx["x"]
    sh, sw = ctx.scalar("scale_factor_height", 1), ctx.scalar("scale_factor_width", 1)
    return _nearest(x, int(np.floor(x.shape[-2] * sh)), int(np.floor(x.shape[-1] * sw)))


def _upsample_bilinear(ctx):
    x = ctx["x"]
    sh, sw = ctx.scalar("scale_factor_height", 1), ctx.scalar("scale_factor_width", 1)
    out_h, out_w = int(np.floor(x.shape[-2] * sh)), int(np.floor(x.shape[-1] * sw))
    align = bool(ctx.scalar("align_corners", True))
    half_pixel = bool(ctx.scalar("half_pixel_centers", not align))
    mode = "STRICT_ALIGN_CORNERS" if align else ("UNALIGN_CORNERS" if half_pixel else "ASYMMETRIC")
    return bilinear(x, out_h, out_w, mode)


def _resize_bilinear(ctx):
    x = ctx["x"]
    return bilinear(x, int(ctx.scalar("target_size_height", 1)), int(ctx.scalar("target_size_width", 1)),
                    ctx.scalar("sampling_mode", "DEFAULT"))


def _resize_nn(ctx):
    x = ctx["x"]
    return _nearest(x, int(ctx.scalar("target_size_height", 1)), int(ctx.scalar("target_size_width", 1)))


def _resize(ctx):
    """iOS17 resize: the last ``resized_dims`` dims take their size from ``shape`` (0 keeps x's)."""
    x = ctx["x"]
    shape = ctx.ints("shape")
    k = int(ctx.scalar("resized_dims"))
    if k != 2:
        raise ctx.fail(f"resized_dims={k} is not supported (only the last two dims)")
    h, w = [s if s else x.shape[x.ndim - 2 + i] for i, s in enumerate(shape[-2:])]
    if ctx.scalar("interpolation_mode", "LINEAR") == "NEAREST_NEIGHBOR":
        return _nearest(x, h, w)
    return bilinear(x, h, w, ctx.scalar("sampling_mode", "DEFAULT"))


REGISTRY = {
    "resize": _resize,
    "upsample_nearest_neighbor": _upsample_nn,
    "upsample_bilinear": _upsample_bilinear,
    "resize_bilinear": _resize_bilinear,
    "resize_nearest_neighbor": _resize_nn,
}
