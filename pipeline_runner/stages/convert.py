"""convert: ONNX → Core ML (.mlpackage or .mlmodel) per graph."""

from __future__ import annotations

from pipeline_runner.engine.stage import Stage, StageContext, StageResult
from pipeline_runner.stages.export import onnx_artifact


def coreml_artifact(recipe, graph: str) -> str:
    ext = "mlpackage" if recipe.convert.is_program else "mlmodel"
    return f"coreml/{graph}.{ext}"


def run(ctx: StageContext) -> StageResult:
    from pipeline_runner import progress

    progress.step("importing onnx2coreml and coremltools")
    import coremltools  # noqa: F401  here, so the step above is what it says
    import onnx2coreml  # noqa: F401

    from pipeline_runner.convert.coreml import convert_graph

    recipe, graph = ctx.recipe, ctx.graph
    rel = coreml_artifact(recipe, graph.name)
    built = ctx.upstream_info.get("build", {})
    random_weights = built.get("random_weights", True)
    norm = built.get("norm_statistics") or {}
    norm_note = (f"BatchNorm statistics re-estimated on {norm['samples']} seeded random inputs (seed {norm['seed']})"
                 if norm.get("calibrated") else None)
    info = convert_graph(ctx.existing(onnx_artifact(graph.name)), ctx.output(rel), recipe, graph,
                         ctx.key, random_weights, norm_note)
    for note in info["notes"]:
        ctx.log(note)
    return StageResult([rel], info=info, notes=info["notes"])


def _lowering_files(recipe) -> list:
    """The source files of the recipe's own lowerings: editing one reruns convert."""
    from importlib.util import find_spec
    from pathlib import Path

    files = []
    for ref in recipe.convert.lowerings.values():
        try:
            spec = find_spec(ref.partition(":")[0])
        except (ImportError, ValueError):
            continue  # convert reports the bad reference
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            files.append(Path(spec.origin))
    return files


STAGE = Stage(
    name="convert",
    version=1,
    run=run,
    per_graph=True,
    needs=("export",),
    reads=("graph", "convert", "ios.deployment_target", "custom_ops"),
    tools=("onnx", "onnx2coreml", "coremltools", "onnxscript"),
    imports=("onnx", "onnxscript", "coremltools", "onnx2coreml"),
    code=("pipeline_runner.convert", "pipeline_runner.customops", "pipeline_runner.onnx_weights"),
    reads_files=_lowering_files,
)
