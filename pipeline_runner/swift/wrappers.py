"""Typed Swift wrappers for compiled Core ML models, generated from the saved spec.

``generate_wrapper`` renders one Swift file for a model kind:

* ``image_classifier`` — Vision-backed ``classify(_:topK:)`` for ``CGImage`` and camera
  ``CVPixelBuffer``; Core ML classifiers use Vision's classifications, plain score
  models get softmax (for logits) and top-k in Swift with recipe labels.
* ``token_model`` — ``logits(for: [Int32]) -> MLShapedArray<Float>`` with a length check.
* ``embedding_model`` — MobileCLIP-style image and text embeddings, zero-shot
  classification over shipped label embeddings, and ``addLabel(_:template:)``.

Every feature name, shape and label in the Swift comes from the
:class:`~pipeline_runner.swift.spec_reader.ModelInterface`, emitted as ``static let``
constants.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline_runner.swift import flexible
from pipeline_runner.swift.spec_reader import FeatureInfo, ModelInterface
from pipeline_runner.swift.templates import batching as batch_tpl
from pipeline_runner.swift.templates import doc_comment, render, swift_string_literal
from pipeline_runner.swift.templates import wrappers as tpl

COMPUTE_UNITS = {
    "all": ".all",
    "cpu_only": ".cpuOnly",
    "cpu_and_gpu": ".cpuAndGPU",
    "cpu_and_ne": ".cpuAndNeuralEngine",
}
KINDS = ("image_classifier", "token_model", "embedding_model")
# Recipe `resize` (or a bool "crop") → VNImageCropAndScaleOption
_CROP = {"center_crop": ".centerCrop", "scale_fill": ".scaleFill", "scale_fit": ".scaleFit"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# An image classifier or token model wrapper is one self-contained file (it carries its own
# Prediction, softmax and top-k), so it drops into any app; an embedding model needs ModelKit's
# CLIP tokenizer anyway, so it uses ModelKit's Prediction and math instead of copies.
_IMPORTS = {
    "image_classifier": ["CoreGraphics", "CoreML", "CoreVideo", "Foundation", "ImageIO", "Vision"],
    "token_model": ["CoreML", "Foundation"],
    "embedding_model": ["CoreGraphics", "CoreML", "Foundation", "ModelKit", "Vision"],
}


def generate_wrapper(
    interface: ModelInterface,
    class_name: str,
    compute_units: str,
    kind: str,
    model_resource_name: str,
    extras: dict | None,
) -> str:
    """Swift source of a ``final class <class_name>`` wrapping the model ``interface`` describes.

    ``extras`` (all optional unless noted):

    * ``crop`` — ``"center_crop"`` / ``True`` → ``.centerCrop``, ``"scale_fit"`` →
      ``.scaleFit``, anything else → ``.scaleFill`` (image kinds);
    * ``labels`` — class labels for a non-classifier ``image_classifier`` (default
      ``class_<i>``); ``output`` — which output holds the scores / logits / embedding;
      ``output_kind`` — ``"logits"`` (default: softmax applied) or ``"probabilities"``;
    * ``embedding_model``: ``text_interface`` (required; a ModelInterface or its dict),
      ``text_model_resource_name`` (or ``text_graph``; default ``<resource>Text``),
      ``labels_resource`` (``label_embeddings.json``), ``vocabulary_resource``
      (``vocab.json``), ``merges_resource`` (``merges.txt``).

    Raises ``ValueError`` when the model does not fit the kind (e.g. no image input).
    """
    extras = dict(extras or {})
    if not _IDENT.match(class_name):
        raise ValueError(f"class_name {class_name!r} is not a Swift identifier")
    if compute_units not in COMPUTE_UNITS:
        raise ValueError(f"compute_units {compute_units!r} is not one of {sorted(COMPUTE_UNITS)}")
    if kind not in KINDS:
        raise ValueError(f"wrapper kind {kind!r} is not one of {list(KINDS)}")
    notes = []
    if interface.has_custom_layers:
        notes.append(
            "The model has custom layers (" + ", ".join(interface.custom_layers) + "): "
            "add their generated MLCustomLayer classes to the app target."
        )
    builder = {"image_classifier": _image_classifier, "token_model": _token_model, "embedding_model": _embedding_model}
    body = builder[kind](interface, class_name, compute_units, model_resource_name, extras, notes)
    header = render(
        tpl.HEADER,
        filename=f"{class_name}.swift",
        kind=kind,
        spec_note=f" {_file_name(interface.path)}" if interface.path else "",
        imports="\n".join(f"import {module}" for module in _IMPORTS[kind]),
    )
    return header + "\n" + body


# ---------------------------------------------------------------- constants


class _Constants:
    """``public static let`` lines with doc comments, JSON-compatible literals where possible."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, name: str, value: Any, doc: str, swift_type: str | None = None, raw: bool = False) -> None:
        """Add ``name``; ``raw`` values (e.g. ``.centerCrop``) are Swift source, others become literals."""
        if swift_type is None:
            if isinstance(value, bool):
                swift_type = "Bool"
            elif isinstance(value, str):
                swift_type = "String"
            elif isinstance(value, int):
                swift_type = "Int"
            elif isinstance(value, list):
                swift_type = "[String]" if value and isinstance(value[0], str) else "[Int]"
        literal = value if raw else _literal(value)
        self.lines.append(doc_comment(doc))
        self.lines.append(f"public static let {name}: {swift_type} = {literal}")

    def render(self) -> str:
        return "\n".join(self.lines)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return swift_string_literal(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        items = [_literal(v) for v in value]
        one_line = "[" + ", ".join(items) + "]"
        if len(one_line) <= 100:
            return one_line
        lines, current = [], ""
        for item in items:
            if current and len(current) + len(item) + 2 > 96:
                lines.append(current.rstrip())
                current = ""
            current += item + ", "
        lines.append(current.rstrip().rstrip(","))
        return "[\n" + "\n".join(f"    {line}" for line in lines) + "\n]"
    raise TypeError(f"no Swift literal for {value!r}")


def _common_constants(constants: _Constants, resource: str, compute_units: str) -> None:
    constants.add("modelResourceName", resource, f"Compiled model in the app bundle (`{resource}.mlmodelc`).")
    constants.add(
        "defaultComputeUnits",
        COMPUTE_UNITS[compute_units],
        f"Compute units from the recipe (`{compute_units}`).",
        "MLComputeUnits",
        raw=True,
    )


def _token_constants(constants: _Constants, feature: FeatureInfo, prefix: str = "", model: str = "model") -> None:
    """``inputName``/``inputShape``/``inputDataType``/``sequenceLength``, prefixed (``textInputName``...)."""

    def name(base: str) -> str:
        return prefix + base[0].upper() + base[1:] if prefix else base

    constants.add(name("inputName"), feature.name, f"Token-id input feature name of the {model}.")
    constants.add(name("inputShape"), feature.shape, f"Token-id input shape of the {model}.", "[Int]")
    constants.add(name("inputDataType"), feature.dtype or "", f"Token-id element type in the {model}.")
    constants.add(name("sequenceLength"), feature.shape[-1], f"Number of token ids the {model} takes.")


def _image_constants(constants: _Constants, feature: FeatureInfo, extras: dict) -> None:
    """The image input's name, size and layout, and how Vision fits pictures to it."""
    width, height = feature.image_width, feature.image_height
    channels = 1 if (feature.color_layout or "").startswith("GRAYSCALE") else 3
    constants.add("inputName", feature.name, "Image input feature name.")
    constants.add("inputWidth", width, "Image input width in pixels.")
    constants.add("inputHeight", height, "Image input height in pixels.")
    constants.add("inputColorLayout", feature.color_layout or "", "Image input colour layout.")
    constants.add("inputShape", [1, channels, height, width], "Image input as a tensor: [1, channels, height, width].")
    crop_option, crop_name = _crop_option(extras)
    constants.add(
        "imageCropAndScaleOption", crop_option, f"How Vision fits pictures to the input (`{crop_name}`).",
        "VNImageCropAndScaleOption",
        raw=True,
    )


def _crop_option(extras: dict) -> tuple[str, str]:
    crop = extras.get("crop")
    if crop is True:
        crop = "center_crop"
    option = _CROP.get(crop, ".scaleFill") if isinstance(crop, str) else ".scaleFill"
    return option, str(crop if crop not in (None, False) else "scale_fill")


def _file_name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


# ---------------------------------------------------------------- feature selection


def _image_input(interface: ModelInterface, kind: str) -> FeatureInfo:
    images = [f for f in interface.inputs if f.kind == "image"]
    if not images:
        found = [f"{f.name} ({f.kind})" for f in interface.inputs]
        raise ValueError(f"{kind} needs an image input (convert with ct.ImageType); the model has {found}")
    if len(interface.inputs) > 1:
        raise ValueError(f"{kind} supports one input; the model has {[f.name for f in interface.inputs]}")
    if not images[0].image_width or not images[0].image_height:
        raise ValueError(f"image input {images[0].name!r} has no fixed size")
    return images[0]


def _array_output(interface: ModelInterface, extras: dict, what: str) -> FeatureInfo:
    name = extras.get("output")
    if name:
        feature = interface.output(name)
    else:
        arrays = [f for f in interface.outputs if f.kind == "multiArray"]
        if not arrays:
            raise ValueError(f"the model has no multi-array output for {what}: {[f.name for f in interface.outputs]}")
        feature = arrays[0]
    if feature.kind != "multiArray":
        raise ValueError(f"output {feature.name!r} is a {feature.kind}, not a multi-array")
    return feature


def _token_input(interface: ModelInterface, kind: str) -> FeatureInfo:
    if len(interface.inputs) != 1:
        raise ValueError(f"{kind} supports one token-id input; the model has {[f.name for f in interface.inputs]}")
    feature = interface.inputs[0]
    if feature.kind != "multiArray" or feature.dtype not in _TOKEN_SCALARS:
        raise ValueError(
            f"input {feature.name!r} ({feature.kind}, {feature.dtype}) is not an int32/float32/float64 multi-array"
        )
    if not feature.shape:
        raise ValueError(f"input {feature.name!r} has no shape in the spec")
    return feature


# Token-id input element type in the spec → Swift scalar of the MLShapedArray built from [Int32].
_TOKEN_SCALARS = {"int32": "Int32", "float32": "Float", "float64": "Double"}


def _shaped_input(feature: FeatureInfo, ids: str, shape_constant: str) -> str:
    scalar = _TOKEN_SCALARS[feature.dtype or ""]
    if scalar == "Int32":
        return f"let input = MLShapedArray<Int32>(scalars: {ids}, shape: Self.{shape_constant})"
    return f"let input = MLShapedArray<{scalar}>(scalars: {ids}.map {{ {scalar}($0) }}, shape: Self.{shape_constant})"


def _class_doc(summary: str, interface: ModelInterface, api: list[str], notes: list[str]) -> str:
    lines = [summary, ""]
    if interface.short_description:
        lines += [interface.short_description, ""]
    lines += ["Usage:", "", "```swift", *api, "```"]
    if notes:
        lines += ["", *(f"- Note: {n}" for n in notes)]
    return doc_comment("\n".join(lines))


def _sequence_error_cases(class_name: str) -> dict[str, str]:
    return {
        "extra_cases": "\n".join(
            [
                "/// The token sequence has a length the model does not take.",
                "case wrongSequenceLength(expected: Int, actual: Int)",
            ]
        ),
        "extra_descriptions": "\n".join(
            [
                "case let .wrongSequenceLength(expected, actual):",
                f'    return "{class_name}: expected \\(expected) tokens, got \\(actual)"',
            ]
        ),
    }


def _errors(class_name: str, extra_cases: str = "", extra_descriptions: str = "") -> str:
    return render(
        tpl.ERRORS, class_name=class_name, extra_cases=extra_cases, extra_descriptions=extra_descriptions
    )


# ---------------------------------------------------------------- kinds


def _image_classifier(
    interface: ModelInterface, class_name: str, compute_units: str, resource: str, extras: dict, notes: list[str]
) -> str:
    image = _image_input(interface, "image_classifier")
    constants = _Constants()
    _common_constants(constants, resource, compute_units)
    _image_constants(constants, image, extras)
    if interface.is_classifier:
        labels = list(interface.class_labels or [])
        constants.add("predictedFeatureName", interface.predicted_feature_name or "", "Classifier label output.")
        constants.add(
            "predictedProbabilitiesName", interface.predicted_probabilities_name or "", "Classifier probabilities output."
        )
        constants.add("classLabels", labels, "Class labels from the Core ML classifier.", "[String]")
        predictions = render(tpl.CLASSIFIER_PREDICTIONS, class_name=class_name)
        predictions += "\n" + render(batch_tpl.BATCH_CLASSIFIER_PREDICTIONS, class_name=class_name)
    else:
        output = _array_output(interface, extras, "class scores")
        labels = _score_labels(output, extras.get("labels"))
        is_probabilities = extras.get("output_kind", "logits") == "probabilities"
        constants.add("outputName", output.name, "Score output feature name.")
        constants.add("outputShape", output.shape, "Score output shape.", "[Int]")
        constants.add("classLabels", labels, "Class labels, one per score (from the recipe).", "[String]")
        predictions = render(
            tpl.SCORES_PREDICTIONS,
            class_name=class_name,
            score_kind="probabilities" if is_probabilities else "logits",
            score_note="used as they are" if is_probabilities else "softmax here",
            probabilities_expression="scores" if is_probabilities else "softmax(scores)",
            softmax_top_k=tpl.SOFTMAX_TOP_K,
        )
        predictions += "\n" + render(
            batch_tpl.BATCH_SCORES_PREDICTIONS,
            class_name=class_name,
            score_note="used as they are" if is_probabilities else "softmax here",
            probabilities_expression="scores" if is_probabilities else "softmax(scores)",
        )
    api = [
        f"let classifier = {class_name}()",
        "let top5 = try await classifier.classify(cgImage)",
        "let fromCamera = try await classifier.classify(pixelBuffer, orientation: .right, topK: 3)",
        "let perPhoto = try await classifier.classify([photo1, photo2, photo3])  // one Core ML batch",
    ]
    kind_note = "a Core ML classifier" if interface.is_classifier else "a score output"
    body = render(
        tpl.IMAGE_CLASSIFIER,
        class_doc=_class_doc(
            f"Classifies pictures with `{resource}` ({kind_note}) through Vision.", interface, api, notes
        ),
        class_name=class_name,
        resource_name=resource,
        constants=constants.render(),
        predictions=predictions,
        vision_runner=render(tpl.VISION_RUNNER, class_name=class_name),
        batch=render(batch_tpl.IMAGE_BATCH_CLASSIFY, class_name=class_name),
        batch_runner=render(batch_tpl.BATCH_RUNNER, class_name=class_name),
        model_loader=flexible.model_loader(class_name, interface),
    )
    return flexible.with_availability(_errors(class_name) + "\n" + body, interface)


def _score_labels(output: FeatureInfo, labels: list[str] | None) -> list[str]:
    count = 0
    if output.shape and not output.is_flexible:
        count = output.shape[-1]
        for dim in output.shape[:-1]:
            if dim != 1:
                raise ValueError(f"score output {output.name!r} has shape {output.shape}; expected [..., classes]")
    if labels:
        if count and len(labels) != count:
            raise ValueError(f"{len(labels)} labels for {count} scores in output {output.name!r}")
        return [str(label) for label in labels]
    if not count:
        raise ValueError(f"output {output.name!r} has no fixed shape in the spec: pass extras['labels']")
    return [f"class_{i}" for i in range(count)]


def _token_model(
    interface: ModelInterface, class_name: str, compute_units: str, resource: str, extras: dict, notes: list[str]
) -> str:
    token = _token_input(interface, "token_model")
    output = _array_output(interface, extras, "logits")
    constants = _Constants()
    _common_constants(constants, resource, compute_units)
    _token_constants(constants, token)
    constants.add("outputName", output.name, "Logits output feature name.")
    constants.add("outputShape", output.shape, "Logits output shape (empty when the spec leaves it open).", "[Int]")
    lengths, functions = flexible.add_length_constants(constants, interface, token)
    api = [
        f"let model = {class_name}()",
        f"let logits = try await model.logits(for: ids)  // 1...{class_name}.maximumSequenceLength ids",
    ]
    extra = _sequence_error_cases(class_name)
    body = render(
        tpl.TOKEN_MODEL,
        class_doc=_class_doc(
            f"Runs `{resource}` on a sequence of token ids ({_lengths_text(lengths)} tokens).", interface, api, notes
        ),
        class_name=class_name,
        resource_name=resource,
        constants=constants.render(),
        logits=render(
            batch_tpl.TOKEN_LOGITS,
            class_name=class_name,
            function_note=" (one model function each)" if any(functions) else "",
            shortest=str(lengths[0]),
            longest=str(lengths[-1]),
            input_array=_shaped_input(token, "padded", "inputShape").replace("shape: Self.inputShape", "shape: shape"),
        ),
        model_loader=flexible.model_loader(class_name, interface),
    )
    return flexible.with_availability(_errors(class_name, **extra) + "\n" + body, interface)


def _lengths_text(lengths: list[int]) -> str:
    return str(lengths[0]) if len(lengths) == 1 else ", ".join(map(str, lengths[:-1])) + f" or {lengths[-1]}"


def _embedding_model(
    interface: ModelInterface, class_name: str, compute_units: str, resource: str, extras: dict, notes: list[str]
) -> str:
    text_interface = extras.get("text_interface")
    if text_interface is None:
        raise ValueError("embedding_model needs extras['text_interface'] (the text encoder's ModelInterface)")
    if isinstance(text_interface, dict):
        text_interface = ModelInterface.from_dict(text_interface)
    image = _image_input(interface, "embedding_model")
    image_output = _array_output(interface, extras, "the image embedding")
    text_input = _token_input(text_interface, "embedding_model text encoder")
    text_output = _array_output(text_interface, {"output": extras.get("text_output")}, "the text embedding")
    dimension = _embedding_dimension(image_output)
    if _embedding_dimension(text_output) != dimension:
        raise ValueError(
            f"image embedding {image_output.shape} and text embedding {text_output.shape} differ in size"
        )
    text_resource = extras.get("text_model_resource_name") or extras.get("text_graph") or f"{resource}Text"

    constants = _Constants()
    _common_constants(constants, resource, compute_units)
    constants.add("textModelResourceName", text_resource, f"Compiled text encoder (`{text_resource}.mlmodelc`).")
    _image_constants(constants, image, extras)
    constants.add("outputName", image_output.name, "Image embedding output feature name.")
    constants.add("outputShape", image_output.shape, "Image embedding output shape.", "[Int]")
    constants.add("embeddingDimension", dimension, "Length of an embedding.")
    _token_constants(constants, text_input, prefix="text", model="text encoder")
    functions = flexible.add_batch_constants(constants, text_interface, text_input)
    constants.add("textOutputName", text_output.name, "Text embedding output feature name.")
    constants.add("textOutputShape", text_output.shape, "Text embedding output shape.", "[Int]")
    constants.add(
        "labelsResource", extras.get("labels_resource", "label_embeddings.json"), "Label-embedding JSON in the bundle."
    )
    constants.add("vocabularyResource", extras.get("vocabulary_resource", "vocab.json"), "Tokenizer vocabulary.")
    constants.add("mergesResource", extras.get("merges_resource", "merges.txt"), "Tokenizer BPE merges.")

    cases = _sequence_error_cases(class_name)
    cases["extra_cases"] += "\n/// The label-embedding JSON is inconsistent.\ncase invalidLabelFile(String)"
    cases["extra_descriptions"] += f'\ncase let .invalidLabelFile(detail):\n    return "{class_name}: \\(detail)"'
    api = [
        f"let clip = {class_name}()",
        "let imageEmbedding = try await clip.embed(image: cgImage)",
        'let textEmbedding = try await clip.embed(text: "a photo of a dog")',
        "let top5 = try await clip.classify(cgImage)",
        "let photoEmbeddings = try await clip.embed(images: photos)  // one Core ML batch",
        'let labelEmbeddings = try await clip.embed(texts: ["a cat", "a dog"])  // one Core ML batch',
        'try await clip.addLabel("axolotl", template: "a photo of a {}.")',
    ]
    body = render(
        tpl.EMBEDDING_MODEL,
        class_doc=_class_doc(
            f"Image and text embeddings (`{resource}`, `{text_resource}`) and zero-shot classification.",
            interface,
            api,
            notes,
        ),
        class_name=class_name,
        resource_name=resource,
        text_resource_name=text_resource,
        constants=constants.render(),
        vision_runner=render(tpl.VISION_RUNNER, class_name=class_name),
        batch=render(batch_tpl.EMBED_BATCH, class_name=class_name,
                     function_note=" (one model function each)" if any(functions) else "",
                     text_batch_input=_shaped_input(text_input, "batch.flatMap { $0 }", "textInputShape").replace(
                         "shape: Self.textInputShape", "shape: shape")),
        batch_runner=render(batch_tpl.BATCH_RUNNER, class_name=class_name),
        model_loader=flexible.model_loader(class_name, interface, text_interface),
    )
    return flexible.with_availability(_errors(class_name, **cases) + "\n" + body, interface, text_interface)


def _embedding_dimension(output: FeatureInfo) -> int:
    if not output.shape or output.is_flexible:
        raise ValueError(f"embedding output {output.name!r} has no fixed shape in the spec")
    if any(dim != 1 for dim in output.shape[:-1]):
        raise ValueError(f"embedding output {output.name!r} has shape {output.shape}; expected [1, dimension]")
    return output.shape[-1]
