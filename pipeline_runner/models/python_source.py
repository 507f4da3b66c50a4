"""`source: python`: a factory in any importable package, named `package.module:factory`."""

from __future__ import annotations

import difflib
import importlib

from pipeline_runner.errors import FieldProblem, ModelSpecError
from pipeline_runner.models.signature import signature_problems
from pipeline_runner.models.source import ModelSource


def _check_static(architecture: str, params: dict) -> list[FieldProblem]:
    module_name, sep, attr = architecture.partition(":")
    if not sep or not module_name or not attr:
        return [FieldProblem(("architecture",), f"expected 'package.module:factory', got {architecture!r}")]
    return []


def _create(architecture: str, params: dict):
    problems = _check_static(architecture, params)
    if problems:
        raise ModelSpecError(problems)
    module_name, _, attr = architecture.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelSpecError([FieldProblem(("architecture",), f"cannot import {module_name!r}: {exc}",
                                           "is the package installed, or on PYTHONPATH?")]) from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        names = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        close = difflib.get_close_matches(attr, names, n=1)
        raise ModelSpecError([FieldProblem(("architecture",), f"{module_name} has no factory {attr!r}",
                                           f"did you mean {close[0]!r}?" if close else None)])
    problems = signature_problems(factory, params)
    if problems:
        raise ModelSpecError(problems)
    return factory(**params)


SOURCES = {
    "python": ModelSource(name="python", create=_create, check=_check_static,
                          describe="package.module:factory(**params)"),
}
