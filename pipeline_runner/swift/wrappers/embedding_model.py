"""``embedding_model``: MobileCLIP-style image and text embeddings, zero-shot classification
over shipped label embeddings, and ``addLabel(_:template:)``; tokenizer and label math from ModelKit."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_runner.swift.render import render
from pipeline_runner.swift.spec_reader import FeatureInfo
from pipeline_runner.swift.wrappers import common, flexible
from pipeline_runner.swift.wrappers.kind import WrapperKind, WrapperPlan

IMPORTS = ["CoreGraphics", "CoreML", "CoreVideo", "Foundation", "ImageIO", "ModelKit", "Vision"]
APP_FILES = ("label_embeddings.json", "vocab.json", "merges.txt")


@dataclass(frozen=True)
class Options:
    crop: str = "center_crop"
    output: str | None = None  # the image embedding output (default: the only multi-array output)
    text_output: str | None = None  # the text embedding output


def plan(recipe) -> WrapperPlan:
    """The image graph that is not a classifier, and the graph with integer (token) inputs."""
    graphs = recipe.graphs
    image = next(g for g in graphs if g.image_inputs and not g.classifier)
    text = next(g for g in graphs if any(i.is_integer for i in g.inputs))

    def embedding(graph) -> str | None:
        return next((o.name for o in graph.outputs if o.kind == "embedding"), None)

    return WrapperPlan(
        graphs={"image": image.name, "text": text.name},
        options=Options(crop=image.image_inputs[0].image.resize, output=embedding(image), text_output=embedding(text)),
    )


def generate(request: common.WrapperRequest) -> str:
    options: Options = request.options
    image_model, text_model = request.model("image"), request.model("text")
    interface, text_interface = image_model.interface, text_model.interface
    image = common.image_input(interface, "embedding_model")
    image_output = common.array_output(interface, options.output, "the image embedding")
    text_input = common.token_input(text_interface, "embedding_model text encoder")
    text_output = common.array_output(text_interface, options.text_output, "the text embedding")
    dimension = _embedding_dimension(image_output)
    if _embedding_dimension(text_output) != dimension:
        raise ValueError(f"image embedding {image_output.shape} and text embedding {text_output.shape} differ in size")
    resource, text_resource = image_model.resource_name, text_model.resource_name
    files = {name: request.app_resources.get(name, name) for name in APP_FILES}

    constants = common.Constants()
    common.common_constants(constants, request, "image")
    constants.add("textModelResourceName", text_resource, f"Compiled text encoder (`{text_resource}.mlmodelc`).")
    common.image_constants(constants, image, options.crop)
    constants.add("outputName", image_output.name, "Image embedding output feature name.")
    constants.add("outputShape", image_output.shape, "Image embedding output shape.", "[Int]")
    constants.add("embeddingDimension", dimension, "Length of an embedding.")
    common.token_constants(constants, text_input, prefix="text", model="text encoder")
    flexible.add_batch_constants(constants, text_interface, text_input)
    constants.add("textOutputName", text_output.name, "Text embedding output feature name.")
    constants.add("textOutputShape", text_output.shape, "Text embedding output shape.", "[Int]")
    constants.add("labelsResource", files["label_embeddings.json"], "Label-embedding JSON in the bundle.")
    constants.add("vocabularyResource", files["vocab.json"], "Tokenizer vocabulary.")
    constants.add("mergesResource", files["merges.txt"], "Tokenizer BPE merges.")
    name = request.class_name
    api = [
        f"let clip = {name}()",
        "let imageEmbedding = try await clip.embed(image: cgImage)",
        "let frameEmbedding = try await clip.embed(pixelBuffer: frame, orientation: .right)",
        'let textEmbedding = try await clip.embed(text: "a photo of a dog")',
        "let photoEmbeddings = try await clip.embed(images: photos)  // one Core ML batch",
        'let labelEmbeddings = try await clip.embed(texts: ["a photo of a cat", "a photo of a dog"])',
        "let top5 = try await clip.classify(cgImage)",
        'try await clip.addLabel("axolotl", template: "a photo of a {}.")',
    ]
    summary = f"Image and text embeddings (`{resource}`, `{text_resource}`) and zero-shot classification."
    return render(
        "embedding_model.swift",
        kind="embedding_model",
        imports=IMPORTS,
        spec_note=common.spec_note(interface),
        availability=flexible.availability(request, interface, text_interface),
        function_note=(" (one function of the text encoder each)" if flexible.is_multifunction(text_interface) else ""),
        class_doc=common.class_doc(summary, interface, api, common.custom_layer_notes(interface, text_interface)),
        class_name=name,
        resource_name=resource,
        text_resource_name=text_resource,
        constants=constants.render(),
    )


def _embedding_dimension(output: FeatureInfo) -> int:
    if not output.shape or output.is_flexible:
        raise ValueError(f"embedding output {output.name!r} has no fixed shape in the spec")
    if any(dim != 1 for dim in output.shape[:-1]):
        raise ValueError(f"embedding output {output.name!r} has shape {output.shape}; expected [1, dimension]")
    return output.shape[-1]


KIND = WrapperKind(name="embedding_model", roles=("image", "text"), options=Options, plan=plan, generate=generate,
                   app_files=APP_FILES, app_protocol="ImageTextEmbedding")
