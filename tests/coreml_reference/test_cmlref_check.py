"""check_coreml: passes good conversions, fails broken ones, and tells why (each diagnosis
triggered by a model built for it)."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
import torch

from pipeline_runner.validate.coreml_check import check_coreml

from pipeline_runner.recipe.schema import load_schema
from pipeline_runner.validate.report import dumps
from tests.fixtures.tiny_models import huge_logits, tiny_logits

FP16_TOL = {"max_abs": 5e-2, "min_cosine": 0.999, "top1_agreement": 0.99}
FP32_TOL = {"max_abs": 1e-4, "min_cosine": 0.99999, "top1_agreement": 1.0}
KINDS = {"logits": "logits"}
_TOLERANCES = load_schema()["$defs"]["validate"]["properties"]["tolerances"]["properties"]
DEFAULT = {p: _TOLERANCES[f"coreml_{p}"]["default"] for p in ("fp16", "fp32")}


def _export_and_convert(model, shape, d, precision, n=2, **convert_kwargs):
    import onnx2coreml

    torch.manual_seed(0)
    xs = [torch.randn(shape, generator=torch.Generator().manual_seed(i)) for i in range(n)]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = [{"logits": model(x).numpy()} for x in xs]
        torch.onnx.export(model, (xs[0],), str(d / "m.onnx"), dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["logits"])
        path = str(d / f"m_{precision}.mlpackage")
        onnx2coreml.convert(str(d / "m.onnx"), compute_precision=precision, **convert_kwargs).save(path)
    return path, [{"x": x.numpy()} for x in xs], expected


def _vit():
    import timm

    torch.manual_seed(0)
    return timm.models.VisionTransformer(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4,
                                         num_classes=10).eval()


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_good_conversion_passes(tmp_path, precision):
    path, samples, expected = _export_and_convert(_vit(), (1, 3, 32, 32), tmp_path, precision)
    report = check_coreml(path, samples, expected, FP32_TOL if precision == "fp32" else FP16_TOL, kinds=KINDS)
    json.loads(dumps(report))
    assert report["where"] == "linux-reference"
    assert report["passed"], report
    assert report["compute_precision"] == precision
    assert report["diagnosis"] is None and report["failures"] == []
    out = report["outputs"]["logits"]
    assert out["passed"] and out["finite"] and out["top1_agreement"] == 1.0
    assert out["reasons"] == [] and 0 < out["input_dependence"] and out["error_to_spread"] < 0.1
    assert report["runtime_check"]["ran"] is False and "reason" in report["runtime_check"]


def _transpose_first_linear_weight(path):
    """Corrupt a saved package: the first linear's [10, 64] weight stored transposed (same bytes count)."""
    from pipeline_runner.coreml_reference.model import read_spec

    spec, weights_dir = read_spec(path)
    f = spec.mlProgram.functions["main"]
    ops = f.block_specializations[f.opset].operations
    linear = next(op for op in ops if op.type == "linear")
    weight_name = linear.inputs["weight"].arguments[0].name
    blob = next(op for op in ops if op.outputs[0].name == weight_name).attributes["val"].blobFileValue
    weight_file = os.path.join(weights_dir, "weight.bin")
    with open(weight_file, "r+b") as fh:
        fh.seek(blob.offset + 4)
        dtype = np.float16 if int(np.frombuffer(fh.read(4), np.uint32)[0]) == 1 else np.float32
        fh.seek(blob.offset + 16)
        data_offset = int(np.frombuffer(fh.read(8), np.uint64)[0])
        fh.seek(data_offset)
        w = np.frombuffer(fh.read(10 * 64 * np.dtype(dtype).itemsize), dtype).reshape(10, 64)
        fh.seek(data_offset)
        fh.write(np.ascontiguousarray(w.reshape(64, 10).T).tobytes())  # same bytes, transposed layout


def test_transposed_weight_in_saved_model_fails(tmp_path):
    path, samples, expected = _export_and_convert(_vit(), (1, 3, 32, 32), tmp_path, "fp32")
    _transpose_first_linear_weight(path)
    report = check_coreml(path, samples, expected, FP32_TOL)
    assert not report["passed"]
    assert not report["outputs"]["logits"]["passed"]
    assert report["diagnosis"]["category"] == "conversion"
    json.loads(dumps(report))


