"""Export side: an ONNX symbolic per recipe op for the TorchScript exporter (``dynamo=False``).

Each call of the torch op becomes exactly one ``domain::OpType`` node. The op's
Tensor arguments become the node's inputs, in schema order; a non-Tensor argument
whose name is an attribute of the ONNX function becomes that attribute (its value
must be a constant at export time); ``onnx.attributes`` in the recipe gives the
remaining attribute values.
"""

from __future__ import annotations

import contextlib

# symbolics are registered from this opset up; the default domain's opset is the recipe's
_FROM_OPSET = 1
# torch schema type → symbolic_helper constant descriptor
_DESCRIPTORS = {"FloatType": "f", "IntType": "i", "BoolType": "b", "StringType": "s"}
_LIST_DESCRIPTORS = {"FloatType": "fs", "IntType": "is"}


@contextlib.contextmanager
def exporting(custom_ops):
    """Register every recipe op's symbolic for the duration of ``torch.onnx.export``."""
    import torch

    registered = []
    try:
        for op in custom_ops:
            name = op.torch_op
            torch.onnx.register_custom_op_symbolic(name, make_symbolic(op), _FROM_OPSET)
            registered.append(name)
        yield
    finally:
        for name in registered:
            torch.onnx.unregister_custom_op_symbolic(name, _FROM_OPSET)


def make_symbolic(op):
    """The symbolic ``fn(g, *args)`` that emits one custom-domain node for one call of the op."""
    from pipeline_runner.customops.library import resolve_op

    torch_name = op.torch_op
    packet = resolve_op(torch_name)
    if packet is None:
        raise ValueError(f"{op.field('torch', 'op')}: {torch_name!r} is not a registered torch op "
                         "(define it with torch.library.custom_op in a module the model imports)")
    schema = packet.default._schema
    function = op.function
    declared = op.declared_attributes
    _check_arguments(op, schema, declared)
    qualified = op.key
    recipe_attrs = {k: attribute_value(v, declared.get(k)) for k, v in op.attributes.items()}
    n_outputs = len(function.output)

    def symbolic(g, *args):
        inputs, attrs, call_args = [], dict(recipe_attrs), []
        for arg, value in zip(schema.arguments, args):
            if arg.type.kind() in ("TensorType", "OptionalType"):
                inputs.append(value)
                call_args.append(value)
            else:
                const = _constant(op, arg, value)
                attrs[arg.name] = attribute_value(const, declared.get(arg.name))
                call_args.append(const)
        missing = [a for a, default in declared.items() if a not in attrs and default is None]
        if missing:
            raise ValueError(f"{op.field('onnx', 'attributes')}: no value for the function's "
                             f"attribute(s) {missing}; set them here or pass them as arguments of {torch_name}")
        kwargs = {_attribute_key(op, k, v): v for k, v in attrs.items()}
        outputs = g.op(qualified, *inputs, outputs=n_outputs, **kwargs)
        annotate_outputs(packet, call_args, outputs if n_outputs > 1 else (outputs,))
        return outputs

    return symbolic


def annotate_outputs(packet, call_args: list, outputs) -> None:
    """Give the new node's outputs the dtype and shape the op's fake impl computes.

    Unknown (dynamic) input dims are probed with two different sizes; an output dim
    that changes with them stays unknown. Best effort: any failure leaves the
    outputs unannotated (ONNX shape inference through the function fills them in).
    """
    import torch

    try:
        probes = [packet.default(*_meta_args(call_args, fill)) for fill in _PROBE_SIZES]
        probes = [p if isinstance(p, (tuple, list)) else (p,) for p in probes]
        for value, first, second in zip(outputs, *probes, strict=True):
            dims = [a if a == b else None for a, b in zip(first.shape, second.shape, strict=True)]
            value.setType(torch._C.TensorType.create_from_tensor(first.new_empty(0, device="cpu"))
                          .with_sizes(dims).with_dtype(first.dtype))
    except Exception:  # noqa: BLE001 - annotation is an optimisation only
        return


_PROBE_SIZES = (7919, 7927)  # stand-ins for unknown dims: distinct primes


def _meta_args(call_args: list, fill: int) -> list:
    import torch

    out = []
    for value in call_args:
        if isinstance(value, torch._C.Value):
            t = value.type()
            sizes = [fill if d is None else d for d in t.varyingSizes()]
            out.append(torch.empty(sizes, dtype=t.dtype(), device="meta"))
        else:
            out.append(value)
    return out


def _check_arguments(op, schema, declared) -> None:
    for arg in schema.arguments:
        if arg.type.kind() not in ("TensorType", "OptionalType") and arg.name not in declared:
            raise ValueError(
                f"{op.field('onnx', 'function')}: {op.torch_op} has the non-tensor argument "
                f"{arg.name!r}; declare it as a function attribute (`{op.op_type} <{arg.name}> (...)`)")


def _constant(op, arg, value):
    from torch.onnx import symbolic_helper

    kind = arg.type.kind()
    if kind == "ListType":
        descriptor = _LIST_DESCRIPTORS.get(arg.type.getElementType().kind())
    else:
        descriptor = _DESCRIPTORS.get(kind)
    if descriptor is None:
        raise ValueError(f"{op.field('torch', 'op')}: argument {arg.name!r} of type {arg.type} "
                         "cannot become an ONNX attribute (use float, int, bool, str or a list of them)")
    const = symbolic_helper._maybe_get_const(value, descriptor)
    if symbolic_helper._is_value(const):
        raise ValueError(f"{op.field('torch', 'op')}: argument {arg.name!r} must be a constant "
                         "at export time (it becomes the node attribute of the same name)")
    return const


def _attribute_key(op, name: str, value) -> str:
    """torch's ``g.op`` keyword for an attribute: name plus a type suffix (alpha_f, n_i, ...)."""
    items = value if isinstance(value, (list, tuple)) else None
    probe = items[0] if items else value
    if isinstance(probe, bool) or isinstance(probe, int):
        suffix = "i"
    elif isinstance(probe, float):
        suffix = "f"
    elif isinstance(probe, str):
        suffix = "s"
    else:
        raise ValueError(f"{op.field('onnx', 'attributes', name)}: unsupported attribute value "
                         f"{value!r} (use a number, a string or a list of them)")
    return f"{name}_{suffix}{'s' if items is not None else ''}"


def attribute_value(value, declared_default):
    """``value`` converted to the type the function declares for it (an int for a float attribute)."""
    import onnx

    if declared_default is None:
        return value
    if declared_default.type == onnx.AttributeProto.FLOAT and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if declared_default.type == onnx.AttributeProto.FLOATS and isinstance(value, list):
        return [float(v) for v in value]
    return value
