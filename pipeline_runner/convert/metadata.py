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
    for feature in graph.inputs:
        text = descriptions.get(feature.name) or feature.description
        if text:
            mlmodel.input_description[feature.name] = text
    for feature in graph.outputs:
        text = descriptions.get(feature.name) or feature.description
        if text:
            mlmodel.output_description[feature.name] = text
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
