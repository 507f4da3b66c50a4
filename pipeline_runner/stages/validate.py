"""validate: PyTorch vs ONNX Runtime vs Core ML on the same seeded samples, per graph.

Writes validation/<graph>.json (the runner gathers them into validation.json) and
fails the run when an output is outside the recipe's tolerances.
"""

from __future__ import annotations

import functools
import platform

from pipeline_runner import progress
from pipeline_runner.engine.stage import Stage, StageContext, StageResult
from pipeline_runner.stages.build import WEIGHTS
from pipeline_runner.stages.convert import coreml_artifact
from pipeline_runner.stages.export import onnx_artifact


def report_artifact(graph: str) -> str:
    return f"validation/{graph}.json"


def run(ctx: StageContext) -> StageResult:
    progress.step("importing torch, onnxruntime and coremltools")
    import coremltools  # noqa: F401  imported here so the progress step above covers it

    from pipeline_runner.coreml_reference.model import read_spec
    from pipeline_runner.models.instantiate import entry_module, load_built_model
    from pipeline_runner.samples import make_samples
    from pipeline_runner.validate.conditioning import fp32_rounding_error
    from pipeline_runner.validate.coreml_numerics import coreml_numerics
    from pipeline_runner.validate.custom_layers import check_custom_ops
    from pipeline_runner.validate.onnx_check import (fp16_weights_outputs, onnx_comparison, onnx_outputs, onnx_session,
                                                     resized_inputs, torch_outputs)
    from pipeline_runner.report.coreml_spec import summarise as summarise_spec
    from pipeline_runner.validate.report import dumps
    from pipeline_runner.validate.samples_store import keep_samples, samples_artifact
    from pipeline_runner.validate.shapes import check_declared_shapes
    from pipeline_runner.validate.structure import check_structure

    recipe, graph = ctx.recipe, ctx.graph
    cfg = recipe.validate
    samples = make_samples(graph.inputs, cfg.seed, cfg.samples)
    progress.step("PyTorch reference outputs")
    module = entry_module(recipe, load_built_model(recipe, ctx.existing(WEIGHTS)), graph)
    session = onnx_session(ctx.existing(onnx_artifact(graph.name)))  # once, for both ONNX checks
    expected = torch_outputs(module, graph, samples)
    kinds = {o.name: o.kind for o in graph.outputs}
    tolerance = cfg.tolerances.onnx.as_dict()

    # PyTorch's own fp32-vs-fp64 rounding on these samples: measured only when a check fails.
    rounding_error = functools.cache(lambda: fp32_rounding_error(module, graph, samples))

    def onnx_check(actual, want, noise, label):
        return onnx_comparison(actual, want, tolerance, kinds, label, noise, cfg.fp32_noise_factor)

    progress.step("ONNX Runtime vs PyTorch")
    onnx_actual = onnx_outputs(session, graph, samples)  # kept for the build report's parity plots
    onnx_report = onnx_check(onnx_actual, expected, rounding_error, "ONNX Runtime vs PyTorch")
    dynamic = {"ran": False, "reason": "no dynamic axes without declared Core ML shapes (those: coreml_shapes)"}
    resized = resized_inputs(graph)
    if resized:
        # The dynamic axes really are dynamic: run ONNX at twice the dummy size on those axes
        # (axes with declared Core ML sizes are checked at each of those instead).
        big = make_samples(resized, cfg.seed + 1, 1)  # one sample: its error is what counts here
        dynamic = {**onnx_check(onnx_outputs(session, graph, big), torch_outputs(module, graph, big),
                                functools.cache(lambda: fp32_rounding_error(module, graph, big)),
                                "ONNX Runtime vs PyTorch (dynamic axes doubled)"),
                   "shapes": {i.name: list(i.shape) for i in resized}}

    coreml_path = ctx.existing(coreml_artifact(recipe, graph.name))
    progress.step("Core ML structure")
    # Once, for both structural checks; read_spec (unlike ct.utils.load_spec) never rewrites the package.
    spec = read_spec(str(coreml_path))[0]
    structure, structure_problems = check_structure(spec, graph, recipe)
    custom_ops, custom_problems = check_custom_ops(spec, recipe.custom_ops, recipe.convert.format)
    progress.step("Core ML reference executor vs PyTorch")
    coreml_actual: list[dict] = []
    traced: dict | None = {} if recipe.convert.effective_precision != "fp32" else None  # for the fp16 profile
    coreml_report = coreml_numerics(coreml_path, recipe, graph, samples, expected,
                                    fp16_weights_expected=lambda: fp16_weights_outputs(module, graph, samples),
                                    outputs_sink=coreml_actual, rounding_error=rounding_error, traced=traced)
    shapes_report = check_declared_shapes(module, recipe, graph, session, coreml_path, spec)

    failures = [*onnx_report["failures"], *(dynamic.get("failures", [])),
                *(f"Core ML structure: {p}" for p in structure_problems),
                *(f"Core ML custom ops: {p}" for p in custom_problems), *coreml_report["failures"],
                *shapes_report.get("failures", [])]
    warnings = list(dict.fromkeys([*onnx_report["warnings"], *dynamic.get("warnings", []), *coreml_report["warnings"],
                                   *shapes_report.get("warnings", [])]))
    report = {
        "graph": graph.name,
        "samples": cfg.samples,
        "seed": cfg.seed,
        "platform": f"{platform.system()} {platform.machine()}",
        "discrimination": discrimination(coreml_report),
        "checks": {
            "onnx_vs_pytorch": onnx_report,
            "onnx_dynamic_axes": dynamic,
            "coreml_structure": {"ran": True, **structure},
            "custom_ops": custom_ops,
            "coreml_numerics": coreml_report,
            "coreml_shapes": shapes_report,
        },
        "failures": failures,
        "warnings": warnings,
        "passed": not failures,
        "coreml_model": summarise_spec(spec),  # for the build report (which imports no coremltools)
    }
    rel = report_artifact(graph.name)
    ctx.output(rel).write_text(dumps(report))
    kept = samples_artifact(graph.name)
    keep_samples(ctx.output(kept), coreml_path, recipe, graph, samples, expected, onnx_actual, coreml_actual,
                 traced)
    for w in warnings:
        ctx.log("WARNING: " + w)
    figures = report["discrimination"]
    ctx.log(f"input dependence {_fmt(figures['input_dependence'])}, Core ML error / input spread "
            f"{_fmt(figures['coreml_error_to_spread'])}; " + ("passed" if not failures else f"{len(failures)} failures"))
    if coreml_report.get("diagnosis"):
        ctx.log("diagnosis: " + coreml_report["diagnosis"]["summary"])
    info = {"passed": not failures, **figures}
    return StageResult([rel, kept], info=info, failures=failures, notes=warnings)


