"""Make the recipe's PyTorch model: seeded creation, optional checkpoint, export entries."""

from __future__ import annotations

from pathlib import Path

from pipeline_runner.models.registry import get_source


def create_model(recipe, weights: Path | None = None, *, foreign: bool = False):
    """The recipe's model in eval mode: seeded random weights, then ``weights`` if given.

    ``weights`` is the user's checkpoint (build stage, ``foreign=True``: the source may
    map its keys) or the safetensors file the build stage saved (later stages).
    """
    import torch

    spec = recipe.model
    source = get_source(spec.source)
    torch.manual_seed(spec.seed)
    model = source.create(spec.architecture, dict(spec.params))
    if weights is not None:
        from pipeline_runner.models.checkpoint import load_into, read_state_dict

        state = read_state_dict(weights)
        if foreign and source.adapt_state_dict:
            state = source.adapt_state_dict(state, spec.architecture)
        load_into(model, state, str(weights))
    return model.eval()


def load_built_model(recipe, weights: Path):
    """The model with the weights the build stage saved (safetensors ``save_model`` format)."""
    from safetensors.torch import load_model

    model = create_model(recipe)
    load_model(model, str(weights), strict=True)
    return model.eval()


def entry_module(recipe, model, graph):
    """The part of ``model`` a graph (``GraphSpec``) exports (``forward``: the model itself)."""
    entry = graph.entry
    if entry == "forward":
        return model
    source = get_source(recipe.model.source)
    if entry not in source.entries:
        known = ", ".join(["forward", *sorted(source.entries)])
        raise ValueError(f"graph {graph.name!r}: model source {source.name!r} has no entry {entry!r}; known: {known}")
    return source.entries[entry](model, **graph.entry_args).eval()


def prepare_for_export(recipe, module, example_inputs: tuple):
    """``module`` as its source wants it exported; ``example_inputs``: the graph's dummy inputs (NumPy)."""
    import torch

    source = get_source(recipe.model.source)
    if not source.prepare_for_export:
        return module
    return source.prepare_for_export(module, tuple(torch.from_numpy(x) for x in example_inputs))
