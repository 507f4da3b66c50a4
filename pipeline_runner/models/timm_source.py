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


def _example_inputs(module) -> tuple:
    """A seeded image batch of the size the model's data config says (used when no graph inputs are given)."""
    import torch
    from timm.data import resolve_model_data_config

    channels, height, width = resolve_model_data_config(module)["input_size"]
    return (torch.rand(2, channels, height, width) * 4 - 2,)


def _reparameterize(module, example_inputs: tuple | None = None):
    from pipeline_runner.models.reparameterise import seeded, verified_reparameterisation

    inputs = example_inputs if example_inputs is not None else seeded(lambda: _example_inputs(module))
    return verified_reparameterisation(module, inputs)


SOURCES = {
    "timm": ModelSource(
        name="timm",
        create=_create,
        prepare_for_export=_reparameterize,
        describe="any timm model by name (timm.create_model, pretrained=False)",
    ),
}
