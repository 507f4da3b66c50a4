"""Compressed weights (constexpr_* ops): our decompression must match coremltools' decompress_weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from coremltools.converters.mil import Builder as mb

from pipeline_runner.coreml_reference import load_model


def _compress(kind, mlmodel):
    import coremltools.optimize.coreml as cto

    def cfg(op_config):
        return cto.OptimizationConfig(global_config=op_config)

    palettize = cfg(cto.OpPalettizerConfig(nbits=4, mode="uniform", weight_threshold=1))
    quantize = cfg(cto.OpLinearQuantizerConfig(mode="linear_symmetric", weight_threshold=1))
    prune = cfg(cto.OpMagnitudePrunerConfig(target_sparsity=0.5, weight_threshold=1))
    if kind == "palettize":
        return cto.palettize_weights(mlmodel, palettize)
    if kind == "palettize_grouped":
        return cto.palettize_weights(mlmodel, cfg(cto.OpPalettizerConfig(
            nbits=3, mode="kmeans", granularity="per_grouped_channel", group_size=16, weight_threshold=1)))
    if kind == "quantize_block":
        return cto.linear_quantize_weights(mlmodel, cfg(cto.OpLinearQuantizerConfig(
            mode="linear", granularity="per_block", block_size=8, weight_threshold=1)))
    if kind == "prune":
        return cto.prune_weights(mlmodel, prune)
    if kind == "prune_palettize":
        return cto.palettize_weights(cto.prune_weights(mlmodel, prune), palettize, joint_compression=True)
    if kind == "prune_quantize":
        return cto.linear_quantize_weights(cto.prune_weights(mlmodel, prune), quantize, joint_compression=True)
    return cto.linear_quantize_weights(mlmodel, quantize)


@pytest.mark.parametrize("target,kind", [
    *[(t, k) for t in ("iOS16", "iOS18") for k in ("palettize", "quantize", "prune")],
    *[("iOS18", k) for k in ("palettize_grouped", "quantize_block", "prune_palettize", "prune_quantize")],
])
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
