"""The stage registry. Each module defines ``STAGE``; the engine orders them by ``needs``.

Adding a stage: write a module with a ``STAGE = Stage(...)`` and list it here.
"""

from __future__ import annotations

import importlib

from pipeline_runner.engine.stage import Stage

_STAGE_MODULES = (
    "pipeline_runner.stages.build",
    "pipeline_runner.stages.export",
    "pipeline_runner.stages.convert",
    "pipeline_runner.stages.validate",
    "pipeline_runner.stages.compress",
    "pipeline_runner.stages.multifunction",
    "pipeline_runner.stages.app_files",
    "pipeline_runner.stages.swift",
)


def _collect() -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    for module_name in _STAGE_MODULES:
        stage = importlib.import_module(module_name).STAGE
        if stage.name in stages:
            raise RuntimeError(f"stage {stage.name!r} registered twice ({module_name})")
        stages[stage.name] = stage
    return stages


STAGES = _collect()
