"""What a recipe's compression variant asks for. Pure Python: recipe checks and planning use it.

A variant names up to three coremltools configs, each holding the keyword arguments of one
``coremltools.optimize.coreml`` op config plus its ``op_type_configs`` / ``op_name_configs``:

    prune                 -> OpMagnitudePrunerConfig   (prune_weights)
    palettize             -> OpPalettizerConfig        (palettize_weights)
    linear_quantize       -> OpLinearQuantizerConfig   (linear_quantize_weights)
    quantize_activations  -> OpLinearQuantizerConfig   (linear_quantize_activations, W8A8)
"""

from __future__ import annotations

KINDS = ("prune", "palettize", "linear_quantize", "quantize_activations")

# The coremltools function behind each kind, and the op-config class its config builds.
CONFIG_TYPES = {
    "prune": "OpMagnitudePrunerConfig",
    "palettize": "OpPalettizerConfig",
    "linear_quantize": "OpLinearQuantizerConfig",
    "quantize_activations": "OpLinearQuantizerConfig",
}


def compressed_artifact(graph: str, variant: str) -> str:
    return f"compressed/{graph}/{variant}.mlpackage"


def report_artifact(graph: str) -> str:
    return f"compressed/{graph}.json"


def variants_for(recipe, graph: str) -> list[dict]:
    """The recipe's variants that apply to ``graph`` (a variant without ``graphs`` applies to all)."""
    return recipe.compress.variants_for(graph)


def kinds(variant: dict) -> list[str]:
    return [k for k in KINDS if k in variant]


def _configs(section: dict) -> list[dict]:
    """The global settings and every per-op-type / per-name override (None: skipped)."""
    base = {k: v for k, v in section.items() if k not in ("op_type_configs", "op_name_configs")}
    out = [base]
    for key in ("op_type_configs", "op_name_configs"):
        out += [{**base, **override} for override in (section.get(key) or {}).values() if override is not None]
    return out


def ios18_reasons(variant: dict) -> list[str]:
    """Why this variant needs iOS 18 (its compressed forms exist only from that opset)."""
    why = []
    if "prune" in variant and ("palettize" in variant or "linear_quantize" in variant):
        why.append("pruning combined with palettization or quantization (joint compression)")
    for cfg in _configs(variant.get("palettize", {})) if "palettize" in variant else []:
        if cfg.get("granularity") == "per_grouped_channel":
            why.append("palettize.granularity: per_grouped_channel")
        if cfg.get("nbits") == 3:
            why.append("palettize.nbits: 3")
        if cfg.get("enable_per_channel_scale"):
            why.append("palettize.enable_per_channel_scale")
    for cfg in _configs(variant.get("linear_quantize", {})) if "linear_quantize" in variant else []:
        if cfg.get("granularity") == "per_block":
            why.append("linear_quantize.granularity: per_block")
        if cfg.get("dtype") in ("int4", "uint4"):
            why.append(f"linear_quantize.dtype: {cfg['dtype']}")
    return sorted(set(why))


def min_ios(variant: dict) -> int:
    if ios18_reasons(variant):
        return 18
    if "quantize_activations" in variant:
        return 17  # quantize / dequantize ops
    return 16  # constexpr_* weights
