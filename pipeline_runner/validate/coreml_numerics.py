"""Core ML numerics from the saved artifact: the Linux reference executor (and, on macOS, the runtime)."""

from __future__ import annotations


def coreml_numerics(path, recipe, graph: dict, samples, expected) -> tuple[dict, list[str]]:
    """(report section, failures). Tolerances are chosen by the model's precision."""
    from pipeline_runner.validate.coreml_check import check_coreml

    cfg = recipe.data["convert"]
    precision = cfg["precision"] if cfg["format"] == "mlprogram" else "fp32"
    tolerance = recipe.data["validate"]["tolerances"][f"coreml_{precision}"]
    inputs = [{**s.tensors, **s.pixels} for s in samples]
    from pipeline_runner.customops import coreml_reference_layers

    report = check_coreml(path, inputs, expected, tolerance,
                          custom_layers=coreml_reference_layers(recipe.data["custom_ops"], recipe.data["export"]["opset"]))
    failures = []
    for name, metrics in report.get("outputs", {}).items():
        if not metrics.get("passed", True):
            failures.append(f"Core ML ({report.get('where', 'reference')}) vs PyTorch {name}: "
                            + ", ".join(f"{k}={metrics[k]:.4g}" for k in ("max_abs_error", "cosine_similarity")
                                        if isinstance(metrics.get(k), float)))
    if report.get("divergence"):
        d = report["divergence"]
        failures.append(f"first diverging op: {d}")
    return {"coreml_numerics": {"ran": True, "precision": precision, "tolerance": tolerance, **report}}, failures
