"""Our lowerings for standard ONNX ops onnx2coreml 1.1 lacks, and the recipe's own.

One small module per op; each exposes ``lower(ctx, node)`` in onnx2coreml's lowering
signature (``ctx.values_map`` maps ONNX value names to MIL vars; return the output
var(s)). ``BUILTIN`` names them as ``"package.module:function"`` so a module is
imported only when a graph needs it, exactly like a recipe's ``convert.lowerings``.

``BUILTIN`` lowerings are registered only for ops onnx2coreml has no lowering of its
own for (when upstream gains one, upstream wins; ours then only serves older
versions). ``EXTENDING`` ones take the cases onnx2coreml's
lowering rejects and hand the rest to it. A recipe's ``convert.lowerings`` always win: they are the user's way out.
"""

from __future__ import annotations

import importlib

_HERE = __name__

# ONNX op key ("OpType" or "domain::OpType") -> "package.module:function": ops onnx2coreml lacks.
BUILTIN: dict[str, str] = {
    "Col2Im": f"{_HERE}.col2im:lower",
    "CumSum": f"{_HERE}.cumsum:lower",
    "Einsum": f"{_HERE}.einsum:lower",
    "Range": f"{_HERE}.range_:lower",
}

# Lowerings that extend one of onnx2coreml's (cases its lowering rejects) and call it for the rest.
EXTENDING: dict[str, str] = {
    "Gather": f"{_HERE}.bool_data:gather",
    "GatherElements": f"{_HERE}.bool_data:gather_elements",
    "GatherND": f"{_HERE}.bool_data:gather_nd",
    "Pad": f"{_HERE}.pad_negative:lower",
    "Resize": f"{_HERE}.resize_cubic:lower",
    "Where": f"{_HERE}.where:lower",
}


class LoweringImportError(ValueError):
    """A ``package.module:function`` reference that does not name a callable."""


def load(ref: str):
    """The callable a ``package.module:function`` reference names."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise LoweringImportError(f"{ref!r} is not of the form 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LoweringImportError(f"cannot import module {module_name!r} for lowering {ref!r}: {exc}") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise LoweringImportError(f"module {module_name!r} has no function {attr!r} (lowering {ref!r})")
    return fn


def lowerings_for(model, recipe_lowerings: dict[str, str]) -> dict[str, object]:
    """{op key: lowering} to register on onnx2coreml's Converter for ``model``:
    our built-in lowerings for ops onnx2coreml lacks, then the recipe's."""
    from onnx2coreml._lowering import resolve

    used = _op_keys(model)
    chosen = {key: load(ref) for key, ref in BUILTIN.items() if key in used and resolve(key) is None}
    chosen.update({key: load(ref) for key, ref in EXTENDING.items() if key in used and resolve(key) is not None})
    chosen.update({key: load(ref) for key, ref in recipe_lowerings.items()})
    return chosen


def _op_keys(model) -> set[str]:
    return {n.op_type if n.domain in ("", "ai.onnx", "ai.onnx.ml") else f"{n.domain}::{n.op_type}"
            for n in model.graph.node}
