"""The validate stage end to end: scale-aware default tolerances, discrimination figures,
diagnoses in validation.json (strict JSON), and BatchNorm re-estimation for random weights."""

from __future__ import annotations

import json

import pytest

HUGE = """\
name: huge
model:
  source: python
  architecture: tests.fixtures.tiny_models:huge_logits
inputs:
  - name: x
    shape: [1, 3, 16, 16]
outputs:
  - name: logits
    kind: logits
convert:
  precision: {precision}
"""

BN = """\
name: bn
model:
  source: python
  architecture: tests.fixtures.tiny_models:bn_convnet
{extra}
inputs:
  - name: image
    shape: [1, 3, 16, 16]
    image: {{mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}}
outputs:
  - name: logits
    kind: logits
convert:
  precision: fp32
"""


def _strict(path):
    return json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c} in {path}"))


def test_huge_logits_pass_in_fp32_with_default_tolerances(write_recipe, run_cli, tmp_path):
    code, out, err = run_cli(write_recipe(HUGE.format(precision="fp32")))
    assert code == 0, out + err
    summary = _strict(tmp_path / "build" / "huge" / "validation.json")
    report = summary["graphs"]["huge"]
    assert report["passed"]
    onnx, coreml = report["checks"]["onnx_vs_pytorch"], report["checks"]["coreml_numerics"]
    for check in (onnx, coreml):  # one report shape for every comparison
        assert {"ran", "where", "tolerance", "outputs", "passed", "failures", "warnings"} <= set(check)
        assert {"reasons", "warnings", "rel_max_error", "input_dependence", "error_to_spread"} <= set(check["outputs"]["logits"])
    assert coreml["outputs"]["logits"]["reference_scale"] > 1e10
    assert coreml["outputs"]["logits"]["max_abs_error"] > 1e-3  # the old absolute bound would fail this
    assert report["discrimination"]["input_dependence"] > 1e-3
    assert report["discrimination"]["coreml_error_to_spread"] < 0.02


def test_huge_logits_fp16_is_an_fp16_range_problem_with_precision_fp32_first(write_recipe, run_cli, tmp_path):
    code, out, err = run_cli(write_recipe(HUGE.format(precision="fp16")))
    assert code == 1, out + err
    report = _strict(tmp_path / "build" / "huge" / "validation" / "huge.json")
    assert report["checks"]["onnx_vs_pytorch"]["passed"]
    diag = report["checks"]["coreml_numerics"]["diagnosis"]
    assert diag["category"] == "fp16_range"
    assert diag["suggestions"][0]["change"] == "convert.precision: fp32" and diag["suggestions"][0]["verified"]
    assert "conversion is wrong" not in json.dumps(report)
    assert any("fp16_range" in f and "convert.precision: fp32" in f for f in report["failures"])


@pytest.mark.parametrize("enabled", [True, False])
def test_random_batchnorm_statistics_are_re_estimated(write_recipe, run_cli, tmp_path, enabled):
    import coremltools as ct
    from safetensors.torch import load_file

    extra = "" if enabled else "  norm_calibration: {enabled: false}"
    code, out, err = run_cli(write_recipe(BN.format(extra=extra)))
    assert code == 0, out + err
    build = tmp_path / "build" / "bn"
    info = json.loads((build / "manifest.json").read_text())["stages"]["build"]["info"]
    state = load_file(str(build / "weights" / "model.safetensors"))
    meta = ct.utils.load_spec(str(build / "coreml" / "bn.mlpackage")).description.metadata.userDefined
    if enabled:
        assert info["norm_statistics"]["calibrated"] and info["norm_statistics"]["layers"] == 2
        assert float(state["1.running_var"].min()) != 1.0 and float(state["1.running_mean"].abs().max()) > 0
        assert "re-estimated" in meta["pipeline_runner.norm_statistics"]
    else:
        assert info["norm_statistics"] is None
        assert float(state["1.running_mean"].abs().max()) == 0.0
        assert "pipeline_runner.norm_statistics" not in meta


@pytest.mark.parametrize("noise,category", [(7.5e-5, "ill_conditioned"), (1e-8, "conversion")])
def test_a_failing_fp32_replay_is_blamed_on_conditioning_only_when_fp32_rounding_explains_it(noise, category):
    # Inception v3 with random weights: the fp32 replay fails, PyTorch with fp16-rounded weights does not
    # match it either, and PyTorch's own fp32 result differs from fp64 by 7.5e-5 of the scale.
    import numpy as np

    from pipeline_runner.validate.diagnose import diagnose

    expected = [{"y": np.linspace(-1, 1, 10).astype(np.float32)}]

    class Replayed:
        compute_precision = "fp16"

        def predict(self, sample, fp32=False, fp32_ops=None):
            return {"y": expected[0]["y"] + 0.2}

        def trace(self, sample, fp32=False, fp32_ops=None):
            return []

    found = diagnose(Replayed(), [{}], [{"y": expected[0]["y"] + 0.3}], expected, {"max_rel": 0.05},
                     fp16_weights_expected=lambda: [{"y": expected[0]["y"] - 0.2}], rounding_error=lambda: noise)
    assert found["category"] == category, found
    assert found["evidence"]["pytorch_fp32_vs_fp64"] == noise
    if category == "ill_conditioned":
        assert "model.checkpoint" in found["summary"] and "convert.precision: fp32" in found["summary"]


