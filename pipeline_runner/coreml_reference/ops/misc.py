"""const, identity, cast, shape, fill, range_1d, classify.

The executor casts every result to the op's declared output dtype, so ``cast`` (and
the fp16 rounding it implies) needs no work here.
"""

from __future__ import annotations

import numpy as np


def _classify(ctx):
    probs = np.asarray(ctx["probabilities"], dtype=np.float64).reshape(-1)
    classes = ctx["classes"]
    classes = [c.item() if isinstance(c, np.ndarray) else c for c in (classes if isinstance(classes, (list, tuple)) else np.asarray(classes).reshape(-1))]
    if len(classes) != probs.size:
        raise ctx.fail(f"{len(classes)} class labels but {probs.size} probabilities")
    label = classes[int(np.argmax(probs))]
    return label, {c: float(p) for c, p in zip(classes, probs)}


REGISTRY = {
    "const": lambda c: c["val"],
    "identity": lambda c: c["x"],
    "cast": lambda c: c["x"],
    "shape": lambda c: np.asarray(np.shape(c["x"]), dtype=np.int32),
    "fill": lambda c: np.full(c.ints("shape"), c.scalar("value", 0.0)),
    "fill_like": lambda c: np.full(np.shape(c["ref_tensor"]), c.scalar("value", 0.0)),
    "range_1d": lambda c: np.arange(c.scalar("start"), c.scalar("end"), c.scalar("step")),
    "classify": _classify,
}
