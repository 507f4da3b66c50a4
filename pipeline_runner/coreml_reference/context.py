"""What an op implementation sees: its resolved inputs, its name and declared output types."""

from __future__ import annotations

import numpy as np

from .errors import CoreMLReferenceError
from .program import Op, TensorType

_MISSING = object()


class OpContext:
    __slots__ = ("op", "values", "run_block", "const_keys", "cache", "then")

    def __init__(self, op: Op, values: dict[str, list], run_block=None, const_keys=frozenset(), cache=None,
                 then: str | None = None):
        self.op = op
        # An activation the executor fused into this op ("silu", "relu"): the op returns act(result).
        self.then = then
        self.values = values
        # run_block(block, input_values) -> output values: nested blocks (cond / while_loop)
        self.run_block = run_block
        self.const_keys = const_keys  # inputs that are the same constant arrays on every run
        # Kept across runs of this op: what it derives from its constant inputs, e.g. a convolution's
        # weight repacked for the kernel. Key entries by the constant's identity (precision modes differ).
        self.cache = {} if cache is None else cache

    def is_const(self, key: str) -> bool:
        return key in self.const_keys

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def type(self) -> str:
        return self.op.type

    def has(self, key: str) -> bool:
        return key in self.values

    def __getitem__(self, key: str):
        """A required single-valued input."""
        if key not in self.values:
            raise CoreMLReferenceError(f"{self.type} op {self.name!r}: required input {key!r} missing")
        return self.values[key][0]

    def get(self, key: str, default=None):
        return self.values[key][0] if key in self.values else default

    def list(self, key: str) -> list:
        """A variadic (tuple) input, e.g. concat's ``values``."""
        return list(self.values.get(key, []))

    def scalar(self, key: str, default=_MISSING):
        if key not in self.values:
            if default is _MISSING:
                return self[key]
            return default
        v = self.values[key][0]
        return v.item() if isinstance(v, np.ndarray) else v

    def ints(self, key: str, default=None) -> list[int] | None:
        if key not in self.values:
            return default
        return [int(i) for i in np.asarray(self.values[key][0]).reshape(-1)]

    def out_type(self, i: int = 0) -> TensorType:
        return self.op.outputs[i][1]

    def fail(self, message: str) -> CoreMLReferenceError:
        return CoreMLReferenceError(f"{self.type} op {self.name!r}: {message}")
