"""Compressed-weight constants (constexpr_*): decompressed to dense arrays at run time."""

from __future__ import annotations

import numpy as np


def _affine_dequantize(ctx):
    q = np.asarray(ctx["quantized_data"], np.float32)
    axis = int(ctx.scalar("axis", 0))
    shape = [1] * q.ndim
    shape[axis] = -1

    def per_axis(v):
        v = np.asarray(v, np.float32)
        return v.reshape(shape) if v.size > 1 else v.reshape(())

    return (q - per_axis(ctx["zero_point"])) * per_axis(ctx["scale"])


def _blockwise_expand(v, shape):
    v = np.asarray(v, np.float32)
    for axis, (n, m) in enumerate(zip(shape, v.shape)):
        if m != n:
            v = np.repeat(v, n // m, axis=axis)
    return v


def _blockwise_shift_scale(ctx):
    data = np.asarray(ctx["data"], np.float32)
    out = data
    if ctx.get("offset") is not None:
        out = out - _blockwise_expand(ctx["offset"], data.shape)
    return out * _blockwise_expand(ctx["scale"], data.shape)


def _lut_to_dense(ctx):
    return _lut_lookup(ctx, np.asarray(ctx["indices"]))


def _lut_lookup(ctx, indices):
    lut = np.asarray(ctx["lut"], np.float32)
    if ctx.has("shape"):  # iOS16: indices packed LSB-first into bytes, one flat palette
        from ..program import _unpack_sub_byte

        shape = ctx.ints("shape")
        nbits = int(np.log2(lut.size))
        idx = _unpack_sub_byte(np.asarray(ctx["indices"]).view(np.uint8).reshape(-1), nbits, int(np.prod(shape)), False)
        return lut.reshape(-1)[idx.astype(np.int64)].reshape(shape)
    # iOS18: indices have the weight's shape; lut is [*groups, palette, vector_size], one palette per block.
    indices = indices.astype(np.int64)
    if lut.shape[-1] != 1:
        raise ctx.fail("vector palettization (vector_size > 1) is not supported")
    groups = lut.shape[:-2]
    gid = np.zeros((1,) * indices.ndim, dtype=np.int64)
    for axis, (n, g) in enumerate(zip(indices.shape, groups)):
        ids = (np.arange(n) // (n // g)).reshape([-1 if i == axis else 1 for i in range(indices.ndim)])
        gid = gid * g + ids
    return lut.reshape(-1, lut.shape[-2])[gid, indices]


# Sparse weights (magnitude pruning): a bit mask of the dense shape and the non-zero values in
# row-major order. iOS16 packs the mask into bytes beside a ``shape`` attribute; iOS18 stores a
# uint1 tensor of the dense shape. The iOS18 joint forms (``*_to_sparse``, ``sparse_*``) decompress
# only the non-zero values; they are scattered into the dense shape so the dense formulas (whose
# palettes/scales are laid out per dense block) apply, then gathered back.


def _mask(ctx, key):
    mask = np.asarray(ctx[key])
    if ctx.has("shape"):  # iOS16
        from ..program import _unpack_sub_byte

        shape = ctx.ints("shape")
        mask = _unpack_sub_byte(mask.view(np.uint8).reshape(-1), 1, int(np.prod(shape)), False).reshape(shape)
    return mask.astype(bool)


def _scatter(mask, nonzero):
    dense = np.zeros(mask.shape, dtype=np.asarray(nonzero).dtype)
    dense[mask] = np.asarray(nonzero).reshape(-1)
    return dense


def _sparse_to_dense(ctx):
    mask = _mask(ctx, "mask")
    return _scatter(mask, np.asarray(ctx["nonzero_data"], np.float32))


def _lut_to_sparse(ctx):
    mask = _mask(ctx, "indices_mask")
    if ctx.has("vector_axis") and ctx.get("vector_axis") is not None and np.asarray(ctx["lut"]).shape[-1] != 1:
        raise ctx.fail("vector palettization (vector_size > 1) is not supported")
    dense = _lut_lookup(ctx, _scatter(mask, ctx["indices_nonzero_data"]))
    return mask.astype(np.uint8), dense[mask]


def _sparse_blockwise_shift_scale(ctx):
    mask = _mask(ctx, "data_mask")
    data = _scatter(mask, np.asarray(ctx["nonzero_data"], np.float32))
    out = data
    if ctx.get("offset") is not None:
        out = out - _blockwise_expand(ctx["offset"], data.shape)
    out = out * _blockwise_expand(ctx["scale"], data.shape)
    return mask.astype(np.uint8), out[mask]


REGISTRY = {
    "constexpr_sparse_to_dense": _sparse_to_dense,
    "constexpr_lut_to_sparse": _lut_to_sparse,
    "constexpr_sparse_blockwise_shift_scale": _sparse_blockwise_shift_scale,
    "constexpr_lut_to_dense": _lut_to_dense,
    "constexpr_affine_dequantize": _affine_dequantize,
    "constexpr_blockwise_shift_scale": _blockwise_shift_scale,
    "constexpr_cast": lambda c: c["source_val"],
}
