"""The parts of a CLIP model a recipe's graphs export, and the zero-shot label embeddings.

    image_encoder: image [N, 3, H, W] (normalised) -> L2-normalised embedding
    text_encoder: token ids int32 [N, context_length] -> L2-normalised embedding
    zero_shot_classifier(labels, templates): image -> probabilities over the labels

Each entry module has ``example_inputs()``: seeded inputs that the reparameterisation
check runs when the export gives none.
"""

from __future__ import annotations

from functools import lru_cache

DEFAULT_TEMPLATES = ("a photo of a {}.",)


def _l2(x):
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


@lru_cache(maxsize=1)
def _modules():
    """The entry module classes (defined here so that torch is imported only when they are needed)."""
    import torch

    class ImageEncoder(torch.nn.Module):
        def __init__(self, clip):
            super().__init__()
            self.clip = clip

        def forward(self, image):
            return _l2(self.clip.encode_image(image))

        def example_inputs(self):
            h, w = image_size(self.clip)
            return (torch.rand(1, 3, h, w) * 4 - 2,)

    class TextEncoder(torch.nn.Module):
        def __init__(self, clip):
            super().__init__()
            self.clip = clip

        def forward(self, tokens):
            return _l2(self.clip.encode_text(tokens.long()))

        def example_inputs(self):
            import open_clip

            return (open_clip.tokenize(["a photo of a cat."], context_length=context_length(self.clip))
                    .to(torch.int32),)

    class ZeroShotClassifier(torch.nn.Module):
        """image -> softmax(logit_scale * cos(image embedding, label embeddings)); labels embedded once, here."""

        def __init__(self, clip, labels, templates):
            super().__init__()
            self.clip = clip
            self.labels, self.templates = list(labels), list(templates)
            self.register_buffer("label_embeddings", label_embeddings(clip, self.labels, self.templates))

        def forward(self, image):
            image_features = _l2(self.clip.encode_image(image))
            logits = self.clip.logit_scale.exp() * image_features @ self.label_embeddings.T
            if getattr(self.clip, "logit_bias", None) is not None:
                logits = logits + self.clip.logit_bias
            return logits.softmax(dim=-1)

        def example_inputs(self):
            h, w = image_size(self.clip)
            return (torch.rand(1, 3, h, w) * 4 - 2,)

    return ImageEncoder, TextEncoder, ZeroShotClassifier


def image_size(clip) -> tuple[int, int]:
    size = getattr(clip.visual, "image_size", 224)
    return (size, size) if isinstance(size, int) else tuple(size)


def context_length(clip) -> int:
    return int(getattr(clip, "context_length", None) or clip.text.context_length)


def label_embeddings(clip, labels: list[str], templates: list[str]):
    """[labels, embed_dim]: each label's prompts embedded, L2-normalised, averaged, renormalised."""
    import open_clip
    import torch
    from open_clip.zero_shot_classifier import build_zero_shot_classifier

    if not labels:
        raise ValueError("entry_args.labels must list at least one label")
    if not templates or any("{}" not in t for t in templates):
        raise ValueError("entry_args.templates must be strings with a '{}' where the label goes")
    length = context_length(clip)

    def tokenizer(texts):
        return open_clip.tokenize(texts, context_length=length)

    was_training = clip.training
    clip.eval()
    with torch.no_grad():
        weights = build_zero_shot_classifier(clip, tokenizer, labels, templates, num_classes_per_batch=None)
    clip.train(was_training)
    return weights.T.contiguous().float()


def image_encoder(model):
    return _modules()[0](model)


def text_encoder(model):
    return _modules()[1](model)


def zero_shot_classifier(model, labels=None, templates=DEFAULT_TEMPLATES):
    if not labels or not all(isinstance(label, str) for label in labels):
        raise ValueError("entry_args.labels must be a list of label strings for entry zero_shot_classifier")
    return _modules()[2](model, labels, templates)