def test_wrong_fp16_conversion_is_called_wrong_not_fp16(tmp_path):
    model = _vit()
    path, samples, expected = _export_and_convert(model, (1, 3, 32, 32), tmp_path, "fp16")
    assert check_coreml(path, samples, expected, FP16_TOL)["passed"]
    _transpose_first_linear_weight(path)
    report = check_coreml(path, samples, expected, FP16_TOL,
                          fp16_weights_expected=lambda: _rounded_weights_outputs(model, samples))
    assert not report["passed"]
    diag = report["diagnosis"]
    assert diag["category"] == "conversion", diag
    assert diag["evidence"]["fp32_replay_passed"] is False
    assert diag["evidence"]["pytorch_with_fp16_weights_matches_fp32_replay"] is False


class _Overflow(torch.nn.Module):
    """Squares of ~x*300 exceed the fp16 range (65504) though the final output is small."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(16, 16)

    def forward(self, x):
        h = self.proj(x) * 300.0
        energy = (h * h).mean(-1, keepdim=True)
        return h / torch.sqrt(energy)


def test_fp16_overflow_inside_is_range_and_verified_fp32_op_types_fix_it(tmp_path):
    torch.manual_seed(0)
    model = _Overflow().eval()
    path, samples, expected = _export_and_convert(model, (1, 16), tmp_path, "fp16")
    report = check_coreml(path, samples, expected, FP16_TOL)
    assert not report["passed"]
    diag = report["diagnosis"]
    assert diag["category"] == "fp16_range" and diag["evidence"]["fp32_replay_passed"] is True
    assert "overflow" in diag["evidence"]["out_of_range_ops"][0]["problem"]
    first = diag["suggestions"][0]
    assert first["change"] == "convert.precision: fp32" and first["verified"] is True
    ops = [s for s in diag["suggestions"] if s["change"].startswith("convert.fp32_op_types")]
    assert ops and ops[0]["verified"], diag["suggestions"]
    json.loads(dumps(report))

    # The verified suggestion really fixes the converted model.
    keep = ops[0]["change"].split("[", 1)[1].rstrip("]").split(", ")
    (tmp_path / "fixed").mkdir()
    fixed_path, _, _ = _export_and_convert(model, (1, 16), tmp_path / "fixed", "fp16", fp32_op_types=set(keep))
    fixed = check_coreml(fixed_path, samples, expected, FP16_TOL)
    assert fixed["compute_precision"] == "mixed"
    assert fixed["passed"], fixed


def test_runtime_check_on_macos_compares_reference_with_runtime(tmp_path, monkeypatch):
    import coremltools as ct

    import pipeline_runner.validate.coreml_check as cc

    path, samples, expected = _export_and_convert(_vit(), (1, 3, 32, 32), tmp_path, "fp32")

    class FakeRuntime:  # stands in for the Core ML runtime that only exists on macOS
        def __init__(self, p):
            self.p = p

        def predict(self, sample):
            from pipeline_runner.coreml_reference import load_model

            return {k: v + 1e-3 for k, v in load_model(self.p).predict(sample).items()}

    monkeypatch.setattr(cc.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(ct.models, "MLModel", FakeRuntime)
    report = check_coreml(path, samples, expected, FP32_TOL)
    rt = report["runtime_check"]
    assert rt["ran"] is True
    assert rt["reference_vs_runtime"]["logits"]["max_abs_error"] == pytest.approx(1e-3, rel=1e-2)


class _Cancellation(torch.nn.Module):
    """(0.01 x + 100) - 100: fp16 has a spacing of 0.0625 near 100, so the small term is lost."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(16, 16)

    def forward(self, x):
        return (self.proj(x) * 0.01 + 100.0) - 100.0


def test_fp16_precision_loss_is_rounding_not_conversion(tmp_path):
    torch.manual_seed(0)
    path, samples, expected = _export_and_convert(_Cancellation().eval(), (1, 16), tmp_path, "fp16")
    report = check_coreml(path, samples, expected, {"max_abs": 1e-3, "min_cosine": 0.999})
    assert not report["passed"]
    diag = report["diagnosis"]
    assert diag["category"] == "fp16_rounding", diag
    assert diag["evidence"]["first_divergence"]["op_type"] in ("add", "sub")
    assert any(s["change"] == "convert.precision: fp32" and s["verified"] for s in diag["suggestions"])