def discrimination(coreml_report: dict) -> dict:
    """The headline figures: the weakest input dependence and worst error-to-spread over the outputs."""
    outs = [o for o in coreml_report["outputs"].values() if "input_dependence" in o]
    deps = [o["input_dependence"] for o in outs if o["input_dependence"] is not None]
    ratios = [o["error_to_spread"] for o in outs if o.get("error_to_spread") is not None]
    return {"input_dependence": min(deps) if deps else None,
            "coreml_error_to_spread": max(ratios) if ratios else None,
            "meaning": "input_dependence: how much the PyTorch outputs change across the samples, relative to their "
                       "size; coreml_error_to_spread: Core ML's error relative to that change (a converter that "
                       "ignored its input would score about 1)"}


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3g}"


STAGE = Stage(
    name="validate",
    version=2,
    run=run,
    per_graph=True,
    needs=("build", "export", "convert"),
    reads=("graph", "validate", "convert.format", "convert.precision", "custom_ops", "ios.deployment_target"),
    tools=("torch", "onnxruntime", "coremltools", "numpy"),
    imports=("torch", "onnxruntime", "coremltools"),
    code=("pipeline_runner.validate", "pipeline_runner.samples", "pipeline_runner.coreml_reference",
          "pipeline_runner.customops", "pipeline_runner.images", "pipeline_runner.report.coreml_spec"),
)
