"""`source: timm`: any timm architecture by name, with keyword arguments (pretrained weights never fetched)."""

from __future__ import annotations

import difflib

from pipeline_runner.errors import FieldProblem, ModelSpecError
from pipeline_runner.models.signature import unexpected_keyword_problem
from pipeline_runner.models.source import ModelSource


def _create(architecture: str, params: dict):
    import timm

    if architecture not in timm.list_models():
        close = difflib.get_close_matches(architecture, timm.list_models(), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see timm.list_models()"
        raise ModelSpecError([FieldProblem(("architecture",), f"timm has no architecture {architecture!r}", hint)])
    # pretrained=False always: nothing is downloaded at run time; weights come from model.checkpoint.
    try:
        return timm.create_model(architecture, pretrained=False, **params)
    except TypeError as exc:  # a keyword the model class does not take
        problem = unexpected_keyword_problem(exc, params)
        if problem is None:
            raise
        raise ModelSpecError([problem]) from exc


def _reparameterize(module):
    from timm.utils import reparameterize_model

    return reparameterize_model(module)


SOURCES = {
    "timm": ModelSource(
        name="timm",
        create=_create,
        prepare_for_export=_reparameterize,
        describe="any timm model by name (timm.create_model, pretrained=False)",
    ),
}
