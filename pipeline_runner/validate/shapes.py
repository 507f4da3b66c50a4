"""Validation at every Core ML shape the recipe declares (``inputs[].coreml``), beyond the default one.

Each enumerated shape (each function of a multifunction package), and the low end, middle
and high end of each range: seeded samples at that shape, PyTorch vs ONNX Runtime and PyTorch
vs the saved Core ML model through the reference executor (the function of that shape), with
the same gate as the default shape. The default shape is the stage's main check.
"""

from __future__ import annotations

import functools


def check_declared_shapes(module, recipe, graph, onnx_session, coreml_path, spec) -> dict:
    """The ``coreml_shapes`` report: per shape label its shapes, function, ONNX and Core ML reports;
    ``failures`` and ``warnings`` gathered from all of them."""
    from pipeline_runner import progress
    from pipeline_runner.convert import shape_specs
    from pipeline_runner.coreml_reference.model import function_names
    from pipeline_runner.samples import make_samples
    from pipeline_runner.validate.conditioning import fp32_rounding_error
    from pipeline_runner.validate.coreml_numerics import coreml_numerics
    from pipeline_runner.validate.onnx_check import onnx_comparison, onnx_outputs, torch_outputs

    plan = shape_specs.plan(graph)
    if not plan.flexible:
        return {"ran": False, "reason": "Core ML takes one shape (no inputs[].coreml section)"}
    cfg = recipe.validate
    kinds = {o.name: o.kind for o in graph.outputs}
    functions = function_names(spec)
    failures: list[str] = []
    warnings: list[str] = []
    shapes_report = {}
    for k, (label, shapes) in enumerate(shape_specs.validation_shapes(graph)):
        if shapes == plan.default.shapes:
            continue  # the stage's main check
        progress.step(f"shape {label}: PyTorch, ONNX Runtime, Core ML reference executor")
        samples = make_samples(shape_specs.with_shapes(graph.inputs, shapes), cfg.seed + 100 + k, cfg.samples)
        expected = torch_outputs(module, graph, samples)
        # Used within this iteration only (late binding is safe); measured only when a check fails.
        noise = functools.cache(lambda: fp32_rounding_error(module, graph, samples))
        onnx_report = onnx_comparison(onnx_outputs(onnx_session, graph, samples), expected, cfg.tolerances.onnx.as_dict(),
                                      kinds, f"[{label}] ONNX Runtime vs PyTorch", noise, cfg.fp32_noise_factor)
        function = label if label in functions else None
        coreml_report = coreml_numerics(coreml_path, recipe, graph, samples, expected, function=function,
                                        label=f"[{label}] Core ML (reference executor) vs PyTorch", rounding_error=noise)
        for part in (onnx_report, coreml_report):
            failures += part["failures"]
            warnings += part["warnings"]
        shapes_report[label] = {
            "shapes": {n: list(s) for n, s in shapes.items()},
            "function": function,
            "onnx_vs_pytorch": onnx_report,
            "coreml_numerics": coreml_report,
        }
    return {
        "ran": True,
        "default": {"function": functions[0] if functions else None,
                    "shapes": {n: list(s) for n, s in plan.default.shapes.items()}},
        "functions": functions,
        "shapes": shapes_report,
        "passed": not failures,
        "failures": failures,
        "warnings": warnings,
    }
