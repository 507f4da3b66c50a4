"""Export: one custom node per use, the function and opset import attached, checker and ORT happy."""

from __future__ import annotations

import numpy as np
import pytest


def _onnx(built, name):
    import onnx

    recipe, build_dir, report = built(name)
    assert report.ok, report.error
    return recipe, onnx.load(str(build_dir / "onnx" / f"{name}.onnx"))


def _custom_nodes(model, domain):
    return [n for n in model.graph.node if n.domain == domain]


@pytest.mark.parametrize("name, domain, op_type, uses", [
    ("square_layer", "pipeline_runner", "CustomSquare", 2),
    ("gated_layer", "pr.tests", "Gated", 2),
    ("scaled_tanh_layer", "pr.tests", "ScaledTanh", 1),
])
def test_one_custom_node_per_use_with_function_and_opset(built, name, domain, op_type, uses):
    import onnx

    _, model = _onnx(built, name)
    nodes = _custom_nodes(model, domain)
    assert [n.op_type for n in nodes] == [op_type] * uses
    assert {(f.domain, f.name) for f in model.functions} == {(domain, op_type)}
    assert {o.domain: o.version for o in model.opset_import}[domain] == 1
    function = model.functions[0]
    assert all(len(n.input) == len(function.input) for n in nodes)
    onnx.checker.check_model(model, full_check=True)


def test_two_input_op_gets_two_distinct_inputs(built):
    _, model = _onnx(built, "gated_layer")
    for node in _custom_nodes(model, "pr.tests"):
        assert len(set(node.input)) == 2


def test_torch_argument_becomes_float_attribute(built):
    import onnx

    _, model = _onnx(built, "scaled_tanh_layer")
    (node,) = _custom_nodes(model, "pr.tests")
    (attr,) = node.attribute
    assert attr.name == "alpha" and attr.type == onnx.AttributeProto.FLOAT
    assert attr.f == pytest.approx(0.75)


def test_recipe_attribute_is_set_on_the_node(built):
    import onnx

    _, model = _onnx(built, "half_tanh_inline")
    (node,) = _custom_nodes(model, "pr.tests")
    assert [(a.name, a.type, round(a.f, 6)) for a in node.attribute] == [("alpha", onnx.AttributeProto.FLOAT, 0.5)]


def test_custom_node_outputs_are_typed(built):
    _, model = _onnx(built, "square_layer")
    infos = {v.name: v for v in [*model.graph.value_info, *model.graph.output]}
    for node in _custom_nodes(model, "pipeline_runner"):
        dims = [d.dim_value for d in infos[node.output[0]].type.tensor_type.shape.dim]
        assert dims == [1, 8, 64]


@pytest.mark.parametrize("name", ["square_layer", "gated_layer", "scaled_tanh_layer", "half_tanh_inline"])
def test_onnx_runtime_matches_pytorch(built, name):
    import onnxruntime as ort
    import torch

    from pipeline_runner.models.instantiate import load_built_model
    from pipeline_runner.stages.build import WEIGHTS

    recipe, build_dir, report = built(name)
    assert report.ok, report.error
    model = load_built_model(recipe, build_dir / WEIGHTS)
    session = ort.InferenceSession(str(build_dir / "onnx" / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    ids = np.random.default_rng(1).integers(0, 50, size=(1, 8)).astype(np.int32)
    (got,) = session.run(None, {"input_ids": ids})
    with torch.no_grad():
        want = model(torch.from_numpy(ids)).numpy()
    assert got.shape == (1, 8, 50)
    assert np.abs(got - want).max() < 1e-4


def test_symbolics_are_unregistered_after_export(built):
    from torch.onnx._internal.torchscript_exporter import registration

    built("square_layer")
    assert not registration.registry.is_registered_op("pipeline_runner::custom_square", 17)
