"""The rank rewrite (convert/reduce_rank.py): rank-6 subgraphs become rank <= 5 ones that compute the same.

Each tiny model is exported by torch, rewritten, and run three ways: ONNX Runtime before and after
the rewrite (the same numbers), and the saved Core ML model (reference executor) vs PyTorch, fp32 and fp16.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.convert.conftest import assert_close, onnx_model

PRECISIONS = ["fp32", "fp16"]


def _torch_models():
    import torch
    from torch import nn

    class WindowPartition(nn.Module):
        """Swin/Twins/NesT: (B, H, W, C) → windows (view to rank 6, permute, reshape), attention-like mixing
        inside each window, and back."""

        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(4, 4)

        def forward(self, x):                                          # (2, 8, 8, 4)
            w = x.view(2, 2, 4, 2, 4, 4).permute(0, 1, 3, 2, 4, 5)     # (2, 2, 2, 4, 4, 4)
            w = self.proj(w.reshape(8, 16, 4)).softmax(dim=1)
            return w.view(2, 2, 2, 4, 4, 4).permute(0, 1, 3, 2, 4, 5).reshape(2, 8, 8, 4)

    class MultiHeadSplit(nn.Module):
        """Hiera's mask-unit attention: qkv to (B, tokens, windows, 3, heads, dim), permuted so no two
        axes stay side by side, then split into q, k, v."""

        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(8, 3 * 2 * 4)

        def forward(self, x):                                          # (2, 16, 8)
            qkv = self.qkv(x).reshape(2, 4, 4, 3, 2, 4).permute(3, 0, 4, 2, 1, 5)   # (3, B, heads, win, tok, dim)
            q, k, v = qkv.unbind(0)
            attn = (q @ k.transpose(-1, -2)).softmax(dim=-1)
            return (attn @ v).amax(dim=3)                              # (B, heads, win, dim)

    class BroadcastBias(nn.Module):
        """MViTv2's relative positions: a rank-6 score tensor plus biases broadcast along one axis each."""

        def forward(self, x, z):                                       # (2, 3, 80), (2, 3, 4, 5, 2)
            s = x.view(2, 3, 4, 5, 2, 2)
            s = s + z.unsqueeze(-1) + z.unsqueeze(-2) * 0.5
            return s.softmax(dim=-1).reshape(2, 3, 80)

    torch.manual_seed(0)
    return {
        "window_partition": (WindowPartition().eval(), [(2, 8, 8, 4)]),
        "multi_head_split": (MultiHeadSplit().eval(), [(2, 16, 8)]),
        "broadcast_bias": (BroadcastBias().eval(), [(2, 3, 80), (2, 3, 4, 5, 2)]),
    }


def _export(module, shapes):
    import onnx
    import torch

    names = [f"x{i}" for i in range(len(shapes))]
    args = tuple(torch.randn(*s) for s in shapes)
    buffer = io.BytesIO()
    torch.onnx.export(module, args, buffer, input_names=names, output_names=["y"], opset_version=17, dynamo=False)
    return onnx.load_from_string(buffer.getvalue()), names


def _max_rank(model):
    import onnx

    model = onnx.shape_inference.infer_shapes(model)
    return max(len(v.type.tensor_type.shape.dim) for v in (*model.graph.value_info, *model.graph.output))


def _ort(model, feeds):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("name", ["window_partition", "multi_head_split", "broadcast_bias"])
def test_torch_rank_6_patterns_convert_and_compute_what_pytorch_computes(ort_vs_coreml, name, precision):
    import torch

    from pipeline_runner.convert.reduce_rank import reduce_rank

    module, shapes = _torch_models()[name]
    model, names = _export(module, shapes)
    assert _max_rank(model) == 6
    rewritten, record = reduce_rank(model)
    assert record["rewritten"] >= 1 and record["left"] == [], record
    assert _max_rank(rewritten) <= 5
    rng = np.random.default_rng(5)
    feeds = {n: rng.standard_normal(s).astype(np.float32) for n, s in zip(names, shapes)}
    np.testing.assert_array_equal(_ort(rewritten, feeds), _ort(model, feeds))  # data movement only: exact
    with torch.no_grad():
        expected = module(*(torch.from_numpy(feeds[n]) for n in names)).numpy()
    _, actual = ort_vs_coreml(rewritten, feeds, precision)
    assert_close(expected, actual["y"], precision)


