"""torch.onnx's refusals said in recipe terms: what the exporter could not write, and which field changes it."""

from __future__ import annotations

import contextlib
import re

_ADDED_IN = re.compile(r"added in (?:opset )?version (\d+)")


class ExportOpError(ValueError):
    """An operator torch.onnx cannot export as the recipe asks; the message says what to set."""


@contextlib.contextmanager
def said_in_recipe_terms(opset: int, dynamo: bool):
    """Errors of ``torch.onnx.export`` inside the block, as messages naming the recipe field:

    - an operator a newer opset has → ``export.opset: N``;
    - an operator the TorchScript exporter cannot write (no symbolic, or one that needs sizes the
      trace lost, e.g. ``Tensor.unfold`` after a pad) → ``export.exporter: dynamo``, which traces
      with torch.export instead;
    - else the model change or custom op that avoids it.
    """
    try:
        yield
    except Exception as exc:
        kind = type(exc).__name__
        if kind not in ("UnsupportedOperatorError", "SymbolicValueError"):
            raise
        text = str(exc).split(" [Caused by")[0].split(". Please")[0].split(". Support for")[0].strip()
        needed = _ADDED_IN.search(str(exc))
        if needed and int(needed.group(1)) > opset:
            advice = f"set `export.opset: {needed.group(1)}` in the recipe (now {opset})"
        elif not dynamo:
            advice = ("set `export.exporter: dynamo` in the recipe (torch.export traces the model differently "
                      "and has its own operator support); or change the model so it does not call it")
        else:
            advice = ("no ONNX opset has it: change the model so it does not call it (another model.params "
                      "variant), or declare it in the recipe's custom_ops (see README, Custom operators)")
        raise ExportOpError(f"{text}\nTo export it, {advice}.") from None
