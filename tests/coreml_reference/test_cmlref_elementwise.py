"""Element-wise, activation, comparison and logical ops against NumPy/PyTorch."""

from __future__ import annotations

import numpy as np
import torch
from coremltools.converters.mil import Builder as mb
from coremltools.converters.mil.mil import types
from tests.coreml_reference.compare import close


def test_binary_and_unary_ops_with_broadcasting(mil_model, rng):
    @mb.program(input_specs=[mb.TensorSpec((2, 3, 4)), mb.TensorSpec((3, 1))])
    def prog(x, y):
        return (
            mb.add(x=x, y=y, name="add"), mb.sub(x=x, y=y, name="sub"), mb.mul(x=x, y=y, name="mul"),
            mb.real_div(x=x, y=y, name="div"), mb.pow(x=mb.abs(x=x), y=y, name="pow"),
            mb.maximum(x=x, y=y, name="maximum"), mb.minimum(x=x, y=y, name="minimum"),
            mb.floor_div(x=x, y=y, name="floor_div"), mb.mod(x=x, y=y, name="mod"),
            mb.exp(x=x, name="exp"), mb.sqrt(x=mb.abs(x=x), name="sqrt"), mb.sin(x=x, name="sin"),
            mb.floor(x=x, name="floor"), mb.round(x=x, name="round"), mb.sign(x=x, name="sign"),
            mb.erf(x=x, name="erf"), mb.clip(x=x, alpha=-0.5, beta=0.5, name="clip"),
            mb.inverse(x=x, epsilon=0.5, name="inverse"), mb.rsqrt(x=mb.abs(x=x), epsilon=1e-3, name="rsqrt"),
            mb.log(x=mb.abs(x=x), epsilon=1e-3, name="log"), mb.square(x=x, name="square"),
            mb.threshold(x=x, alpha=0.1, name="threshold"),
        )

    m = mil_model(prog)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32) * 2
    x[0, 0, 0] = 2.5  # round half to even
    y = rng.uniform(0.5, 2.0, (3, 1)).astype(np.float32)
    out = m.predict({"x": x, "y": y})
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    expected = {
        "add": x + y, "sub": x - y, "mul": x * y, "div": x / y, "pow": np.abs(x) ** y,
        "maximum": np.maximum(x, y), "minimum": np.minimum(x, y), "floor_div": np.floor(x / y),
        "mod": torch.remainder(tx, ty).numpy(), "exp": np.exp(x), "sqrt": np.sqrt(np.abs(x)), "sin": np.sin(x),
        "floor": np.floor(x), "round": torch.round(tx).numpy(), "sign": np.sign(x), "erf": torch.erf(tx).numpy(),
        "clip": np.clip(x, -0.5, 0.5), "inverse": 1 / (x + 0.5), "rsqrt": 1 / np.sqrt(np.abs(x) + 1e-3),
        "log": np.log(np.abs(x) + 1e-3), "square": x * x, "threshold": np.maximum(x, 0.1),
    }
    assert out["round"][0, 0, 0] == 2.0
    for name, want in expected.items():
        close(out[name], want, atol=1e-5, rtol=1e-4)


def test_comparison_and_logical_ops(mil_model, rng):
    @mb.program(input_specs=[mb.TensorSpec((4, 5)), mb.TensorSpec((5,))])
    def prog(x, y):
        g, l = mb.greater(x=x, y=y), mb.less_equal(x=x, y=y)
        out = [mb.select(cond=mb.logical_and(x=g, y=mb.logical_not(x=l)), a=x, b=y, name="and"),
               mb.select(cond=mb.logical_or(x=g, y=mb.equal(x=x, y=y)), a=x, b=y, name="or"),
               mb.select(cond=mb.logical_xor(x=g, y=mb.not_equal(x=x, y=y)), a=x, b=y, name="xor"),
               mb.cast(x=mb.greater_equal(x=x, y=y), dtype="fp32", name="ge"),
               mb.cast(x=mb.less(x=x, y=y), dtype="int32", name="lt")]
        return tuple(out)

    m = mil_model(prog)
    x = rng.integers(-2, 3, (4, 5)).astype(np.float32)
    y = rng.integers(-2, 3, (5,)).astype(np.float32)
    out = m.predict({"x": x, "y": y})
    g = x > y
    close(out["and"], np.where(g & ~(x <= y), x, y))
    close(out["or"], np.where(g | (x == y), x, y))
    close(out["xor"], np.where(g ^ (x != y), x, y))
    close(out["ge"], (x >= y).astype(np.float32))
    np.testing.assert_array_equal(out["lt"], (x < y).astype(np.int32))


