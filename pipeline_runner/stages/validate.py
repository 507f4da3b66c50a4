"""validate: PyTorch vs ONNX Runtime vs Core ML on the same seeded samples, per graph.

Writes validation/<graph>.json (the runner gathers them into validation.json) and
fails the run when an output is outside the recipe's tolerances.
"""

from __future__ import annotations

import json
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
    import coremltools as ct

    from pipeline_runner.models.instantiate import entry_module, load_built_model
    from pipeline_runner.samples import make_samples
    from pipeline_runner.validate.coreml_numerics import coreml_numerics
    from pipeline_runner.validate.gates import gate
    from pipeline_runner.validate.metrics import compare_arrays
    from pipeline_runner.validate.onnx_check import onnx_outputs, resized_inputs, stack, torch_outputs
    from pipeline_runner.validate.custom_layers import check_custom_ops
    from pipeline_runner.report.coreml_spec import summarise as summarise_spec
    from pipeline_runner.validate.samples_store import keep_samples, samples_artifact
    from pipeline_runner.validate.structure import check_structure

    recipe, graph = ctx.recipe, ctx.graph
    cfg = recipe.data["validate"]
    samples = make_samples(graph["inputs"], cfg["seed"], cfg["samples"])
    progress.step("PyTorch reference outputs")
    module = entry_module(recipe, load_built_model(recipe, ctx.existing(WEIGHTS)), graph)
    onnx_path = ctx.existing(onnx_artifact(graph["name"]))
    expected = torch_outputs(module, graph, samples)

    failures: list[str] = []

    onnx_actual: list[dict] = []  # the first call's outputs, kept for the report's parity plots

    def onnx_vs_torch(batch, reference, label):
        report = {}
        actual = onnx_outputs(onnx_path, graph, batch)
        if not onnx_actual:
            onnx_actual.extend(actual)
        for out in graph["outputs"]:
            metrics = compare_arrays(stack(actual, out["name"]), stack(reference, out["name"]))
            problems = gate(out["name"], metrics, cfg["tolerances"]["onnx"], out["kind"], label)
            report[out["name"]] = {**metrics, "passed": not problems}
            failures.extend(problems)
        return report

    progress.step("ONNX Runtime vs PyTorch")
    onnx_report = onnx_vs_torch(samples, expected, "ONNX Runtime vs PyTorch:")
    dynamic = {"ran": False, "why": "no dynamic axes"}
    resized = resized_inputs(graph)
    if resized:
        # The dynamic axes really are dynamic: run ONNX at twice the dummy size on those axes.
        big = make_samples(resized, cfg["seed"] + 1, 1)
        dynamic = {"ran": True, "shapes": {i["name"]: i["shape"] for i in resized},
                   "outputs": onnx_vs_torch(big, torch_outputs(module, graph, big),
                                            "ONNX Runtime vs PyTorch (dynamic axes doubled):")}

    coreml_path = ctx.existing(coreml_artifact(recipe, graph["name"]))
    progress.step("Core ML structure")
    spec = ct.utils.load_spec(str(coreml_path))  # once, for both structural checks
    structure, problems = check_structure(spec, graph, recipe)
    failures += [f"Core ML structure: {p}" for p in problems]
    custom_ops, problems = check_custom_ops(spec, recipe.data["custom_ops"], recipe.data["convert"]["format"])
    failures += [f"Core ML custom ops: {p}" for p in problems]
    progress.step("Core ML reference executor vs PyTorch")
    coreml_report, problems = coreml_numerics(coreml_path, recipe, graph, samples, expected)
    failures += problems

    report = {
        "graph": graph["name"],
        "samples": cfg["samples"],
        "seed": cfg["seed"],
        "platform": f"{platform.system()} {platform.machine()}",
        "checks": {
            "onnx_vs_pytorch": {"ran": True, "where": "onnxruntime CPU", "tolerance": cfg["tolerances"]["onnx"],
                                "outputs": onnx_report},
            "onnx_dynamic_axes": dynamic,
            "coreml_structure": {"ran": True, **structure},
            "custom_ops": custom_ops,
            **coreml_report,
        },
        "failures": failures,
        "passed": not failures,
        "coreml_model": summarise_spec(spec),  # for the build report (which imports no coremltools)
    }
    rel = report_artifact(graph["name"])
    ctx.output(rel).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    kept = samples_artifact(graph["name"])
    keep_samples(ctx.output(kept), coreml_path, recipe, graph, samples, expected, onnx_actual)
    worst = max((m["max_abs_error"] for m in onnx_report.values()), default=0.0)
    ctx.log(f"ONNX vs PyTorch max abs error {worst:.2e}; " + ("passed" if not failures else f"{len(failures)} failures"))
    return StageResult([rel, kept], info={"passed": not failures, "onnx_max_abs_error": worst}, failures=failures)


STAGE = Stage(
    name="validate",
    version=1,
    run=run,
    per_graph=True,
    needs=("build", "export", "convert"),
    reads=("graph", "validate", "convert.format", "convert.precision", "custom_ops", "ios.deployment_target"),
    tools=("torch", "onnxruntime", "coremltools", "numpy"),
    code=("pipeline_runner.validate", "pipeline_runner.samples", "pipeline_runner.coreml_reference",
          "pipeline_runner.customops", "pipeline_runner.images", "pipeline_runner.report.coreml_spec"),
)
