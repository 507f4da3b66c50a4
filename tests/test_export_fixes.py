"""Export of what torch.onnx cannot write as it stands: the MHA fast path, F.unfold without rank-6
tensors, F.fold at opset 18 (and the message naming export.opset below it). Each model goes
through the whole runner: ONNX Runtime and the saved Core ML model (reference executor) vs PyTorch."""

from __future__ import annotations

import onnx

from tests.conftest import read_json, stage_statuses

RECIPE = """\
name: {name}
model:
  source: python
  architecture: tests.fixtures.tiny_models:{factory}
  params: {params}
inputs:
  - name: x
    shape: {shape}
outputs:
  - name: y
export:
  opset: {opset}
convert:
  precision: fp16
validate:
  samples: 1
"""


def _run(write_recipe, run_cli, name, factory, shape, opset=17, params="{}"):
    path = write_recipe(RECIPE.format(name=name, factory=factory, shape=shape, opset=opset, params=params))
    return run_cli(path)


def _max_rank(onnx_path):
    model = onnx.shape_inference.infer_shapes(onnx.load(str(onnx_path)))
    return max(len(v.type.tensor_type.shape.dim) for v in model.graph.value_info)


def test_multihead_attention_in_eval_mode_exports_without_its_fast_path(write_recipe, run_cli, tmp_path):
    import torch

    code, out, err = _run(write_recipe, run_cli, "enc", "self_attention", [1, 5, 16])
    assert code == 0, out + err
    assert set(stage_statuses(out).values()) == {"ran"}, out
    assert torch.backends.mha.get_fastpath_enabled()  # restored after export
    ops = {n.op_type for n in onnx.load(str(tmp_path / "build" / "enc" / "onnx" / "enc.onnx")).graph.node}
    assert "MatMul" in ops and "Softmax" in ops
    assert read_json(tmp_path / "build" / "enc" / "validation.json")["passed"]


def test_unfold_exports_as_a_conv_core_ml_can_hold(write_recipe, run_cli, tmp_path):
    code, out, err = _run(write_recipe, run_cli, "unfold", "fold_unfold", [1, 3, 8, 10], params="{fold: false}")
    assert code == 0, out + err
    onnx_path = tmp_path / "build" / "unfold" / "onnx" / "unfold.onnx"
    assert {n.op_type for n in onnx.load(str(onnx_path)).graph.node} >= {"Conv", "Reshape"}
    assert _max_rank(onnx_path) <= 5  # torch's own im2col has two rank-6 Gathers
    assert read_json(tmp_path / "build" / "unfold" / "validation.json")["passed"]


def test_fold_needs_opset_18_and_says_so(write_recipe, run_cli):
    code, out, err = _run(write_recipe, run_cli, "fold17", "fold_unfold", [1, 3, 8, 10])
    assert code == 1
    assert "aten::col2im" in err and "set `export.opset: 18`" in err
    assert "Traceback" not in err


def test_fold_with_a_traced_output_size_builds_at_opset_18(write_recipe, run_cli, tmp_path):
    code, out, err = _run(write_recipe, run_cli, "fold18", "fold_unfold", [1, 3, 8, 10], opset=18)
    assert code == 0, out + err
    ops = {n.op_type for n in onnx.load(str(tmp_path / "build" / "fold18" / "onnx" / "fold18.onnx")).graph.node}
    assert "Col2Im" in ops
    report = read_json(tmp_path / "build" / "fold18" / "validation.json")
    assert report["passed"] and report["graphs"]["fold18"]["checks"]["coreml_numerics"]["ran"]


def test_a_rank_6_tensor_the_rewrite_cannot_lower_is_reported_with_its_layer_and_what_to_do(write_recipe, run_cli):
    code, out, err = _run(write_recipe, run_cli, "r6", "rank6_stuck", [1, 64])
    assert code == 1
    assert "at most 5 dimensions" in err and "rank-6" in err and "ONNX node '/Reshape" in err
    assert "could not lower it" in err and "keeps 6 axes that cannot merge" in err
    assert "model.architecture" in err and "Traceback" not in err


def test_a_rank_6_tensor_with_a_size_1_axis_is_rewritten_and_verified(write_recipe, run_cli, tmp_path):
    code, out, err = _run(write_recipe, run_cli, "r6ok", "rank6", [1, 64])
    assert code == 0, out + err
    manifest = read_json(tmp_path / "build" / "r6ok" / "manifest.json")
    record = next(r["info"]["rank_reduction"] for k, r in manifest["stages"].items() if k.startswith("convert"))
    assert record["rewritten"] == 1 and record["nodes"] == ["/Reshape"] and record["left"] == []
    report = read_json(tmp_path / "build" / "r6ok" / "validation.json")
    assert report["passed"] and report["graphs"]["r6ok"]["checks"]["coreml_numerics"]["ran"]


def test_model_code_that_fails_under_the_torchscript_trace_names_the_dynamo_exporter():
    import torch

    from pipeline_runner.export.export_errors import ExportOpError, said_in_recipe_terms

    class TensorFlag(torch.nn.Module):  # as timm's EVA under torch.jit tracing: a bool argument became a tensor
        def forward(self, x):
            return torch.nn.functional.scaled_dot_product_attention(x, x, x, is_causal=torch.tensor(False))

    import io

    try:
        with said_in_recipe_terms(17, dynamo=False):
            torch.onnx.export(TensorFlag(), (torch.randn(1, 2, 4),), io.BytesIO(), dynamo=False)
    except ExportOpError as exc:
        assert "set `export.exporter: dynamo`" in str(exc) and "TypeError" in str(exc)
    else:
        raise AssertionError("export should have failed")
    try:  # an error of our own or the recipe's, outside the trace, is left alone
        with said_in_recipe_terms(17, dynamo=False):
            raise TypeError("not from the trace")
    except TypeError:
        pass


def test_rms_norm_exports_below_opset_23(write_recipe, run_cli, tmp_path):
    code, out, err = _run(write_recipe, run_cli, "rms", "rms_norm_mlp", [2, 8])
    assert code == 0, out + err
    ops = {n.op_type for n in onnx.load(str(tmp_path / "build" / "rms" / "onnx" / "rms.onnx")).graph.node}
    assert {"ReduceMean", "Sqrt"} <= ops
    assert read_json(tmp_path / "build" / "rms" / "validation.json")["passed"]
