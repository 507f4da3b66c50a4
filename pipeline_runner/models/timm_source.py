"""`source: timm`: any timm architecture by name, with keyword arguments (pretrained weights never fetched)."""

from __future__ import annotations

from pipeline_runner.models.source import ModelSource


def _create(architecture: str, params: dict):
    import timm

    if architecture not in timm.list_models():
        import difflib

        close = difflib.get_close_matches(architecture, timm.list_models(), n=3)
        raise ValueError(f"timm has no architecture {architecture!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))
    # pretrained=False always: nothing is downloaded at run time; weights come from model.checkpoint.
    return timm.create_model(architecture, pretrained=False, **params)


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
