"""Each of our lowerings: ONNX Runtime vs the saved Core ML model (reference executor), fp32 and fp16."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.convert.conftest import assert_close, onnx_model

PRECISIONS = ["fp32", "fp16"]


def _info(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_range_with_bounds_computed_at_run_time(ort_vs_coreml, precision):
    # limit = sum of an input (known only at run time); out = Range(2, limit, 3) * 0.5
    nodes = [
        helper.make_node("ReduceSum", ["n", "axes"], ["limit"], keepdims=0),
        helper.make_node("Range", ["start", "limit", "step"], ["r"]),
        helper.make_node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["rf", "half"], ["y"]),
    ]
    inits = [numpy_helper.from_array(np.array([0], np.int64), "axes"),
             numpy_helper.from_array(np.array(2, np.int32), "start"),
             numpy_helper.from_array(np.array(3, np.int32), "step"),
             numpy_helper.from_array(np.array(0.5, np.float32), "half")]
    model = onnx_model(nodes, [_info("n", TensorProto.INT32, [2])], [_info("y", TensorProto.FLOAT, ["n_out"])], inits)
    for n in ([5, 9], [1, 2]):
        feeds = {"n": np.array(n, np.int32)}
        expected, actual = ort_vs_coreml(model, feeds, precision)
        assert expected["y"].size > 0
        assert_close(expected["y"], actual["y"], precision)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_range_float_bounds_from_an_input(ort_vs_coreml, precision):
    nodes = [helper.make_node("ReduceMax", ["x"], ["limit"], keepdims=0),
             helper.make_node("Range", ["start", "limit", "step"], ["y"])]
    inits = [numpy_helper.from_array(np.array(-1.0, np.float32), "start"),
             numpy_helper.from_array(np.array(0.75, np.float32), "step")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, [3])], [_info("y", TensorProto.FLOAT, ["n_out"])], inits)
    expected, actual = ort_vs_coreml(model, {"x": np.array([0.5, 4.0, 2.0], np.float32)}, precision)
    assert_close(expected["y"], actual["y"], precision)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("exclusive,reverse", [(0, 0), (1, 1)])
def test_cumsum(ort_vs_coreml, precision, exclusive, reverse):
    nodes = [helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)]
    inits = [numpy_helper.from_array(np.array(1, np.int64), "axis")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, [2, 5, 3])], [_info("y", TensorProto.FLOAT, [2, 5, 3])],
                       inits)
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    expected, actual = ort_vs_coreml(model, {"x": x}, precision)
    assert_close(expected["y"], actual["y"], precision)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_cumsum_on_a_mask_gives_positions(ort_vs_coreml, precision):
    # The position-id pattern (RoBERTa, EdgeNeXt-style): cumsum of an int mask along the last axis.
    nodes = [helper.make_node("CumSum", ["m", "axis"], ["c"]),
             helper.make_node("Mul", ["c", "m"], ["y"])]
    inits = [numpy_helper.from_array(np.array(-1, np.int32), "axis")]
    model = onnx_model(nodes, [_info("m", TensorProto.INT32, [1, 6])], [_info("y", TensorProto.INT32, [1, 6])], inits)
    expected, actual = ort_vs_coreml(model, {"m": np.array([[1, 1, 0, 1, 1, 0]], np.int32)}, precision)
    assert_close(expected["y"], actual["y"], precision)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_gather_on_a_bool_mask(ort_vs_coreml, precision):
    nodes = [helper.make_node("Greater", ["x", "zero"], ["mask"]),
             helper.make_node("Gather", ["mask", "idx"], ["picked"], axis=1),
             helper.make_node("Where", ["picked", "x2", "neg"], ["y"])]
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
             numpy_helper.from_array(np.array([[3, 0], [1, 1]], np.int64), "idx"),
             numpy_helper.from_array(np.array(-1.0, np.float32), "neg")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, [2, 4]), _info("x2", TensorProto.FLOAT, [2, 2, 2, 1])],
                       [_info("y", TensorProto.FLOAT, [2, 2, 2, 2])], inits)
    rng = np.random.default_rng(1)
    feeds = {"x": rng.standard_normal((2, 4)).astype(np.float32),
             "x2": rng.standard_normal((2, 2, 2, 1)).astype(np.float32)}
    expected, actual = ort_vs_coreml(model, feeds, precision)
    assert_close(expected["y"], actual["y"], precision)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("computed_branch", [False, True])
def test_where_whose_condition_is_wider_than_its_branches(ort_vs_coreml, precision, computed_branch):
    # Transformers' attention mask: Where(mask[1,1,T,T], 0, -big) -> [1,1,T,T]
    a = "a_run" if computed_branch else "a"
    nodes = [helper.make_node("Greater", ["x", "zero"], ["cond"])]
    if computed_branch:
        nodes.append(helper.make_node("ReduceMean", ["x"], ["a_run"], keepdims=0))
    nodes.append(helper.make_node("Where", ["cond", a, "b"], ["y"]))
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
             numpy_helper.from_array(np.array(0.0, np.float32), "a"),
             numpy_helper.from_array(np.array(-1000.0, np.float32), "b")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, [1, 1, 4, 4])], [_info("y", TensorProto.FLOAT, [1, 1, 4, 4])],
                       inits)
    feeds = {"x": np.random.default_rng(2).standard_normal((1, 1, 4, 4)).astype(np.float32)}
    expected, actual = ort_vs_coreml(model, feeds, precision)
    assert_close(expected["y"], actual["y"], precision)


def test_builtin_lowerings_only_for_ops_onnx2coreml_lacks():
    from onnx2coreml._lowering import resolve

    from pipeline_runner.convert.lowerings import BUILTIN, EXTENDING

    assert BUILTIN and all(resolve(key) is None for key in BUILTIN)
    assert EXTENDING and all(resolve(key) is not None for key in EXTENDING)


EINSUMS = {
    "bhqd,bhkd->bhqk": [(2, 3, 4, 5), (2, 3, 6, 5)],   # attention scores
    "bhwc,hkc->bhwk": [(2, 3, 4, 5), (3, 6, 5)],       # SAM's relative positions
    "bij,bjk->bik": [(2, 3, 4), (2, 4, 5)],
    "ij,j->i": [(3, 4), (4,)],
    "bcd->bdc": [(2, 3, 4)],
    "abc->ac": [(2, 3, 4)],
    "ab,cb->ac": [(3, 5), (4, 5)],
}


# fp32 for every form; fp16 for the two attention forms (the lowering does not depend on precision).
EINSUM_CASES = [(e, "fp32") for e in sorted(EINSUMS)] + [("bhqd,bhkd->bhqk", "fp16"), ("bhwc,hkc->bhwk", "fp16")]


@pytest.mark.parametrize("equation,precision", EINSUM_CASES)
def test_einsum(ort_vs_coreml, precision, equation):
    shapes = EINSUMS[equation]
    names = [f"x{i}" for i in range(len(shapes))]
    out_shape = list(np.einsum(equation, *[np.zeros(s) for s in shapes]).shape)
    model = onnx_model([helper.make_node("Einsum", names, ["y"], equation=equation)],
                       [_info(n, TensorProto.FLOAT, list(s)) for n, s in zip(names, shapes)],
                       [_info("y", TensorProto.FLOAT, out_shape)], opset=17)
    rng = np.random.default_rng(3)
    feeds = {n: rng.standard_normal(s).astype(np.float32) for n, s in zip(names, shapes)}
    expected, actual = ort_vs_coreml(model, feeds, precision)
    assert_close(expected["y"], actual["y"], precision)


COL2IMS = {  # image, block, attributes: PyTorch's F.fold cases (VOLO's outlook attention is the second)
    "plain": ([5, 6], [2, 3], {}),
    "stride_and_pads": ([7, 7], [3, 3], {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    "dilated_uncovered_edge": ([8, 9], [2, 2], {"dilations": [2, 1], "strides": [3, 2]}),
}


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("case", sorted(COL2IMS))
def test_col2im(ort_vs_coreml, precision, case):
    image, block, attrs = COL2IMS[case]
    nd, channels = len(block), 3
    dil, st, pads = attrs.get("dilations", [1] * nd), attrs.get("strides", [1] * nd), attrs.get("pads", [0] * 2 * nd)
    grid = [(image[i] + pads[i] + pads[i + nd] - dil[i] * (block[i] - 1) - 1) // st[i] + 1 for i in range(nd)]
    shape = [1, channels * int(np.prod(block)), int(np.prod(grid))]
    nodes = [helper.make_node("Col2Im", ["x", "image", "block"], ["y"], **attrs)]
    inits = [numpy_helper.from_array(np.array(image, np.int64), "image"),
             numpy_helper.from_array(np.array(block, np.int64), "block")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, shape)],
                       [_info("y", TensorProto.FLOAT, [1, channels, *image])], inits, opset=18)
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    expected, actual = ort_vs_coreml(model, {"x": x}, precision)
    assert_close(expected["y"], actual["y"], precision)


CUBIC = {  # (input shape, scales or None, sizes or None, attributes): torch's bicubic interpolate exports
    "pytorch_half_pixel_up_by_sizes": ((1, 2, 5, 6), None, [1, 2, 8, 9],
                                       {"coordinate_transformation_mode": "pytorch_half_pixel",
                                        "cubic_coeff_a": -0.75}),
    "half_pixel_down_by_scales": ((1, 3, 8, 8), [1, 1, 0.5, 0.75], None, {}),
    "align_corners_exclude_outside": ((2, 1, 4, 7), None, [2, 1, 6, 3],
                                      {"coordinate_transformation_mode": "align_corners", "exclude_outside": 1}),
}


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("case", sorted(CUBIC))
def test_resize_cubic(ort_vs_coreml, precision, case):
    shape, scales, sizes, attrs = CUBIC[case]
    inits = [numpy_helper.from_array(np.array(scales, np.float32), "scales")] if scales else \
        [numpy_helper.from_array(np.array(sizes, np.int64), "sizes")]
    inputs = ["x", "", "scales"] if scales else ["x", "", "", "sizes"]
    out = sizes or [int(np.floor(d * s)) for d, s in zip(shape, scales)]
    nodes = [helper.make_node("Resize", inputs, ["y"], mode="cubic", **attrs)]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, list(shape))], [_info("y", TensorProto.FLOAT, out)],
                       inits)
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    expected, actual = ort_vs_coreml(model, {"x": x}, precision)
    assert_close(expected["y"], actual["y"], precision)


def test_resize_other_modes_still_go_to_onnx2coreml(ort_vs_coreml):
    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")]
    inits = [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, [1, 1, 3, 3])], [_info("y", TensorProto.FLOAT, [1, 1, 6, 6])],
                       inits)
    x = np.random.default_rng(5).standard_normal((1, 1, 3, 3)).astype(np.float32)
    expected, actual = ort_vs_coreml(model, {"x": x}, "fp32")
    assert_close(expected["y"], actual["y"], "fp32")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("pads", [[0, 0, 1, -1, 0, 0, -1, 1], [0, 0, -1, -2, 0, 0, 0, -1]])
def test_pad_with_negative_pads_crops(ort_vs_coreml, precision, pads):
    # NASNet: ZeroPad2d((0, 1, 0, 1)) then x[:, :, 1:, 1:] -> one Pad with mixed signs
    shape = [1, 2, 5, 6]
    out = [d + pads[i] + pads[i + 4] for i, d in enumerate(shape)]
    nodes = [helper.make_node("Pad", ["x", "pads"], ["y"], mode="constant")]
    inits = [numpy_helper.from_array(np.array(pads, np.int64), "pads")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, shape)], [_info("y", TensorProto.FLOAT, out)], inits)
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    expected, actual = ort_vs_coreml(model, {"x": x}, precision)
    assert_close(expected["y"], actual["y"], precision)
