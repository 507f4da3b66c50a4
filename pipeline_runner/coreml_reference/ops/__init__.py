"""MIL op implementations, one module per op family, merged into one REGISTRY.

To add an op, add ``"op_type": fn`` to the REGISTRY of the module for its family;
``fn(ctx: OpContext)`` returns the output array (or a tuple for multi-output ops).
A type registered by two modules is an import-time error.
"""

from __future__ import annotations

from . import (
    activation,
    attention,
    constexpr,
    control_flow,
    conv,
    elementwise,
    indexing,
    linear,
    misc,
    normalization,
    pool,
    quantization,
    recurrent,
    reduction,
    resize,
    shape,
)

FAMILIES = (activation, attention, constexpr, control_flow, conv, elementwise, indexing, linear, misc, normalization,
            pool, quantization, recurrent, reduction, resize, shape)


def merge_registries(modules) -> tuple[dict, dict]:
    registry, owner = {}, {}
    for module in modules:
        for op_type, fn in module.REGISTRY.items():
            if op_type in registry:
                raise ImportError(f"MIL op {op_type!r} registered twice: in {owner[op_type]} and {module.__name__}")
            registry[op_type], owner[op_type] = fn, module.__name__
    return registry, owner


REGISTRY, OWNER = merge_registries(FAMILIES)
