"""Layout ops: reshape, transpose, concat, split, squeeze, expand_dims, tile, pad, stack, ..."""

from __future__ import annotations

import numpy as np

from ._util import norm_axes, norm_axis


def _reshape(ctx):
    x, shape = ctx["x"], ctx.ints("shape")
    if len(shape) == x.ndim:  # 0 copies the corresponding input dim (only when ranks match)
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return np.reshape(x, shape)


def _concat(ctx):
    values = [np.asarray(v) for v in ctx.list("values")]
    axis = norm_axis(ctx.scalar("axis"), values[0].ndim)
    if ctx.scalar("interleave", False):
        stacked = np.stack(values, axis=axis + 1)
        shape = list(values[0].shape)
        shape[axis] = sum(v.shape[axis] for v in values)
        return stacked.reshape(shape)
    return np.concatenate(values, axis=axis)


def _split(ctx):
    x = ctx["x"]
    axis = norm_axis(ctx.scalar("axis"), x.ndim)
    sizes = ctx.ints("split_sizes")
    if sizes is None:
        n = int(ctx.scalar("num_splits"))
        return tuple(np.split(x, n, axis=axis))
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


def _squeeze(ctx):
    x = ctx["x"]
    axes = ctx.get("axes")
    if axes is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=norm_axes(axes, x.ndim))


def _expand_dims(ctx):
    x = ctx["x"]
    axes = ctx.ints("axes")
    out_rank = x.ndim + len(axes)
    return np.expand_dims(x, tuple(sorted(a + out_rank if a < 0 else a for a in axes)))


def _pad(ctx):
    x = ctx["x"]
    pad = ctx.ints("pad")
    n = len(pad) // 2
    widths = [(0, 0)] * (x.ndim - n) + [(pad[2 * i], pad[2 * i + 1]) for i in range(n)]
    mode = ctx.scalar("mode", "constant")
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=ctx.scalar("constant_val", 0.0))
    if mode == "reflect":
        return np.pad(x, widths, mode="reflect")
    if mode == "replicate":
        return np.pad(x, widths, mode="edge")
    raise ctx.fail(f"unknown pad mode {mode!r}")


def _flatten2d(ctx):
    x = ctx["x"]
    axis = norm_axis(ctx.scalar("axis", 1), x.ndim + 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def _depth_to_space(x, bs):  # TF / DCR order
    n, c, h, w = x.shape
    y = x.reshape(n, bs, bs, c // (bs * bs), h, w).transpose(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (bs * bs), h * bs, w * bs)


def _space_to_depth(x, bs):
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // bs, bs, w // bs, bs).transpose(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * bs * bs, h // bs, w // bs)


def _pixel_shuffle(x, r):  # PyTorch / CRD order, leading batch dims allowed
    *b, c, h, w = x.shape
    y = x.reshape(*b, c // (r * r), r, r, h, w)
    nb = len(b)
    y = y.transpose(*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)
    return y.reshape(*b, c // (r * r), h * r, w * r)


def _pixel_unshuffle(x, r):
    *b, c, h, w = x.shape
    y = x.reshape(*b, c, h // r, r, w // r, r)
    nb = len(b)
    y = y.transpose(*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3)
    return y.reshape(*b, c * r * r, h // r, w // r)


def _sliding_windows(ctx):
    x = ctx["x"]
    axis = norm_axis(ctx.scalar("axis"), x.ndim)
    size, stride = int(ctx.scalar("size")), int(ctx.scalar("stride", 1))
    win = np.lib.stride_tricks.sliding_window_view(x, size, axis=axis)  # window dim appended last
    win = np.moveaxis(win, -1, axis + 1)
    idx = [slice(None)] * win.ndim
    idx[axis] = slice(None, None, stride)
    return np.ascontiguousarray(win[tuple(idx)])


def _reverse(ctx):
    x = ctx["x"]
    axes = ctx.get("axes")
    return np.flip(x, axis=None if axes is None else norm_axes(axes, x.ndim))


def _crop(ctx):
    x = ctx["x"]
    (t, b), (l, r) = ctx.ints("crop_height"), ctx.ints("crop_width")
    return x[..., t : x.shape[-2] - b, l : x.shape[-1] - r]


def _batch_to_space(ctx):
    x = ctx["x"]
    bh, bw = ctx.ints("block_shape")
    (t, b), (l, r) = np.asarray(ctx["crops"]).reshape(2, 2).tolist()
    n, c, h, w = x.shape
    y = x.reshape(bh, bw, n // (bh * bw), c, h, w).transpose(2, 3, 4, 0, 5, 1).reshape(n // (bh * bw), c, h * bh, w * bw)
    return y[:, :, t : h * bh - b, l : w * bw - r]


def _space_to_batch(ctx):
    x = ctx["x"]
    bh, bw = ctx.ints("block_shape")
    (t, b), (l, r) = np.asarray(ctx["paddings"]).reshape(2, 2).tolist()
    x = np.pad(x, [(0, 0), (0, 0), (t, b), (l, r)])
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // bh, bh, w // bw, bw).transpose(3, 5, 0, 1, 2, 4)
    return y.reshape(bh * bw * n, c, h // bh, w // bw)


def _reshape_like(ctx):
    shape = []
    for ref, b, e, m in zip(ctx.list("ref_tensors"), ctx.list("begins"), ctx.list("ends"), ctx.list("end_masks")):
        dims = np.shape(ref)
        shape += list(dims[int(b):] if bool(m) else dims[int(b):int(e)])
    return np.reshape(ctx["x"], shape)


def _reverse_sequence(ctx):
    x = ctx["x"]
    seq, batch = norm_axis(ctx.scalar("seq_axis", 0), x.ndim), norm_axis(ctx.scalar("batch_axis", 0), x.ndim)
    lengths = np.asarray(ctx["lengths"]).astype(np.int64).reshape(-1)
    pos = np.arange(x.shape[seq]).reshape([-1 if i == seq else 1 for i in range(x.ndim)])
    lens = lengths.reshape([-1 if i == batch else 1 for i in range(x.ndim)])
    idx = np.where(pos < lens, lens - 1 - pos, pos)
    return np.take_along_axis(x, np.broadcast_to(idx, np.broadcast_shapes(idx.shape, x.shape)), axis=seq)


REGISTRY = {
    "batch_to_space": _batch_to_space,
    "space_to_batch": _space_to_batch,
    "reshape_like": _reshape_like,
    "reverse_sequence": _reverse_sequence,
    "reshape": _reshape,
    "transpose": lambda c: np.transpose(c["x"], c.ints("perm")),
    "concat": _concat,
    "split": _split,
    "squeeze": _squeeze,
    "expand_dims": _expand_dims,
    "tile": lambda c: np.tile(c["x"], c.ints("reps")),
    "pad": _pad,
    "stack": lambda c: np.stack(c.list("values"), axis=c.scalar("axis")),
    "flatten2d": _flatten2d,
    "depth_to_space": lambda c: _depth_to_space(c["x"], int(c.scalar("block_size"))),
    "space_to_depth": lambda c: _space_to_depth(c["x"], int(c.scalar("block_size"))),
    "pixel_shuffle": lambda c: _pixel_shuffle(c["x"], int(c.scalar("upscale_factor"))),
    "pixel_unshuffle": lambda c: _pixel_unshuffle(c["x"], int(c.scalar("downscale_factor"))),
    "sliding_windows": _sliding_windows,
    "reverse": _reverse,
    "crop": _crop,
}
