"""Model-level: tiny PyTorch models -> ONNX -> onnx2coreml (fp32/fp16, ML Program and NeuralNetwork),
saved, run by the reference executor from disk, compared with PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from pipeline_runner.coreml_reference import UnsupportedOpError, load_model
from pipeline_runner.validate.metrics import compare_arrays


class _Block(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(d, 2 * d), torch.nn.GELU(), torch.nn.Linear(2 * d, d))

    def forward(self, x, mask):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-1, -2)) * (d // self.h) ** -0.5 + mask
        x = x + self.proj((a.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class TinyLM(torch.nn.Module):
    """Token ids -> logits; causal mask as an additive buffer."""

    def __init__(self, vocab=50, d=32, heads=2, layers=2, seq=8):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Parameter(torch.randn(1, seq, d) * 0.02)
        self.blocks = torch.nn.ModuleList([_Block(d, heads) for _ in range(layers)])
        self.ln, self.head = torch.nn.LayerNorm(d), torch.nn.Linear(d, vocab)
        self.register_buffer("mask", torch.triu(torch.full((seq, seq), -1e4), 1))

    def forward(self, ids):
        h = self.emb(ids) + self.pos
        for blk in self.blocks:
            h = blk(h, self.mask)
        return self.head(self.ln(h))


class TinyDecoder(torch.nn.Module):
    """Decoder-style ops: transposed conv with output_padding, upsampling, reflect pad, instance norm."""

    def __init__(self):
        super().__init__()
        self.up1 = torch.nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1)
        self.norm = torch.nn.InstanceNorm2d(6, affine=True)
        self.conv = torch.nn.Conv2d(6, 4, 3, dilation=2)
        self.up2 = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.up3 = torch.nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        h = torch.nn.functional.leaky_relu(self.norm(self.up1(x)), 0.1)
        h = self.conv(torch.nn.functional.pad(h, (2, 2, 2, 2), mode="reflect"))
        return self.up3(torch.nn.functional.hardswish(self.up2(h)))


class TinyLSTM(torch.nn.Module):
    def __init__(self, bidirectional):
        super().__init__()
        self.lstm = torch.nn.LSTM(6, 5, bidirectional=bidirectional)
        self.fc = torch.nn.Linear(10 if bidirectional else 5, 3)

    def forward(self, x):  # x: [seq, batch, features]
        return self.fc(self.lstm(x)[0])


def _tiny(name):
    import timm

    kw = dict(pretrained=False, num_classes=10)
    if name == "vit":
        return timm.models.VisionTransformer(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4,
                                             num_classes=10), (1, 3, 32, 32)
    if name == "lm":
        return TinyLM(), (1, 8)
    if name in ("lstm", "bilstm"):
        return TinyLSTM(name == "bilstm"), (7, 2, 6)
    if name == "decoder":
        return TinyDecoder(), (1, 8, 5, 6)
    if name == "resnet18":
        return timm.create_model("resnet18", **kw), (1, 3, 64, 64)
    if name == "mobilevit_xxs":
        return timm.create_model("mobilevit_xxs", **kw), (1, 3, 64, 64)
    if name == "swin":
        return timm.create_model("swin_tiny_patch4_window7_224", img_size=56, depths=(1, 1), num_heads=(1, 2),
                                 embed_dim=32, **kw), (1, 3, 56, 56)
    # full-size models for the slow tests
    return timm.create_model(name, **kw), (1, 3, 224, 224)


def _convert(onnx_path, out_path, fmt, precision):
    import onnx2coreml

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = {"compute_precision": precision, "minimum_deployment_target": "iOS17"} if fmt == "mlpackage" else {}
        onnx2coreml.convert(str(onnx_path), format=fmt, **kwargs).save(str(out_path))
    return out_path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """name -> (dir, input, pytorch output); models are exported once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            from timm.utils import reparameterize_model

            torch.manual_seed(0)
            model, shape = _tiny(name)
            model = reparameterize_model(model.eval())
            d = tmp_path_factory.mktemp(name)
            gen = torch.Generator().manual_seed(1)
            x = torch.randint(0, 50, shape, generator=gen) if name == "lm" else torch.randn(shape, generator=gen)
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = model(x).numpy()
                torch.onnx.export(model, (x,), str(d / "m.onnx"), dynamo=False, opset_version=17,
                                  input_names=["x"], output_names=["y"])
            cache[name] = (d, x.numpy(), expected)
        return cache[name]

    return get


