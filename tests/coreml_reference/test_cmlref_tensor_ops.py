"""Layout, indexing, resizing, attention and misc ops against NumPy/PyTorch."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from coremltools.converters.mil import Builder as mb
from coremltools.converters.mil.mil import types
from tests.coreml_reference.compare import close


def test_layout_ops(mil_model, rng):
    @mb.program(input_specs=[mb.TensorSpec((2, 3, 4, 4))])
    def prog(x):
        a, b, c = mb.split(x=x, split_sizes=[1, 2, 1], axis=-1, name="split")
        return (
            mb.reshape(x=x, shape=[0, -1, 4, 2], name="reshape"), mb.transpose(x=x, perm=[0, 2, 3, 1], name="transpose"),
            mb.concat(values=[x, x], axis=-3, name="concat"), mb.concat(values=[x, x], axis=1, interleave=True, name="interleave"),
            mb.identity(x=a, name="split_a"), mb.identity(x=b, name="split_b"), mb.identity(x=c, name="split_c"),
            mb.squeeze(x=mb.slice_by_size(x=x, begin=[0, 0, 0, 0], size=[2, 1, -1, 4]), axes=[-3], name="squeeze"),
            mb.expand_dims(x=mb.reduce_sum(x=x, axes=[0]), axes=[-1, 0], name="expand"), mb.tile(x=x, reps=[1, 2, 1, 3], name="tile"),
            mb.pad(x=x, pad=[1, 2, 0, 3], mode="constant", constant_val=1.5, name="pad_const"),
            mb.pad(x=x, pad=[2, 1, 1, 3], mode="reflect", name="pad_reflect"),
            mb.pad(x=x, pad=[0, 0, 2, 1, 1, 3], mode="replicate", name="pad_replicate"),
            mb.stack(values=[x, x], axis=-1, name="stack"), mb.flatten2d(x=x, axis=2, name="flatten2d"),
            mb.pixel_shuffle(x=mb.tile(x=x, reps=[1, 4, 1, 1]), upscale_factor=2, name="pixel_shuffle"),
            mb.space_to_depth(x=x, block_size=2, name="s2d"),
            mb.depth_to_space(x=mb.space_to_depth(x=x, block_size=2), block_size=2, name="d2s_roundtrip"),
            mb.reverse(x=x, axes=[1, -1], name="reverse"),
            mb.sliding_windows(x=x, axis=2, size=2, stride=2, name="windows"),
        )

    m = mil_model(prog)
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    out = m.predict({"x": x})
    t = torch.from_numpy(x)
    close(out["reshape"], x.reshape(2, -1, 4, 2))
    close(out["transpose"], x.transpose(0, 2, 3, 1))
    close(out["concat"], np.concatenate([x, x], 1))
    close(out["interleave"], np.stack([x, x], 2).reshape(2, 6, 4, 4))
    close(out["split_a"], x[..., :1]); close(out["split_b"], x[..., 1:3]); close(out["split_c"], x[..., 3:])
    close(out["squeeze"], x[:, 0])
    close(out["expand"], x.sum(0)[None, ..., None])
    close(out["tile"], np.tile(x, (1, 2, 1, 3)))
    close(out["pad_const"], F.pad(t, (0, 3, 1, 2), value=1.5))
    close(out["pad_reflect"], F.pad(t, (1, 3, 2, 1), mode="reflect"))
    close(out["pad_replicate"], F.pad(t, (1, 3, 2, 1), mode="replicate"))
    close(out["stack"], np.stack([x, x], -1))
    close(out["flatten2d"], x.reshape(6, 16))
    close(out["pixel_shuffle"], F.pixel_shuffle(t.repeat(1, 4, 1, 1), 2))
    n, c, h, w = x.shape  # TF space_to_depth: out[n, (i*bs + j)*C + c, h, w] = in[n, c, h*bs + i, w*bs + j]
    s2d = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 3, 5, 1, 2, 4).reshape(n, c * 4, h // 2, w // 2)
    close(out["s2d"], s2d)
    close(out["d2s_roundtrip"], x)
    close(out["reverse"], x[:, ::-1, :, ::-1])
    close(out["windows"], np.stack([x[:, :, 0:2], x[:, :, 2:4]], axis=2))


def test_indexing_ops(mil_model, rng):
    @mb.program(input_specs=[mb.TensorSpec((4, 5, 6)), mb.TensorSpec((3,), dtype=types.int32),
                             mb.TensorSpec((4, 2, 6), dtype=types.int32)])
    def prog(x, idx, along):
        return (
            mb.slice_by_index(x=x, begin=[1, 0, -1], end=[4, 5, 0], stride=[2, 1, -2], end_mask=[False, False, True],
                              name="slice_neg_stride"),
            mb.slice_by_index(x=x, begin=[0, 2, 0], end=[0, 4, 6], squeeze_mask=[True, False, False],
                              begin_mask=[False, False, True], name="slice_squeeze"),
            mb.slice_by_size(x=x, begin=[1, 2, 0], size=[2, -1, 3], name="slice_size"),
            mb.gather(x=x, indices=idx, axis=-2, name="gather"),
            mb.gather_along_axis(x=x, indices=along, axis=1, name="gather_along"),
            mb.gather_nd(x=x, indices=np.array([[0, 1], [3, -1]], np.int32), name="gather_nd"),
            mb.band_part(x=x, lower=1, upper=0, name="band"),
            mb.cumsum(x=x, axis=-1, exclusive=True, reverse=True, name="cumsum"),
            mb.identity(x=mb.topk(x=x, k=2, axis=1)[0], name="topk"),
            mb.identity(x=mb.topk(x=x, k=3, axis=-1, ascending=True)[1], name="topk_asc"),
            mb.argsort(x=x, axis=0, name="argsort"),
            mb.one_hot(indices=mb.mod(x=idx, y=5), one_hot_vector_size=5, axis=0, on_value=2.0, off_value=-1.0, name="one_hot"),
            mb.scatter(data=x, indices=np.array([0, 2], np.int32), updates=np.ones((4, 2, 6), np.float32), axis=1,
                       mode="add", name="scatter"),
        )

    m = mil_model(prog)
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    idx = np.array([0, -1, 2], np.int32)
    along = rng.integers(-5, 5, (4, 2, 6)).astype(np.int32)
    out = m.predict({"x": x, "idx": idx, "along": along})
    close(out["slice_neg_stride"], x[1:4:2, 0:5, -1::-2])
    close(out["slice_squeeze"], x[0, 2:4, :])
    close(out["slice_size"], x[1:3, 2:, 0:3])
    close(out["gather"], np.take(x, [0, 4, 2], axis=1))
    close(out["gather_along"], np.take_along_axis(x, np.where(along < 0, along + 5, along), 1))
    close(out["gather_nd"], np.stack([x[0, 1], x[3, 4]]))
    i, j = np.arange(5)[:, None], np.arange(6)[None]
    close(out["band"], np.where((i - j <= 1) & (j - i <= 0), x, 0))
    close(out["cumsum"], np.flip(np.cumsum(np.flip(x, -1), -1), -1) - x)
    close(out["topk"], -np.sort(-x, axis=1)[:, :2])
    np.testing.assert_array_equal(out["topk_asc"], np.argsort(x, -1, kind="stable")[..., :3])
    np.testing.assert_array_equal(out["argsort"], np.argsort(-x, 0, kind="stable"))
    close(out["one_hot"], np.where(np.arange(5)[:, None] == np.array([0, 4, 2])[None], 2.0, -1.0))
    want = x.copy(); want[:, [0, 2]] += 1
    close(out["scatter"], want)


def test_resize_ops(mil_model, rng):
    @mb.program(input_specs=[mb.TensorSpec((1, 2, 5, 4))])
    def prog(x):
        return (
            mb.upsample_nearest_neighbor(x=x, scale_factor_height=2, scale_factor_width=3, name="nn"),
            mb.upsample_bilinear(x=x, scale_factor_height=2.0, scale_factor_width=2.0, align_corners=True, name="bl_ac"),
            mb.upsample_bilinear(x=x, scale_factor_height=2.0, scale_factor_width=2.0, align_corners=False, name="bl_hp"),
            mb.resize_bilinear(x=x, target_size_height=7, target_size_width=9, sampling_mode="UNALIGN_CORNERS", name="rb_hp"),
            mb.resize_bilinear(x=x, target_size_height=7, target_size_width=9, sampling_mode="STRICT_ALIGN_CORNERS",
                               name="rb_ac"),
            mb.resize_bilinear(x=x, target_size_height=3, target_size_width=2, sampling_mode="UNALIGN_CORNERS", name="down"),
        )

    m = mil_model(prog)
    x = rng.standard_normal((1, 2, 5, 4)).astype(np.float32)
    out = m.predict({"x": x})
    t = torch.from_numpy(x)
    close(out["nn"], F.interpolate(t, scale_factor=(2, 3), mode="nearest"))
    close(out["bl_ac"], F.interpolate(t, size=(10, 8), mode="bilinear", align_corners=True))
    close(out["bl_hp"], F.interpolate(t, size=(10, 8), mode="bilinear", align_corners=False))
    close(out["rb_hp"], F.interpolate(t, size=(7, 9), mode="bilinear", align_corners=False))
    close(out["rb_ac"], F.interpolate(t, size=(7, 9), mode="bilinear", align_corners=True))
    close(out["down"], F.interpolate(t, size=(3, 2), mode="bilinear", align_corners=False))


def test_scaled_dot_product_attention(mil_model, rng):
    import coremltools as ct

    mask = np.tril(np.ones((4, 6), bool), 2)
    fmask = rng.standard_normal((4, 6)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec((2, 4, 8)), mb.TensorSpec((2, 6, 8)), mb.TensorSpec((2, 6, 5))],
                opset_version=ct.target.iOS18)
    def prog(q, k, v):
        return (mb.scaled_dot_product_attention(query=q, key=k, value=v, name="plain"),
                mb.scaled_dot_product_attention(query=q, key=k, value=v, attn_mask=mask, name="bool_mask"),
                mb.scaled_dot_product_attention(query=q, key=k, value=v, attn_mask=fmask, name="float_mask"))

    m = mil_model(prog, minimum_deployment_target=ct.target.iOS18)
    assert "scaled_dot_product_attention" in m.op_types
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 8), (2, 6, 8), (2, 6, 5)))
    out = m.predict({"q": q, "k": k, "v": v})
    tq, tk, tv = map(torch.from_numpy, (q, k, v))
    sdpa = F.scaled_dot_product_attention
    close(out["plain"], sdpa(tq, tk, tv))
    close(out["bool_mask"], sdpa(tq, tk, tv, attn_mask=torch.from_numpy(mask)))
    close(out["float_mask"], sdpa(tq, tk, tv, attn_mask=torch.from_numpy(fmask)))


def test_misc_ops(mil_model, rng):
    @mb.program(input_specs=[mb.TensorSpec((2, 3)), mb.TensorSpec((1,), dtype=types.int32)])
    def prog(x, n):
        end = mb.squeeze(x=n)
        shp = mb.shape(x=x, name="shape")
        return (shp, mb.fill(shape=shp, value=2.5, name="fill"),
                mb.range_1d(start=1, end=end, step=2, name="range"), mb.identity(x=x, name="ident"),
                mb.mul(x=mb.l2_norm(x=mb.expand_dims(x=x, axes=[0])), y=1.0, name="l2norm"))

    m = mil_model(prog)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    out = m.predict({"x": x, "n": np.array([8], np.int32)})
    np.testing.assert_array_equal(out["shape"], [2, 3])
    close(out["fill"], np.full((2, 3), 2.5))
    np.testing.assert_array_equal(out["range"], [1, 3, 5, 7])
    close(out["ident"], x)
    close(out["l2norm"], (x / np.sqrt((x**2).sum() + 1e-6))[None])
