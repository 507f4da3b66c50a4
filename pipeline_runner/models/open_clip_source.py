"""`source: open_clip`: CLIP models by open_clip name (MobileCLIP, MobileCLIP2, ...), never downloaded.

The source is assembled from one module per job: config merging and creation
(:mod:`.open_clip_config`), the exported entries (:mod:`.open_clip_entries`),
checkpoint key mapping (:mod:`.open_clip_checkpoint`), app files
(:mod:`.open_clip_app_files`); before export, timm's reparameterisation, verified
(:mod:`.reparameterise`, shared with the timm source), with attention's fused fast
path off (:mod:`.mha_fast_path`).
"""

from __future__ import annotations

from pipeline_runner.models import open_clip_entries as entries
from pipeline_runner.models.open_clip_app_files import CLIP_TEXT_ENTRIES, write_app_files
from pipeline_runner.models.open_clip_checkpoint import adapt_state_dict
from pipeline_runner.models.open_clip_config import create_clip
from pipeline_runner.models.source import AppFiles, ModelSource


def _example_inputs(module) -> tuple:
    import torch

    if hasattr(module, "example_inputs"):
        return module.example_inputs()
    # The whole CLIP model (entry `forward`): an image and a token row.
    import open_clip

    h, w = entries.image_size(module)
    return (torch.rand(1, 3, h, w) * 4 - 2,
            open_clip.tokenize(["a photo of a cat."], context_length=entries.context_length(module)))


def _prepare_for_export(module, example_inputs: tuple | None = None):
    """Reparameterised (checked against the original) and run without the MHA fast path."""
    from pipeline_runner.models.mha_fast_path import without_mha_fast_path
    from pipeline_runner.models.reparameterise import seeded, verified_reparameterisation

    inputs = example_inputs if example_inputs is not None else seeded(lambda: _example_inputs(module))
    return without_mha_fast_path(verified_reparameterisation(module, inputs))


SOURCES = {
    "open_clip": ModelSource(
        name="open_clip",
        create=create_clip,
        entries={
            "image_encoder": entries.image_encoder,
            "text_encoder": entries.text_encoder,
            "zero_shot_classifier": entries.zero_shot_classifier,
        },
        prepare_for_export=_prepare_for_export,
        adapt_state_dict=adapt_state_dict,
        app_files=AppFiles(entries=CLIP_TEXT_ENTRIES, write=write_app_files),
        describe="open_clip model by name (open_clip.create_model, pretrained=None)",
    ),
}
