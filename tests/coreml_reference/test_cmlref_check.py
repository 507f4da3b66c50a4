"""check_coreml: passes good conversions, fails broken ones, and localises fp16 trouble."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
import torch

from pipeline_runner.validate.coreml_check import check_coreml

FP16_TOL = {"max_abs": 5e-2, "min_cosine": 0.999, "top1_agreement": 0.99}
FP32_TOL = {"max_abs": 1e-4, "min_cosine": 0.99999, "top1_agreement": 1.0}


def _export_and_convert(model, shape, d, precision, **convert_kwargs):
    import onnx2coreml

    torch.manual_seed(0)
    xs = [torch.randn(shape, generator=torch.Generator().manual_seed(i)) for i in range(2)]
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
    report = check_coreml(path, samples, expected, FP32_TOL if precision == "fp32" else FP16_TOL)
    json.dumps(report)
    assert report["where"] == "linux-reference"
    assert report["passed"], report
    assert report["compute_precision"] == precision
    out = report["outputs"]["logits"]
    assert out["passed"] and out["finite"] and out["top1_agreement"] == 1.0
    assert report["runtime_check"]["ran"] is False and "reason" in report["runtime_check"]


def test_transposed_weight_in_saved_model_fails(tmp_path):
    from pipeline_runner.coreml_reference.model import read_spec

    path, samples, expected = _export_and_convert(_vit(), (1, 3, 32, 32), tmp_path, "fp32")
    spec, weights_dir = read_spec(path)
    f = spec.mlProgram.functions["main"]
    ops = f.block_specializations[f.opset].operations
    linear = next(op for op in ops if op.type == "linear")
    weight_name = linear.inputs["weight"].arguments[0].name
    blob = next(op for op in ops if op.outputs[0].name == weight_name).attributes["val"].blobFileValue
    weight_file = os.path.join(weights_dir, "weight.bin")
    with open(weight_file, "r+b") as fh:
        fh.seek(blob.offset + 16)
        data_offset = int(np.frombuffer(fh.read(8), np.uint64)[0])
        fh.seek(data_offset)
        w = np.frombuffer(fh.read(10 * 64 * 4), np.float32).reshape(10, 64)
        fh.seek(data_offset)
        fh.write(np.ascontiguousarray(w.reshape(64, 10).T).tobytes())  # same bytes, transposed layout
    report = check_coreml(path, samples, expected, FP32_TOL)
    assert not report["passed"]
    assert not report["outputs"]["logits"]["passed"]
    assert "conversion" in report["diagnosis"]
    json.dumps(report)


class _Overflow(torch.nn.Module):
    """Squares of ~x*300 exceed the fp16 range (65504) though the final output is small."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(16, 16)

    def forward(self, x):
        h = self.proj(x) * 300.0
        energy = (h * h).mean(-1, keepdim=True)
        return h / torch.sqrt(energy)


def test_fp16_overflow_is_localised_and_fp32_op_types_fix_it(tmp_path):
    torch.manual_seed(0)
    model = _Overflow().eval()
    path, samples, expected = _export_and_convert(model, (1, 16), tmp_path, "fp16")
    report = check_coreml(path, samples, expected, FP16_TOL)
    assert not report["passed"]
    assert report["fp32_run_passed"] is True
    div = report["divergence"]
    assert div is not None and "overflow" in div["reason"]
    assert f"convert.fp32_op_types: [{div['op_type']}]" in div["suggestion"]
    json.dumps(report)

    keep = {div["op_type"], "reduce_mean", "real_div", "sqrt", "rsqrt"}
    (tmp_path / "fixed").mkdir()
    fixed_path, _, _ = _export_and_convert(model, (1, 16), tmp_path / "fixed", "fp16", fp32_op_types=keep)
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


def test_fp16_precision_loss_is_localised(tmp_path):
    torch.manual_seed(0)
    path, samples, expected = _export_and_convert(_Cancellation().eval(), (1, 16), tmp_path, "fp16")
    report = check_coreml(path, samples, expected, {"max_abs": 1e-3, "min_cosine": 0.999})
    assert not report["passed"] and report["fp32_run_passed"]
    div = report["divergence"]
    assert div["crossed_threshold"] and "differs from fp32" in div["reason"]
    assert div["op_type"] in ("add", "sub")
    assert f"convert.fp32_op_types: [{div['op_type']}]" in report["diagnosis"]
