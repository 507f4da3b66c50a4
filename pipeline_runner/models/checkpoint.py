"""Read a local weights file into a state dict and load it with a clear report of mismatches."""

from __future__ import annotations

from pathlib import Path

# Common wrappers around a state dict in saved training checkpoints.
_CONTAINER_KEYS = ("state_dict", "model", "model_state_dict", "module")


class CheckpointError(ValueError):
    pass


def read_state_dict(path: Path) -> dict:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path), device="cpu")
    else:
        try:
            # weights_only=True: a checkpoint is data, never code to execute.
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    for key in _CONTAINER_KEYS:
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel/DDP
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def load_into(model, state: dict, origin: str) -> None:
    """Load ``state`` strictly, reporting every missing, unexpected and mis-shaped key."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mis_shaped = sorted(
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in set(state) & set(expected)
        if tuple(state[k].shape) != tuple(expected[k].shape)
    )
    if missing or unexpected or mis_shaped:
        parts = []
        for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", mis_shaped)):
            if keys:
                shown = ", ".join(keys[:8]) + (f", ... (+{len(keys) - 8} more)" if len(keys) > 8 else "")
                parts.append(f"{len(keys)} {label}: {shown}")
        raise CheckpointError(
            f"checkpoint {origin} does not match the model: " + "; ".join(parts)
            + ". Is it for this architecture/variant and these model.params?"
        )
    model.load_state_dict(state, strict=True)
