"""All model sources, merged from per-source modules; two sources claiming one name is an error.

Adding a source: write a module with ``SOURCES = {name: ModelSource(...)}`` and list it here.
"""

from __future__ import annotations

from functools import lru_cache

from pipeline_runner.models.source import ModelSource

_SOURCE_MODULES = (
    "pipeline_runner.models.builtin",
    "pipeline_runner.models.timm_source",
    "pipeline_runner.models.python_source",
    "pipeline_runner.models.open_clip_source",
    "pipeline_runner.models.transformers_source",
)


@lru_cache(maxsize=1)
def sources() -> dict[str, ModelSource]:
    import importlib

    merged: dict[str, ModelSource] = {}
    for module_name in _SOURCE_MODULES:
        module = importlib.import_module(module_name)
        for name, source in module.SOURCES.items():
            if name in merged:
                raise RuntimeError(f"model source {name!r} registered twice ({module_name})")
            merged[name] = source
    return merged


def source_names() -> list[str]:
    return sorted(sources())


def get_source(name: str) -> ModelSource:
    return sources()[name]
