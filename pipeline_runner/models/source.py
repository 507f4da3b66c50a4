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
    prepare_for_export(module) -> nn.Module: e.g. reparameterise branches before export.
    adapt_state_dict(state_dict, architecture) -> state_dict: map a foreign checkpoint's keys.
    """

    name: str
    create: Callable[[str, dict], Module]
    entries: dict[str, Callable[..., Module]] = field(default_factory=dict)
    prepare_for_export: Callable[[Module], Module] | None = None
    adapt_state_dict: Callable[[dict, str], dict] | None = None
    describe: str = ""