def test_a_well_conditioned_model_rounds_like_fp32():
    import numpy as np
    import torch

    from pipeline_runner.validate.conditioning import explains, fp32_rounding_error
    from tests.fixtures.tiny_models import cancellation, tiny_mlp

    class Sample:
        def __init__(self, x):
            self.tensors = {"x": x}

    class Graph:
        inputs = [type("I", (), {"name": "x"})()]

    torch.manual_seed(0)
    samples = [Sample(np.random.default_rng(i).standard_normal((1, 16)).astype(np.float32)) for i in range(2)]
    healthy = fp32_rounding_error(tiny_mlp(in_features=16).eval(), Graph, samples)
    ill = fp32_rounding_error(cancellation().eval(), Graph, samples)
    assert healthy < 1e-6 < ill
    assert not explains(healthy, 0.05, fp16=True) and explains(ill, 0.05, fp16=True)


ILL = """\
name: ill
model:
  source: python
  architecture: tests.fixtures.tiny_models:cancellation
  params: {{features: 64, out_features: 8}}
inputs:
  - name: x
    shape: [1, 64]
outputs:
  - name: y
convert:
  precision: fp32
{extra}
"""


@pytest.mark.parametrize("factor", [None, 0])
def test_an_ill_conditioned_model_is_judged_against_its_own_fp32_rounding_noise(write_recipe, run_cli, tmp_path,
                                                                                factor):
    # ONNX Runtime sums in another order than PyTorch; on this model that alone moves the output by
    # ~2e-3 of its scale, 20x the default max_rel: the model's conditioning, not a wrong conversion.
    extra = "" if factor is None else f"validate: {{fp32_noise_factor: {factor}}}"
    code, out, err = run_cli(write_recipe(ILL.format(extra=extra)))
    report = _strict(tmp_path / "build" / "ill" / "validation" / "ill.json")
    onnx = report["checks"]["onnx_vs_pytorch"]
    if factor is None:  # the default: max_rel raised to 4x the measured noise, and said so
        assert code == 0, out + err
        floor = onnx["noise_floor"]
        assert floor["factor"] == 4 and floor["configured_max_rel"] == 1e-4
        assert floor["pytorch_fp32_vs_fp64"] > 1e-4 and floor["max_rel"] == pytest.approx(4 * floor["pytorch_fp32_vs_fp64"])
        assert onnx["tolerance"]["max_rel"] == floor["max_rel"]
        assert 1e-4 < onnx["outputs"]["y"]["rel_max_error"] <= floor["max_rel"]
        assert any("max_rel raised" in w and "fp32_noise_factor: 0" in w for w in report["warnings"])
        assert "max_rel raised" in out + err
    else:  # turned off: the failure says why and what to set
        assert code == 1, out + err
        assert "noise_floor" not in onnx
        assert any("amplifies rounding" in f and "validate.fp32_noise_factor" in f for f in onnx["failures"])


def test_the_noise_floor_does_not_excuse_an_error_above_it():
    import numpy as np

    from pipeline_runner.validate.conditioning import noise_floored
    from pipeline_runner.validate.gates import compare_outputs

    expected = [{"y": np.linspace(-1, 1, 10)}, {"y": np.linspace(1, -1, 10)}]
    tolerance = {"max_rel": 1e-4}

    def check(error):
        actual = [{"y": e["y"] + error} for e in expected]
        return noise_floored(lambda t: compare_outputs(actual, expected, t, label="L", where="w"),
                             tolerance, lambda: 1e-4, 4, "L")

    assert check(3e-4)["passed"] and check(3e-4)["noise_floor"]["max_rel"] == pytest.approx(4e-4)
    wrong = check(1e-2)  # 25x the noise: not the model's conditioning
    assert not wrong["passed"] and any("does not explain it" in f for f in wrong["failures"])
    healthy = noise_floored(lambda t: compare_outputs(expected, expected, t, label="L", where="w"),
                            tolerance, lambda: pytest.fail("measured although the check passed"), 4, "L")
    assert healthy["passed"] and "noise_floor" not in healthy
