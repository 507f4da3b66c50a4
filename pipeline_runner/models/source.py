"""What a model source provides. Kept free of torch imports: sources import it lazily."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Module = Any  # torch.nn.Module, not imported here


@dataclass(frozen=True)
class ModelSource:
    """A family of architectures a recipe can name in ``model.source``.

    create(architecture, params) -> nn.Module: a freshly initialised model (the caller seeds torch).
    entries: named parts to export besides the whole model (``forward``), each
        entry(model, **entry_args) -> nn.Module; e.g. a CLIP model's image encoder.
    prepare_for_export(module, example_inputs=None) -> nn.Module: e.g. reparameterise branches
        before export (``models.reparameterise``: verified on ``example_inputs``, the graph's
        dummy inputs, or on the source's own inputs when None).
    adapt_state_dict(state_dict, architecture) -> state_dict: map a foreign checkpoint's keys.
    app_files: files an app needs beside the Core ML models (see ``AppFiles``), or None.
    check(architecture, params) -> [FieldProblem]: problems found without importing any ML
        library (``pipeline-runner check`` runs it); sources that must import their library to
        know raise ``errors.ModelSpecError`` from ``create`` instead, which the build stage
        reports as a located recipe error.
    forward(model) -> nn.Module: what the ``forward`` entry exports and validates, when the model's
        own forward does not return tensors (e.g. a Transformers ModelOutput); default: the model.
    checkpoint_params(directory) -> params: defaults for ``model.params`` read from a checkpoint
        directory (e.g. a Transformers config.json); the recipe's params override them.
    """

    name: str
    create: Callable[[str, dict], Module]
    entries: dict[str, Callable[..., Module]] = field(default_factory=dict)
    prepare_for_export: Callable[..., Module] | None = None
    adapt_state_dict: Callable[[dict, str], dict] | None = None
    app_files: "AppFiles | None" = None
    check: Callable[[str, dict], list] | None = None
    checkpoint_params: Callable[[Any], dict] | None = None
    forward: Callable[[Module], Module] | None = None
    describe: str = ""


@dataclass(frozen=True)
class AppFiles:
    """Files an app reads beside the Core ML models (e.g. a CLIP model's label embeddings and tokenizer).

    entries: the ``app_files`` stage runs for recipes with a graph exporting one of these entries.
    write(model, recipe, out_dir) -> [paths written inside out_dir]: the built model, in eval mode.
    """

    entries: frozenset[str]
    write: Callable[[Module, Any, Any], list]
