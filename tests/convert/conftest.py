"""Convert one hand-made ONNX model with our lowerings, save it, run it: ONNX Runtime vs the saved Core ML model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest


def onnx_model(nodes, inputs, outputs, initializers=(), opset: int = 17):
    from onnx import checker, helper

    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    checker.check_model(model, full_check=True)
    return model


@pytest.fixture
def ort_vs_coreml(tmp_path):
    """ort_vs_coreml(model, feeds, precision) -> (onnxruntime outputs, Core ML reference outputs), by output name."""
    import coremltools as ct
    import onnxruntime as ort
    from onnx2coreml import Converter

    from pipeline_runner.convert import lowerings
    from pipeline_runner.coreml_reference import load_model

    counter = iter(range(1000))

    def run(model, feeds: dict, precision: str = "fp32", recipe_lowerings: dict | None = None):
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        expected = dict(zip([o.name for o in model.graph.output], session.run(None, feeds)))
        converter = Converter()
        for key, fn in lowerings.lowerings_for(model, recipe_lowerings or {}).items():
            converter.register(key)(fn)
        prec = ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32
        program = converter.to_mil(model, target=ct.target.iOS17, precision=prec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlmodel = ct.convert(program, convert_to="mlprogram", compute_precision=prec,
                                 minimum_deployment_target=ct.target.iOS17)
        path = tmp_path / f"m{next(counter)}.mlpackage"
        mlmodel.save(str(path))
        actual = load_model(path).predict(feeds)
        return expected, actual

    return run


def assert_close(expected, actual, precision: str):
    expected, actual = np.asarray(expected), np.asarray(actual)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual.astype(expected.dtype), expected)
    else:
        tol = 1e-5 if precision == "fp32" else 2e-2
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * max(1.0, float(np.abs(expected).max())))
