"""Foreign CLIP checkpoints (open_clip's older layout, Apple's ml-mobileclip) mapped to this model's keys."""

from __future__ import annotations


def adapt_state_dict(state: dict, architecture: str) -> dict:
    """open_clip / Apple MobileCLIP checkpoints -> this model's keys (what open_clip's loader does)."""
    from open_clip.model import convert_to_custom_text_state_dict

    if any(k.startswith("image_encoder.model.") for k in state):  # Apple's ml-mobileclip layout
        from open_clip.convert import convert_state_dict

        # open_clip's converter reads the target model (timm's FastViT key filter needs it).
        from pipeline_runner.models.open_clip_config import create_clip

        state = convert_state_dict(create_clip(architecture, {}), state)
    if "positional_embedding" in state:  # pre-CustomTextCLIP layout
        state = convert_to_custom_text_state_dict(state)
    state = {k: v for k, v in state.items() if not k.endswith("embeddings.position_ids")}
    if "logit_scale" in state and state["logit_scale"].ndim != 0:
        state["logit_scale"] = state["logit_scale"].reshape(())
    return state
