"""Errors raised by the Core ML reference executor."""

from __future__ import annotations


class CoreMLReferenceError(Exception):
    """Base: the saved model cannot be read or executed by the reference executor."""


class UnsupportedOpError(CoreMLReferenceError):
    """The model uses MIL ops or NeuralNetwork layer types this executor does not implement.

    ``unsupported`` maps each op/layer type to the names of the ops using it, so one
    error lists everything missing from the model, not just the first.
    """

    def __init__(self, unsupported: dict[str, list[str]], kind: str = "MIL op"):
        self.unsupported = {k: list(v) for k, v in unsupported.items()}
        self.kind = kind
        parts = []
        for op_type, names in sorted(self.unsupported.items()):
            shown = ", ".join(repr(n) for n in names[:3]) + (f", ... (+{len(names) - 3})" if len(names) > 3 else "")
            parts.append(f"{op_type} (used by {shown})")
        super().__init__(f"unsupported {kind} type(s) in the reference executor: " + "; ".join(parts))


class OpExecutionError(CoreMLReferenceError):
    """An op failed while running; names the op so the failure can be located."""

    def __init__(self, op_type: str, op_name: str, cause: BaseException):
        self.op_type, self.op_name, self.cause = op_type, op_name, cause
        super().__init__(f"{op_type} op {op_name!r} failed: {type(cause).__name__}: {cause}")


class InputError(CoreMLReferenceError):
    """The inputs given to predict() do not match the model's inputs."""
