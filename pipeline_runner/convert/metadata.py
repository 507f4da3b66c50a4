"""Core ML metadata: the recipe's descriptions plus our provenance (replacing onnx2coreml's stamp)."""

from __future__ import annotations

from pipeline_runner.engine.cache import tool_version

PROVENANCE_TOOLS = ("torch", "onnx", "onnx2coreml", "coremltools")


def stamp(mlmodel, recipe, graph, key: str, random_weights: bool, norm_statistics: str | None = None) -> None:
    meta = recipe.convert.metadata
    mlmodel.short_description = meta.short_description or f"{recipe.name}: {graph.name}"
    mlmodel.author = meta.author
    mlmodel.license = meta.license
    mlmodel.version = meta.version
    descriptions = {**meta.input_descriptions, **meta.output_descriptions}
    described = {f.name: descriptions.get(f.name) or f.description for f in [*graph.inputs, *graph.outputs]}
    desc = mlmodel._spec.description  # noqa: SLF001  MLModel's own accessors skip multifunction descriptions
    for features in (desc.input, desc.output, *(g for f in desc.functions for g in (f.input, f.output))):
        for feature in features:
            if described.get(feature.name):
                feature.shortDescription = described[feature.name]
    user = mlmodel.user_defined_metadata
    user["pipeline_runner.recipe"] = recipe.name
    user["pipeline_runner.graph"] = graph.name
    user["pipeline_runner.recipe_sha256"] = recipe.sha256
    user["pipeline_runner.stage_key"] = key
    user["pipeline_runner.weights"] = "random (seeded; no checkpoint)" if random_weights else "checkpoint"
    if norm_statistics:
        user["pipeline_runner.norm_statistics"] = norm_statistics
    for dist in PROVENANCE_TOOLS:
        user[f"pipeline_runner.{dist}"] = tool_version(dist)
