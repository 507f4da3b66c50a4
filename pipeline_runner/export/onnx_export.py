"""Export one graph to ONNX with torch.onnx, then check it and infer shapes strictly."""

from __future__ import annotations

import collections
from pathlib import Path


def export_graph(module, graph, export_cfg, custom_ops, dummy: dict, out_path: Path) -> dict:
    """Export ``module`` as ``graph`` (a ``GraphSpec``) with the recipe's ``ExportSpec`` and ``CustomOp`` values."""
    import onnx
    import torch

    from pipeline_runner import customops
    from pipeline_runner import progress
    from pipeline_runner.export.output_names import rename_outputs
    from pipeline_runner.export.export_errors import said_in_recipe_terms
    from pipeline_runner.export.symbolic_fixes import torchscript_symbolic_fixes
    from pipeline_runner.models.mha_fast_path import fast_path_off  # its fused kernel has no ONNX export
    from pipeline_runner.onnx_weights import infer_shapes

    input_names = [i.name for i in graph.inputs]
    output_names = [o.name for o in graph.outputs]
    args = tuple(torch.from_numpy(dummy[name]) for name in input_names)
    dynamic_axes = {i.name: {int(a): n for a, n in i.dynamic_axes.items()} for i in graph.inputs if i.dynamic_axes}
    opset = export_cfg.opset
    dynamo = export_cfg.exporter == "dynamo"
    exporter = "dynamo" if dynamo else "TorchScript"
    progress.step(f"torch.onnx.export ({exporter}): tracing, ONNX export, optimiser")
    with customops.exporting(custom_ops), torch.no_grad(), fast_path_off(), said_in_recipe_terms(opset, dynamo), \
            torchscript_symbolic_fixes(opset, dynamo):
        torch.onnx.export(
            module, args, str(out_path),
            input_names=input_names,
            # dynamo: outputs are renamed afterwards, where a name clash is resolved (output_names.py)
            output_names=None if dynamo else output_names,
            dynamic_axes=None if dynamo else dynamic_axes or None,
            dynamic_shapes=dynamo_dynamic_shapes(module, graph) if dynamo and dynamic_axes else None,
            opset_version=opset,
            do_constant_folding=export_cfg.constant_folding,
            dynamo=dynamo,
            external_data=False,
        )
    model = onnx.load(str(out_path))
    if dynamo:
        model = rename_outputs(model, output_names)
    actual_outputs = [o.name for o in model.graph.output]
    if actual_outputs != output_names:
        raise ValueError(f"the exported graph has outputs {actual_outputs}, the recipe declares {output_names}; "
                         "list every output the model returns, in order")
    model = customops.attach_functions(model, custom_ops)
    # onnx.checker's full_check (strict shape inference, then the checker), on a copy without the
    # weights (onnx_weights: a ViT-B's 176 MB are not serialised for it).
    progress.step("onnx.checker, strict shape inference")
    infer_shapes(model, check=True, check_type=True, strict_mode=True, data_prop=True)
    progress.step("saving ONNX")
    onnx.save(model, str(out_path))
    histogram = collections.Counter(
        (f"{n.domain}::{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type) for n in model.graph.node
    )
    return {
        "opset": opset,
        "exporter": export_cfg.exporter,
        "op_histogram": dict(sorted(histogram.items())),
        "nodes": sum(histogram.values()),
        "dynamic_axes": {k: {str(a): n for a, n in v.items()} for k, v in dynamic_axes.items()},
    }


def dynamo_dynamic_shapes(module, graph):
    """The recipe's dynamic axes as torch.export ``dynamic_shapes``, shaped like ``module.forward``'s arguments.

    torch.onnx turns ``dynamic_axes`` into ``dynamic_shapes`` by matching input names to
    forward's parameter names, which fails for a ``forward(*args)`` wrapper (e.g. the
    transformers source's); positional specs work for both forms.
    """
    import inspect

    import torch

    specs = tuple({int(a) % len(i.shape): torch.export.Dim.DYNAMIC for a in i.dynamic_axes} or None
                  for i in graph.inputs)
    params = list(inspect.signature(module.forward).parameters.values())
    if params and params[0].kind is inspect.Parameter.VAR_POSITIONAL:
        return (specs,)
    return specs
