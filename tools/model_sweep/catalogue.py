"""Which models the sweep runs: one entry per model, as plain data a worker turns into a recipe."""

from __future__ import annotations

import re

# Name fragments of small variants, best first: the family's smallest model is picked by these,
# then by parameter count (counted on the meta device: no memory, no weights).
_SMALL = ("pico", "atto", "femto", "nano", "xxs", "tiny", "xs", "micro", "mini", "small", "s0", "b0", "t", "s", "18")
_CANDIDATES = 6  # per family, counted on the meta device
MAX_PARAMS = 200_000_000  # "fits in memory" (and converts in minutes) on a shared 2-core box

TORCHVISION_FAMILIES = {
    "alexnet": "alexnet", "convnext": "convnext_tiny", "densenet": "densenet121", "efficientnet": "efficientnet_b0",
    "efficientnet_v2": "efficientnet_v2_s", "googlenet": "googlenet", "inception": "inception_v3",
    "maxvit": "maxvit_t", "mnasnet": "mnasnet0_5", "mobilenet_v2": "mobilenet_v2",
    "mobilenet_v3": "mobilenet_v3_small", "regnet": "regnet_x_400mf", "resnet": "resnet18",
    "resnext": "resnext50_32x4d", "shufflenet_v2": "shufflenet_v2_x0_5", "squeezenet": "squeezenet1_0",
    "swin": "swin_t", "swin_v2": "swin_v2_t", "vgg": "vgg11", "vit": "vit_b_16", "wide_resnet": "wide_resnet50_2",
}

_TEXT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
         "vocab_size": 128, "max_position_embeddings": 64}
_VISION = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
           "image_size": 32, "patch_size": 8, "num_labels": 10}
TRANSFORMERS = {
    "BertModel": {"params": _TEXT, "kind": "text"},
    "DistilBertModel": {"params": {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64, "vocab_size": 128,
                                   "max_position_embeddings": 64}, "kind": "text"},
    "RobertaModel": {"params": {**_TEXT, "max_position_embeddings": 70}, "kind": "text"},
    "ElectraModel": {"params": {**_TEXT, "embedding_size": 32}, "kind": "text"},
    "AlbertModel": {"params": {**_TEXT, "embedding_size": 16}, "kind": "text"},
    "XLMRobertaModel": {"params": {**_TEXT, "max_position_embeddings": 70}, "kind": "text"},
    "MPNetModel": {"params": {**_TEXT, "max_position_embeddings": 70}, "kind": "text"},
    "GPT2Model": {"params": {"n_embd": 32, "n_layer": 2, "n_head": 2, "vocab_size": 128, "n_positions": 64},
                  "kind": "text"},
    "ViTForImageClassification": {"params": _VISION, "kind": "image"},
    "DeiTForImageClassification": {"params": _VISION, "kind": "image"},
    "CLIPModel": {"params": {"text_config": {**_TEXT, "vocab_size": 128},
                             "vision_config": {k: v for k, v in _VISION.items() if k != "num_labels"},
                             "projection_dim": 16}, "kind": "clip"},
}

# A small subset CI runs (tests/test_model_sweep.py): one of each source and mechanism.
FAST = ("timm:resnet", "timm:edgenext", "torchvision:squeezenet", "transformers:BertModel")


def _small_rank(name: str) -> tuple:
    parts = re.split(r"[_.\-]", name)
    for i, frag in enumerate(_SMALL):
        if frag in parts or any(p.startswith(frag) and len(frag) > 2 for p in parts):
            return (i, len(name))
    return (len(_SMALL), len(name))


def _param_count(name: str) -> int:
    import timm
    import torch

    try:
        with torch.device("meta"):
            model = timm.create_model(name, pretrained=False, num_classes=10)
        return sum(p.numel() for p in model.parameters())
    except Exception:
        return 1 << 62


def timm_entries() -> list[dict]:
    import timm

    entries = []
    for family in timm.list_modules():
        names = sorted(timm.list_models(module=family), key=_small_rank)[:_CANDIDATES]
        if not names:
            continue
        counted = sorted((_param_count(n), n) for n in names)
        params, name = counted[0]
        entries.append({"id": f"timm:{family}", "source": "timm", "architecture": name, "family": family,
                        "parameters": params if params < 1 << 62 else None,
                        "skip": f"{params:,} parameters: over the sweep's {MAX_PARAMS:,} limit"
                        if MAX_PARAMS < params < 1 << 62 else None})
    return entries


def torchvision_entries() -> list[dict]:
    return [{"id": f"torchvision:{family}", "source": "python", "architecture": f"torchvision.models:{name}",
             "family": family, "display": f"torchvision {name}"} for family, name in TORCHVISION_FAMILIES.items()]


def transformers_entries() -> list[dict]:
    return [{"id": f"transformers:{arch}", "source": "transformers", "architecture": arch, "family": arch,
             **spec} for arch, spec in TRANSFORMERS.items()]


def catalogue(fast: bool = False) -> list[dict]:
    if fast:
        import timm

        small = {"timm:resnet": "resnet18", "timm:edgenext": "edgenext_xx_small"}
        entries = [{"id": k, "source": "timm", "architecture": v, "family": k.split(":")[1]} for k, v in small.items()
                   if timm.is_model(v)]
        entries += [e for e in torchvision_entries() + transformers_entries() if e["id"] in FAST]
        return entries
    return transformers_entries() + torchvision_entries() + timm_entries()
