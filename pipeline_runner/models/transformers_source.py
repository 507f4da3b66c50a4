"""`source: transformers`: a Hugging Face Transformers architecture by class name, built offline.

``model.architecture`` is the class (``BertModel``, ``DistilBertModel``,
``ViTForImageClassification``, ``CLIPModel``, ...), ``model.params`` are fields of its
config class. ``model.checkpoint`` may be a Transformers model directory (its
``config.json`` gives the config, recipe params override it field by field; its
``model.safetensors`` or ``pytorch_model.bin`` the weights) or a weights file. Nothing
is ever fetched from the Hub: no ``from_pretrained``, the config and weights are read
from local files by us.

Attention runs in the "eager" implementation: plain MatMul/Softmax in ONNX, which
every converter lowers (the SDPA path exports fused or masked forms that vary by
exporter and opset).

Graph inputs are the model's ``forward`` arguments in its own order, leaving out the
generation cache (``past_key_values``, ...): ``input_ids``, ``attention_mask``,
``token_type_ids`` for BERT and GPT-2; ``pixel_values`` for ViT. Entries:
    forward: the whole model; outputs are the top-level tensors of its output, in order
    embedding(output, pooling, normalize): one vector per example, see
        :mod:`.transformers_entries`
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_runner.models.source import ModelSource

CONFIG_FILE = "config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def model_class(architecture: str):
    try:
        import transformers
    except ImportError as exc:
        raise ValueError("model.source transformers needs the transformers package: "
                         "pip install -e '.[transformers]'") from exc

    cls = getattr(transformers, architecture, None)
    if cls is None or not hasattr(cls, "config_class"):
        import difflib

        names = [n for n in dir(transformers) if n.endswith(("Model", "ForImageClassification", "ForMaskedLM",
                                                              "ForSequenceClassification"))]
        close = difflib.get_close_matches(architecture, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"model.architecture: transformers has no model class {architecture!r}{hint}")
    return cls


def _create(architecture: str, params: dict):
    cls = model_class(architecture)
    config_fields = {k: v for k, v in params.items() if k not in _IGNORED_CONFIG_FIELDS}
    try:
        config = cls.config_class(**config_fields)
        return cls._from_config(config, attn_implementation="eager")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model.params: not a valid {cls.config_class.__name__}: {exc}") from exc


# Bookkeeping fields of a saved config.json that are not configuration.
_IGNORED_CONFIG_FIELDS = frozenset({"architectures", "_name_or_path", "transformers_version", "model_type",
                                    "gradient_checkpointing", "torch_dtype", "dtype"})


def checkpoint_params(directory: Path) -> dict:
    """The config fields a Transformers model directory's config.json holds ({} when there is none)."""
    config = directory / CONFIG_FILE
    if not config.is_file():
        return {}
    data = json.loads(config.read_text())
    return {k: v for k, v in data.items() if k not in _IGNORED_CONFIG_FIELDS}


def _entries():
    from pipeline_runner.models import transformers_entries

    return transformers_entries


def _embedding(model, **kwargs):
    return _entries().embedding(model, **kwargs)


def _forward(model):
    return _entries().tensor_outputs(model)


SOURCES = {
    "transformers": ModelSource(
        name="transformers",
        create=_create,
        entries={"embedding": _embedding},
        forward=_forward,
        checkpoint_params=checkpoint_params,
        describe="a Hugging Face Transformers model class built from config fields (never downloaded)",
    ),
}
