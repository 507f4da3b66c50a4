"""`source: open_clip`: CLIP models by open_clip name (MobileCLIP, MobileCLIP2, ...), never downloaded.

``model.params`` override the named config: ``embed_dim``, ``vision_cfg`` and
``text_cfg`` are merged key by key into open_clip's built-in config, so a test can
build a tiny model on the same code path (timm FastViT/MCi vision tower, open_clip
text transformer). ``vision_cfg.timm_model_kwargs`` (ours, not open_clip's) resizes
the timm trunk: it registers a derived timm model with those keyword arguments.

Entries:
    image_encoder: image [N, 3, H, W] (normalised) -> L2-normalised embedding
    text_encoder: token ids int32 [N, context_length] -> L2-normalised embedding
    zero_shot_classifier(labels, templates): image -> probabilities over the labels
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path

from pipeline_runner.errors import FieldProblem, ModelSpecError
from pipeline_runner.models.signature import unexpected_keyword_problem
from pipeline_runner.models.source import AppFiles, ModelSource

DEFAULT_TEMPLATES = ("a photo of a {}.",)
_MERGED_KEYS = ("vision_cfg", "text_cfg")


def model_config(architecture: str, params: dict) -> dict:
    """open_clip's config for ``architecture`` with ``params`` merged in (sub-configs key by key)."""
    import open_clip

    base = open_clip.get_model_config(architecture)
    if base is None:
        import difflib

        close = difflib.get_close_matches(architecture, open_clip.list_models(), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see open_clip.list_models()"
        raise ModelSpecError([FieldProblem(("architecture",), f"open_clip has no model {architecture!r}", hint)])
    cfg = json.loads(json.dumps(base))  # a deep copy: get_model_config hands out its own dict
    for key, value in params.items():
        if key in _MERGED_KEYS:
            if not isinstance(value, dict):
                raise ModelSpecError([FieldProblem(("params", key), f"must be a mapping, got {type(value).__name__}")])
            cfg[key] = {**cfg.get(key, {}), **value}
        else:
            cfg[key] = value
    return cfg


def _derived_timm_model(base: str, kwargs: dict) -> str:
    """Register (once) a timm model that is ``base`` with ``kwargs``; return its name."""
    import timm
    from timm.models import model_entrypoint, register_model

    if not timm.is_model(base):
        raise ModelSpecError([FieldProblem(("params", "vision_cfg", "timm_model_name"), f"timm has no model {base!r}")])
    digest = hashlib.sha256(json.dumps(kwargs, sort_keys=True).encode()).hexdigest()[:10]
    name = f"{base}_pr{digest}"
    if not timm.is_model(name):
        base_fn = model_entrypoint(base)

        def entry(pretrained=False, **kw):
            return base_fn(pretrained=False, **{**kwargs, **kw})

        entry.__name__ = name
        entry.__module__ = __name__
        register_model(entry)
    return name


def _create(architecture: str, params: dict):
    import open_clip

    cfg = model_config(architecture, params)
    vision = cfg.get("vision_cfg", {})
    extra = vision.pop("timm_model_kwargs", None)
    if extra:
        if "timm_model_name" not in vision:
            raise ModelSpecError([FieldProblem(("params", "vision_cfg", "timm_model_kwargs"),
                                               "needs a timm vision tower (vision_cfg.timm_model_name)")])
        vision["timm_model_name"] = _derived_timm_model(vision["timm_model_name"], extra)
    cfg.pop("custom_text", None)  # create_model reads it from the named config
    # pretrained=None: nothing is downloaded; weights come from model.checkpoint. open_clip's
    # "no pretrained weights loaded" log line is muted: the build stage reports random weights itself.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        return open_clip.create_model(architecture, pretrained=None, pretrained_image=False,
                                      pretrained_text=False, **cfg)
    except TypeError as exc:  # a top-level param the model class does not take
        problem = unexpected_keyword_problem(exc, params)
        if problem is None:
            raise
        raise ModelSpecError([problem]) from exc
    finally:
        logging.disable(previous)


