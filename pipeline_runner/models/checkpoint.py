"""Read a local weights file into a state dict, map its keys, and load it with a clear report of mismatches.

``model.checkpoint`` is a path (a weights file, or a model directory holding
``model.safetensors``/``pytorch_model.bin``) or an object ``{path, strip_prefix,
add_prefix, ignore_keys}``: a checkpoint saved from a wrapper (keys ``bert.*``, an
unused pooler) loads without rewriting the file.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from pipeline_runner.errors import PipelineError

# Weights inside a checkpoint directory, in order of preference (Transformers' names).
DIRECTORY_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.pt", "model.pth")

# Common wrappers around a state dict in saved training checkpoints.
_CONTAINER_KEYS = ("state_dict", "model", "model_state_dict", "module")


class CheckpointError(PipelineError, ValueError):
    """The checkpoint cannot be read or does not fit the model: a user error, reported without traceback."""


@dataclass(frozen=True)
class CheckpointSpec:
    path: Path  # a weights file or a model directory
    strip_prefix: str = ""
    add_prefix: str = ""
    ignore_keys: tuple[str, ...] = ()

    @property
    def weights_file(self) -> Path:
        return directory_weights(self.path) if self.path.is_dir() else self.path

    def files(self) -> list[Path]:
        """The files whose content the model depends on (the build stage's cache key)."""
        files = [self.weights_file]
        if self.path.is_dir() and (self.path / "config.json").is_file():
            files.append(self.path / "config.json")
        return files


def checkpoint_spec(recipe) -> CheckpointSpec | None:
    """The recipe's ``model.checkpoint`` (plain path or object form), or None."""
    path = recipe.checkpoint_path()
    if path is None:
        return None
    ref = recipe.model.checkpoint
    return CheckpointSpec(path=path, strip_prefix=ref.strip_prefix, add_prefix=ref.add_prefix,
                          ignore_keys=ref.ignore_keys)


def directory_weights(directory: Path) -> Path:
    for name in DIRECTORY_WEIGHTS:
        if (directory / name).is_file():
            return directory / name
    raise CheckpointError(f"checkpoint directory {directory} holds none of {', '.join(DIRECTORY_WEIGHTS)}")


def map_keys(state: dict, spec: CheckpointSpec) -> tuple[dict, list[str]]:
    """(state with ``ignore_keys`` dropped and prefixes mapped, the keys ignored).

    A glob matches a key as saved, after ``strip_prefix``, or as finally mapped; ``strip_prefix`` leaves keys without
    the prefix as they are (they are then listed as unexpected if the model lacks them).
    """
    mapped, ignored = {}, []
    for key, value in state.items():
        stripped = key.removeprefix(spec.strip_prefix) if spec.strip_prefix else key
        new = spec.add_prefix + stripped
        if any(fnmatch.fnmatchcase(k, g) for k in {key, stripped, new} for g in spec.ignore_keys):
            ignored.append(key)
            continue
        if new in mapped:
            raise CheckpointError(f"checkpoint keys collide after mapping: two keys become {new!r} "
                                  "(check model.checkpoint.strip_prefix/add_prefix)")
        mapped[new] = value
    return mapped, sorted(ignored)


def read_state_dict(path: Path) -> dict:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path), device="cpu")
        except Exception as exc:  # safetensors raises its own SafetensorError for a corrupt header
            raise CheckpointError(f"cannot read checkpoint {path}: not a valid safetensors file ({exc})") from exc
    else:
        try:
            # weights_only=True: a checkpoint is data, never code to execute.
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CheckpointError(_torch_load_message(path, exc)) from exc
    for key in _CONTAINER_KEYS:
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel/DDP
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def _torch_load_message(path: Path, exc: Exception) -> str:
    text = str(exc)
    if "Weights only load failed" in text or "weights_only" in text:
        # torch's message goes on to suggest weights_only=False, i.e. running the file's code: never.
        return (f"cannot read checkpoint {path}: it holds Python objects besides tensors, which are not "
                "loaded (a checkpoint is data, never code); save its state_dict (e.g. as .safetensors)")
    return f"cannot read checkpoint {path}: {text.strip().splitlines()[0] if text.strip() else type(exc).__name__}"


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
