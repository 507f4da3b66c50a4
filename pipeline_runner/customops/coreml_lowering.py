"""Convert side: the two Core ML mappings of a recipe op.

- ``inline``: expand the op's ONNX function into its body before onnx2coreml sees
  the graph, so only standard ONNX ops remain (works for ML Program and NeuralNetwork).
- ``custom_layer``: an onnx2coreml lowering that emits the op's generated custom MIL
  op (:mod:`.mil_ops`), which the NeuralNetwork backend writes as a ``custom`` layer.
  Its parameters are the node's attributes (or the function's defaults) plus the
  recipe's ``coreml.parameters``.
"""

from __future__ import annotations



def prepare_for_coreml(model, custom_ops):
    """(model with the inline ops expanded, {op key: lowering} for the custom_layer ops)."""
    inline = [op for op in custom_ops if not op.is_custom_layer]
    if inline:
        model = inline_functions(model, inline)
    lowerings = {}
    for op in custom_ops:
        if op.is_custom_layer:
            lowerings[op.key] = make_lowering(op, model_function(model, op))
    return model, lowerings


def model_function(model, op):
    """The op's FunctionProto as attached to the exported model."""
    for function in model.functions:
        if function.domain == op.domain and function.name == op.op_type:
            return function
    raise ValueError(f"{op.field('onnx')}: the ONNX model has no function "
                     f"{op.key}; rerun the export stage (--force export)")


def inline_functions(model, ops):
    """``model`` with the calls of ``ops`` replaced by their function bodies, functions dropped."""
    import onnx.inliner

    ids = [(op.domain, op.op_type) for op in ops]
    model = onnx.inliner.inline_selected_functions(model, ids, exclude=False)
    left = sorted({f"{n.domain}::{n.op_type}" for n in model.graph.node if (n.domain, n.op_type) in ids})
    if left:
        raise ValueError(f"custom_ops: inlining left {left} in the graph")
    kept = [f for f in model.functions if (f.domain, f.name) not in ids]
    del model.functions[:]
    model.functions.extend(kept)
    return model


def layer_parameter_names(op, function) -> tuple[str, ...]:
    return tuple(sorted({*_declared(function), *op.parameters}))


def _declared(function) -> dict:
    """{attribute: typed default or None} of the function attached to the model."""
    return {**{name: None for name in function.attribute}, **{a.name: a for a in function.attribute_proto}}


def make_lowering(op, function):
    """``lower(ctx, node)`` emitting the op's custom MIL op for one ONNX node."""
    from pipeline_runner.customops.mil_ops import LayerSignature

    signature = LayerSignature(
        class_name=op.class_name,
        n_inputs=len(function.input),
        n_outputs=len(function.output),
        parameters=layer_parameter_names(op, function),
        description=op.description,
    )

    def lower(ctx, node):
        from onnx2coreml._mil import mb

        from pipeline_runner.customops.mil_ops import custom_op_class, dtype_name, input_name, shape_name

        custom_op_class(signature)
        if len(node.input) != signature.n_inputs or not all(node.input):
            raise ValueError(f"{node.op_type} node {node.name!r} has inputs {list(node.input)}, "
                             f"its function takes {signature.n_inputs}")
        inputs = [ctx.values_map[name] for name in node.input]
        kwargs = {input_name(i): v for i, v in enumerate(inputs)}
        kwargs.update(node_parameters(op, function, node))
        for i, (shape, dtype) in enumerate(output_types(function, node, inputs)):
            kwargs[shape_name(i)] = shape
            kwargs[dtype_name(i)] = dtype
        return getattr(mb, signature.op_type)(name=node.output[0], **kwargs)

    lower.__name__ = f"lower_{op.op_type}"
    return lower


def node_parameters(op, function, node) -> dict:
    """{parameter: value} for one node: its attributes, the function's defaults, the recipe's parameters."""
    import onnx

    given = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    values = {}
    for name, default in _declared(function).items():
        if name in given:
            values[name] = given[name]
        elif default is not None:
            values[name] = onnx.helper.get_attribute_value(default)
        else:
            raise ValueError(f"{node.op_type} node {node.name!r} has no attribute {name!r} and the function no default")
    values.update(op.parameters)
    return {k: _scalar(node, k, v) for k, v in values.items()}


def _scalar(node, name: str, value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"{node.op_type}: parameter {name!r} = {value!r} cannot be a Core ML custom layer "
                     "parameter (use a number, a bool or a string)")


_ONNX_FROM_MIL = {"fp32": 1, "fp16": 10, "int32": 6, "bool": 9}  # onnx.TensorProto elem types
_MIL_FROM_ONNX = {1: "fp32", 10: "fp16", 6: "int32", 7: "int32", 9: "bool", 11: "fp32"}


def output_types(function, node, inputs) -> list[tuple[list[int], str]]:
    """[(shape, MIL dtype name)] of the node's outputs, by ONNX shape inference through the function."""
    import onnx
    from onnx import helper

    from onnx2coreml._mil import types

    value_infos = []
    for name, var in zip(node.input, inputs):
        shape = [int(d) if isinstance(d, (int,)) or str(d).isdigit() else None for d in var.shape]
        dtype = _ONNX_FROM_MIL[types.builtin_to_string(var.dtype)]
        value_infos.append(helper.make_tensor_value_info(name, dtype, shape))
    graph = helper.make_graph([node], "probe", value_infos, [helper.make_empty_tensor_value_info(o) for o in node.output])
    opsets = [helper.make_opsetid(e.domain, e.version) for e in function.opset_import]
    opsets.append(helper.make_opsetid(function.domain, 1))
    probe = helper.make_model(graph, opset_imports=opsets, functions=[function])
    inferred = onnx.shape_inference.infer_shapes(probe, strict_mode=True)
    found = {vi.name: vi for vi in [*inferred.graph.output, *inferred.graph.value_info]}
    result = []
    for out in node.output:
        tensor = found[out].type.tensor_type if out in found else None
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim] if tensor else [None]
        if tensor is None or None in dims or tensor.elem_type not in _MIL_FROM_ONNX:
            raise ValueError(f"{node.op_type} node {node.name!r}: cannot infer a static shape and type for output "
                             f"{out!r} from the function (a custom layer needs fixed shapes)")
        result.append((dims, _MIL_FROM_ONNX[tensor.elem_type]))
    return result