def _info(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_adaptive_pooling_grid_gather_nd(ort_vs_coreml, precision):
    # The dynamo exporter's adaptive_avg_pool2d with an output size that does not divide the input
    # (timm's VGG head, CSATv2): GatherND of a grid into rank 6, moved to the front, averaged.
    rng = np.random.default_rng(6)
    grid = rng.integers(0, 4, size=(3, 2, 3, 2, 2)).astype(np.int64)
    nodes = [helper.make_node("GatherND", ["x", "grid"], ["g"]),                       # (3, 2, 3, 2, 1, 6)
             helper.make_node("Transpose", ["g"], ["t"], perm=[4, 5, 0, 1, 2, 3]),      # (1, 6, 3, 2, 3, 2)
             helper.make_node("Mul", ["t", "scale"], ["s"]),
             helper.make_node("Gather", ["s", "one"], ["picked"], axis=3),              # (1, 6, 3, 3, 2)
             helper.make_node("ReduceMean", ["s", "axes"], ["mean"], keepdims=0)]       # (1, 6, 3, 3)
    inits = [numpy_helper.from_array(grid, "grid"), numpy_helper.from_array(np.array([3, 5], np.int64), "axes"),
             numpy_helper.from_array(rng.standard_normal((1, 1, 1, 2, 1, 2)).astype(np.float32), "scale"),
             numpy_helper.from_array(np.array(1, np.int64), "one")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, [4, 4, 1, 6])],
                       [_info("picked", TensorProto.FLOAT, [1, 6, 3, 3, 2]), _info("mean", TensorProto.FLOAT, [1, 6, 3, 3])],
                       inits, opset=18)
    from pipeline_runner.convert.reduce_rank import reduce_rank

    rewritten, record = reduce_rank(model)
    assert record["rewritten"] == 1 and _max_rank(rewritten) <= 5
    feeds = {"x": rng.standard_normal((4, 4, 1, 6)).astype(np.float32)}
    expected, actual = ort_vs_coreml(rewritten, feeds, precision)
    for name in ("picked", "mean"):
        np.testing.assert_array_equal(expected[name], _ort_named(model, feeds, name))
        assert_close(expected[name], actual[name], precision)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_a_permutation_of_six_axes_none_of_which_merge(ort_vs_coreml, precision):
    # Hiera's unroll: (4, 4, 2, 4, 2, 6) permuted [0, 2, 4, 1, 3, 5] keeps six axes even merged;
    # it becomes transposes that each move one axis.
    nodes = [helper.make_node("Reshape", ["x", "six"], ["r"]),
             helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 4, 1, 3, 5]),
             helper.make_node("Reshape", ["t", "back"], ["y"])]
    inits = [numpy_helper.from_array(np.array([4, 4, 2, 4, 2, 6], np.int64), "six"),
             numpy_helper.from_array(np.array([32, 48], np.int64), "back")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, [32, 48])], [_info("y", TensorProto.FLOAT, [32, 48])], inits)
    from pipeline_runner.convert.reduce_rank import reduce_rank

    rewritten, record = reduce_rank(model)
    assert record["rewritten"] == 1 and _max_rank(rewritten) <= 5
    assert sum(n.op_type == "Transpose" for n in rewritten.graph.node) == 2
    feeds = {"x": np.random.default_rng(7).standard_normal((32, 48)).astype(np.float32)}
    expected, actual = ort_vs_coreml(rewritten, feeds, precision)
    np.testing.assert_array_equal(expected["y"], _ort(model, feeds))
    assert_close(expected["y"], actual["y"], precision)


def _ort_named(model, feeds, name):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run([name], feeds)[0]


def test_a_graph_without_rank_6_tensors_is_left_as_it_is():
    from pipeline_runner.convert.reduce_rank import reduce_rank

    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]),
             helper.make_node("Transpose", ["r"], ["y"], perm=[0, 2, 1, 3, 4])]
    inits = [numpy_helper.from_array(np.array([1, 2, 3, 4, 5], np.int64), "shape")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, [6, 20])], [_info("y", TensorProto.FLOAT, [1, 3, 2, 4, 5])],
                       inits)
    before = model.SerializeToString()
    rewritten, record = reduce_rank(model)
    assert record == {"rewritten": 0, "nodes": [], "left": []}
    assert rewritten.SerializeToString() == before


def test_a_region_that_keeps_six_axes_is_left_with_the_reason():
    from pipeline_runner.convert.reduce_rank import reduce_rank

    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]),
             helper.make_node("ReduceSum", ["r", "axes"], ["y"], keepdims=0)]
    inits = [numpy_helper.from_array(np.array([2] * 6, np.int64), "shape"),
             numpy_helper.from_array(np.array([0, 2, 4], np.int64), "axes")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, [64])], [_info("y", TensorProto.FLOAT, [2, 2, 2])], inits)
    before = model.SerializeToString()
    rewritten, record = reduce_rank(model)
    assert record["rewritten"] == 0 and "keeps 6 axes that cannot merge" in record["left"][0]["reason"]
    assert rewritten.SerializeToString() == before


def test_an_op_without_a_rank_rule_leaves_its_region(ort_vs_coreml):
    from pipeline_runner.convert.reduce_rank import reduce_rank

    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]),
             helper.make_node("LpNormalization", ["r"], ["n"], axis=-1),
             helper.make_node("Reshape", ["n", "back"], ["y"])]
    inits = [numpy_helper.from_array(np.array([1, 2, 1, 2, 2, 4], np.int64), "shape"),
             numpy_helper.from_array(np.array([4, 8], np.int64), "back")]
    model = onnx_model(nodes, [_info("x", TensorProto.FLOAT, [4, 8])], [_info("y", TensorProto.FLOAT, [4, 8])], inits)
    rewritten, record = reduce_rank(model)
    assert record["rewritten"] == 0 and "LpNormalization" in record["left"][0]["reason"]
    assert rewritten is model
