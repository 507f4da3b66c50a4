"""The tiny MobileCLIP recipe the tests build: MCi0 code path (1 block a stage, 8..64 channels), 64x64 images."""

from __future__ import annotations

OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
LABELS = ["circle", "square", "stripes", "gradient"]
TEMPLATES = ["a photo of a {}.", "a drawing of a {}."]

TINY_PARAMS = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 64, "timm_model_kwargs": {"layers": [1, 1, 1, 1], "embed_dims": [8, 16, 32, 64]}},
    "text_cfg": {"width": 32, "heads": 2, "layers": 1, "context_length": 16},
}

_IMAGE = "{pixel_scale: 0.00392156862745098, mean: %s, std: %s}" % (OPENAI_MEAN, OPENAI_STD)


def tiny_recipe(labels=LABELS, checkpoint: str | None = None, params: str | None = None) -> str:
    """The tiny recipe's YAML text (OpenAI mean/std, so a per-channel std is really exercised)."""
    params = params or (
        "{embed_dim: 16, vision_cfg: {image_size: 64, timm_model_kwargs: {layers: [1, 1, 1, 1], "
        "embed_dims: [8, 16, 32, 64]}}, text_cfg: {width: 32, heads: 2, layers: 1, context_length: 16}}")
    ckpt = f"\n  checkpoint: {checkpoint}" if checkpoint else ""
    return f"""\
name: tiny_clip
model:
  source: open_clip
  architecture: MobileCLIP2-S0
  params: {params}{ckpt}
graphs:
  - name: image_encoder
    entry: image_encoder
    inputs:
      - {{name: image, shape: [1, 3, 64, 64], image: {_IMAGE}}}
    outputs: [{{name: embedding, kind: embedding}}]
  - name: text_encoder
    entry: text_encoder
    inputs:
      - {{name: tokens, shape: [1, 16], dtype: int32, range: [0, 49408]}}
    outputs: [{{name: embedding, kind: embedding}}]
  - name: zero_shot
    entry: zero_shot_classifier
    entry_args:
      labels: {list(labels)}
      templates: {TEMPLATES}
    inputs:
      - {{name: image, shape: [1, 3, 64, 64], image: {_IMAGE}}}
    outputs: [{{name: probabilities, kind: probabilities}}]
    classifier: {{output: probabilities}}
convert:
  precision: fp32
ios: {{wrapper: embedding_model, class_name: TinyCLIP}}
validate:
  samples: 2
"""


def tiny_model(params: dict | None = None, seed: int = 0):
    import torch

    from pipeline_runner.models.open_clip_source import SOURCES

    torch.manual_seed(seed)
    return SOURCES["open_clip"].create("MobileCLIP2-S0", dict(params or TINY_PARAMS)).eval()
