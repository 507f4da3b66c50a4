"""swift: generated Swift for the app — the typed model wrapper and one MLCustomLayer class per custom layer.

Feature names, shapes and labels come from the saved Core ML specs (read back from
disk), so the Swift can never disagree with the model it wraps.
"""

from __future__ import annotations

import json

from pipeline_runner.engine.stage import Stage, StageContext, StageResult
from pipeline_runner.stages.convert import coreml_artifact


def bundle_name(recipe_name: str, filename: str) -> str:
    """An app bundle is flat: name a recipe's files after the recipe so two recipes' files never
    clash (``image_encoder.mlpackage`` of mobileclip → ``mobileclip_image_encoder.mlpackage``)."""
    stem = filename.split(".")[0]
    if stem == recipe_name or stem.startswith(f"{recipe_name}_"):
        return filename
    return f"{recipe_name}_{filename}"


def _variant_artifact(recipe, graph_name: str, ctx: StageContext) -> str | None:
    """The compressed package of ``ios.variant`` for this graph, if the variant compresses it and
    the compress stage wrote it (a variant that failed to compress leaves the model uncompressed)."""
    from pipeline_runner.compress.variants import compressed_artifact, variants_for

    name = recipe.ios.variant
    if not name or name not in {v["name"] for v in variants_for(recipe, graph_name)}:
        return None
    rel = compressed_artifact(graph_name, name)
    if not ctx.existing(rel).exists():
        ctx.log(f"ios.variant {name}: no compressed package for {graph_name} (its compression failed); "
                "the wrapper loads the uncompressed model")
        return None
    return rel


def run(ctx: StageContext) -> StageResult:
    from pipeline_runner.swift.custom_layer import generate_custom_layer
    from pipeline_runner.swift.spec_reader import read_model_interface
    from pipeline_runner.swift.syntax import swift_syntax_errors
    from pipeline_runner.swift.wrappers import KINDS, ModelInput, WrapperRequest, generate_wrapper

    recipe = ctx.recipe
    files: dict[str, str] = {}
    metal: dict[str, str] = {}
    hand_written: dict[str, str] = {}
    for op in recipe.custom_ops:
        if not op.is_custom_layer:
            continue
        layer = generate_custom_layer(op.function, op.class_name, op.parameters, op.description,
                                      recipe.ios.deployment_target)
        files[layer.filename] = layer.source
        if layer.metal_filename and layer.metal_source:
            metal[layer.metal_filename] = layer.metal_source
        if layer.needs_hand_written:
            hand_written[op.class_name] = f"needs a hand-written implementation: {layer.reason}"
            ctx.log(f"{op.class_name}: {hand_written[op.class_name]}")

    interfaces, bundle = {}, {}

    def model_resource(graph_name: str) -> str:
        rel = coreml_artifact(recipe, graph_name)
        filename = rel.split("/")[-1]
        variant = _variant_artifact(recipe, graph_name, ctx)
        if variant:  # ios.variant: the wrapper loads the compressed package, named after graph and variant
            rel, filename = variant, f"{graph_name}_{recipe.ios.variant}.mlpackage"
        bundle[rel] = bundle_name(recipe.name, filename)
        return bundle[rel].rsplit(".", 1)[0]

    ios = recipe.ios
    if ios.wrapper != "none":
        kind = KINDS[ios.wrapper]
        plan = kind.plan(recipe)
        models = {}
        for role, graph in plan.graphs.items():
            interface = read_model_interface(ctx.existing(coreml_artifact(recipe, graph)))
            interfaces[graph] = interface.to_dict()
            models[role] = ModelInput(interface, model_resource(graph))
        app_resources = {}
        for filename in kind.app_files:  # written by app_files; the bundle is flat, so prefix them
            bundle[f"app/{filename}"] = app_resources[filename] = bundle_name(recipe.name, filename)
        request = WrapperRequest(class_name=ios.class_name, models=models, options=plan.options,
                                 compute_units=recipe.convert.compute_units,
                                 deployment_target=ios.deployment_target, app_resources=app_resources)
        files[f"{ios.class_name}.swift"] = generate_wrapper(kind.name, request)

    artifacts = []
    for filename, source in files.items():
        errors = swift_syntax_errors(source)
        if errors:  # a generator bug: never hand the app Swift that does not parse
            raise ValueError(f"generated {filename} does not parse: {errors[0]}")
    for filename, source in {**files, **metal}.items():
        rel = f"swift/{filename}"
        ctx.output(rel).write_text(source)
        artifacts.append(rel)
    rel = "swift/interface.json"
    # bundle_names: build-relative path -> file name in the app bundle (what the wrapper loads).
    ctx.output(rel).write_text(json.dumps({"wrapper": ios.wrapper, "class_name": ios.class_name,
                                           "models": interfaces, "bundle_names": bundle,
                                           "variant": ios.variant,
                                           "custom_layers_needing_code": hand_written},
                                          indent=2, sort_keys=True) + "\n")
    artifacts.append(rel)
    ctx.log(f"{len(files)} Swift file(s), {len(metal)} Metal file(s)")
    return StageResult(artifacts, info={"files": sorted(files), "metal": sorted(metal),
                                        "needs_hand_written": hand_written},
                       notes=list(hand_written.values()))


STAGE = Stage(
    name="swift",
    version=2,
    run=run,
    needs=("convert", "compress"),
    reads=("ios", "graphs", "custom_ops", "convert.compute_units", "compress.variants"),
    tools=("coremltools", "onnx"),
    imports=("coremltools",),
    code=("pipeline_runner.swift", "pipeline_runner.stages.swift", "pipeline_runner.recipe"),
)
