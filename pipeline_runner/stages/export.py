"""export: one ONNX model per graph, fully checked, with shapes inferred and an op histogram."""

from __future__ import annotations

from pipeline_runner.engine.stage import Stage, StageContext, StageResult
from pipeline_runner.stages.build import WEIGHTS


def onnx_artifact(graph: str) -> str:
    return f"onnx/{graph}.onnx"


def run(ctx: StageContext) -> StageResult:
    from pipeline_runner import progress

    progress.step("importing torch and onnx")
    from pipeline_runner.export.onnx_export import export_graph
    from pipeline_runner.models.instantiate import entry_module, load_built_model, prepare_for_export
    from pipeline_runner.samples import make_samples
    from pipeline_runner import progress

    recipe, graph = ctx.recipe, ctx.graph
    progress.step("loading weights")
    model = load_built_model(recipe, ctx.existing(WEIGHTS))
    dummy = make_samples(graph.inputs, recipe.validate.seed, 1)[0].tensors
    example = tuple(dummy[i.name] for i in graph.inputs)
    module = prepare_for_export(recipe, entry_module(recipe, model, graph), example)
    rel = onnx_artifact(graph.name)
    info = export_graph(module, graph, recipe.export, recipe.custom_ops, dummy, ctx.output(rel))
    ctx.log(f"{info['nodes']} nodes, opset {info['opset']}")
    return StageResult([rel], info=info)


STAGE = Stage(
    name="export",
    version=1,
    run=run,
    per_graph=True,
    needs=("build",),
    reads=("graph", "export", "custom_ops", "validate.seed"),
    tools=("torch", "onnx", "onnxscript"),
    imports=("torch", "onnx", "onnxscript"),
    code=("pipeline_runner.export", "pipeline_runner.models", "pipeline_runner.customops", "pipeline_runner.samples",
          "pipeline_runner.images", "pipeline_runner.onnx_weights"),
)