def _assert_fp32_close(actual, expected):
    scale = max(float(np.max(np.abs(expected))), 1.0)
    err = float(np.max(np.abs(np.asarray(actual, np.float64) - expected)))
    assert err <= 1e-4 * scale, f"max abs error {err:.3g} > 1e-4 * {scale:.3g}"


MODELS = ["vit", "lm", "resnet18", "mobilevit_xxs", "swin", "decoder", "lstm", "bilstm"]


@pytest.mark.parametrize("name", MODELS)
def test_mlprogram_fp32_and_fp16_match_pytorch(built, name):
    d, x, expected = built(name)
    m32 = load_model(_convert(d / "m.onnx", d / "fp32.mlpackage", "mlpackage", "fp32"))
    assert m32.compute_precision == "fp32"
    _assert_fp32_close(m32.predict({"x": x})["y"], expected)
    m16 = load_model(_convert(d / "m.onnx", d / "fp16.mlpackage", "mlpackage", "fp16"))
    assert m16.compute_precision == "fp16"
    metrics = compare_arrays(m16.predict({"x": x})["y"], expected)
    assert metrics["finite"] and metrics["cosine_similarity"] > 0.999, metrics


@pytest.mark.parametrize("name", MODELS)
def test_neuralnetwork_matches_pytorch(built, name):
    d, x, expected = built(name)
    m = load_model(_convert(d / "m.onnx", d / "nn.mlmodel", "mlmodel", None))
    assert m.kind == "neuralnetwork"
    _assert_fp32_close(m.predict({"x": x})["y"], expected)


def _gelu_function():
    from onnx import parser

    return parser.parse_function("""
        <domain: "custom.ops", opset_import: ["" : 17]>
        OnnxGelu (X) => (Y) {
            sqrt2 = Constant <value = float {1.4142135}> ()
            half = Constant <value = float {0.5}> ()
            one = Constant <value = float {1.0}> ()
            scaled = Div (X, sqrt2)
            e = Erf (scaled)
            e1 = Add (e, one)
            xh = Mul (X, half)
            Y = Mul (xh, e1)
        }
    """)


def test_neuralnetwork_custom_layer_from_onnx_function(built, tmp_path):
    from pipeline_runner.coreml_reference.model import read_spec
    from pipeline_runner.coreml_reference.nn.custom import layer_from_onnx_function

    d, x, expected = built("lm")
    spec, _ = read_spec(_convert(d / "m.onnx", tmp_path / "nn.mlmodel", "mlmodel", None))
    replaced = 0
    for layer in spec.neuralNetwork.layers:
        if layer.WhichOneof("layer") == "gelu":
            layer.custom.className = "OnnxGelu"
            layer.custom.parameters["approximate"].stringValue = "none"
            replaced += 1
    assert replaced == 2
    path = tmp_path / "custom.mlmodel"
    path.write_bytes(spec.SerializeToString())
    with pytest.raises(UnsupportedOpError, match="custom:OnnxGelu"):
        load_model(path)
    m = load_model(path, custom_layers={"OnnxGelu": layer_from_onnx_function(_gelu_function())})
    assert "custom" in m.op_types
    _assert_fp32_close(m.predict({"x": x})["y"], expected)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vit_base_patch16_224", "fastvit_mci0", "mobilevitv2_050", "efficientformerv2_s0",
                                  "efficientvit_b0", "tiny_vit_5m_224"])
def test_full_size_timm_models(built, name):
    """Full-size 224x224 models (random weights): resize/upsample_bilinear, pads, windowed attention..."""
    test_mlprogram_fp32_and_fp16_match_pytorch(built, name)
