"""Loader behaviour: image inputs, classifier outputs, unknown ops, weight blobs, input errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
from coremltools.converters.mil import Builder as mb

from pipeline_runner.coreml_reference import InputError, UnsupportedOpError, load_model
from pipeline_runner.coreml_reference.model import read_spec


def _classifier_prog():
    @mb.program(input_specs=[mb.TensorSpec((1, 3, 4, 5))])
    def prog(x):
        return mb.softmax(x=mb.reduce_mean(x=x, axes=[2, 3]), axis=-1, name="probs")

    return prog


@pytest.mark.parametrize("convert_to", ["mlprogram", "neuralnetwork"])
def test_bgr_image_input_with_scale_bias_and_classifier_output(tmp_path, convert_to):
    import coremltools as ct

    bias = [-0.5, -0.4, -0.3]
    kwargs = {"compute_precision": ct.precision.FLOAT32} if convert_to == "mlprogram" else {}
    ml = ct.convert(_classifier_prog(), convert_to=convert_to,
                    inputs=[ct.ImageType(name="x", shape=(1, 3, 4, 5), scale=1 / 255, bias=bias,
                                         color_layout=ct.colorlayout.BGR)],
                    classifier_config=ct.ClassifierConfig(["cat", "dog", "eel"]), **kwargs)
    path = str(tmp_path / ("m.mlpackage" if convert_to == "mlprogram" else "m.mlmodel"))
    ml.save(path)
    m = load_model(path)
    img = np.random.default_rng(0).integers(0, 256, (4, 5, 3)).astype(np.uint8)
    out = m.predict({"x": img})
    # Core ML: BGR channel order, then x * scale + bias per channel (in the model's channel order)
    chw = img[..., ::-1].transpose(2, 0, 1).astype(np.float64) / 255 + np.array(bias)[:, None, None]
    logits = chw.mean(axis=(1, 2))
    probs = np.exp(logits) / np.exp(logits).sum()
    label_name, probs_name = m.spec.description.predictedFeatureName, m.spec.description.predictedProbabilitiesName
    assert out[label_name] == ["cat", "dog", "eel"][int(np.argmax(probs))]
    assert set(out[probs_name]) == {"cat", "dog", "eel"}
    np.testing.assert_allclose([out[probs_name][k] for k in ("cat", "dog", "eel")], probs, rtol=1e-5)
    # a PIL image gives the same answer
    from PIL import Image

    pil_out = m.predict({"x": Image.fromarray(img)})
    assert pil_out[probs_name] == pytest.approx(out[probs_name])


def test_grayscale_image_and_wrong_size(tmp_path):
    import coremltools as ct

    @mb.program(input_specs=[mb.TensorSpec((1, 1, 3, 3))])
    def prog(x):
        return mb.mul(x=x, y=2.0, name="y")

    ml = ct.convert(prog, convert_to="mlprogram", compute_precision=ct.precision.FLOAT32,
                    inputs=[ct.ImageType(name="x", shape=(1, 1, 3, 3), scale=0.5, color_layout=ct.colorlayout.GRAYSCALE)])
    ml.save(str(tmp_path / "g.mlpackage"))
    m = load_model(tmp_path / "g.mlpackage")
    img = np.arange(9, dtype=np.uint8).reshape(3, 3)
    np.testing.assert_allclose(m.predict({"x": img})["y"], img[None, None] * 0.5 * 2.0)
    with pytest.raises(InputError, match="expects 3x3"):
        m.predict({"x": np.zeros((4, 4), np.uint8)})


def _relu_sigmoid_package(tmp_path):
    import coremltools as ct

    @mb.program(input_specs=[mb.TensorSpec((2, 3))])
    def prog(x):
        return mb.sigmoid(x=mb.relu(x=x), name="y")

    ml = ct.convert(prog, convert_to="mlprogram", compute_precision=ct.precision.FLOAT32)
    path = str(tmp_path / "rs.mlpackage")
    ml.save(path)
    return path


def test_unknown_ops_are_all_listed_at_load_time(tmp_path):
    path = _relu_sigmoid_package(tmp_path)
    spec, _ = read_spec(path)
    spec_file = os.path.join(path, "Data", "com.apple.CoreML", "model.mlmodel")
    f = spec.mlProgram.functions["main"]
    for op in f.block_specializations[f.opset].operations:
        if op.type in ("relu", "sigmoid"):
            op.type = "fancy_" + op.type
    with open(spec_file, "wb") as fh:
        fh.write(spec.SerializeToString())
    with pytest.raises(UnsupportedOpError) as err:
        load_model(path)
    assert set(err.value.unsupported) == {"fancy_relu", "fancy_sigmoid"}
    assert "fancy_relu" in str(err.value) and "fancy_sigmoid" in str(err.value)


def test_input_errors(tmp_path):
    m = load_model(_relu_sigmoid_package(tmp_path))
    assert m.input_names == ["x"] and m.output_names == ["y"]
    with pytest.raises(InputError, match="missing input"):
        m.predict({})
    with pytest.raises(InputError, match="unknown input"):
        m.predict({"x": np.zeros((2, 3)), "z": np.zeros(1)})
    with pytest.raises(InputError, match="shape"):
        m.predict({"x": np.zeros((5, 5))})


def test_weight_blobs_match_coremltools_reader(tmp_path, rng):
    import coremltools as ct
    from coremltools.libmilstoragepython import _BlobStorageReader

    from pipeline_runner.coreml_reference.blobs import BlobFile
    from pipeline_runner.coreml_reference.program import parse_program

    w = rng.standard_normal((64, 32)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec((1, 32))])
    def prog(x):
        return mb.linear(x=x, weight=w, name="y")

    for precision in (ct.precision.FLOAT32, ct.precision.FLOAT16):
        path = str(tmp_path / f"w{precision.value}.mlpackage")
        ct.convert(prog if precision == ct.precision.FLOAT32 else _fresh_linear(w), convert_to="mlprogram",
                   compute_precision=precision).save(path)
        spec, weights_dir = read_spec(path)
        program = parse_program(spec.mlProgram, weights_dir)
        weight_op = next(op for op in program.all_ops() if op.type == "const" and op.outputs[0][1].shape == (64, 32))
        ours = weight_op.inputs["val"][0].value
        np.testing.assert_array_equal(ours.astype(np.float32), w.astype(ours.dtype).astype(np.float32))
        reader = _BlobStorageReader(os.path.join(weights_dir, "weight.bin"))
        blob = BlobFile(os.path.join(weights_dir, "weight.bin"))
        val = _find_blob_value(spec, weight_op.outputs[0][0])
        theirs = (reader.read_float_data(val.offset) if ours.dtype == np.float32
                  else reader.read_fp16_data(val.offset).view(np.float16))
        np.testing.assert_array_equal(blob.read(val.offset, ours.dtype), np.asarray(theirs).reshape(-1))


def _fresh_linear(w):
    @mb.program(input_specs=[mb.TensorSpec((1, 32))])
    def prog(x):
        return mb.linear(x=x, weight=w, name="y")

    return prog


def _find_blob_value(spec, output_name):
    f = spec.mlProgram.functions["main"]
    for op in f.block_specializations[f.opset].operations:
        if op.type == "const" and op.outputs[0].name == output_name:
            return op.attributes["val"].blobFileValue
    raise KeyError(output_name)


def test_input_shape_must_match_up_to_unit_dims(tmp_path):
    m = load_model(_relu_sigmoid_package(tmp_path))
    with pytest.raises(InputError, match="shape"):
        m.predict({"x": np.zeros((3, 2), np.float32)})  # same size, different layout

    @mb.program(input_specs=[mb.TensorSpec((1, 3))])
    def prog(x):
        return mb.relu(x=x, name="y")

    import coremltools as ct

    ct.convert(prog, convert_to="mlprogram", compute_precision=ct.precision.FLOAT32).save(str(tmp_path / "u.mlpackage"))
    out = load_model(tmp_path / "u.mlpackage").predict({"x": np.array([-1.0, 2.0, 3.0], np.float32)})
    np.testing.assert_array_equal(out["y"], [[0.0, 2.0, 3.0]])
