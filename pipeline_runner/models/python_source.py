"""`source: python`: a factory in any importable package, named `package.module:factory`."""

from __future__ import annotations

import importlib

from pipeline_runner.models.source import ModelSource


def _create(architecture: str, params: dict):
    module_name, sep, attr = architecture.partition(":")
    if not sep or not attr:
        raise ValueError(f"model.architecture for source python must be 'package.module:factory', got {architecture!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load factory {architecture!r}: {exc}") from exc
    return factory(**params)


SOURCES = {
    "python": ModelSource(name="python", create=_create, describe="package.module:factory(**params)"),
}
