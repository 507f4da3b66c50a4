"""onnx2coreml's errors, said in recipe terms: which op, which nodes, which model layer, and what to write.

onnx2coreml's own message for a missing op tells the reader to call
``@converter.register`` — a Python API a recipe cannot reach. The recipe's way out is
``convert.lowerings``, so that is what these messages name. They are StageErrors: the
CLI prints them without a traceback.
"""

from __future__ import annotations

import ast
import re

from pipeline_runner.errors import StageError

FIELD = "convert.lowerings"
DOCS = "docs/lowerings.md"


def layer_of(node) -> str:
    """The model layer a node comes from: its module path (``bert.embeddings``), or '' when unknown.

    The torchscript exporter names nodes ``/bert/embeddings/Range``; the dynamo exporter
    records the module path in the node's ``pkg.torch.onnx.name_scopes`` metadata.
    """
    for prop in getattr(node, "metadata_props", ()):
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = [s for s in ast.literal_eval(prop.value) if s]
            except (ValueError, SyntaxError):
                continue
            if scopes:
                return scopes[-1]
    name = node.name or ""
    if name.startswith("/") and name.count("/") > 1:
        return ".".join(part for part in name.split("/")[1:-1] if part)
    return ""


def _example(op_key: str) -> str:
    return (f"  convert:\n    lowerings:\n      {op_key}: \"my_package.my_lowerings:lower_{op_key.split('::')[-1].lower()}\"")


def missing_ops_error(recipe_name: str, graph_name: str, model, missing: dict[str, list[str]]) -> StageError:
    """The error for ops no lowering covers; ``missing`` is onnx2coreml's {op key: [node names]}."""
    nodes_by_name = {n.name: n for n in model.graph.node}
    lines = [f"graph {graph_name!r}: Core ML conversion has no lowering for {len(missing)} ONNX op type(s):"]
    for key in sorted(missing):
        names = missing[key]
        layers = sorted({layer_of(nodes_by_name[n]) for n in names if n in nodes_by_name} - {""})
        shown = ", ".join(names[:3]) + (f", ... (+{len(names) - 3} more)" if len(names) > 3 else "")
        where = f"; model layer(s): {', '.join(layers[:5])}" + (" ..." if len(layers) > 5 else "") if layers else ""
        lines.append(f"  {key}: {len(names)} node(s) ({shown}){where}")
    first = sorted(missing)[0]
    lines += [
        f"To convert it, write a lowering `def lower(ctx, node)` that emits Core ML (MIL) ops for the node "
        f"and name it in the recipe's {FIELD} (see {DOCS}), e.g.",
        _example(first),
        "or change the model so it does not use the op (e.g. a different model.params variant).",
    ]
    return StageError(recipe_name, "convert", "\n".join(lines))


def lowering_failed_error(recipe_name: str, graph_name: str, model, exc, recipe_lowerings: dict) -> StageError:
    """The error for a lowering that raised on one node (onnx2coreml's ConversionError)."""
    node = next((n for n in model.graph.node if n.name == exc.node_name), None)
    layer = layer_of(node) if node is not None else ""
    where = f" in model layer {layer}" if layer else ""
    if exc.op_key in recipe_lowerings:
        advice = (f"the lowering is the recipe's own ({FIELD}.{exc.op_key}: {recipe_lowerings[exc.op_key]!r}); "
                  "fix it for this node")
    else:
        advice = (f"the built-in lowering cannot take this node; give your own in the recipe's {FIELD} "
                  f"(see {DOCS}):\n{_example(exc.op_key)}")
    return StageError(recipe_name, "convert",
                      f"graph {graph_name!r}: lowering {exc.op_key} node {exc.node_name!r}{where} failed: "
                      f"{type(exc.cause).__name__}: {exc.cause}\n{advice}")


_RANK = re.compile(r'rank <= (\d+)\. Layer "([^"]+)", with type "(\w+)", outputs a rank (\d+) tensor')


def rank_limit_error(recipe_name: str, graph_name: str, model, exc, left=()) -> StageError | None:
    """coremltools' "Core ML only supports tensors with rank <= 5" said with the ONNX node and model
    layer it comes from, why the rank rewrite (``reduce_rank``) could not lower it (``left``: its
    record of the regions it left), and what can change it; None for any other error."""
    match = _RANK.search(str(exc))
    if not match:
        return None
    limit, layer, op, rank = match.groups()
    node = _node_of_mil_name(model, layer)
    where = f"ONNX node {node.name!r}" if node is not None else f"Core ML layer {layer!r}"
    if node is not None and layer_of(node):
        where += f", model layer {layer_of(node)}"
    why = "; ".join(f"{r['reason']} (region from node {r['node']!r})" for r in list(left)[:3])
    why = f" The convert stage's rank rewrite ({DOCS}#rank-6-tensors) could not lower it: {why}." if why else ""
    return StageError(recipe_name, "convert", (
        f"graph {graph_name!r}: Core ML tensors have at most {limit} dimensions, but {where} ({op}) makes a "
        f"rank-{rank} tensor.{why} No convert setting lifts this limit: the model must keep that tensor at rank "
        f"<= {limit} (e.g. merge two adjacent axes before its reshape/permute, or drop a batch axis of 1), "
        "or the recipe must pick an architecture or variant without it (model.architecture, model.params)."))


def _node_of_mil_name(model, mil_name: str):
    """The ONNX node whose output the MIL var ``mil_name`` was made from (MIL names are the ONNX value
    names with every other character turned into '_', plus suffixes such as '_cast_fp16')."""
    best = None
    for node in model.graph.node:
        for out in node.output:
            flat = re.sub(r"[^0-9A-Za-z_]", "_", out)
            if flat and mil_name.startswith(flat) and (best is None or len(flat) > best[0]):
                best = (len(flat), node)
    return best[1] if best else None
