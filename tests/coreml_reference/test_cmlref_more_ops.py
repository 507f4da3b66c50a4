"""Control flow, activation quantization, space/batch, iOS17 resize, reshape_like, reverse_sequence."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from coremltools.converters.mil import Builder as mb
from coremltools.converters.mil.mil import types
from tests.coreml_reference.compare import close


def test_cond_and_while_loop(mil_model):
    @mb.program(input_specs=[mb.TensorSpec((2, 3)), mb.TensorSpec((1,), dtype=types.int32)])
    def prog(x, n):
        pred = mb.greater(x=mb.reduce_sum(x=x), y=0.0)
        branch = mb.cond(pred=pred, _true_fn=lambda: mb.mul(x=x, y=2.0), _false_fn=lambda: mb.sub(x=x, y=1.0))
        i0 = mb.squeeze(x=mb.mul(x=n, y=0))
        _, acc = mb.while_loop(_cond=lambda i, a: mb.less(x=i, y=mb.squeeze(x=n)),
                               _body=lambda i, a: (mb.add(x=i, y=1), mb.add(x=mb.mul(x=a, y=2.0), y=1.0)),
                               loop_vars=(i0, x))
        return mb.identity(x=branch, name="branch"), mb.identity(x=acc, name="loop")

    m = mil_model(prog)
    assert {"cond", "while_loop"} <= m.op_types
    x = np.arange(6, dtype=np.float32).reshape(2, 3) - 1
    out = m.predict({"x": x, "n": np.array([3], np.int32)})
    close(out["branch"], x * 2)
    close(out["loop"], ((x * 2 + 1) * 2 + 1) * 2 + 1)
    out = m.predict({"x": -x - 5, "n": np.array([0], np.int32)})
    close(out["branch"], -x - 6)
    close(out["loop"], -x - 5)


def test_quantize_dequantize(mil_model):
    import coremltools as ct

    @mb.program(input_specs=[mb.TensorSpec((2, 3))], opset_version=ct.target.iOS17)
    def prog(x):
        q = mb.quantize(input=x, scale=np.float32(0.1), zero_point=np.int8(3), output_dtype="int8")
        return mb.add(x=mb.dequantize(input=q, scale=np.float32(0.1), zero_point=np.int8(3)), y=0.0, name="y")

    m = mil_model(prog)
    x = np.array([[0.04, 0.26, -1.0], [20.0, -20.0, 0.15]], np.float32)
    want = (np.clip(np.round(x / 0.1) + 3, -128, 127) - 3) * 0.1
    close(m.predict({"x": x})["y"], want)


def test_space_batch_resize_reshape_like_reverse_sequence(mil_model, rng):
    import coremltools as ct

    @mb.program(input_specs=[mb.TensorSpec((1, 2, 4, 6)), mb.TensorSpec((2, 8)), mb.TensorSpec((2, 5, 3))],
                opset_version=ct.target.iOS17)
    def prog(x, ref, s):
        s2b = mb.space_to_batch(x=x, block_shape=[2, 2], paddings=[[0, 0], [1, 1]])
        return (
            mb.identity(x=s2b, name="s2b"),
            mb.batch_to_space(x=s2b, block_shape=[2, 2], crops=[[0, 0], [1, 1]], name="roundtrip"),
            mb.resize(x=x, shape=np.array([7, 9], np.int32), resized_dims=np.uint32(2), interpolation_mode="LINEAR",
                      sampling_mode="UNALIGN_CORNERS", name="resize_linear"),
            mb.resize(x=x, shape=np.array([8, 12], np.int32), resized_dims=np.uint32(2),
                      interpolation_mode="NEAREST_NEIGHBOR", name="resize_nn"),
            mb.reshape_like(x=x, ref_tensors=(ref, s), begins=(0, 2), ends=(1, 3), end_masks=(True, False),
                            name="reshape_like"),
            mb.reverse_sequence(x=s, lengths=np.array([2, 5], np.int32), seq_axis=1, batch_axis=0, name="revseq"),
        )

    m = mil_model(prog, minimum_deployment_target=ct.target.iOS17)
    assert {"batch_to_space", "space_to_batch", "resize", "reshape_like", "reverse_sequence"} <= m.op_types
    x = rng.standard_normal((1, 2, 4, 6)).astype(np.float32)
    s = rng.standard_normal((2, 5, 3)).astype(np.float32)
    out = m.predict({"x": x, "ref": np.zeros((2, 8), np.float32), "s": s})
    padded = np.pad(x, [(0, 0), (0, 0), (0, 0), (1, 1)])
    want_s2b = np.stack([padded[:, :, i::2, j::2] for i in range(2) for j in range(2)]).reshape(4, 2, 2, 4)
    close(out["s2b"], want_s2b)
    close(out["roundtrip"], x)
    t = torch.from_numpy(x)
    close(out["resize_linear"], F.interpolate(t, size=(7, 9), mode="bilinear", align_corners=False))
    close(out["resize_nn"], F.interpolate(t, size=(8, 12), mode="nearest"))
    close(out["reshape_like"], x.reshape(2, 8, 3))
    want = s.copy()
    want[0, :2] = s[0, 1::-1]
    want[1] = s[1, ::-1]
    close(out["revseq"], want)


def test_matmul_linear_einsum(mil_model, rng):
    w = rng.standard_normal((5, 4)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec((2, 3, 6, 4)), mb.TensorSpec((2, 3, 5, 4)), mb.TensorSpec((2, 4, 6, 5))])
    def prog(x, y, e):
        return (
            mb.matmul(x=x, y=y, transpose_y=True, name="mm_ty"),
            mb.matmul(x=x, y=x, transpose_x=True, name="mm_tx"),
            mb.matmul(x=x, y=mb.transpose(x=mb.reduce_sum(x=y, axes=[0, 1]), perm=[1, 0]), name="mm_broadcast"),
            mb.linear(x=x, weight=w, bias=b, name="linear"),
            mb.einsum(values=(x, e), equation="nchw,nwhu->nchu", name="einsum"),  # the form MIL supports
        )

    m = mil_model(prog)
    assert {"einsum", "linear", "matmul"} <= m.op_types
    x = rng.standard_normal((2, 3, 6, 4)).astype(np.float32)
    y = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    e = rng.standard_normal((2, 4, 6, 5)).astype(np.float32)
    out = m.predict({"x": x, "y": y, "e": e})
    yt = np.swapaxes(y, -1, -2)
    close(out["mm_ty"], x @ yt, atol=1e-5)
    close(out["mm_tx"], np.swapaxes(x, -1, -2) @ x, atol=1e-5)
    close(out["mm_broadcast"], x @ y.sum((0, 1)).T, atol=1e-4)
    close(out["linear"], x @ w.T + b, atol=1e-5)
    close(out["einsum"], np.einsum("nchw,nwhu->nchu", x, e), atol=1e-5)


def test_rnn(mil_model, rng):
    w_ih = rng.standard_normal((4, 3)).astype(np.float32)
    w_hh = rng.standard_normal((4, 4)).astype(np.float32) * 0.5
    b = rng.standard_normal(4).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec((5, 2, 3)), mb.TensorSpec((2, 4))])
    def prog(x, h0):
        y, h = mb.rnn(x=x, initial_h=h0, weight_ih=w_ih, weight_hh=w_hh, bias=b, output_sequence=True,
                      activation="tanh", direction="reverse")
        return mb.identity(x=y, name="y"), mb.identity(x=h, name="h")

    m = mil_model(prog)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    h = rng.standard_normal((2, 4)).astype(np.float32)
    out = m.predict({"x": x, "h0": h})
    ys = []  # Core ML (per coremltools' op tests): a reverse RNN's outputs come in processing order
    for t in reversed(range(5)):
        h = np.tanh(x[t] @ w_ih.T + h @ w_hh.T + b)
        ys.append(h)
    close(out["y"], np.stack(ys), atol=1e-5)
    close(out["h"], h, atol=1e-5)


def test_gru_ios15_form_matches_coremltools_reference(mil_model, rng):
    """The reference formula of coremltools' own iOS14 gru test: reset applied to h before R_o."""
    H, I = 4, 3
    W = {g: rng.uniform(-1, 1, (H, I)).astype(np.float32) for g in "roz"}
    R = {g: rng.uniform(-1, 1, (H, H)).astype(np.float32) for g in "roz"}
    B = {g: rng.uniform(-1, 1, H).astype(np.float32) for g in "roz"}

    @mb.program(input_specs=[mb.TensorSpec((5, 2, I)), mb.TensorSpec((2, H))])
    def prog(x, h0):
        y, h = mb.gru(x=x, initial_h=h0, weight_ih=np.concatenate([W["r"], W["o"], W["z"]]),
                      weight_hh=np.concatenate([R["r"], R["o"], R["z"]]), bias=np.concatenate([B["r"], B["o"], B["z"]]),
                      direction="reverse", output_sequence=True)
        return mb.identity(x=y, name="y"), mb.identity(x=h, name="h")

    m = mil_model(prog)
    x = rng.standard_normal((5, 2, I)).astype(np.float32)
    h = rng.standard_normal((2, H)).astype(np.float32)
    out = m.predict({"x": x, "h0": h})
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    ys = []
    for t in reversed(range(5)):
        z = sig(x[t] @ W["z"].T + h @ R["z"].T + B["z"])
        r = sig(x[t] @ W["r"].T + h @ R["r"].T + B["r"])
        o = np.tanh(x[t] @ W["o"].T + (h * r) @ R["o"].T + B["o"])
        h = (1 - z) * o + z * h
        ys.append(h)
    close(out["y"], np.stack(ys), atol=1e-5)
    close(out["h"], h, atol=1e-5)


