"""conv / conv_transpose / pooling / normalisation / reductions against PyTorch and NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from coremltools.converters.mil import Builder as mb
from tests.coreml_reference.compare import close_1e4 as close, tf_same


def test_conv_padding_modes_groups_dilation(mil_model, rng):
    w = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    w1 = rng.standard_normal((4, 4, 3)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec((1, 4, 9, 8)), mb.TensorSpec((1, 4, 10))])
    def prog(x, s):
        common = dict(x=x, weight=w, bias=b, groups=2)
        return (
            mb.conv(**common, pad_type="valid", name="valid"),
            mb.conv(**common, pad_type="same", strides=[2, 2], name="same"),
            mb.conv(**common, pad_type="same_lower", strides=[2, 2], name="same_lower"),
            mb.conv(**common, pad_type="custom", pad=[1, 2, 0, 3], dilations=[2, 1], name="custom"),
            mb.conv(x=s, weight=w1, pad_type="same", dilations=[2], name="conv1d"),
        )

    m = mil_model(prog)
    x = rng.standard_normal((1, 4, 9, 8)).astype(np.float32)
    s = rng.standard_normal((1, 4, 10)).astype(np.float32)
    out = m.predict({"x": x, "s": s})
    tx, tw, tb = map(torch.from_numpy, (x, w, b))
    close(out["valid"], F.conv2d(tx, tw, tb, groups=2))
    for name, lower in (("same", False), ("same_lower", True)):
        (t, bo), (l, r) = tf_same(9, 3, 2, 1, lower), tf_same(8, 3, 2, 1, lower)
        close(out[name], F.conv2d(F.pad(tx, (l, r, t, bo)), tw, tb, stride=2, groups=2))
    close(out["custom"], F.conv2d(F.pad(tx, (0, 3, 1, 2)), tw, tb, dilation=(2, 1), groups=2))
    close(out["conv1d"], F.conv1d(torch.from_numpy(s), torch.from_numpy(w1), padding="same", dilation=2))


def test_conv_transpose(mil_model, rng):
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec((1, 4, 5, 6))])
    def prog(x):
        return (
            mb.conv_transpose(x=x, weight=w, bias=b, strides=[2, 2], name="valid"),
            mb.conv_transpose(x=x, weight=w, bias=b, strides=[2, 2], pad_type="custom", pad=[1, 1, 1, 0], name="custom"),
            mb.conv_transpose(x=x, weight=w, bias=b, strides=[2, 2], pad_type="same", name="same"),
        )

    m = mil_model(prog)
    x = rng.standard_normal((1, 4, 5, 6)).astype(np.float32)
    out = m.predict({"x": x})
    tx, tw, tb = map(torch.from_numpy, (x, w, b))
    full = F.conv_transpose2d(tx, tw, tb, stride=2)
    close(out["valid"], full)
    close(out["custom"], full[:, :, 1:-1, 1:])
    assert out["same"].shape == (1, 3, 10, 12)
    close(out["same"], full[:, :, 0:10, 0:12])  # total crop 1: begin 0, end 1


def test_pooling(mil_model, rng):
    @mb.program(input_specs=[mb.TensorSpec((1, 3, 7, 8))])
    def prog(x):
        return (
            mb.max_pool(x=x, kernel_sizes=[3, 3], strides=[2, 2], pad_type="same", name="max_same"),
            mb.avg_pool(x=x, kernel_sizes=[3, 3], strides=[2, 2], pad_type="custom", pad=[1, 1, 1, 1],
                        exclude_padding_from_average=True, name="avg_excl"),
            mb.avg_pool(x=x, kernel_sizes=[3, 3], strides=[2, 2], pad_type="custom", pad=[1, 1, 1, 1],
                        exclude_padding_from_average=False, name="avg_incl"),
            mb.avg_pool(x=x, kernel_sizes=[2, 2], strides=[2, 2], pad_type="valid", ceil_mode=False, name="avg_valid"),
            mb.l2_pool(x=x, kernel_sizes=[2, 2], strides=[2, 2], pad_type="valid", name="l2"),
            mb.reduce_mean(x=x, axes=[-2, -1], keep_dims=True, name="global_avg"),
            mb.reduce_max(x=x, axes=[2, 3], keep_dims=True, name="global_max"),
        )

    m = mil_model(prog)
    x = rng.standard_normal((1, 3, 7, 8)).astype(np.float32)
    out = m.predict({"x": x})
    tx = torch.from_numpy(x)
    (t, b), (l, r) = tf_same(7, 3, 2, 1), tf_same(8, 3, 2, 1)
    close(out["max_same"], F.max_pool2d(F.pad(tx, (l, r, t, b), value=-np.inf), 3, 2))
    close(out["avg_excl"], F.avg_pool2d(tx, 3, 2, padding=1, count_include_pad=False))
    close(out["avg_incl"], F.avg_pool2d(tx, 3, 2, padding=1, count_include_pad=True))
    close(out["avg_valid"], F.avg_pool2d(tx, 2, 2))
    close(out["l2"], F.lp_pool2d(tx, 2, 2, 2))
    close(out["global_avg"], tx.mean((2, 3), keepdim=True))
    close(out["global_max"], tx.amax((2, 3), keepdim=True))


def test_normalisations(mil_model, rng):
    g = rng.standard_normal(6).astype(np.float32)
    be = rng.standard_normal(6).astype(np.float32)
    mean = rng.standard_normal(3).astype(np.float32)
    var = rng.uniform(0.5, 2, 3).astype(np.float32)
    g3, b3 = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec((2, 3, 4, 6))])
    def prog(x):
        return (
            mb.layer_norm(x=x, axes=[-1], gamma=g, beta=be, epsilon=1e-5, name="ln_last"),
            mb.layer_norm(x=x, axes=[1, 2, 3], epsilon=1e-3, name="ln_chw"),
            mb.batch_norm(x=x, mean=mean, variance=var, gamma=g3, beta=b3, epsilon=1e-3, name="bn"),
            mb.instance_norm(x=x, gamma=g3, beta=b3, epsilon=1e-5, name="in"),
            mb.l2_norm(x=x, epsilon=1e-6, name="l2"),
            mb.local_response_norm(x=x, size=3, alpha=1e-2, beta=0.75, k=1.0, name="lrn"),
        )

    m = mil_model(prog)
    x = rng.standard_normal((2, 3, 4, 6)).astype(np.float32)
    out = m.predict({"x": x})
    t = torch.from_numpy(x)
    close(out["ln_last"], F.layer_norm(t, (6,), torch.from_numpy(g), torch.from_numpy(be)))
    close(out["ln_chw"], F.layer_norm(t, (3, 4, 6), eps=1e-3))
    close(out["bn"], F.batch_norm(t, torch.from_numpy(mean), torch.from_numpy(var), torch.from_numpy(g3),
                                  torch.from_numpy(b3), eps=1e-3))
    close(out["in"], F.instance_norm(t, weight=torch.from_numpy(g3), bias=torch.from_numpy(b3)))
    close(out["l2"], x / np.sqrt((x**2).sum(axis=(1, 2, 3), keepdims=True) + 1e-6))
    close(out["lrn"], F.local_response_norm(t, 3, 1e-2, 0.75, 1.0))


@pytest.mark.parametrize("keep", [False, True])
def test_reductions(mil_model, rng, keep):
    @mb.program(input_specs=[mb.TensorSpec((2, 3, 4))])
    def prog(x):
        kw = dict(x=x, axes=[-1, 0], keep_dims=keep)
        return (
            mb.reduce_sum(**kw, name="sum"), mb.reduce_mean(**kw, name="mean"), mb.reduce_max(**kw, name="max"),
            mb.reduce_min(**kw, name="min"), mb.reduce_prod(**kw, name="prod"), mb.reduce_l2_norm(**kw, name="l2"),
            mb.reduce_l1_norm(**kw, name="l1"), mb.reduce_sum_square(**kw, name="sumsq"),
            mb.reduce_log_sum_exp(**kw, name="lse"), mb.reduce_sum(x=x, keep_dims=keep, name="all"),
            mb.reduce_argmax(x=x, axis=-2, keep_dims=keep, name="argmax"),
            mb.reduce_argmin(x=x, axis=0, keep_dims=keep, name="argmin"),
        )

    m = mil_model(prog)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    out = m.predict({"x": x})
    ax = (2, 0)
    want = {
        "sum": x.sum(ax, keepdims=keep), "mean": x.mean(ax, keepdims=keep), "max": x.max(ax, keepdims=keep),
        "min": x.min(ax, keepdims=keep), "prod": x.prod(ax, keepdims=keep),
        "l2": np.sqrt((x**2).sum(ax, keepdims=keep)), "l1": np.abs(x).sum(ax, keepdims=keep),
        "sumsq": (x**2).sum(ax, keepdims=keep), "lse": torch.logsumexp(torch.from_numpy(x), (2, 0), keep).numpy(),
        "all": x.sum(keepdims=keep) if keep else x.sum(),
    }
    for k, v in want.items():
        close(out[k], v)
    am = np.argmax(x, axis=1)
    np.testing.assert_array_equal(out["argmax"], np.expand_dims(am, 1) if keep else am)
    an = np.argmin(x, axis=0)
    np.testing.assert_array_equal(out["argmin"], np.expand_dims(an, 0) if keep else an)
