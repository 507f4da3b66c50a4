"""swift: generated Swift for the app — the typed model wrapper and one MLCustomLayer class per custom layer.

Feature names, shapes and labels come from the saved Core ML specs (read back from
disk), so the Swift can never disagree with the model it wraps.
"""

from __future__ import annotations

import json

from pipeline_runner.engine.stage import Stage, StageContext, StageResult
from pipeline_runner.stages.convert import coreml_artifact


def _image_graph(recipe):
    """The graph whose model an app feeds pictures: a classifier graph first, else any image-input graph."""
    image_graphs = [g for g in recipe.graphs if g.image_inputs]
    classifiers = [g for g in image_graphs if g.classifier]
    return (classifiers or image_graphs or [None])[0]


def _wrapper_plan(recipe) -> tuple:
    """(graph the wrapper loads, extras for the wrapper template) for the recipe's ios.wrapper kind."""
    ios, graphs = recipe.ios, recipe.graphs
    kind = ios.wrapper
    if kind == "image_classifier":
        graph = _image_graph(recipe) or graphs[0]
        images = graph.image_inputs
        crop = images[0].image.resize if images else "center_crop"
        return graph, {"crop": crop, "labels": list(ios.labels) if ios.labels else None}
    if kind == "embedding_model":
        image = next(g for g in graphs if g.image_inputs and not g.classifier)
        text = next(g for g in graphs if any(i.is_integer for i in g.inputs))
        return image, {"text_graph": text.name, "crop": "center_crop"}
    return graphs[0], {}


# Files the embedding wrapper reads from the bundle besides its models (written by app_files).
_APP_RESOURCES = {"labels_resource": "label_embeddings.json", "vocabulary_resource": "vocab.json",
                  "merges_resource": "merges.txt"}


def bundle_name(recipe_name: str, filename: str) -> str:
    """An app bundle is flat: name a recipe's files after the recipe so two recipes' files never
    clash (``image_encoder.mlpackage`` of mobileclip → ``mobileclip_image_encoder.mlpackage``)."""
    stem = filename.split(".")[0]
    if stem == recipe_name or stem.startswith(f"{recipe_name}_"):
        return filename
    return f"{recipe_name}_{filename}"


def run(ctx: StageContext) -> StageResult:
    from pipeline_runner.swift.custom_layer import generate_custom_layer
    from pipeline_runner.swift.spec_reader import read_model_interface
    from pipeline_runner.swift.syntax import swift_syntax_errors
    from pipeline_runner.swift.wrappers import generate_wrapper

    recipe = ctx.recipe
    files: dict[str, str] = {}
    hand_written: dict[str, str] = {}
    for op in recipe.custom_ops:
        if not op.is_custom_layer:
            continue
        layer = generate_custom_layer(op.function, op.class_name, op.parameters, op.description)
        files[layer.filename] = layer.source
        if layer.needs_hand_written:
            hand_written[op.class_name] = f"needs a hand-written implementation: {layer.reason}"
            ctx.log(f"{op.class_name}: {hand_written[op.class_name]}")

    interfaces, bundle = {}, {}

    def model_resource(graph_name: str) -> str:
        rel = coreml_artifact(recipe, graph_name)
        bundle[rel] = bundle_name(recipe.name, rel.split("/")[-1])
        return bundle[rel].rsplit(".", 1)[0]

    ios = recipe.ios
    if ios.wrapper != "none":
        graph, extras = _wrapper_plan(recipe)
        interface = read_model_interface(ctx.existing(coreml_artifact(recipe, graph.name)))
        interfaces[graph.name] = interface.to_dict()
        if "text_graph" in extras:
            text_interface = read_model_interface(ctx.existing(coreml_artifact(recipe, extras["text_graph"])))
            extras["text_interface"] = text_interface
            extras["text_model_resource_name"] = model_resource(extras["text_graph"])
            interfaces[extras["text_graph"]] = text_interface.to_dict()
            for key, filename in _APP_RESOURCES.items():
                bundle[f"app/{filename}"] = extras[key] = bundle_name(recipe.name, filename)
        files[f"{ios.class_name}.swift"] = generate_wrapper(
            interface, ios.class_name, recipe.convert.compute_units, ios.wrapper,
            model_resource(graph.name), extras)

    artifacts = []
    for filename, source in files.items():
        errors = swift_syntax_errors(source)
        if errors:  # a generator bug: never hand the app Swift that does not parse
            raise ValueError(f"generated {filename} does not parse: {errors[0]}")
        rel = f"swift/{filename}"
        ctx.output(rel).write_text(source)
        artifacts.append(rel)
    rel = "swift/interface.json"
    # bundle_names: build-relative path -> file name in the app bundle (what the wrapper loads).
    ctx.output(rel).write_text(json.dumps({"wrapper": ios.wrapper, "class_name": ios.class_name,
                                           "models": interfaces, "bundle_names": bundle,
                                           "custom_layers_needing_code": hand_written},
                                          indent=2, sort_keys=True) + "\n")
    artifacts.append(rel)
    ctx.log(f"{len(files)} Swift file(s)")
    return StageResult(artifacts, info={"files": sorted(files), "needs_hand_written": hand_written},
                       notes=list(hand_written.values()))


STAGE = Stage(
    name="swift",
    version=1,
    run=run,
    needs=("convert",),
    reads=("ios", "graphs", "custom_ops", "convert.compute_units"),
    tools=("coremltools", "onnx"),
    code=("pipeline_runner.swift", "pipeline_runner.stages.swift"),
)
