"""Every compression kind on a tiny model: our compress_model (coremltools.optimize.coreml) → the
saved package through the reference executor, checked against coremltools' own
decompress_weights (the same model with dense weights) and against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pipeline_runner.compress.apply import CompressionSettingError, compress_model
from pipeline_runner.compress.measure import compressed_ops, weights_size
from pipeline_runner.coreml_reference import load_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A two-layer MLP in PyTorch and the same weights as an fp32 ML Program (iOS 18), saved."""
    import coremltools as ct
    import torch
    from coremltools.converters.mil import Builder as mb

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 16)).eval()
    w1, b1, w2, b2 = (p.detach().numpy() for p in net.parameters())

    @mb.program(input_specs=[mb.TensorSpec((4, 64))], opset_version=ct.target.iOS18)
    def prog(x):
        h = mb.relu(x=mb.linear(x=x, weight=w1, bias=b1, name="fc1"), name="act")
        return mb.linear(x=h, weight=w2, bias=b2, name="y")

    path = tmp_path_factory.mktemp("tiny") / "base.mlpackage"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS18,
                   compute_precision=ct.precision.FLOAT32).save(str(path))
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((4, 64)).astype(np.float32) for _ in range(4)]
    with torch.no_grad():
        expected = [net(torch.from_numpy(x)).numpy() for x in xs]
    return path, xs, expected


def _decompressed(path, out):
    import coremltools as ct
    import coremltools.optimize.coreml as cto

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cto.decompress_weights(ct.models.MLModel(str(path), skip_model_load=True)).save(str(out))
    return load_model(out)


def _cosine(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# kind -> (variant settings, constexpr op it must produce, min cosine vs PyTorch)
KINDS = {
    "int8_per_channel": ({"linear_quantize": {"mode": "linear_symmetric", "weight_threshold": 1}},
                         "constexpr_blockwise_shift_scale", 0.9999),
    "int8_per_block": ({"linear_quantize": {"mode": "linear", "granularity": "per_block", "block_size": 16,
                                            "weight_threshold": 1}}, "constexpr_blockwise_shift_scale", 0.9999),
    "int4_per_block": ({"linear_quantize": {"dtype": "int4", "granularity": "per_block", "block_size": 16,
                                            "weight_threshold": 1}}, "constexpr_blockwise_shift_scale", 0.99),
    "palettize4_kmeans": ({"palettize": {"nbits": 4, "mode": "kmeans", "weight_threshold": 1}},
                          "constexpr_lut_to_dense", 0.99),
    "palettize2_uniform": ({"palettize": {"nbits": 2, "mode": "uniform", "weight_threshold": 1}},
                           "constexpr_lut_to_dense", 0.8),
    "palettize3_grouped": ({"palettize": {"nbits": 3, "mode": "kmeans", "granularity": "per_grouped_channel",
                                          "group_size": 16, "weight_threshold": 1}}, "constexpr_lut_to_dense", 0.95),
    "palettize6": ({"palettize": {"nbits": 6, "weight_threshold": 1}}, "constexpr_lut_to_dense", 0.999),
    "palettize8": ({"palettize": {"nbits": 8, "weight_threshold": 1}}, "constexpr_lut_to_dense", 0.9999),
    "prune": ({"prune": {"target_sparsity": 0.3, "weight_threshold": 1}}, "constexpr_sparse_to_dense", 0.9),
    "prune_n_m": ({"prune": {"n_m_ratio": [1, 4], "weight_threshold": 1}}, "constexpr_sparse_to_dense", 0.9),
    "prune_palettize": ({"prune": {"target_sparsity": 0.3, "weight_threshold": 1},
                         "palettize": {"nbits": 4, "weight_threshold": 1}}, "constexpr_lut_to_sparse", 0.9),
    "prune_int8": ({"prune": {"target_sparsity": 0.3, "weight_threshold": 1},
                    "linear_quantize": {"weight_threshold": 1}}, "constexpr_sparse_blockwise_shift_scale", 0.9),
    "w8a8": ({"quantize_activations": {"mode": "linear_symmetric"}, "linear_quantize": {"weight_threshold": 1}},
             "quantize", 0.99),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_matches_decompress_weights_and_pytorch(tiny, tmp_path, kind):
    base, xs, expected = tiny
    settings, op_type, min_cosine = KINDS[kind]
    out = tmp_path / f"{kind}.mlpackage"
    calibration = [{"x": x} for x in xs] if "quantize_activations" in settings else None
    compress_model(base, out, {"name": kind, **settings}, calibration)

    ours = load_model(out)
    ops = compressed_ops(ours)
    assert op_type in ops["constexpr"], ops
    assert ops["consumers"].get("linear") == 2, ops
    theirs = _decompressed(out, tmp_path / "dense.mlpackage")
    assert not any(t.startswith("constexpr_") for t in theirs.op_types)
    for x, want in zip(xs, expected):
        got = ours.predict({"x": x})["y"]
        np.testing.assert_allclose(got, theirs.predict({"x": x})["y"], rtol=1e-5, atol=1e-5)
        assert _cosine(got, want) >= min_cosine
        if kind != "palettize8":  # 8-bit palettes of 2k-8k weights are close to lossless
            assert not np.allclose(got, want, atol=1e-6)  # compression changed something
    if "quantize_activations" not in settings:
        assert weights_size(out) < weights_size(base)


def test_op_selection_by_type_name_pattern_and_size(tiny, tmp_path):
    base, xs, _ = tiny

    def consumers(settings):
        out = tmp_path / f"sel{len(list(tmp_path.iterdir()))}.mlpackage"
        compress_model(base, out, {"name": "sel", **settings})
        return compressed_ops(load_model(out))["consumers"].get("linear", 0)

    assert consumers({"palettize": {"nbits": 4, "weight_threshold": 1}}) == 2
    assert consumers({"palettize": {"nbits": 4, "weight_threshold": 1, "op_type_configs": {"linear": None}}}) == 0
    assert consumers({"palettize": {"nbits": 4, "weight_threshold": 1, "op_name_configs": {"fc*": None}}}) == 1
    # fc1's weight has 64x128 = 8192 elements, y's 128x16 = 2048: a threshold between keeps only fc1's
    assert consumers({"palettize": {"nbits": 4, "weight_threshold": 4096}}) == 1
    # an override is merged over the section: fc1 at 8 bits, y at 2
    assert consumers({"palettize": {"nbits": 2, "weight_threshold": 1, "op_name_configs": {"fc1": {"nbits": 8}}}}) == 2


def test_a_pattern_matching_no_op_names_the_setting(tiny, tmp_path):
    base, _, _ = tiny
    with pytest.raises(CompressionSettingError, match=r"palettize.op_name_configs: 'attn\*' matches no op"):
        compress_model(base, tmp_path / "x.mlpackage",
                       {"name": "v", "palettize": {"nbits": 4, "op_name_configs": {"attn*": None}}})
