"""Give an exported graph's outputs the recipe's names without breaking single static assignment.

The dynamo exporter names intermediate values after the ops and modules that make
them (``embedding``, ``linear``, ``layer_norm``), and ``torch.onnx.export(output_names=...)``
renames outputs without looking: a recipe output called ``embedding`` then collides
with BERT's word-embedding lookup and ``onnx.checker`` rejects the graph ("used as
output names multiple times"). Here a value that already holds a wanted name is
renamed first (to a fresh name), then the outputs take theirs. onnx_ir (onnxscript's
IR) renames a value everywhere it is used, so no reference is missed.
"""

from __future__ import annotations


def rename_outputs(model, names: list[str]):
    """``model`` (ModelProto) with its graph outputs renamed to ``names``, in order."""
    import onnx_ir as ir

    ir_model = ir.serde.deserialize_model(model)
    graph = ir_model.graph
    outputs = list(graph.outputs)
    if len(outputs) != len(names):
        raise ValueError(f"the exported graph has {len(outputs)} outputs {[o.name for o in outputs]}, the recipe "
                         f"declares {len(names)} {names}; list every output the model returns, in order")
    if [o.name for o in outputs] == list(names):
        return model
    values = {v.name: v for v in _all_values(graph)}
    taken = set(values)
    for value, name in zip(outputs, names):
        holder = values.get(name)
        if holder is not None and holder is not value:
            if holder in graph.inputs:
                raise ValueError(f"output name {name!r} is also the name of a graph input; rename one of them")
            holder.name = _fresh(name, taken)
            values[holder.name] = holder
    for value, name in zip(outputs, names):
        value.name = name
    return ir.serde.serialize_model(ir_model)


def _all_values(graph):
    yield from graph.inputs
    yield from graph.initializers.values()
    for node in graph:
        yield from (v for v in node.outputs if v is not None)


def _fresh(name: str, taken: set[str]) -> str:
    i = 1
    while f"{name}_{i}" in taken:
        i += 1
    taken.add(f"{name}_{i}")
    return f"{name}_{i}"
