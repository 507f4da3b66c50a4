"""Shape inference and folding with the weights set aside give what they give with the weights."""

from __future__ import annotations

import numpy as np
import pytest


def _model(big: int = 300):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((big, big)).astype(np.float32), "w")  # set aside
    shape = numpy_helper.from_array(np.array([-1, big], np.int64), "shape")  # integers stay
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Shape", ["h"], ["s"]),
             helper.make_node("Reshape", ["h", "shape"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", big])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight, shape])
    return onnx.helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_shape_inference_without_the_weights_gives_what_it_gives_with_them():
    import onnx

    from pipeline_runner.onnx_weights import infer_shapes

    model = _model()
    plain = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    assert infer_shapes(model, check=True, strict_mode=True, data_prop=True) is model  # written into it
    assert model.SerializeToString() == plain.SerializeToString()
    assert len(model.graph.value_info) == 2 and model.graph.output[0].type.tensor_type.shape.dim[1].dim_value == 300


def test_a_tensor_made_from_a_weight_set_aside_is_an_error_not_a_wrong_model():
    from onnx import numpy_helper

    from pipeline_runner.onnx_weights import put_back, weights_aside

    model = _model()
    with weights_aside(model) as saved:
        assert set(saved) == {"w"}
        assert not model.graph.initializer[0].raw_data
        result = type(model)()
        result.CopyFrom(model)  # what a tool returns: the stubs with it
        derived = result.graph.initializer.add()
        derived.CopyFrom(model.graph.initializer[0])
        derived.name = "w_transposed"  # a tensor a tool computed from the stub
    with pytest.raises(RuntimeError, match="w_transposed"):
        put_back(result, saved)
    assert numpy_helper.to_array(model.graph.initializer[0]).shape == (300, 300)  # the model has its weight back


def test_folding_with_weights_aside_folds_the_same_and_restores_them():
    import onnx
    from onnx import numpy_helper

    from pipeline_runner.convert.fixed_shapes import pin_input_shapes
    from pipeline_runner.convert.fold import fold_constants

    model = pin_input_shapes(_model(), {"x": (2, 300)})
    folded, record = fold_constants(model)
    onnx.checker.check_model(folded)
    assert record["removed"] == {"Shape": 1}  # the dead Shape branch
    weights = {t.name: numpy_helper.to_array(t) for t in folded.graph.initializer}
    np.testing.assert_array_equal(weights["w"], numpy_helper.to_array(model.graph.initializer[0]))
    import onnxruntime as ort

    x = np.ones((2, 300), np.float32)
    got = ort.InferenceSession(folded.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, x @ weights["w"], rtol=1e-5, atol=1e-4)
