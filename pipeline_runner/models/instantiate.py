"""Make the recipe's PyTorch model: seeded creation, optional checkpoint, export entries."""

from __future__ import annotations

from pathlib import Path

from pipeline_runner.models.registry import get_source


def model_params(recipe) -> dict:
    """``model.params`` over the defaults a checkpoint directory gives (e.g. a Transformers config.json)."""
    spec = recipe.model
    source = get_source(spec.source)
    path = recipe.checkpoint_path()
    base = source.checkpoint_params(path) if source.checkpoint_params and path and path.is_dir() else {}
    return {**base, **spec.params}


def create_model(recipe, weights=None, *, foreign: bool = False):
    """The recipe's model in eval mode: seeded random weights, then ``weights`` if given.

    ``weights`` is the user's checkpoint (build stage, ``foreign=True``: a ``CheckpointSpec``
    whose keys are mapped as the recipe says, then by the source) or the safetensors file
    the build stage saved (later stages). Returns the model; with a checkpoint spec the
    ignored keys are set on ``model.ignored_checkpoint_keys``.
    """
    import torch

    spec = recipe.model
    source = get_source(spec.source)
    torch.manual_seed(spec.seed)
    model = source.create(spec.architecture, model_params(recipe))
    if weights is not None:
        from pipeline_runner.models.checkpoint import CheckpointSpec, load_into, map_keys, read_state_dict

        ignored = []
        if isinstance(weights, CheckpointSpec):
            state, ignored = map_keys(read_state_dict(weights.weights_file), weights)
            origin = str(weights.path)
        else:
            state, origin = read_state_dict(weights), str(weights)
        if foreign and source.adapt_state_dict:
            state = source.adapt_state_dict(state, spec.architecture)
        load_into(model, state, origin)
        model.ignored_checkpoint_keys = ignored
    return model.eval()


def load_built_model(recipe, weights: Path):
    """The model with the weights the build stage saved (safetensors ``save_model`` format).

    Hand-written rather than ``safetensors.torch.load_model``: that loads a plain dict, without
    the per-module ``_metadata`` versions a ``state_dict()`` carries, and modules that migrate
    old checkpoints by version (torchvision's MNASNet) refuse a state without one. The versions
    come from the freshly built model of the same recipe.
    """
    from collections import OrderedDict

    from safetensors.torch import load_file

    model = create_model(recipe)
    expected = model.state_dict()
    state = OrderedDict(load_file(str(weights)))
    state._metadata = getattr(expected, "_metadata", OrderedDict())
    missing, unexpected = model.load_state_dict(state, strict=False)
    # save_model drops all but one of tensors sharing storage (tied weights); those may be missing.
    loaded = {expected[k].data_ptr() for k in state if k in expected}
    untied = [k for k in missing if expected[k].data_ptr() not in loaded]
    if untied or unexpected:
        raise ValueError(f"{weights} does not match the recipe's model (missing {untied[:5]}, unexpected "
                         f"{list(unexpected)[:5]}); rerun the build stage (--force build)")
    return model.eval()


def entry_module(recipe, model, graph):
    """The part of ``model`` a graph (``GraphSpec``) exports (``forward``: the model itself)."""
    entry = graph.entry
    source = get_source(recipe.model.source)
    if entry == "forward":
        return source.forward(model) if source.forward else model
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
