"""``model.params`` against a factory's Python signature: located problems with suggestions."""

from __future__ import annotations

import difflib
import inspect
import re

from pipeline_runner.errors import FieldProblem


def signature_problems(factory, params: dict) -> list[FieldProblem]:
    """Params the factory cannot take, and required ones that are missing (none if it takes **kwargs)."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins and C extensions may have no signature
        return []
    accepted = [n for n, p in sig.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return []
    problems = [_unknown(key, accepted) for key in params if key not in accepted]
    for name, p in sig.parameters.items():
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in params:
            problems.append(FieldProblem(("params",), f"missing parameter {name!r}", f"add params.{name}"))
    return problems


def unexpected_keyword_problem(exc: TypeError, params: dict) -> FieldProblem | None:
    """The param a TypeError ("got an unexpected keyword argument 'x'") names, if it is one of ``params``."""
    match = re.search(r"unexpected keyword argument '([^']+)'", str(exc))
    if not match or match.group(1) not in params:
        return None
    return FieldProblem(("params", match.group(1)), f"the model does not take parameter {match.group(1)!r}",
                        "check the model's constructor arguments")


def _unknown(key: str, accepted: list[str]) -> FieldProblem:
    close = difflib.get_close_matches(key, accepted, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"the factory takes: {', '.join(accepted) or 'no parameters'}"
    return FieldProblem(("params", key), f"unknown parameter {key!r}", hint)
