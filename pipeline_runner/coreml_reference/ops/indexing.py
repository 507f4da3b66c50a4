"""Slicing, gathering, scattering, selection and ordering ops."""

from __future__ import annotations

import numpy as np

from ._util import norm_axis


def _slice_by_index(ctx):
    x = ctx["x"]
    r = x.ndim
    begin, end = ctx.ints("begin"), ctx.ints("end")
    stride = ctx.ints("stride", [1] * r)
    bm = [bool(v) for v in np.asarray(ctx.get("begin_mask", [False] * r)).reshape(-1)]
    em = [bool(v) for v in np.asarray(ctx.get("end_mask", [False] * r)).reshape(-1)]
    sq = [bool(v) for v in np.asarray(ctx.get("squeeze_mask", [False] * r)).reshape(-1)]
    idx = []
    for i in range(r):
        if sq[i]:
            idx.append(begin[i])
        else:
            idx.append(slice(None if bm[i] else begin[i], None if em[i] else end[i], stride[i]))
    return np.asarray(x[tuple(idx)])


def _slice_by_size(ctx):
    x = ctx["x"]
    begin, size = ctx.ints("begin"), ctx.ints("size")
    idx = []
    for i, (b, s) in enumerate(zip(begin, size)):
        b = b + x.shape[i] if b < 0 else b
        idx.append(slice(b, None if s == -1 else b + s))
    return x[tuple(idx)]


def _wrap(indices, dim):
    idx = np.asarray(indices).astype(np.int64)
    return np.where(idx < 0, idx + dim, idx)


def _gather(ctx):
    x = ctx["x"]
    axis = norm_axis(ctx.scalar("axis", 0), x.ndim)
    bd = int(ctx.scalar("batch_dims", 0))
    idx = _wrap(ctx["indices"], x.shape[axis])
    if bd == 0:
        return np.take(x, idx, axis=axis)
    lead = x.shape[:bd]
    xb = x.reshape((-1,) + x.shape[bd:])
    ib = idx.reshape((-1,) + idx.shape[bd:])
    out = np.stack([np.take(xb[b], ib[b], axis=axis - bd) for b in range(xb.shape[0])])
    return out.reshape(lead + out.shape[1:])


def _gather_along_axis(ctx):
    x = ctx["x"]
    axis = norm_axis(ctx.scalar("axis", 0), x.ndim)
    return np.take_along_axis(x, _wrap(ctx["indices"], x.shape[axis]), axis=axis)


def _gather_nd(ctx):
    x, idx = ctx["x"], np.asarray(ctx["indices"]).astype(np.int64)
    bd = int(ctx.scalar("batch_dims", 0))
    lead = x.shape[:bd]
    xb = x.reshape((-1,) + x.shape[bd:])
    ib = idx.reshape((-1,) + idx.shape[bd:])
    k = ib.shape[-1]
    outs = []
    for b in range(xb.shape[0]):
        cols = tuple(_wrap(ib[b][..., j], xb.shape[1 + j]) for j in range(k))
        outs.append(xb[b][cols])
    out = np.stack(outs)
    return out.reshape(lead + out.shape[1:])


_SCATTER_UFUNCS = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def _scatter_apply(ctx, data, positions, updates):
    """Applies updates at positions; repeated positions accumulate (``ufunc.at``)."""
    mode = ctx.scalar("mode", "add")
    out = np.array(data, copy=True)
    if mode == "update":
        out[positions] = updates
    elif mode == "sub":
        np.add.at(out, positions, -updates)
    elif mode == "div":
        np.multiply.at(out, positions, 1.0 / updates)
    elif mode in _SCATTER_UFUNCS:
        _SCATTER_UFUNCS[mode].at(out, positions, updates)
    else:
        raise ctx.fail(f"unknown scatter mode {mode!r}")
    return out


def _scatter(ctx):
    data, updates = ctx["data"], ctx["updates"]
    axis = norm_axis(ctx.scalar("axis", 0), data.ndim)
    idx = _wrap(ctx["indices"], data.shape[axis]).reshape(-1)
    upd = np.moveaxis(np.asarray(updates), axis, 0).reshape((idx.size,) + tuple(np.delete(data.shape, axis)))
    moved = np.moveaxis(data, axis, 0)
    return np.moveaxis(_scatter_apply(ctx, moved, idx, upd), 0, axis)


