"""Core ML numerics from the saved artifact: the Linux reference executor (and, on macOS, the runtime)."""

from __future__ import annotations


def coreml_numerics(path, recipe, graph, samples, expected, fp16_weights_expected=None,
                    outputs_sink: list | None = None, function: str | None = None, label: str | None = None,
                    rounding_error=None, traced: dict | None = None) -> dict:
    """The ``coreml_numerics`` comparison report. Tolerances are chosen by the model's precision.

    ``function``: the multifunction package's function to run (None: its default one);
    ``label`` names the comparison in failure lines (e.g. with the shape)."""
    from pipeline_runner.customops import coreml_reference_layers
    from pipeline_runner.validate.coreml_check import check_coreml

    precision = recipe.convert.effective_precision
    tolerance = recipe.validate.tolerances.coreml(precision).as_dict()
    inputs = [{**s.tensors, **s.pixels} for s in samples]
    kinds = {o.name: o.kind for o in graph.outputs}
    layers = coreml_reference_layers(recipe.custom_ops)
    report = check_coreml(path, inputs, expected, tolerance, custom_layers=layers, kinds=kinds,
                          fp16_weights_expected=fp16_weights_expected, outputs_sink=outputs_sink,
                          function=function, label=label, rounding_error=rounding_error,
                          noise_factor=recipe.validate.fp32_noise_factor, traced=traced)
    return {"precision": precision, **report}
