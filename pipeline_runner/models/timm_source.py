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
