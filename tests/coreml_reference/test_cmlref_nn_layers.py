"""NeuralNetwork layers built directly with coremltools' NeuralNetworkBuilder, saved and run from disk."""

from __future__ import annotations

import numpy as np
import pytest


def _nn_model(tmp_path, build, in_shape=(2, 3, 4, 5), outputs=("y",)):
    import coremltools as ct
    from coremltools.models import datatypes
    from coremltools.models.neural_network import NeuralNetworkBuilder

    from pipeline_runner.coreml_reference import load_model

    builder = NeuralNetworkBuilder([("x", datatypes.Array(*in_shape))], [(o, None) for o in outputs],
                                   disable_rank5_shape_mapping=True)
    build(builder)
    path = tmp_path / "nn.mlmodel"
    ct.utils.save_spec(builder.spec, str(path))
    return load_model(path)


def test_nd_layers(tmp_path):
    def build(b):
        b.add_greater_than("gt", ["x"], "gt", alpha=0.1)
        b.add_cumsum("cumsum", ["x"], "cumsum", axis=-1, reverse=True, exclusive=True)
        b.add_tile("tile", "x", "tile", reps=[1, 2, 1, 1])
        b.add_reverse("reverse", "x", "reverse", reverse_dim=[False, True, False, True])
        b.add_constant_pad("pad", ["x"], "pad", value=2.0, pad_amounts=[1, 0, 2, 3])
        b.add_argmax("argmax", "x", "argmax", axis=-2, keepdims=False)
        b.add_upper_triangular("triu", "x", "triu", k=1)
        b.add_reduce_l2("l2", "x", "l2", axes=[1, -1], keepdims=True)
        b.add_activation("elu", "ELU", "x", "elu", params=0.5)
        b.add_activation("hsig", "SIGMOID_HARD", "x", "hsig", params=[0.2, 0.5])
        b.add_softmax_nd("softmax", "x", "softmax", axis=1)
        b.add_unary("rsqrt", "x", "rsqrt", mode="rsqrt", epsilon=4.0)
        b.add_gelu("gelu", "x", "gelu", mode="TANH_APPROXIMATION")
        b.add_slice("slice", "x", "slice", axis="height", start_index=1, end_index=-1, stride=2)
        b.add_batched_mat_mul("bmm", ["x"], "bmm", W=np.arange(30, dtype=np.float32).reshape(5, 6) / 30,
                              weight_matrix_rows=5, weight_matrix_columns=6, transpose_a=True)

    names = ["gt", "cumsum", "tile", "reverse", "pad", "argmax", "triu", "l2", "elu", "hsig", "softmax", "rsqrt", "gelu",
             "slice", "bmm"]
    m = _nn_model(tmp_path, build, outputs=names)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    out = m.predict({"x": x})
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(x)
    want = {
        "gt": (x > 0.1).astype(np.float32), "cumsum": np.flip(np.cumsum(np.flip(x, -1), -1), -1) - x,
        "tile": np.tile(x, (1, 2, 1, 1)), "reverse": x[:, ::-1, :, ::-1],
        "pad": np.pad(x, [(0, 0), (0, 0), (1, 0), (2, 3)], constant_values=2.0), "argmax": np.argmax(x, axis=2),
        "triu": np.triu(x, 1), "l2": np.sqrt((x**2).sum(axis=(1, 3), keepdims=True)), "elu": F.elu(t, 0.5).numpy(),
        "hsig": np.clip(0.2 * x + 0.5, 0, 1), "softmax": torch.softmax(t, 1).numpy(), "rsqrt": 1 / np.sqrt(x + 4.0),
        "gelu": F.gelu(t, approximate="tanh").numpy(), "slice": x[:, :, 1:-1:2],
        # with one input, transposeA is ignored (coremltools transposes with a separate layer)
        "bmm": x @ (np.arange(30, dtype=np.float32).reshape(5, 6) / 30),
    }
    for k, v in want.items():
        np.testing.assert_allclose(out[k], v, rtol=1e-5, atol=1e-5, err_msg=k)


def test_unknown_layer_type_is_named(tmp_path):
    from pipeline_runner.coreml_reference import UnsupportedOpError

    def build(b):
        b.add_activation("relu", "RELU", "x", "y")

    m = _nn_model(tmp_path, build)
    spec = m.spec
    spec.neuralNetwork.layers[0].ClearField("activation")
    spec.neuralNetwork.layers[0].randomNormalStatic.mean = 0.0  # a layer type the executor rejects
    path = tmp_path / "bad.mlmodel"
    path.write_bytes(spec.SerializeToString())
    from pipeline_runner.coreml_reference import load_model

    with pytest.raises(UnsupportedOpError, match="randomNormalStatic") as err:
        load_model(path)
    assert err.value.kind == "NeuralNetwork layer"


def test_trace_lists_every_layer(tmp_path):
    def build(b):
        b.add_activation("relu", "RELU", "x", "r")
        b.add_elementwise("add", ["r", "x"], "y", mode="ADD")

    m = _nn_model(tmp_path, build)
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype(np.float32)
    trace = m.trace({"x": x})
    assert [(e.name, e.type, e.dtypes) for e in trace] == [("relu", "activation", ("fp32",)), ("add", "add", ("fp32",))]
    np.testing.assert_allclose(trace[-1].outputs[0], np.maximum(x, 0) + x)


def test_custom_layer_callable_passes_declared_parameters_as_attributes():
    from onnx import parser

    from pipeline_runner.coreml_reference.nn.custom import layer_from_onnx_function

    fn = parser.parse_function("""
        <domain: "custom.ops", opset_import: ["" : 17]>
        Scale <alpha> (X) => (Y) {
            a = Constant <value_float: float = @alpha> ()
            Y = Mul (X, a)
        }
    """)
    layer = layer_from_onnx_function(fn)
    x = np.arange(4, dtype=np.float32)
    (y,) = layer([x], {"alpha": 2.5, "engineVersion": 3})  # parameters the function does not declare are ignored
    np.testing.assert_allclose(y, x * 2.5)
