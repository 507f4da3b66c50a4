"""Compressed weights (constexpr_* ops): our decompression must match coremltools' decompress_weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from coremltools.converters.mil import Builder as mb

from pipeline_runner.coreml_reference import load_model


def _compress(kind, mlmodel):
    import coremltools.optimize.coreml as cto

    if kind == "palettize":
        op_config = cto.OpPalettizerConfig(nbits=4, mode="uniform", weight_threshold=1)
        return cto.palettize_weights(mlmodel, cto.OptimizationConfig(global_config=op_config))
    op_config = cto.OpLinearQuantizerConfig(mode="linear_symmetric", weight_threshold=1)
    return cto.linear_quantize_weights(mlmodel, cto.OptimizationConfig(global_config=op_config))


@pytest.mark.parametrize("target", ["iOS16", "iOS18"])
@pytest.mark.parametrize("kind", ["palettize", "quantize"])
def test_compressed_weights_match_coremltools_decompression(tmp_path, target, kind):
    import coremltools as ct
    import coremltools.optimize.coreml as cto

    tgt = getattr(ct.target, target)
    w = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec((2, 32))], opset_version=tgt)
    def prog(x):
        return mb.linear(x=x, weight=w, name="y")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=tgt,
                           compute_precision=ct.precision.FLOAT32)
        compressed = _compress(kind, dense)
        compressed.save(str(tmp_path / "c.mlpackage"))
        cto.decompress_weights(compressed).save(str(tmp_path / "d.mlpackage"))
    ours = load_model(tmp_path / "c.mlpackage")
    assert any(t.startswith("constexpr_") for t in ours.op_types)
    theirs = load_model(tmp_path / "d.mlpackage")
    assert not any(t.startswith("constexpr_") for t in theirs.op_types)
    x = np.random.default_rng(1).standard_normal((2, 32)).astype(np.float32)
    np.testing.assert_allclose(ours.predict({"x": x})["y"], theirs.predict({"x": x})["y"], rtol=1e-5, atol=1e-5)
