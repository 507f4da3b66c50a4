"""Make the recipe's PyTorch model: seeded creation, optional checkpoint, export entries."""

from __future__ import annotations

from pathlib import Path

from pipeline_runner.models.registry import get_source


def model_params(recipe) -> dict:
    """``model.params`` over the defaults a checkpoint directory gives (e.g. a Transformers config.json)."""
    spec = recipe.data["model"]
    source = get_source(spec["source"])
    path = recipe.checkpoint_path()
    base = source.checkpoint_params(path) if source.checkpoint_params and path and path.is_dir() else {}
    return {**base, **spec["params"]}


def create_model(recipe, weights=None, *, foreign: bool = False):
    """The recipe's model in eval mode: seeded random weights, then ``weights`` if given.

    ``weights`` is the user's checkpoint (build stage, ``foreign=True``: a ``CheckpointSpec``
    whose keys are mapped as the recipe says, then by the source) or the safetensors file
    the build stage saved (later stages). Returns the model; with a checkpoint spec the
    ignored keys are set on ``model.ignored_checkpoint_keys``.
    """
    import torch

    spec = recipe.data["model"]
    source = get_source(spec["source"])
    torch.manual_seed(spec["seed"])
    model = source.create(spec["architecture"], model_params(recipe))
    if weights is not None:
        from pipeline_runner.models.checkpoint import CheckpointSpec, load_into, map_keys, read_state_dict

        ignored = []
        if isinstance(weights, CheckpointSpec):
            state, ignored = map_keys(read_state_dict(weights.weights_file), weights)
            origin = str(weights.path)
        else:
            state, origin = read_state_dict(weights), str(weights)
        if foreign and source.adapt_state_dict:
            state = source.adapt_state_dict(state, spec["architecture"])
        load_into(model, state, origin)
        model.ignored_checkpoint_keys = ignored
    return model.eval()


def load_built_model(recipe, weights: Path):
    """The model with the weights the build stage saved (safetensors ``save_model`` format)."""
    from safetensors.torch import load_model

    model = create_model(recipe)
    load_model(model, str(weights), strict=True)
    return model.eval()


def entry_module(recipe, model, graph: dict):
    """The part of ``model`` a graph exports (``forward``: the model itself)."""
    entry = graph.get("entry", "forward")
    source = get_source(recipe.data["model"]["source"])
    if entry == "forward":
        return source.forward(model) if source.forward else model
    if entry not in source.entries:
        known = ", ".join(["forward", *sorted(source.entries)])
        raise ValueError(f"graph {graph['name']!r}: model source {source.name!r} has no entry {entry!r}; known: {known}")
    return source.entries[entry](model, **graph.get("entry_args", {})).eval()


def prepare_for_export(recipe, module):
    source = get_source(recipe.data["model"]["source"])
    return source.prepare_for_export(module) if source.prepare_for_export else module
