"""The executor's fast paths against straightforward references.

Constant-weight 2-D convolutions run on oneDNN with the weight repacked once (ops/conv_packed.py)
on channels-last activations; big fp32 element-wise ops and sum/mean reductions run on torch.
Each is compared with ``torch.nn.functional.conv2d`` / NumPy on shapes chosen to break layout or
padding bookkeeping: stride 2, every pad type, asymmetric pads, dilation, non-square kernels,
depthwise with a channel multiplier, grouped, 1x1 spatial, inputs arriving as NHWC views.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from coremltools.converters.mil import Builder as mb

from pipeline_runner.coreml_reference.ops import conv_packed
from tests.coreml_reference.compare import close_1e4 as close, tf_same


# (name, C_in, C_out, groups, kernel (h, w), strides, dilations, pad_type, custom pad [t, b, l, r])
CASES = [
    ("dense_s2_same", 5, 7, 1, (3, 3), (2, 2), (1, 1), "same", None),
    ("dense_nonsquare_lower", 5, 6, 1, (3, 5), (2, 1), (1, 1), "same_lower", None),
    ("dense_dilated_custom", 4, 6, 1, (3, 2), (1, 2), (2, 3), "custom", [1, 2, 0, 3]),
    ("depthwise_7x7", 6, 6, 6, (7, 7), (1, 1), (1, 1), "custom", [3, 3, 3, 3]),
    ("depthwise_multiplier_s2", 4, 8, 4, (5, 5), (2, 2), (1, 1), "same", None),
    ("depthwise_dilated_valid", 6, 6, 6, (3, 3), (1, 1), (2, 2), "valid", None),
    ("grouped", 6, 9, 3, (3, 3), (1, 1), (1, 1), "custom", [1, 1, 1, 1]),
    ("pointwise", 8, 5, 1, (1, 1), (1, 1), (1, 1), "valid", None),
    ("pointwise_s2", 8, 5, 1, (1, 1), (2, 2), (1, 1), "valid", None),
]


def _reference(x, w, b, groups, strides, dilations, pad_type, pad):
    tx, tw, tb = map(torch.from_numpy, (x, w, b))
    (h, wd), (kh, kw) = x.shape[2:], w.shape[2:]
    if pad_type in ("same", "same_lower"):
        (t, bo), (l, r) = (tf_same(h, kh, strides[0], dilations[0], pad_type == "same_lower"),
                           tf_same(wd, kw, strides[1], dilations[1], pad_type == "same_lower"))
    elif pad_type == "custom":
        t, bo, l, r = pad
    else:
        t = bo = l = r = 0
    return F.conv2d(F.pad(tx, (l, r, t, bo)), tw, tb, strides, 0, dilations, groups).numpy()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("nhwc_input", [False, True], ids=["nchw", "nhwc_view"])
def test_conv_fast_path_matches_conv2d(mil_model, rng, case, nhwc_input):
    _, cin, cout, groups, kernel, strides, dilations, pad_type, pad = case
    w = rng.standard_normal((cout, cin // groups) + kernel).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    shape = (2, 11, 9, cin) if nhwc_input else (2, cin, 11, 9)
    kwargs = dict(weight=w, bias=b, groups=groups, strides=list(strides), dilations=list(dilations), pad_type=pad_type)
    if pad is not None:
        kwargs["pad"] = pad

    w2 = rng.standard_normal((cout, 1, 3, 3)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape)])
    def prog(x):
        # An NHWC input transposed to NCHW reaches the conv as a strided (channels-last) view.
        xc = mb.transpose(x=x, perm=[0, 3, 1, 2]) if nhwc_input else x
        y = mb.conv(x=xc, **kwargs)
        # A depthwise conv on that result: a channels-last activation chained into the next conv.
        return mb.identity(x=y, name="y"), mb.conv(x=y, weight=w2, groups=cout, pad_type="same", name="y2")

    m = mil_model(prog)
    x = rng.standard_normal(shape).astype(np.float32)
    out = m.predict({"x": x})
    xn = np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if nhwc_input else x
    want = _reference(xn, w, b, groups, strides, dilations, pad_type, pad)
    close(out["y"], want)
    close(out["y2"], F.conv2d(torch.from_numpy(want), torch.from_numpy(w2), padding=1, groups=cout))
    assert out["y"].flags.c_contiguous and out["y2"].flags.c_contiguous  # layouts stay inside the executor
    if conv_packed.available():  # the packed path ran and cached its weight
        caches = m._engine.executor._op_caches.values()
        assert any(k[0] == "packed_conv" for c in caches for k in c)
    again = m.predict({"x": x})  # second run: the cached packed weight
    np.testing.assert_array_equal(again["y"], out["y"])
    np.testing.assert_array_equal(again["y2"], out["y2"])


def test_conv_runtime_weight_and_1x1_spatial(mil_model, rng):
    """A weight computed at run time is not packed (nor cached); a 1x1-spatial conv (squeeze-excite)
    takes conv2d; both agree with the reference."""
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    se = rng.standard_normal((3, 4, 1, 1)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec((1, 4, 8, 8)), mb.TensorSpec((6, 4, 3, 3))])
    def prog(x, dw):
        pooled = mb.reduce_mean(x=x, axes=[2, 3], keep_dims=True)
        return (mb.conv(x=x, weight=mb.mul(x=dw, y=2.0), pad_type="same", name="dyn"),
                mb.conv(x=pooled, weight=se, name="se"))

    m = mil_model(prog)
    x = rng.standard_normal((1, 4, 8, 8)).astype(np.float32)
    out = m.predict({"x": x, "dw": w})
    tx = torch.from_numpy(x)
    close(out["dyn"], F.conv2d(tx, torch.from_numpy(2 * w), padding=1))
    close(out["se"], F.conv2d(tx.mean((2, 3), keepdim=True), torch.from_numpy(se)))
    assert not any(k[0] == "packed_conv" for c in m._engine.executor._op_caches.values() for k in c)


def test_channels_last_activations_through_elementwise_and_reductions(mil_model, rng):
    """Big fp32 operands take torch's kernels: add/sub/mul/div/max/min are exactly NumPy's
    (IEEE fp32, correctly rounded), mean/sum agree to float tolerance; mixed layouts and
    broadcasting included."""
    w = rng.standard_normal((48, 1, 3, 3)).astype(np.float32)
    scale = rng.standard_normal((1, 48, 1, 1)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec((1, 48, 40, 40))])
    def prog(x):
        y = mb.conv(x=x, weight=w, groups=48, pad_type="same")  # channels-last inside the executor
        return (mb.add(x=y, y=x, name="add"), mb.sub(x=x, y=y, name="sub"), mb.mul(x=y, y=scale, name="mul"),
                mb.real_div(x=y, y=mb.add(x=mb.abs(x=x), y=1.0), name="div"), mb.maximum(x=y, y=x, name="max"),
                mb.minimum(x=y, y=0.5, name="min"), mb.reduce_mean(x=y, axes=[2, 3], keep_dims=True, name="mean"),
                mb.reduce_sum(x=y, axes=[1], keep_dims=False, name="sum"), mb.identity(x=y, name="y"))

    m = mil_model(prog)
    x = rng.standard_normal((1, 48, 40, 40)).astype(np.float32)
    out = m.predict({"x": x})
    y = out["y"]
    close(y, F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1, groups=48))
    for name, want in (("add", y + x), ("sub", x - y), ("mul", y * scale), ("div", y / (np.abs(x) + 1)),
                       ("max", np.maximum(y, x)), ("min", np.minimum(y, np.float32(0.5)))):
        np.testing.assert_array_equal(out[name], want.astype(np.float32), err_msg=name)
    close(out["mean"], y.mean(axis=(2, 3), keepdims=True), atol=1e-6)
    close(out["sum"], y.sum(axis=1), atol=1e-4)


def test_freed_memory_is_kept_for_reuse_on_linux():
    import sys

    from pipeline_runner.coreml_reference.memory import keep_freed_memory

    if not sys.platform.startswith("linux"):
        pytest.skip("mallopt thresholds exist on glibc only")
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # idempotent


@pytest.mark.parametrize("activation", ["silu", "relu"])
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_an_activation_fused_into_its_convolution_computes_the_same(mil_model, rng, activation, precision):
    # conv → act is fused (the activation as the kernel's post-op); conv → act where the conv's output is
    # also read elsewhere, and a depthwise conv on a 1x1 map (the unpacked path), are not or differently.
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((6, 1, 1, 1)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 4, 9, 9))])
    def prog(x):
        a = getattr(mb, activation)(x=mb.conv(x=x, weight=w, pad_type="same"))  # fusable
        c = mb.conv(x=a, weight=w2, groups=6)
        both = mb.add(x=getattr(mb, activation)(x=c), y=c)  # c has two readers: not fused
        pooled = mb.reduce_mean(x=both, axes=[2, 3], keep_dims=True)
        return getattr(mb, activation)(x=mb.conv(x=pooled, weight=w2, groups=6))  # 1x1 map: unpacked conv

    model = mil_model(prog, precision)
    engine = model._engine.executor
    x = {model.input_names[0]: rng.standard_normal((1, 4, 9, 9)).astype(np.float32)}
    fused = model.predict(x)
    fusions = engine._fusions[id(engine.program.block)]
    assert list(fusions.values()) == [activation, activation]  # found statically; fp16 declines at run time
    traced, trace = model.predict_traced(x)  # a trace runs every op on its own
    assert [e.type for e in trace].count(activation) == 3
    name = model.output_names[0]
    np.testing.assert_allclose(fused[name], traced[name], rtol=1e-6 if precision == "fp32" else 0, atol=1e-6)
    if precision == "fp16":  # an fp16 program rounds the conv's output before the activation: never fused
        np.testing.assert_array_equal(fused[name], traced[name])