def test_activations_match_torch(mil_model, rng):
    @mb.program(input_specs=[mb.TensorSpec((2, 3, 5))])
    def prog(x):
        return (
            mb.relu(x=x, name="relu"), mb.relu6(x=mb.mul(x=x, y=4.0), name="relu6"), mb.sigmoid(x=x, name="sigmoid"),
            mb.tanh(x=x, name="tanh"), mb.silu(x=x, name="silu"), mb.leaky_relu(x=x, alpha=0.2, name="leaky"),
            mb.elu(x=x, alpha=0.7, name="elu"), mb.softplus(x=x, name="softplus"), mb.softsign(x=x, name="softsign"),
            mb.gelu(x=x, mode="EXACT", name="gelu_exact"), mb.gelu(x=x, mode="TANH_APPROXIMATION", name="gelu_tanh"),
            mb.gelu(x=x, mode="SIGMOID_APPROXIMATION", name="gelu_sigmoid"),
            mb.sigmoid_hard(x=x, alpha=1 / 6, beta=0.5, name="hard_sigmoid"),
            mb.mul(x=x, y=mb.sigmoid_hard(x=x, alpha=1 / 6, beta=0.5), name="hard_swish"),
            mb.softmax(x=x, axis=-2, name="softmax"), mb.prelu(x=mb.expand_dims(x=x, axes=[-1]), alpha=np.array([0.1, 0.2, 0.3], np.float32), name="prelu"),
            mb.scaled_tanh(x=x, alpha=2.0, beta=0.5, name="scaled_tanh"),
            mb.thresholded_relu(x=x, alpha=0.3, name="thresholded_relu"),
        )

    m = mil_model(prog)
    x = rng.standard_normal((2, 3, 5)).astype(np.float32) * 3
    out = m.predict({"x": x})
    t = torch.from_numpy(x)
    F = torch.nn.functional
    expected = {
        "relu": F.relu(t), "relu6": F.relu6(t * 4), "sigmoid": torch.sigmoid(t), "tanh": torch.tanh(t),
        "silu": F.silu(t), "leaky": F.leaky_relu(t, 0.2), "elu": F.elu(t, 0.7), "softplus": F.softplus(t),
        "softsign": F.softsign(t), "gelu_exact": F.gelu(t), "gelu_tanh": F.gelu(t, approximate="tanh"),
        "gelu_sigmoid": t * torch.sigmoid(1.702 * t), "hard_sigmoid": F.hardsigmoid(t), "hard_swish": F.hardswish(t),
        "softmax": torch.softmax(t, dim=1), "prelu": F.prelu(t, torch.tensor([0.1, 0.2, 0.3]))[..., None],
        "scaled_tanh": 2 * torch.tanh(0.5 * t), "thresholded_relu": F.threshold(t, 0.3, 0.0),
    }
    assert {"gelu", "sigmoid_hard", "softmax", "prelu"} <= m.op_types
    for name, want in expected.items():
        close(out[name], want.numpy(), atol=2e-6, rtol=1e-5)


def test_fp16_overflow_becomes_inf_and_precision_is_lost(mil_model):
    def make():  # ct.convert rewrites the program in place: one per conversion
        @mb.program(input_specs=[mb.TensorSpec((1, 4))])
        def prog(x):
            big = mb.mul(x=x, y=1000.0, name="big")
            return mb.add(x=big, y=1e-3, name="tiny_add"), mb.sub(x=big, y=big, name="diff")

        return prog

    x = np.array([[100.0, 60.0, -100.0, 1.0]], np.float32)
    fp16 = mil_model(make(), precision="fp16")
    fp32 = mil_model(make(), precision="fp32")
    assert fp16.compute_precision == "fp16" and fp32.compute_precision == "fp32"
    o16, o32 = fp16.predict({"x": x}), fp32.predict({"x": x})
    assert np.isposinf(o16["tiny_add"][0, 0]) and np.isneginf(o16["tiny_add"][0, 2])
    assert np.isnan(o16["diff"][0, 0])  # inf - inf
    assert np.all(np.isfinite(o32["tiny_add"]))
    close(o32["tiny_add"], x * 1000 + 1e-3, rtol=1e-6)
    assert o16["tiny_add"][0, 3] == np.float32(np.float16(1000.0))  # +1e-3 is lost in fp16
    # the same program run with every fp16 op kept in fp32
    assert np.all(np.isfinite(fp16.predict({"x": x}, fp32=True)["tiny_add"]))
    trace = fp16.trace({"x": x})
    big = next(e for e in trace if e.type == "mul")
    assert big.dtypes == ("fp16",) and big.outputs[0].dtype == np.float16


def test_int_ops_and_cast(mil_model):
    @mb.program(input_specs=[mb.TensorSpec((6,), dtype=types.int32), mb.TensorSpec((6,))])
    def prog(i, f):
        return (mb.add(x=i, y=3, name="iadd"), mb.cast(x=f, dtype="int32", name="trunc"),
                mb.real_div(x=i, y=2, name="idiv"), mb.cast(x=i, dtype="fp32", name="tofloat"))

    m = mil_model(prog)
    i = np.array([-3, -1, 0, 1, 5, 7], np.int32)
    f = np.array([-1.7, -0.2, 0.0, 0.5, 1.9, 2.5], np.float32)
    out = m.predict({"i": i, "f": f})
    np.testing.assert_array_equal(out["iadd"], i + 3)
    np.testing.assert_array_equal(out["trunc"], np.trunc(f).astype(np.int32))
    close(out["tofloat"], i.astype(np.float32))
    assert out["idiv"].shape == (6,)
