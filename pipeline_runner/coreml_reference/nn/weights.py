"""NeuralNetwork WeightParams -> NumPy."""

from __future__ import annotations

import numpy as np

from ..errors import CoreMLReferenceError


def weights(wp, shape=None, *, what: str = "weights") -> np.ndarray | None:
    """Float weights of a WeightParams message (None when empty). Quantized weights are rejected."""
    if len(wp.floatValue):
        arr = np.asarray(wp.floatValue, dtype=np.float32)
    elif len(wp.float16Value):
        arr = np.frombuffer(wp.float16Value, dtype=np.float16).astype(np.float32)
    elif len(wp.rawValue):
        arr = np.frombuffer(wp.rawValue, dtype=np.float32).copy()
    elif len(wp.int8RawValue) or wp.HasField("quantization"):
        raise CoreMLReferenceError(f"quantized NeuralNetwork {what} are not supported by the reference executor")
    else:
        return None
    return arr.reshape(shape) if shape is not None else arr
