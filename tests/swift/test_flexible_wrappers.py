"""Swift wrappers for several input shapes: multifunction token models, batched image calls."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_runner.swift.spec_reader import read_model_interface
from pipeline_runner.swift.syntax import swift_syntax_errors
from pipeline_runner.swift.wrappers import generate_wrapper
from tests.swift.test_wrappers import _assert_no_force_unwrap, _request, _static_constants, models  # noqa: F401  fixture

ct = pytest.importorskip("coremltools")


def _token_program(length: int):
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, length), dtype=types.int32)], opset_version=ct.target.iOS18)
    def prog(input_ids):
        ids = mb.expand_dims(x=mb.cast(x=input_ids, dtype="fp32"), axes=[-1])
        return mb.mul(x=ids, y=np.arange(5, dtype=np.float32).reshape(1, 1, 5), name="logits")

    return prog


@pytest.fixture(scope="module")
def multifunction_tokens(tmp_path_factory):
    root = tmp_path_factory.mktemp("multifunction")
    desc = ct.utils.MultiFunctionDescriptor()
    for length in (8, 4, 16):
        path = root / f"t{length}.mlpackage"
        ct.convert(_token_program(length), convert_to="mlprogram", minimum_deployment_target=ct.target.iOS18).save(str(path))
        desc.add_function(str(path), src_function_name="main", target_function_name=f"input_ids_1x{length}")
    desc.default_function_name = "input_ids_1x16"
    out = root / "Tokens.mlpackage"
    ct.utils.save_multifunction(desc, str(out))
    return out


def _text_program(batch: int):
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    @mb.program(input_specs=[mb.TensorSpec(shape=(batch, 20), dtype=types.int32)], opset_version=ct.target.iOS18)
    def prog(text):
        pooled = mb.reduce_mean(x=mb.cast(x=text, dtype="fp32"), axes=[1], keep_dims=True)
        return mb.mul(x=pooled, y=np.ones((1, 8), dtype=np.float32), name="text_embedding")

    return prog


@pytest.fixture(scope="module")
def batched_text_encoder(tmp_path_factory):
    root = tmp_path_factory.mktemp("batched_text")
    desc = ct.utils.MultiFunctionDescriptor()
    for batch in (1, 4):
        path = root / f"b{batch}.mlpackage"
        ct.convert(_text_program(batch), convert_to="mlprogram", minimum_deployment_target=ct.target.iOS18).save(str(path))
        desc.add_function(str(path), src_function_name="main", target_function_name=f"text_{batch}x20")
    desc.default_function_name = "text_1x20"
    out = root / "TextEncoder.mlpackage"
    ct.utils.save_multifunction(desc, str(out))
    return out


def _checked(source: str) -> str:
    assert swift_syntax_errors(source) == []
    _assert_no_force_unwrap(source)
    return source


def test_spec_reader_lists_functions_default_first(multifunction_tokens) -> None:
    interface = read_model_interface(multifunction_tokens)
    assert interface.default_function == "input_ids_1x16"
    assert list(interface.function_shapes)[0] == "input_ids_1x16"
    assert interface.function_shapes["input_ids_1x4"] == {"input_ids": [1, 4]}
    assert interface.inputs[0].shape == [1, 16]  # the default function's interface


def test_token_model_takes_every_function_length(multifunction_tokens) -> None:
    interface = read_model_interface(multifunction_tokens)
    source = _checked(generate_wrapper("token_model", _request(interface, "token_model", class_name="FlexLM")))
    constants = _static_constants(source)
    assert constants["sequenceLengths"] == [4, 8, 16]
    assert constants["functionNames"] == ["input_ids_1x4", "input_ids_1x8", "input_ids_1x16"]
    assert constants["maximumSequenceLength"] == 16
    # the shortest length that fits, padded only to it; one loader per function
    assert "Self.sequenceLengths.firstIndex(where: { $0 >= tokenIDs.count })" in source
    assert "Array(repeating: Self.padTokenID, count: length - tokenIDs.count)" in source
    assert "try await loaders[index].model()" in source
    assert "ModelLoader(resourceName: FlexLM.modelResourceName, url: modelURL, computeUnits: computeUnits, functionName: $0)" in source
    assert "@available(iOS 18.0, macOS 15.0" in source and "@available(iOS 17.0" not in source
    assert "a 3-token\n/// input runs at 4 tokens, not 16" in source.replace("    ", "")


def test_token_model_on_enumerated_neuralnetwork_shapes(models) -> None:
    interface = read_model_interface(models["tokens"])
    token = interface.inputs[0]
    token.enumerated_shapes = [[1, 12], [1, 6], [2, 6]]  # [2, 6]: another batch, not a length
    source = _checked(generate_wrapper("token_model", _request(interface, "token_model", class_name="NNLM")))
    constants = _static_constants(source)
    assert constants["sequenceLengths"] == [6, 12]
    assert constants["functionNames"] == "[nil, nil]"
    assert "@available(iOS 17.0, macOS 14.0" in source  # no multifunction: the recipe's target


@pytest.mark.parametrize("key", ["classifier", "logits"])
def test_image_classifier_batches_pictures(models, key) -> None:
    interface = read_model_interface(models[key])
    options = {"crop": "center_crop"} if key == "classifier" else {"crop": "center_crop", "labels": None}
    source = _checked(generate_wrapper("image_classifier", _request(interface, "image_classifier", options,
                                                                    class_name="Photos")))
    assert "public func classify(_ images: [CGImage], topK: Int = 5) async throws -> [[Prediction]]" in source
    # the batch runs through ModelKit's predictions(fromBatch:) runner, scaled as Vision scales one picture
    assert "BatchPredictions.imageInputs(\n            images, for: model, inputName: Self.inputName, cropAndScale: Self.imageCropAndScaleOption)" in source
    assert "try await BatchPredictions.run(model, inputs)" in source
    assert "private static func predictions(from features: MLFeatureProvider, topK: Int)" in source


def test_embedding_model_batches_images_and_texts(models) -> None:
    interface = read_model_interface(models["image_encoder"])
    request = _request(interface, "embedding_model", {"crop": "center_crop"},
                       text=read_model_interface(models["text_encoder"]), class_name="Clip")
    source = _checked(generate_wrapper("embedding_model", request))
    assert "public func embed(images: [CGImage]) async throws -> [[Float]]" in source
    assert "public func embed(texts: [String]) async throws -> [[Float]]" in source
    assert "public func addLabels(_ labels: [String], template: String" in source
    assert source.count("try await BatchPredictions.run(model, inputs)") == 2  # images and texts, one runner
    constants = _static_constants(source)
    assert constants["textBatchSizes"] == [1] and constants["textFunctionNames"] == "[nil]"
    assert "let embeddings = try await embed(texts: [text])" in source  # one text is a batch of one


def test_embedding_model_uses_the_text_encoders_batch_functions(models, batched_text_encoder) -> None:
    interface = read_model_interface(models["image_encoder"])
    request = _request(interface, "embedding_model", {"crop": "center_crop"},
                       text=read_model_interface(batched_text_encoder), class_name="Clip")
    source = _checked(generate_wrapper("embedding_model", request))
    constants = _static_constants(source)
    assert constants["textBatchSizes"] == [1, 4]
    assert constants["textFunctionNames"] == ["text_1x20", "text_4x20"]
    assert "MultiArrays.array(batch.flatMap { $0 }, shape: shape, dataType: Self.textInputDataType)" in source
    assert "functionName: $0)" in source and "@available(iOS 18.0" in source
