"""Fold what pinning made constant, before onnx2coreml lowers the graph.

Once dynamic axes are pinned (:mod:`.fixed_shapes`), shape arithmetic is constant:
``Shape → Gather → Range`` position ids, attention-mask broadcasting, ``ConstantOfShape``
padding. onnx2coreml's own folding only evaluates nodes whose inputs are
initializers, so a ``Shape`` of a computed tensor (and everything after it) survives
and reaches ops it has no lowering for (``Range``, ``CumSum`` on shapes).

We run onnxscript's optimizer (already a dependency: torch.onnx needs it) rather
than ONNX Runtime's offline graph optimisation or onnx-simplifier: it works on the
ModelProto in-process, folds ``Shape``/``Size`` from inferred static shapes, and
emits only standard ONNX ops (ORT's saved optimised graphs may contain
``com.microsoft`` fused ops, which Core ML cannot take; onnx-simplifier would be a
new native dependency for the same folding). Functions are not inlined here: a
recipe's ``custom_layer`` ops must stay calls.
"""

from __future__ import annotations

from collections import Counter

# Folded tensors above this many elements stay computed in the graph: a folded
# weight-sized product would bloat the model and change nothing about coverage.
OUTPUT_SIZE_LIMIT = 1 << 20
INPUT_SIZE_LIMIT = 1 << 16


def _should_fold(node):
    """onnxscript keeps ConstantOfShape by default (to keep files small); after pinning its
    output feeds shape arithmetic (masks, ``Expand`` shapes), so fold it (the size limit still holds)."""
    return True if node.op_type == "ConstantOfShape" and node.domain in ("", "ai.onnx") else None


def fold_constants(model) -> tuple[object, dict]:
    """(``model`` with constant subgraphs folded into initializers, {nodes_before, nodes_after, removed})."""
    import onnx_ir as ir
    import onnx_ir.passes.common as common
    import onnxscript.optimizer

    from pipeline_runner.onnx_weights import infer_shapes, put_back, weights_aside

    before = _histogram(model)
    outputs = [o.name for o in model.graph.output]
    # The optimizer never reads an input above INPUT_SIZE_LIMIT elements: those weights stay out of
    # its copies (onnx_weights; ViT-B/16: 2.8 → 0.8 s) and are put back into the folded model.
    with weights_aside(model, min_elements=INPUT_SIZE_LIMIT + 1) as saved:
        ir_model = ir.serde.deserialize_model(model)
        onnxscript.optimizer.optimize_ir(ir_model, num_iterations=3, inline=False, should_fold=_should_fold,
                                         input_size_limit=INPUT_SIZE_LIMIT, output_size_limit=OUTPUT_SIZE_LIMIT)
        # onnx2coreml has no lowering for Constant nodes; initializers are what it reads as constants.
        common.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0)(ir_model)
        common.RemoveUnusedNodesPass()(ir_model)
        folded = ir.serde.serialize_model(ir_model)
        if [o.name for o in folded.graph.output] != outputs:
            raise RuntimeError(f"folding renamed the graph outputs {outputs} to {[o.name for o in folded.graph.output]}")
    put_back(folded, saved)
    infer_shapes(folded, data_prop=True)
    after = _histogram(folded)
    removed = {op: n - after.get(op, 0) for op, n in before.items() if n > after.get(op, 0)}
    return folded, {
        "nodes_before": sum(before.values()),
        "nodes_after": sum(after.values()),
        "removed": dict(sorted(removed.items())),
    }


def _histogram(model) -> Counter:
    return Counter(n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}" for n in model.graph.node)
