"""One coremltools custom MIL op class per recipe op (NeuralNetwork ``custom`` layer).

coremltools registers custom ops globally and refuses a name twice, so classes are
generated once per distinct op definition and cached: the MIL op type carries a
digest of everything that shapes the class (class name, inputs, outputs,
parameters, description). The NeuralNetwork backend turns each instance into a
``custom`` layer whose ``className``, input order and parameters come from the
class's ``bindings``.

Besides the op's tensor inputs and parameters, each instance carries hidden const
inputs giving its outputs' shapes and dtypes (from ONNX shape inference); they are
not in ``bindings`` so they never reach the .mlmodel.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

RESERVED = frozenset({"name", "before_op"})
CUSTOM_OP_PREFIX = "pipeline_runner_custom_"  # MIL op type of every generated class


@dataclass(frozen=True)
class LayerSignature:
    class_name: str
    n_inputs: int
    n_outputs: int
    parameters: tuple[str, ...]
    description: str

    @property
    def op_type(self) -> str:
        digest = hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()[:10]
        stem = re.sub(r"[^0-9a-zA-Z]+", "_", self.class_name).lower()
        return f"{CUSTOM_OP_PREFIX}{stem}_{digest}"


def input_name(i: int) -> str:
    return f"_in{i}"


def shape_name(i: int) -> str:
    return f"_out{i}_shape"


def dtype_name(i: int) -> str:
    return f"_out{i}_dtype"


def custom_op_class(sig: LayerSignature):
    """The registered MIL op class for ``sig`` (registered on first use)."""
    from coremltools.converters.mil.mil.ops.registry import SSAOpRegistry

    existing = SSAOpRegistry.custom_ops.get(sig.op_type)
    return existing if existing is not None else _register(sig)


def _register(sig: LayerSignature):
    from coremltools.converters.mil.mil import Operation, types
    from coremltools.converters.mil.mil.input_type import InputSpec, TensorInputType
    from coremltools.converters.mil.mil.ops.registry import SSAOpRegistry

    clash = RESERVED.intersection(sig.parameters)
    if clash:
        raise ValueError(f"custom layer {sig.class_name}: parameter name(s) {sorted(clash)} are reserved by coremltools")
    tensors = (types.fp16, types.fp32, types.int32, types.bool)
    scalars = (types.fp32, types.int32, types.bool, types.str)
    spec = {input_name(i): TensorInputType(type_domain=tensors) for i in range(sig.n_inputs)}
    spec.update({p: TensorInputType(const=True, type_domain=scalars) for p in sig.parameters})
    for i in range(sig.n_outputs):
        spec[shape_name(i)] = TensorInputType(const=True, type_domain=types.int32)
        spec[dtype_name(i)] = TensorInputType(const=True, type_domain=types.str)

    def type_inference(self):
        outs = []
        for i in range(sig.n_outputs):
            shape = [int(d) for d in getattr(self, shape_name(i)).val]
            dtype = types.string_to_builtin(getattr(self, dtype_name(i)).val)
            outs.append(types.tensor(dtype, shape))
        return tuple(outs) if len(outs) > 1 else outs[0]

    cls = type(sig.op_type, (Operation,), {
        "input_spec": InputSpec(**spec),
        "bindings": {
            "class_name": sig.class_name,
            "input_order": [input_name(i) for i in range(sig.n_inputs)],
            "parameters": list(sig.parameters),
            "description": sig.description,
        },
        "type_inference": type_inference,
        "__doc__": f"Core ML custom layer {sig.class_name} (generated from a recipe custom op).",
    })
    return SSAOpRegistry.register_op(is_custom_op=True)(cls)
