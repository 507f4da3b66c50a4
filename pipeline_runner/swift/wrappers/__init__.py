"""Typed Swift wrappers for compiled Core ML models, one module per wrapper kind.

A kind is a module with ``KIND = WrapperKind(...)``: a ``plan`` (which graphs of the recipe the
wrapper loads, and the kind's typed options) and a ``generate`` that renders its ``.swift``
template from the saved specs. Adding a kind is one module, one template and one line below.
Every feature name, shape and label in the Swift comes from the saved Core ML spec; the shared
runtime (model loading, Vision, predictions, softmax/top-k) is ModelKit's.
"""

from __future__ import annotations

from pipeline_runner.swift.wrappers import embedding_model, image_classifier, token_model
from pipeline_runner.swift.wrappers.common import COMPUTE_UNITS, ModelInput, WrapperRequest
from pipeline_runner.swift.wrappers.kind import WrapperKind, WrapperPlan

__all__ = ["COMPUTE_UNITS", "KINDS", "ModelInput", "WrapperKind", "WrapperPlan", "WrapperRequest",
           "generate_wrapper"]


def _registry(*kinds: WrapperKind) -> dict[str, WrapperKind]:
    registry: dict[str, WrapperKind] = {}
    for kind in kinds:
        if kind.name in registry:
            raise ValueError(f"two wrapper kinds are named {kind.name!r}")
        registry[kind.name] = kind
    return registry


KINDS: dict[str, WrapperKind] = _registry(
    image_classifier.KIND,
    token_model.KIND,
    embedding_model.KIND,
)


def generate_wrapper(kind: str, request: WrapperRequest) -> str:
    """Swift source of ``public final class <request.class_name>`` for wrapper ``kind``.

    Raises ``ValueError`` for an unknown kind, a bad request, or a model that does not fit the kind.
    """
    if kind not in KINDS:
        raise ValueError(f"wrapper kind {kind!r} is not one of {sorted(KINDS)}")
    spec = KINDS[kind]
    request.check()
    if not isinstance(request.options, spec.options):
        raise ValueError(f"{kind} options must be {spec.options.__module__}.Options, got {type(request.options).__name__}")
    missing = [role for role in spec.roles if role not in request.models]
    if missing:
        raise ValueError(f"{kind} needs models for {missing}; it was given {sorted(request.models)}")
    return spec.generate(request)
