"""Registries, coverage listing and the public API surface."""

from __future__ import annotations

import types

import numpy as np
import pytest


def test_duplicate_registration_is_an_import_error():
    from pipeline_runner.coreml_reference.ops import merge_registries

    a = types.SimpleNamespace(__name__="fam_a", REGISTRY={"relu": lambda c: None, "x": lambda c: None})
    b = types.SimpleNamespace(__name__="fam_b", REGISTRY={"relu": lambda c: None})
    with pytest.raises(ImportError, match="'relu' registered twice: in fam_a and fam_b"):
        merge_registries([a, b])


def test_every_registered_mil_op_is_a_coremltools_op():
    from pipeline_runner.coreml_reference.coverage import coverage, mil_op_types_known_to_coremltools, \
        nn_layer_types_known_to_coremltools
    from pipeline_runner.coreml_reference.nn.layers import REGISTRY as NN
    from pipeline_runner.coreml_reference.ops import REGISTRY as MIL

    assert set(MIL) <= mil_op_types_known_to_coremltools()
    assert set(NN) <= nn_layer_types_known_to_coremltools()
    cov = coverage()
    assert not set(cov["mil_supported"]) & set(cov["mil_rejected"])
    required = {"conv", "conv_transpose", "avg_pool", "max_pool", "matmul", "linear", "einsum", "batch_norm",
                "instance_norm", "layer_norm", "softmax", "gelu", "relu", "relu6", "sigmoid", "tanh", "silu",
                "sigmoid_hard", "leaky_relu", "elu", "softplus", "erf", "clip", "reduce_mean", "reduce_sum",
                "reduce_max", "reduce_min", "reduce_prod", "reduce_l2_norm", "reduce_argmax", "reshape", "transpose",
                "concat", "split", "slice_by_index", "slice_by_size", "gather", "gather_along_axis", "squeeze",
                "expand_dims", "tile", "pad", "cast", "select", "upsample_nearest_neighbor", "upsample_bilinear",
                "resize_bilinear", "scaled_dot_product_attention", "const", "identity", "shape", "fill", "range_1d",
                "band_part", "cumsum", "topk", "l2_norm", "classify"}
    assert required <= set(MIL)


def test_coverage_cli_writes_markdown(tmp_path, capsys):
    from pipeline_runner.coreml_reference.coverage import main

    out = tmp_path / "ops.md"
    assert main(["--write", str(out)]) == 0
    text = out.read_text()
    assert text == capsys.readouterr().out
    assert "| `conv` | `ops/conv.py` | supported |" in text
    assert "| `non_maximum_suppression` | | rejected |" in text
    assert "| `innerProduct` | `nn/layers_tensor.py` | supported |" in text


def test_public_api_and_trace(mil_model):
    from coremltools.converters.mil import Builder as mb

    import pipeline_runner.coreml_reference as ref

    assert set(ref.__all__) >= {"load_model", "UnsupportedOpError", "CoreMLReferenceError", "TraceEntry"}

    def make():
        @mb.program(input_specs=[mb.TensorSpec((2, 4))])
        def prog(x):
            return mb.softmax(x=mb.linear(x=x, weight=np.eye(4, dtype=np.float32)), name="y")

        return prog

    m = mil_model(make(), precision="fp16")
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    trace = m.trace({"x": x})
    assert [e.type for e in trace] == ["cast", "linear", "softmax", "cast"]
    assert [e.dtypes for e in trace] == [("fp16",), ("fp16",), ("fp16",), ("fp32",)]
    np.testing.assert_array_equal(trace[-1].outputs[0], m.predict({"x": x})["y"])
    fp32_trace = m.trace({"x": x}, fp32=True)
    assert [e.dtypes for e in fp32_trace] == [("fp32",)] * 4
