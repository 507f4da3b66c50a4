"""cond and while_loop: run the op's nested blocks through the executor (``ctx.run_block``)."""

from __future__ import annotations

import numpy as np


def _cond(ctx):
    true_block, false_block = ctx.op.blocks
    outs = ctx.run_block(true_block if bool(np.asarray(ctx["pred"]).reshape(-1)[0]) else false_block, [])
    return outs[0] if len(ctx.op.outputs) == 1 else tuple(outs)


def _while_loop(ctx):
    cond_block, body_block = ctx.op.blocks
    state = ctx.list("loop_vars")
    while bool(np.asarray(ctx.run_block(cond_block, state)[0]).reshape(-1)[0]):
        state = ctx.run_block(body_block, state)
    return state[0] if len(ctx.op.outputs) == 1 else tuple(state)


REGISTRY = {"cond": _cond, "while_loop": _while_loop}
