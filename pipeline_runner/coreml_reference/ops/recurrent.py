"""lstm, gru and rnn (MIL recurrent.py): a Python loop over time steps, vectorised over batch and hidden.

Conventions follow coremltools' own op tests (run against the Core ML runtime): LSTM gates
are [input, forget, output, cell], GRU gates [reset, output, update]; direction is folded into
the hidden axis ([b, DIRECTIONS*H], forward first). With ``direction="reverse"`` the output
sequence is in processing order (last time step first); the backward half of a
bidirectional LSTM is in input time order.
"""

from __future__ import annotations

import numpy as np

ACTIVATIONS = {
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "tanh": np.tanh,
    "relu": lambda v: np.maximum(v, 0),
    "linear": lambda v: v,
    "hard_sigmoid": lambda v: np.clip(0.2 * v + 0.5, 0, 1),
    "scaled_tanh": np.tanh,  # default alpha = beta = 1
}


def _act(ctx, key, default):
    name = ctx.scalar(key, default).lower()
    if name not in ACTIVATIONS:
        raise ctx.fail(f"{key}={name!r} is not supported")
    return ACTIVATIONS[name]


def lstm_direction(x, h, c, w_ih, w_hh, bias, peephole, clip, acts, reverse):
    rec, cell, out = acts
    hidden = h.shape[-1]
    pre_x = np.einsum("sbi,gi->sbg", x, w_ih) + (bias if bias is not None else 0)
    ys = []
    for t in (range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])):
        g = pre_x[t] + h @ w_hh.T
        if clip is not None:  # MIL says "cell gate is clipped"; as ONNX, we clip every gate's pre-activation
            g = np.clip(g, -clip, clip)
        gi, gf, go, gz = (g[:, k * hidden : (k + 1) * hidden] for k in range(4))
        if peephole is not None:
            gi = gi + peephole[:hidden] * c
            gf = gf + peephole[hidden : 2 * hidden] * c
        i, f, z = rec(gi), rec(gf), cell(gz)
        c = f * c + i * z
        if peephole is not None:
            go = go + peephole[2 * hidden :] * c
        h = rec(go) * out(c)
        ys.append(h)
    return np.stack(ys), h, c  # ys in processing order


def _lstm(ctx):
    x = np.asarray(ctx["x"], np.float32)
    direction = ctx.scalar("direction", "forward")
    acts = (_act(ctx, "recurrent_activation", "sigmoid"), _act(ctx, "cell_activation", "tanh"),
            _act(ctx, "activation", "tanh"))
    clip = ctx.scalar("clip", None)
    h0, c0 = np.asarray(ctx["initial_h"], np.float32), np.asarray(ctx["initial_c"], np.float32)
    hidden = ctx["weight_hh"].shape[-1]
    fwd = (ctx["weight_ih"], ctx["weight_hh"], ctx.get("bias"), ctx.get("peephole"))
    if direction == "bidirectional":
        back = (ctx["weight_ih_back"], ctx["weight_hh_back"], ctx.get("bias_back"), ctx.get("peephole_back"))
        yf, hf, cf = lstm_direction(x, h0[:, :hidden], c0[:, :hidden], *fwd, clip, acts, False)
        yb, hb, cb = lstm_direction(x, h0[:, hidden:], c0[:, hidden:], *back, clip, acts, True)
        y, h, c = np.concatenate([yf, yb[::-1]], -1), np.concatenate([hf, hb], -1), np.concatenate([cf, cb], -1)
    else:
        y, h, c = lstm_direction(x, h0, c0, *fwd, clip, acts, direction == "reverse")
    if not ctx.scalar("output_sequence", False):
        y = h[None]
    return y, h, c


def _rnn(ctx):
    x = np.asarray(ctx["x"], np.float32)
    act = _act(ctx, "activation", "tanh")
    w_ih, w_hh, b = ctx["weight_ih"], ctx["weight_hh"], ctx.get("bias")
    h = np.asarray(ctx["initial_h"], np.float32)
    reverse = ctx.scalar("direction", "forward") == "reverse"
    pre_x = np.einsum("sbi,hi->sbh", x, w_ih) + (b if b is not None else 0)
    ys = []
    for t in (range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])):
        h = act(pre_x[t] + h @ w_hh.T)
        ys.append(h)
    y = np.stack(ys) if ctx.scalar("output_sequence", False) else h[None]
    return y, h


def _gru(ctx):
    """r, z = rec(W x + b_i + R h + b); o = act(W_o x + b_io + R_o (r * h) + b_o), or with
    reset_after (iOS18, PyTorch's form) o = act(W_o x + b_io + r * (R_o h + b_o));
    h = (1 - z) * o + z * h."""
    x = np.asarray(ctx["x"], np.float32)
    rec, act = _act(ctx, "recurrent_activation", "sigmoid"), _act(ctx, "activation", "tanh")
    w_ih, w_hh = np.asarray(ctx["weight_ih"], np.float32), np.asarray(ctx["weight_hh"], np.float32)
    hidden = w_hh.shape[-1]
    zeros = np.zeros(3 * hidden, np.float32)
    b_i = np.asarray(ctx.get("input_bias", zeros), np.float32)
    b_h = np.asarray(ctx.get("bias", zeros), np.float32)
    reset_after = bool(ctx.scalar("reset_after", False))
    h = np.asarray(ctx["initial_h"], np.float32)
    pre_x = np.einsum("sbi,gi->sbg", x, w_ih) + b_i
    w_ho = w_hh[hidden : 2 * hidden]
    ys = []
    for t in (range(x.shape[0] - 1, -1, -1) if ctx.scalar("direction", "forward") == "reverse" else range(x.shape[0])):
        px = pre_x[t]
        hh = h @ w_hh.T + b_h
        r = rec(px[:, :hidden] + hh[:, :hidden])
        z = rec(px[:, 2 * hidden :] + hh[:, 2 * hidden :])
        if reset_after:
            o = act(px[:, hidden : 2 * hidden] + r * hh[:, hidden : 2 * hidden])
        else:
            o = act(px[:, hidden : 2 * hidden] + (r * h) @ w_ho.T + b_h[hidden : 2 * hidden])
        h = (1 - z) * o + z * h
        ys.append(h)
    y = np.stack(ys) if ctx.scalar("output_sequence", False) else h[None]
    return y, h


REGISTRY = {"lstm": _lstm, "rnn": _rnn, "gru": _gru}
