"""compress: the recipe's compression variants of each converted graph, each validated on Linux.

Every variant is compressed from the saved Core ML model with ``coremltools.optimize.coreml``,
saved, loaded back and run by the reference executor on the validation samples, and compared
with PyTorch (gated by the variant's tolerance) and with the uncompressed Core ML model. A
variant outside its tolerance fails only itself unless it is ``required``. Writes
``compressed/<graph>/<variant>.mlpackage`` and ``compressed/<graph>.json`` (the reports, the
size/accuracy table and the suggested variant: the smallest within tolerance).
"""

from __future__ import annotations

import json
import shutil

from pipeline_runner import progress
from pipeline_runner.compress.variants import compressed_artifact, kinds, report_artifact, variants_for
from pipeline_runner.engine.stage import Stage, StageContext, StageResult
from pipeline_runner.stages.build import WEIGHTS
from pipeline_runner.stages.convert import coreml_artifact


def _feeds(samples, input_names):
    return [{k: v for k, v in {**s.tensors, **s.pixels}.items() if k in input_names} for s in samples]


def _compare(actual, expected, tolerance, out_kinds, label: str) -> dict:
    """{output: metrics + passed + reasons + warnings}: the validate stage's gate, per output."""
    from pipeline_runner.validate.gates import compare_outputs

    return compare_outputs(actual, expected, tolerance, out_kinds, label=label, where="linux-reference")["outputs"]


def _measure(path, model, actual, expected, base_outputs, tolerance, out_kinds, base_weights):
    from pipeline_runner.compress.measure import compressed_ops, disk_size, weights_size

    vs_pt = _compare(actual, expected, tolerance, out_kinds, "Core ML (compressed) vs PyTorch")
    report = {
        "size_bytes": disk_size(path), "weights_bytes": weights_size(path),
        "vs_pytorch": vs_pt, "tolerance": tolerance,
        "vs_coreml": _compare(actual, base_outputs, {}, out_kinds, "vs uncompressed") if base_outputs else {},
        "compressed_ops": compressed_ops(model),
        "passed": all(o["passed"] for o in vs_pt.values()),
    }
    report["ratio"] = round(report["weights_bytes"] / (base_weights or report["weights_bytes"]), 4)
    return report


def run(ctx: StageContext) -> StageResult:
    progress.step("importing torch and coremltools")
    from pipeline_runner.compress import table
    from pipeline_runner.compress.apply import compress_model
    from pipeline_runner.coreml_reference import load_model
    from pipeline_runner.models.instantiate import entry_module, load_built_model
    from pipeline_runner.samples import make_samples
    from pipeline_runner.validate.onnx_check import torch_outputs
    from pipeline_runner.validate.report import dumps, strict

    recipe, graph = ctx.recipe, ctx.graph
    cfg, section = recipe.validate, recipe.compress
    if not variants_for(recipe, graph.name):  # the recipe's variants name other graphs
        document = {"graph": graph.name, "variants": {}, "table": [], "suggested": None, "passed": True}
        ctx.output(report_artifact(graph.name)).write_text(json.dumps(document, indent=2) + "\n")
        return StageResult([report_artifact(graph.name)], info={"table": [], "suggested": None})
    progress.step("PyTorch and uncompressed Core ML reference outputs")
    samples = make_samples(graph.inputs, cfg.seed, cfg.samples)
    module = entry_module(recipe, load_built_model(recipe, ctx.existing(WEIGHTS)), graph)
    expected = torch_outputs(module, graph, samples)
    out_kinds = {o.name: o.kind for o in graph.outputs}
    base_path = ctx.existing(coreml_artifact(recipe, graph.name))
    base = load_model(base_path)
    feeds = _feeds(samples, base.input_names)
    base_outputs = [base.predict(f) for f in feeds]
    base_report = _measure(base_path, base, base_outputs, expected, None, {}, out_kinds, None)
    reports = {"uncompressed": {**base_report, "vs_coreml": {}}}

    artifacts, failures, notes = [], [], []
    for variant in variants_for(recipe, graph.name):
        progress.step(f"variant {variant['name']}: compress, then the reference executor")
        name, rel = variant["name"], compressed_artifact(graph.name, variant["name"])
        tolerance = variant.get("tolerance", section.tolerance.as_dict())
        calibration = None
        if "quantize_activations" in variant:
            count = variant["quantize_activations"].get("calibration_samples", 8)
            calibration = _feeds(make_samples(graph.inputs, cfg.seed + 1, count), base.input_names)
        out = ctx.output(rel)
        try:
            compress_model(base_path, out, variant, calibration)
            model = load_model(out)
            actual = [model.predict(f) for f in feeds]
        except Exception as exc:  # one variant's failure is reported, not raised: the others still count
            shutil.rmtree(out, ignore_errors=True)
            report = {"error": f"{type(exc).__name__}: {exc}", "passed": False}
        else:
            report = _measure(out, model, actual, expected, base_outputs, tolerance, out_kinds,
                              base_report["weights_bytes"])
            artifacts.append(rel)
        report.update(kinds=kinds(variant), settings=variant, required=variant.get("required", False))
        reports[name] = report
        if not report["passed"]:
            why = report.get("error") or "; ".join(f"{o}: {', '.join(m['reasons'])}"
                                                   for o, m in report["vs_pytorch"].items() if not m["passed"])
            message = f"variant {name} of {graph.name} failed: {why}"
            (failures if report["required"] else notes).append(message)
            ctx.log(message)

    rows = [table.row(name, r) for name, r in reports.items()]
    suggested = table.suggest(rows)
    document = {"graph": graph.name, "variants": reports, "table": rows, "suggested": suggested,
                "passed": not failures}
    ctx.output(report_artifact(graph.name)).write_text(dumps(document))
    for line in table.markdown(rows).splitlines():
        ctx.log(line)
    ctx.log(f"suggested variant: {suggested or 'none within tolerance'}")
    return StageResult([report_artifact(graph.name), *artifacts], notes=notes, failures=failures,
                       info=strict({"table": rows, "suggested": suggested}))


STAGE = Stage(
    name="compress",
    version=1,
    run=run,
    per_graph=True,
    needs=("build", "convert"),
    reads=("graph", "compress.tolerance", "compress.variants", "validate.samples", "validate.seed",
           "convert.format", "convert.precision", "ios.deployment_target"),
    tools=("torch", "coremltools", "numpy"),
    imports=("torch", "coremltools"),
    code=("pipeline_runner.compress", "pipeline_runner.coreml_reference", "pipeline_runner.samples",
          "pipeline_runner.images", "pipeline_runner.validate"),
    applies=lambda recipe: bool(recipe.compress.variants),
)
