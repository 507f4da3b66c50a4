"""`source: builtin`: architectures that live in this project.

Each module lists ``ARCHITECTURES = {name: factory(**params) -> nn.Module}``; they are
merged here and a name claimed twice is an error at import time. Modules are
imported only when a model is created, so recipe checks never import torch.
"""

from __future__ import annotations

import importlib

from pipeline_runner.models.source import ModelSource

_ARCHITECTURE_MODULES = (
    "pipeline_runner.models.builtin.vit",
    "pipeline_runner.models.builtin.custom_transformer",
)


def architectures() -> dict:
    merged: dict = {}
    for module_name in _ARCHITECTURE_MODULES:
        for name, factory in importlib.import_module(module_name).ARCHITECTURES.items():
            if name in merged:
                raise RuntimeError(f"builtin architecture {name!r} registered twice ({module_name})")
            merged[name] = factory
    return merged


def _create(architecture: str, params: dict):
    known = architectures()
    if architecture not in known:
        raise ValueError(f"unknown builtin architecture {architecture!r}; known: {', '.join(sorted(known))}")
    try:
        return known[architecture](**params)
    except TypeError as exc:  # unknown or missing keyword in model.params
        raise ValueError(f"model.params do not fit builtin architecture {architecture!r}: {exc}") from exc


SOURCES = {"builtin": ModelSource(name="builtin", create=_create, describe="architectures defined in this project")}
