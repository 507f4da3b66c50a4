"""The one gate: scale-aware bounds, the discrimination figures, and strict JSON reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline_runner.validate.gates import compare_outputs
from pipeline_runner.validate.report import dumps

FP32 = {"max_rel": 1e-3, "min_cosine": 0.9999, "top1_agreement": 1.0, "max_error_to_spread": 0.02}


def _rows(arr):
    return [{"y": a} for a in arr]


@pytest.mark.parametrize("scale", [1e-9, 1.0, 1e15])
def test_a_healthy_fp32_result_passes_at_any_scale(scale):
    rng = np.random.default_rng(0)
    want = rng.standard_normal((3, 1, 10)) * scale
    got = want * (1 + 1e-6 * rng.standard_normal(want.shape))
    report = compare_outputs(_rows(got), _rows(want), FP32, {"y": "logits"}, label="X vs PyTorch", where="here")
    assert report["passed"], report["failures"]
    out = report["outputs"]["y"]
    assert out["rel_max_error"] < 1e-5 and out["input_dependence"] > 0.5 and out["error_to_spread"] < 1e-5


def test_a_converter_that_ignores_its_input_fails_even_when_close():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((1, 10))
    want = np.stack([base + 1e-5 * rng.standard_normal((1, 10)) for _ in range(3)])  # barely input-dependent
    got = np.stack([base] * 3)  # the same output whatever the input
    report = compare_outputs(_rows(got), _rows(want), FP32, label="X vs PyTorch", where="here")
    out = report["outputs"]["y"]
    assert out["rel_max_error"] < 1e-3 and out["cosine_similarity"] > 0.9999  # scale-relative bounds pass...
    assert not report["passed"] and out["error_to_spread"] > 0.5  # ...the discrimination bound does not
    assert any("does not tell inputs apart" in r and "barely depend" in r for r in out["reasons"])
    assert any("weak discrimination" in w and "model.norm_calibration" in w for w in out["warnings"])


def test_weak_discrimination_with_a_tiny_error_passes_with_a_warning():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((1, 10))
    want = np.stack([base + 1e-5 * rng.standard_normal((1, 10)) for _ in range(3)])
    report = compare_outputs(_rows(want + 1e-9), _rows(want), FP32, label="X vs PyTorch", where="here")
    assert report["passed"]
    assert report["warnings"] and "proves little" in report["warnings"][0]


def test_non_finite_results_fail_and_the_report_is_strict_json():
    want = np.ones((2, 1, 4))
    got = want.copy()
    got[0, 0, 0] = np.inf
    report = compare_outputs(_rows(got), _rows(want), FP32, label="X vs PyTorch", where="here")
    assert not report["passed"] and "non-finite" in report["outputs"]["y"]["reasons"][0]
    text = dumps(report)
    assert '"Infinity"' in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c}"))


def test_an_all_zero_reference_output_is_said_to_prove_nothing():
    import numpy as np

    from pipeline_runner.validate.gates import compare_outputs

    zeros = [{"y": np.zeros(4)}, {"y": np.zeros(4)}]
    report = compare_outputs(zeros, zeros, {"max_rel": 1e-3}, label="L", where="w")
    assert report["passed"]  # nothing to disagree about, so no failure ...
    assert any("all zeros" in w and "proves nothing" in w for w in report["warnings"])  # ... but said
    busy = [{"y": np.arange(4.0)}, {"y": np.arange(4.0) + 1}]
    assert not any("all zeros" in w for w in compare_outputs(busy, busy, {}, label="L", where="w")["warnings"])
