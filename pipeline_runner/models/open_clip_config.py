"""open_clip model configs: the named config with ``model.params`` merged in, and resized timm trunks.

``model.params`` override the named config: ``embed_dim``, ``vision_cfg`` and
``text_cfg`` are merged key by key into open_clip's built-in config, so a test can
build a tiny model on the same code path (timm FastViT/MCi vision tower, open_clip
text transformer). ``vision_cfg.timm_model_kwargs`` (ours, not open_clip's) resizes
the timm trunk: it registers a derived timm model with those keyword arguments.
"""

from __future__ import annotations

import hashlib
import json
import logging

from pipeline_runner.errors import FieldProblem, ModelSpecError
from pipeline_runner.models.signature import unexpected_keyword_problem

_MERGED_KEYS = ("vision_cfg", "text_cfg")


def model_config(architecture: str, params: dict) -> dict:
    """open_clip's config for ``architecture`` with ``params`` merged in (sub-configs key by key)."""
    import open_clip

    base = open_clip.get_model_config(architecture)
    if base is None:
        import difflib

        close = difflib.get_close_matches(architecture, open_clip.list_models(), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see open_clip.list_models()"
        raise ModelSpecError([FieldProblem(("architecture",), f"open_clip has no model {architecture!r}", hint)])
    cfg = json.loads(json.dumps(base))  # a deep copy: get_model_config hands out its own dict
    for key, value in params.items():
        if key in _MERGED_KEYS:
            if not isinstance(value, dict):
                raise ModelSpecError([FieldProblem(("params", key), f"must be a mapping, got {type(value).__name__}")])
            cfg[key] = {**cfg.get(key, {}), **value}
        else:
            cfg[key] = value
    return cfg


def _derived_timm_model(base: str, kwargs: dict) -> str:
    """Register (once) a timm model that is ``base`` with ``kwargs``; return its name."""
    import timm
    from timm.models import model_entrypoint, register_model

    if not timm.is_model(base):
        raise ModelSpecError([FieldProblem(("params", "vision_cfg", "timm_model_name"), f"timm has no model {base!r}")])
    digest = hashlib.sha256(json.dumps(kwargs, sort_keys=True).encode()).hexdigest()[:10]
    name = f"{base}_pr{digest}"
    if not timm.is_model(name):
        base_fn = model_entrypoint(base)

        def entry(pretrained=False, **kw):
            return base_fn(pretrained=False, **{**kwargs, **kw})

        entry.__name__ = name
        entry.__module__ = __name__
        register_model(entry)
    return name


def create_clip(architecture: str, params: dict):
    """A freshly initialised open_clip model (nothing downloaded)."""
    import open_clip

    cfg = model_config(architecture, params)
    vision = cfg.get("vision_cfg", {})
    extra = vision.pop("timm_model_kwargs", None)
    if extra:
        if "timm_model_name" not in vision:
            raise ModelSpecError([FieldProblem(("params", "vision_cfg", "timm_model_kwargs"),
                                               "needs a timm vision tower (vision_cfg.timm_model_name)")])
        vision["timm_model_name"] = _derived_timm_model(vision["timm_model_name"], extra)
    cfg.pop("custom_text", None)  # create_model reads it from the named config
    # pretrained=None: nothing is downloaded; weights come from model.checkpoint. open_clip's
    # "no pretrained weights loaded" log line is muted: the build stage reports random weights itself.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        return open_clip.create_model(architecture, pretrained=None, pretrained_image=False,
                                      pretrained_text=False, **cfg)
    except TypeError as exc:  # a top-level param the model class does not take
        problem = unexpected_keyword_problem(exc, params)
        if problem is None:
            raise
        raise ModelSpecError([problem]) from exc
    finally:
        logging.disable(previous)