def test_mobileone_style_huge_logits_pass_fp32_and_fp16_is_range_with_precision_first(tmp_path):
    """Logits ~1e12: fp32 passes the default tolerances (scale-aware); fp16 overflows and the
    first suggestion is `precision: fp32`, verified by replaying the program in fp32."""
    torch.manual_seed(0)
    model = huge_logits().eval()
    path, samples, expected = _export_and_convert(model, (1, 3, 16, 16), tmp_path, "fp32", n=3)
    assert float(np.max(np.abs(expected[0]["logits"]))) > 1e10
    fp32 = check_coreml(path, samples, expected, DEFAULT["fp32"], kinds=KINDS)
    assert fp32["passed"], fp32["failures"]
    assert fp32["outputs"]["logits"]["max_abs_error"] > 1e-3  # an absolute bound would have failed it

    (tmp_path / "h").mkdir()
    path16, _, _ = _export_and_convert(model, (1, 3, 16, 16), tmp_path / "h", "fp16", n=3)
    fp16 = check_coreml(path16, samples, expected, DEFAULT["fp16"], kinds=KINDS,
                        fp16_weights_expected=lambda: _rounded_weights_outputs(model, samples))
    assert not fp16["passed"]
    diag = fp16["diagnosis"]
    assert diag["category"] == "fp16_range", diag
    assert diag["suggestions"][0] == {**diag["suggestions"][0], "change": "convert.precision: fp32", "verified": True}
    assert "conversion is wrong" not in json.dumps(fp16)
    text = dumps(fp16)  # strict JSON: the inf errors are spelled out
    assert "Infinity" in text and json.loads(text)


def test_logits_below_fp16_range_get_precision_fp32_first(tmp_path):
    """Logits ~1e-9 underflow fp16 (Core ML returns zeros): same first suggestion."""
    torch.manual_seed(0)
    model = tiny_logits().eval()
    path, samples, expected = _export_and_convert(model, (1, 16), tmp_path, "fp16", n=3)
    report = check_coreml(path, samples, expected, DEFAULT["fp16"], kinds=KINDS,
                          fp16_weights_expected=lambda: _rounded_weights_outputs(model, samples))
    assert not report["passed"]
    diag = report["diagnosis"]
    assert diag["category"] == "fp16_range", diag
    assert any("underflow" in o["problem"] for o in diag["evidence"]["out_of_range_ops"])
    first = diag["suggestions"][0]
    assert first["change"] == "convert.precision: fp32" and first["verified"] is True
    (tmp_path / "f").mkdir()
    path32, _, _ = _export_and_convert(model, (1, 16), tmp_path / "f", "fp32", n=3)
    assert check_coreml(path32, samples, expected, DEFAULT["fp32"], kinds=KINDS)["passed"]


class _NearlyCancellingWeights(torch.nn.Module):
    """Two linears whose weights differ by ~1e-4: fp16 weights (spacing ~1e-3 near 1) lose the
    difference, while every activation stays well inside fp16's range."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(16, 8, bias=False)
        self.b = torch.nn.Linear(16, 8, bias=False)
        with torch.no_grad():
            self.a.weight.fill_(1.0)
            self.b.weight.copy_(1.0 + 1e-4 * torch.randn(8, 16))

    def forward(self, x):
        return self.b(x) - self.a(x)


def test_fp16_weight_rounding_is_told_apart(tmp_path):
    torch.manual_seed(0)
    model = _NearlyCancellingWeights().eval()
    path, samples, expected = _export_and_convert(model, (1, 16), tmp_path, "fp16", n=3)
    report = check_coreml(path, samples, expected, DEFAULT["fp16"],
                          fp16_weights_expected=lambda: _rounded_weights_outputs(model, samples))
    assert not report["passed"]
    diag = report["diagnosis"]
    assert diag["category"] == "fp16_weights", diag
    assert diag["evidence"]["pytorch_with_fp16_weights_matches_fp32_replay"] is True
    assert diag["suggestions"][0]["change"] == "convert.precision: fp32"


def _rounded_weights_outputs(model, samples):
    from pipeline_runner.samples import Sample
    from pipeline_runner.validate.onnx_check import fp16_weights_outputs

    from pipeline_runner.recipe.typed import GraphSpec, InputSpec, OutputSpec

    graph = GraphSpec("g", "forward", {}, (InputSpec("x", (1, 16), "float32", {}),), (OutputSpec("logits", "logits"),))
    return fp16_weights_outputs(model, graph, [Sample({"x": s["x"]}, {}) for s in samples])