def test_gru_reset_after_matches_pytorch(mil_model, rng):
    import coremltools as ct

    torch.manual_seed(0)
    gru = torch.nn.GRU(3, 4)
    sd = {k: v.detach().numpy() for k, v in gru.state_dict().items()}

    def r_o_z(a):  # PyTorch packs [r, z, n]; MIL wants [r, o(=n), z]
        r, z, n = np.split(a, 3)
        return np.concatenate([r, n, z])

    @mb.program(input_specs=[mb.TensorSpec((6, 2, 3)), mb.TensorSpec((2, 4))], opset_version=ct.target.iOS18)
    def prog(x, h0):
        y, h = mb.gru(x=x, initial_h=h0, weight_ih=r_o_z(sd["weight_ih_l0"]), weight_hh=r_o_z(sd["weight_hh_l0"]),
                      input_bias=r_o_z(sd["bias_ih_l0"]), bias=r_o_z(sd["bias_hh_l0"]), reset_after=True,
                      output_sequence=True)
        return mb.identity(x=y, name="y"), mb.identity(x=h, name="h")

    m = mil_model(prog, minimum_deployment_target=ct.target.iOS18)
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    h0 = rng.standard_normal((2, 4)).astype(np.float32)
    out = m.predict({"x": x, "h0": h0})
    with torch.no_grad():
        y, h = gru(torch.from_numpy(x), torch.from_numpy(h0)[None])
    close(out["y"], y.numpy(), atol=1e-5)
    close(out["h"], h[0].numpy(), atol=1e-5)