def _scatter_along_axis(ctx):
    data, updates = ctx["data"], np.asarray(ctx["updates"])
    axis = norm_axis(ctx.scalar("axis", 0), data.ndim)
    idx = _wrap(ctx["indices"], data.shape[axis])
    grids = list(np.indices(idx.shape, sparse=True))
    grids[axis] = idx
    return _scatter_apply(ctx, data, tuple(grids), updates)


def _scatter_nd(ctx):
    data, idx = ctx["data"], np.asarray(ctx["indices"]).astype(np.int64)
    k = idx.shape[-1]
    positions = tuple(_wrap(idx[..., j], data.shape[j]) for j in range(k))
    return _scatter_apply(ctx, data, positions, np.asarray(ctx["updates"]))


def _band_part(ctx):
    x = ctx["x"]
    lower, upper = int(ctx.scalar("lower", -1)), int(ctx.scalar("upper", -1))
    m = np.arange(x.shape[-2])[:, None]
    n = np.arange(x.shape[-1])[None, :]
    keep = ((lower < 0) | (m - n <= lower)) & ((upper < 0) | (n - m <= upper))
    return np.where(keep, x, np.zeros((), dtype=x.dtype))


def _cumsum(ctx):
    x = ctx["x"]
    axis = norm_axis(ctx.scalar("axis", 0), x.ndim)
    rev = bool(ctx.scalar("reverse", False))
    y = np.flip(x, axis) if rev else x
    out = np.cumsum(y, axis=axis)
    if ctx.scalar("exclusive", False):
        out = out - y
    return np.flip(out, axis) if rev else out


def _sort_indices(x, axis, ascending):
    # Stable, so ties keep the lower index first in both directions.
    return np.argsort(x if ascending else -x, axis=axis, kind="stable")


def _topk(ctx):
    x = ctx["x"]
    axis = norm_axis(ctx.scalar("axis", -1), x.ndim)
    k = int(ctx.scalar("k", 1))
    order = _sort_indices(x, axis, bool(ctx.scalar("ascending", False)))
    idx = np.take(order, np.arange(k), axis=axis)
    if not ctx.scalar("sort", True):
        idx = np.sort(idx, axis=axis)
    values = np.take_along_axis(x, idx, axis=axis)
    return (values, idx) if len(ctx.op.outputs) > 1 else values


def _argsort(ctx):
    x = ctx["x"]
    return _sort_indices(x, norm_axis(ctx.scalar("axis", -1), x.ndim), bool(ctx.scalar("ascending", False)))


def _one_hot(ctx):
    idx = np.asarray(ctx["indices"]).astype(np.int64)
    depth = int(ctx.scalar("one_hot_vector_size"))
    axis = norm_axis(ctx.scalar("axis", -1), idx.ndim + 1)
    hot = np.expand_dims(idx, axis) == np.arange(depth).reshape([-1 if i == axis else 1 for i in range(idx.ndim + 1)])
    return np.where(hot, ctx.scalar("on_value", 1), ctx.scalar("off_value", 0))


def _slice_update(ctx):
    x = np.array(ctx["x"], copy=True)
    r = x.ndim
    begin, end = ctx.ints("begin"), ctx.ints("end")
    stride = ctx.ints("stride", [1] * r)
    bm = np.asarray(ctx.get("begin_mask", [False] * r)).reshape(-1)
    em = np.asarray(ctx.get("end_mask", [False] * r)).reshape(-1)
    sq = np.asarray(ctx.get("squeeze_mask", [False] * r)).reshape(-1)
    idx = tuple(begin[i] if sq[i] else slice(None if bm[i] else begin[i], None if em[i] else end[i], stride[i])
                for i in range(r))
    x[idx] = np.reshape(ctx["update"], x[idx].shape)
    return x


REGISTRY = {
    "slice_by_index": _slice_by_index,
    "slice_by_size": _slice_by_size,
    "slice_update": _slice_update,
    "gather": _gather,
    "gather_along_axis": _gather_along_axis,
    "gather_nd": _gather_nd,
    "scatter": _scatter,
    "scatter_along_axis": _scatter_along_axis,
    "scatter_nd": _scatter_nd,
    "select": lambda c: np.where(np.asarray(c["cond"]).astype(bool), c["a"], c["b"]),
    "band_part": _band_part,
    "cumsum": _cumsum,
    "topk": _topk,
    "argsort": _argsort,
    "non_zero": lambda c: np.argwhere(c["x"]).astype(np.int32),
    "one_hot": _one_hot,
}
