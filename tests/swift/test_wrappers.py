"""Spec reader and typed Swift wrappers, on tiny Core ML models built with the MIL builder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline_runner.swift.spec_reader import ModelInterface, read_model_interface
from pipeline_runner.swift.syntax import async_functions_that_lock, swift_syntax_errors
from pipeline_runner.swift.wrappers import KINDS, ModelInput, WrapperRequest, generate_wrapper

ct = pytest.importorskip("coremltools")

LABELS = ["cat", "dog", "fox", "owl"]


# ------------------------------------------------------------- tiny models


def _image_encoder_program(embedding: int):
    from coremltools.converters.mil import Builder as mb

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3, 16, 12))])
    def prog(image):
        pooled = mb.reduce_mean(x=image, axes=[2, 3], keep_dims=False)
        weight = np.random.default_rng(0).normal(size=(embedding, 3)).astype(np.float32)
        return mb.linear(x=pooled, weight=weight, name="embedding")

    return prog


def _image_input(color_layout=None):
    return ct.ImageType(
        name="image", shape=(1, 3, 16, 12), scale=1 / 255.0, color_layout=color_layout or ct.colorlayout.RGB
    )


def _save(model, path: Path) -> Path:
    model.save(str(path))
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    root = tmp_path_factory.mktemp("coreml")
    out: dict[str, Path] = {}

    # Core ML classifier over an image input.
    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3, 16, 12))])
    def classifier(image):
        pooled = mb.reduce_mean(x=image, axes=[2, 3], keep_dims=False)
        weight = np.random.default_rng(1).normal(size=(len(LABELS), 3)).astype(np.float32)
        logits = mb.linear(x=pooled, weight=weight)
        return mb.softmax(x=logits, axis=-1, name="probabilities")

    model = ct.convert(
        classifier,
        convert_to="mlprogram",
        inputs=[_image_input(ct.colorlayout.BGR)],
        classifier_config=ct.ClassifierConfig(LABELS),
    )
    model.user_defined_metadata["recipe"] = "tiny-classifier"
    model.short_description = "A tiny test classifier."
    out["classifier"] = _save(model, root / "Classifier.mlpackage")

    # Plain logits over an image input (not a Core ML classifier).
    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 3, 16, 12))])
    def logits(image):
        pooled = mb.reduce_mean(x=image, axes=[2, 3], keep_dims=False)
        weight = np.random.default_rng(2).normal(size=(len(LABELS), 3)).astype(np.float32)
        return mb.linear(x=pooled, weight=weight, name="logits")

    model = ct.convert(logits, convert_to="mlprogram", inputs=[_image_input()])
    out["logits"] = _save(model, root / "Logits.mlpackage")

    # Token model: int32 ids [1, 12] → logits [1, 12, 5].
    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 12), dtype=types.int32)])
    def tokens(input_ids):
        ids = mb.cast(x=input_ids, dtype="fp32")
        ids = mb.expand_dims(x=ids, axes=[-1])
        return mb.mul(x=ids, y=np.arange(5, dtype=np.float32).reshape(1, 1, 5), name="logits")

    out["tokens"] = _save(ct.convert(tokens, convert_to="mlprogram"), root / "Tokens.mlpackage")

    # MobileCLIP-like pair: image encoder and text encoder, both → [1, 8].
    model = ct.convert(_image_encoder_program(8), convert_to="mlprogram", inputs=[_image_input()])
    out["image_encoder"] = _save(model, root / "ImageEncoder.mlpackage")

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 20), dtype=types.int32)])
    def text_encoder(text):
        ids = mb.cast(x=text, dtype="fp32")
        pooled = mb.reduce_mean(x=ids, axes=[1], keep_dims=True)
        return mb.mul(x=pooled, y=np.ones((1, 8), dtype=np.float32), name="text_embedding")

    out["text_encoder"] = _save(ct.convert(text_encoder, convert_to="mlprogram"), root / "TextEncoder.mlpackage")
    return out


@pytest.fixture(scope="module")
def custom_layer_model(tmp_path_factory) -> Path:
    """A NeuralNetwork .mlmodel with one custom layer."""
    from coremltools.models import datatypes
    from coremltools.models.neural_network import NeuralNetworkBuilder

    builder = NeuralNetworkBuilder(
        [("x", datatypes.Array(3, 4))], [("y", datatypes.Array(3, 4))], disable_rank5_shape_mapping=True
    )
    builder.add_custom(name="square", input_names=["x"], output_names=["y"])
    builder.spec.neuralNetwork.layers[0].custom.className = "CustomSquareLayer"
    path = tmp_path_factory.mktemp("nn") / "Custom.mlmodel"
    ct.utils.save_spec(builder.spec, str(path))
    return path


# ------------------------------------------------------------- spec reader


def test_reads_classifier_interface(models) -> None:
    interface = read_model_interface(models["classifier"])
    assert interface.model_type == "mlProgram"
    (image,) = interface.inputs
    assert (image.name, image.kind, image.image_width, image.image_height, image.color_layout) == (
        "image",
        "image",
        12,
        16,
        "BGR",
    )
    assert interface.is_classifier
    assert interface.class_labels == LABELS
    assert interface.predicted_feature_name == "classLabel"
    assert interface.predicted_probabilities_name == "classLabel_probs"
    kinds = {o.name: o.kind for o in interface.outputs}
    assert kinds == {"classLabel": "string", "classLabel_probs": "dictionary"}
    assert interface.output("classLabel_probs").dictionary_key_type == "string"
    assert interface.metadata["recipe"] == "tiny-classifier"
    assert interface.short_description == "A tiny test classifier."
    assert interface.custom_layers == []


def test_reads_multiarray_interface(models) -> None:
    interface = read_model_interface(models["tokens"])
    assert not interface.is_classifier and interface.class_labels is None
    (ids,) = interface.inputs
    assert (ids.name, ids.kind, ids.shape, ids.dtype) == ("input_ids", "multiArray", [1, 12], "int32")
    (logits,) = interface.outputs
    assert (logits.name, logits.kind, logits.shape, logits.dtype) == ("logits", "multiArray", [1, 12, 5], "float32")


def test_reads_custom_layers(custom_layer_model) -> None:
    interface = read_model_interface(custom_layer_model)
    assert interface.model_type == "neuralNetwork"
    assert interface.has_custom_layers
    assert interface.custom_layers == ["CustomSquareLayer"]


def test_interface_round_trips_through_json(models) -> None:
    interface = read_model_interface(models["classifier"])
    data = json.loads(json.dumps(interface.to_dict()))
    assert data["is_classifier"] is True
    assert ModelInterface.from_dict(data) == interface


def test_missing_model_raises(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        read_model_interface(tmp_path / "Nope.mlpackage")


# ------------------------------------------------------------- wrappers


def _request(interface, kind: str, options: dict | None = None, compute_units: str = "all",
             deployment_target: str = "17", text=None, class_name: str = "TestModel") -> WrapperRequest:
    role = {"image_classifier": "image", "token_model": "model", "embedding_model": "image"}[kind]
    models = {role: ModelInput(interface, class_name)}
    if text is not None:
        models["text"] = ModelInput(text, "TextEncoder")
    return WrapperRequest(class_name=class_name, models=models, options=KINDS[kind].options(**(options or {})),
                          compute_units=compute_units, deployment_target=deployment_target)


def _generate(models, key: str, kind: str, options: dict | None = None, compute_units: str = "all",
              deployment_target: str = "17", text_key: str | None = None) -> str:
    interface = read_model_interface(models[key])
    text = read_model_interface(models[text_key]) if text_key else None
    source = generate_wrapper(kind, _request(interface, kind, options, compute_units, deployment_target, text))
    errors = swift_syntax_errors(source)
    assert errors == [], "\n".join(map(str, errors))
    _assert_no_force_unwrap(source)
    assert async_functions_that_lock(source) == []
    assert re.search(r"^public final class TestModel: ", source, re.M)
    assert "import ModelKit" in source
    # The shared runtime is ModelKit's, not a copy in every wrapper.
    # The class name, not `Self`, in the initialiser (before every stored property is set).
    assert "ModelLoader(resourceName: TestModel.modelResourceName" in source
    for copied in ("class ModelLoader", "struct Prediction", "func softmax", "func topK", "DispatchQueue"):
        assert copied not in source, copied
    assert "features.first" not in source and "dataPointer" not in source
    return source


def test_image_classifier_for_core_ml_classifier(models) -> None:
    source = _generate(models, "classifier", "image_classifier", {"crop": "center_crop"}, "cpu_and_ne")
    constants = _static_constants(source)
    assert constants["inputName"] == "image"
    assert constants["inputWidth"] == 12 and constants["inputHeight"] == 16
    assert constants["inputColorLayout"] == "BGR"
    assert constants["inputShape"] == [1, 3, 16, 12]
    assert constants["classLabels"] == LABELS
    assert constants["predictedFeatureName"] == "classLabel"
    assert constants["predictedProbabilitiesName"] == "classLabel_probs"
    assert constants["defaultComputeUnits"] == ".cpuAndNeuralEngine"
    assert constants["imageCropAndScaleOption"] == ".centerCrop"
    assert "public func classify(_ image: CGImage, topK: Int = 5) async throws -> [Prediction]" in source
    assert "_ pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation = .up, topK: Int = 5" in source
    assert "VisionResults.topClassifications(observations, k: topK)" in source
    assert "softmax" not in source
    assert "public final class TestModel: ImageClassifying {" in source


def test_image_classifier_for_logits_model(models) -> None:
    source = _generate(models, "logits", "image_classifier", {"crop": "scale_fill", "labels": LABELS})
    constants = _static_constants(source)
    interface = read_model_interface(models["logits"])
    assert constants["outputName"] == interface.outputs[0].name == "logits"
    assert constants["outputShape"] == interface.outputs[0].shape == [1, 4]
    assert constants["classLabels"] == LABELS
    assert constants["imageCropAndScaleOption"] == ".scaleFill"
    assert "return topPredictions(softmax(scores), labels: classLabels, k: topK)" in source
    assert "VisionResults.multiArray(named: outputName, in: observations)" in source


def test_logits_model_without_labels_gets_numbered_labels(models) -> None:
    source = _generate(models, "logits", "image_classifier")
    assert _static_constants(source)["classLabels"] == [f"class_{i}" for i in range(4)]


def test_label_count_must_match_scores(models) -> None:
    interface = read_model_interface(models["logits"])
    with pytest.raises(ValueError, match="3 labels for 4 scores"):
        generate_wrapper("image_classifier", _request(interface, "image_classifier", {"labels": LABELS[:3]}))


@pytest.mark.parametrize(("units", "swift"), [("all", ".all"), ("cpu_only", ".cpuOnly"), ("cpu_and_gpu", ".cpuAndGPU")])
def test_compute_units(models, units: str, swift: str) -> None:
    source = _generate(models, "tokens", "token_model", compute_units=units)
    assert _static_constants(source)["defaultComputeUnits"] == swift


def test_token_model(models) -> None:
    source = _generate(models, "tokens", "token_model")
    interface = read_model_interface(models["tokens"])
    constants = _static_constants(source)
    assert constants["inputName"] == interface.inputs[0].name
    assert constants["inputShape"] == interface.inputs[0].shape
    assert constants["sequenceLength"] == 12
    assert constants["outputName"] == interface.outputs[0].name
    assert constants["outputShape"] == interface.outputs[0].shape
    assert "public func logits(for tokenIDs: [Int32]) async throws -> MLShapedArray<Float>" in source
    assert constants["sequenceLengths"] == [12] and constants["maximumSequenceLength"] == 12
    assert constants["functionNames"] == "[nil]" and constants["padTokenID"] == 0
    assert "throw TestModelError.wrongSequenceLength(expected: Self.maximumSequenceLength, actual: tokenIDs.count)" in source
    assert constants["inputDataType"] == ".int32"
    assert "MultiArrays.array(padded, shape: shape, dataType: Self.inputDataType)" in source
    assert "try await model.predictFeatures(from: features)" in source
    assert "import Vision" not in source


def test_embedding_model(models) -> None:
    text_interface = read_model_interface(models["text_encoder"])
    source = _generate(models, "image_encoder", "embedding_model", {"crop": "center_crop"}, text_key="text_encoder")
    constants = _static_constants(source)
    image_interface = read_model_interface(models["image_encoder"])
    assert constants["inputName"] == image_interface.inputs[0].name
    assert constants["outputName"] == image_interface.outputs[0].name
    assert constants["outputShape"] == image_interface.outputs[0].shape == [1, 8]
    assert constants["embeddingDimension"] == 8
    assert constants["textModelResourceName"] == "TextEncoder"
    assert constants["textInputName"] == text_interface.inputs[0].name == "text"
    assert constants["textInputShape"] == text_interface.inputs[0].shape == [1, 20]
    assert constants["textSequenceLength"] == 20
    assert constants["textOutputName"] == text_interface.outputs[0].name == "text_embedding"
    for api in (
        "import ModelKit",
        "public func embed(image: CGImage) async throws -> [Float]",
        "public func embed(text: String) async throws -> [Float]",
        "public func classify(_ image: CGImage, topK: Int = 5) async throws -> [Prediction]",
        'public func addLabel(_ label: String, template: String = "a photo of a {}.") async throws',
        "public func embed(pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation = .up)",
        "let made = try CLIPTokenizer(",
        ".encode(text, contextLength: Self.textSequenceLength)",
        "try LabelEmbeddings(contentsOf: labelsURL ?? bundledResource(Self.labelsResource))",
        "return try labels.classify(imageEmbedding: imageEmbedding, topK: topK)",
        "public final class TestModel: ImageTextEmbedding, @unchecked Sendable {",
    ):
        assert api in source, api


def test_embedding_model_needs_text_interface(models) -> None:
    interface = read_model_interface(models["image_encoder"])
    with pytest.raises(ValueError, match=r"needs models for \['text'\]"):
        generate_wrapper("embedding_model", _request(interface, "embedding_model"))


def test_custom_layers_are_noted_and_double_inputs_work(custom_layer_model) -> None:
    interface = read_model_interface(custom_layer_model)
    assert interface.inputs[0].dtype == "float64"  # a NeuralNetwork input, used as token ids
    source = generate_wrapper("token_model", _request(interface, "token_model", deployment_target="13"))
    assert "CustomSquareLayer" in source
    assert _static_constants(source)["inputDataType"] == ".double"
    assert swift_syntax_errors(source) == []


def test_wrong_model_for_kind_raises(models) -> None:
    tokens = read_model_interface(models["tokens"])
    with pytest.raises(ValueError, match="needs an image input"):
        generate_wrapper("image_classifier", _request(tokens, "image_classifier"))
    with pytest.raises(ValueError, match="compute_units"):
        generate_wrapper("token_model", _request(tokens, "token_model", compute_units="gpu"))
    with pytest.raises(ValueError, match="Swift identifier"):
        generate_wrapper("token_model", _request(tokens, "token_model", class_name="my model"))
    with pytest.raises(ValueError, match="needs iOS 16"):
        generate_wrapper("token_model", _request(tokens, "token_model", compute_units="cpu_and_ne", deployment_target="15"))
    with pytest.raises(ValueError, match="iOS 13 or later"):
        generate_wrapper("token_model", _request(tokens, "token_model", deployment_target="12"))
    with pytest.raises(ValueError, match="is not one of"):
        generate_wrapper("text_generator", _request(tokens, "token_model"))


# ------------------------------------------------------------- helpers

_CONSTANT = re.compile(r"public static let (\w+): [^=]+ = (\[[^\]]*\]|.+)$", re.M)


def _static_constants(source: str) -> dict[str, object]:
    """``public static let`` constants; JSON-compatible literals decoded, others as source text."""
    values: dict[str, object] = {}
    for name, literal in _CONSTANT.findall(source):
        try:
            values[name] = json.loads(literal)
        except json.JSONDecodeError:
            values[name] = literal
    return values


_FORCE_UNWRAP = re.compile(r"(try!|as!|[\w)\]]!(?!=))")


def _assert_no_force_unwrap(source: str) -> None:
    code = "\n".join(line.split("//")[0] for line in source.splitlines())
    code = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', code)  # drop string literals
    match = _FORCE_UNWRAP.search(code.replace("!=", ""))
    assert match is None, match


# ------------------------------------------------------------- deployment target (review finding 3)

MODELKIT = Path(__file__).resolve().parents[2] / "ios_app" / "ModelKit" / "Sources" / "ModelKit"


@pytest.mark.parametrize("kind", ["image_classifier", "token_model", "embedding_model"])
def test_wrappers_declare_the_recipes_deployment_target(models, kind) -> None:
    key, text_key = {"image_classifier": ("logits", None), "token_model": ("tokens", None),
                     "embedding_model": ("image_encoder", "text_encoder")}[kind]
    source = _generate(models, key, kind, deployment_target="13", text_key=text_key)
    assert "@available(iOS 13.0, macOS 10.15, tvOS 13.0, *)" in source
    assert "17.0" not in source and "MLShapedArray<" not in source  # iOS 15+ type
    assert "@available(iOS 14.0, macOS 11.0, tvOS 14.0, *)" in _generate(models, key, kind, deployment_target="14",
                                                                        text_key=text_key)


def test_token_model_on_ios_13_returns_a_multi_array_and_on_ios_15_a_shaped_array(models) -> None:
    old = _generate(models, "tokens", "token_model", deployment_target="13")
    assert "public func logits(for tokenIDs: [Int32]) async throws -> MLMultiArray" in old
    new = _generate(models, "tokens", "token_model", deployment_target="15")
    assert "public func logits(for tokenIDs: [Int32]) async throws -> MLShapedArray<Float>" in new
    assert "public func logitsArray(for tokenIDs: [Int32]) async throws -> MLMultiArray" in new


def test_modelkit_runtime_works_before_ios_17() -> None:
    """The wrappers' runtime: async prediction only behind #available, the synchronous API otherwise."""
    loader = (MODELKIT / "ModelLoader.swift").read_text()
    predict = loader[loader.index("public func predictFeatures"):]
    assert "if #available(iOS 17.0, macOS 14.0, tvOS 17.0, watchOS 10.0, *) {" in predict
    assert "return try await prediction(from: input)" in predict and "return try prediction(from: input)" in predict
    load = loader[loader.index("private static func load"):]
    assert "if #available(iOS 14.0," in load and "try MLModel(contentsOf: modelURL, configuration: configuration)" in load
    arrays = (MODELKIT / "MultiArrays.swift").read_text()
    assert ".dataPointer" not in arrays and "withUnsafeMutableBufferPointer(ofType:" in arrays
    assert "if #available(iOS 15.0," in arrays  # MLShapedArray only where it exists
    package = (MODELKIT.parents[1] / "Package.swift").read_text()
    assert ".iOS(.v13)" in package


def test_score_output_is_chosen_by_name_never_by_position(models) -> None:
    interface = read_model_interface(models["logits"])
    with pytest.raises(KeyError):
        generate_wrapper("image_classifier", _request(interface, "image_classifier", {"output": "missing"}))
    vision = (MODELKIT / "VisionRunner.swift").read_text()
    lookup = vision[vision.index("public static func multiArray(named"):]
    assert "features.first(where: { $0.featureName == featureName })," in lookup
    assert "?? features.first" not in vision


def test_schema_offers_exactly_the_registered_kinds() -> None:
    schema = (Path(__file__).resolve().parents[2] / "schemas" / "recipe.schema.json").read_text()
    match = re.search(r'"wrapper": \{[^}]*"enum": (\[[^\]]*\])', schema)
    assert match and set(json.loads(match.group(1))) == set(KINDS) | {"none"}
    for name, kind in KINDS.items():
        assert kind.name == name and kind.roles and callable(kind.plan) and callable(kind.generate)