# ----------------------------------------------------------------------------- entries


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
            h, w = _image_size(self.clip)
            return (torch.rand(1, 3, h, w) * 4 - 2,)

    class TextEncoder(torch.nn.Module):
        def __init__(self, clip):
            super().__init__()
            self.clip = clip

        def forward(self, tokens):
            return _l2(self.clip.encode_text(tokens.long()))

        def example_inputs(self):
            import open_clip

            return (open_clip.tokenize(["a photo of a cat."], context_length=_context_length(self.clip))
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
            h, w = _image_size(self.clip)
            return (torch.rand(1, 3, h, w) * 4 - 2,)

    return ImageEncoder, TextEncoder, ZeroShotClassifier


def _image_size(clip) -> tuple[int, int]:
    size = getattr(clip.visual, "image_size", 224)
    return (size, size) if isinstance(size, int) else tuple(size)


def _context_length(clip) -> int:
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
    context_length = _context_length(clip)

    def tokenizer(texts):
        return open_clip.tokenize(texts, context_length=context_length)

    was_training = clip.training
    clip.eval()
    with torch.no_grad():
        weights = build_zero_shot_classifier(clip, tokenizer, labels, templates, num_classes_per_batch=None)
    clip.train(was_training)
    return weights.T.contiguous().float()


def _image_encoder(model):
    return _modules()[0](model)


def _text_encoder(model):
    return _modules()[1](model)


def _zero_shot_classifier(model, labels=None, templates=DEFAULT_TEMPLATES):
    if not labels or not all(isinstance(label, str) for label in labels):
        raise ValueError("entry_args.labels must be a list of label strings for entry zero_shot_classifier")
    return _modules()[2](model, labels, templates)


# ----------------------------------------------------------------------------- export preparation


class ReparameterisationError(ValueError):
    pass


def _example_inputs(module):
    import torch

    if hasattr(module, "example_inputs"):
        return module.example_inputs()
    # The whole CLIP model (entry `forward`): an image and a token row.
    import open_clip

    h, w = _image_size(module)
    return (torch.rand(1, 3, h, w) * 4 - 2,
            open_clip.tokenize(["a photo of a cat."], context_length=_context_length(module)))


def _reparameterize(module, *, rtol: float = 1e-4):
    """timm's reparameterisation (FastViT/MobileOne branches folded), checked against the original.

    Both run on the same seeded inputs; any output further than ``rtol`` × the output's
    scale from the original raises, naming the output and the error. The result runs
    attention without PyTorch's fused fast path, which the ONNX exporter cannot export.
    """
    import torch
    from timm.utils import reparameterize_model

    module = module.eval()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        inputs = _example_inputs(module)
    reparam = reparameterize_model(module)  # a deep copy; the original is untouched
    with torch.no_grad():
        before, after = _as_tuple(module(*inputs)), _as_tuple(reparam(*inputs))
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        scale = float(a.abs().max().clamp_min(1e-6))
        err = float((a - b).abs().max())
        if not err <= rtol * scale:  # also catches nan
            raise ReparameterisationError(
                f"reparameterised model differs from the original on output {i}: max abs error {err:.3g} "
                f"> {rtol:g} x output scale {scale:.3g}; timm's reparameterize_model does not preserve "
                "this model (model.architecture / model.params), so it cannot be exported reparameterised")
    return _without_mha_fast_path(reparam)


def _without_mha_fast_path(module):
    """``module`` run with nn.MultiheadAttention's fused fast path off (it has no ONNX export)."""
    import torch

    class NoFastPath(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            previous = torch.backends.mha.get_fastpath_enabled()
            torch.backends.mha.set_fastpath_enabled(False)
            try:
                return self.inner(*args)
            finally:
                torch.backends.mha.set_fastpath_enabled(previous)

    return NoFastPath(module).eval()


def _as_tuple(out):
    if isinstance(out, dict):
        return tuple(v for v in out.values() if hasattr(v, "shape"))
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


# ----------------------------------------------------------------------------- checkpoints


def _adapt_state_dict(state: dict, architecture: str) -> dict:
    """open_clip / Apple MobileCLIP checkpoints -> this model's keys (what open_clip's loader does)."""
    from open_clip.model import convert_to_custom_text_state_dict

    if any(k.startswith("image_encoder.model.") for k in state):  # Apple's ml-mobileclip layout
        from open_clip.convert import convert_state_dict

        # open_clip's converter reads the target model (timm's FastViT key filter needs it).
        state = convert_state_dict(_create(architecture, {}), state)
    if "positional_embedding" in state:  # pre-CustomTextCLIP layout
        state = convert_to_custom_text_state_dict(state)
    state = {k: v for k, v in state.items() if not k.endswith("embeddings.position_ids")}
    if "logit_scale" in state and state["logit_scale"].ndim != 0:
        state["logit_scale"] = state["logit_scale"].reshape(())
    return state


# ----------------------------------------------------------------------------- app files

CLIP_TEXT_ENTRIES = frozenset({"text_encoder", "zero_shot_classifier"})


def _app_files(model, recipe, out_dir: Path) -> list[Path]:
    """label_embeddings.json for each zero-shot graph; the tokenizer (vocab, merges, test vectors)."""
    zero_shot = [g for g in recipe.graphs if g["entry"] == "zero_shot_classifier"]
    written: list[Path] = []
    prompts: list[str] = []
    for graph in zero_shot:
        args = graph["entry_args"]
        labels = list(args["labels"])
        templates = list(args.get("templates", DEFAULT_TEMPLATES))
        prompts += [t.format(label) for label in labels for t in templates]
        embeddings = label_embeddings(model, labels, templates)
        name = "label_embeddings.json" if len(zero_shot) == 1 else f"label_embeddings.{graph['name']}.json"
        path = out_dir / name
        path.write_text(json.dumps({
            "graph": graph["name"],
            "labels": labels,
            "templates": templates,
            "logit_scale": float(model.logit_scale.detach().exp()),
            "embeddings": [[float(x) for x in row] for row in embeddings.tolist()],
        }) + "\n")
        written.append(path)
    from pipeline_runner.tokenizer_export import DEFAULT_TEXTS, export_clip_tokenizer

    # Flat, beside the label embeddings: an app bundle is flat (vocab.json, merges.txt, test_vectors.json).
    files = export_clip_tokenizer(out_dir, [*DEFAULT_TEXTS, *prompts],
                                  context_length=_context_length(model))
    written += [files[k] for k in sorted(files)]
    return written


SOURCES = {
    "open_clip": ModelSource(
        name="open_clip",
        create=_create,
        entries={
            "image_encoder": _image_encoder,
            "text_encoder": _text_encoder,
            "zero_shot_classifier": _zero_shot_classifier,
        },
        prepare_for_export=_reparameterize,
        adapt_state_dict=_adapt_state_dict,
        app_files=AppFiles(entries=CLIP_TEXT_ENTRIES, write=_app_files),
        describe="open_clip model by name (open_clip.create_model, pretrained=None)",
    ),
}
