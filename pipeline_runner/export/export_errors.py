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
      trace lost, e.g. ``Tensor.unfold`` after a pad), or model code that fails under its
      torch.jit trace (timm's EVA) → ``export.exporter: dynamo``, which traces with torch.export;
    - else the model change or custom op that avoids it.
    """
    try:
        yield
    except Exception as exc:
        kind = type(exc).__name__
        if kind not in ("UnsupportedOperatorError", "SymbolicValueError"):
            if dynamo or not _raised_while_tracing(exc):
                raise
            # The model's own code failed under torch.jit tracing (e.g. an argument the trace turned
            # into a tensor): torch.export runs it differently.
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ExportOpError(f"the TorchScript exporter failed while tracing the model: {kind}: {first}\n"
                                "To export it, set `export.exporter: dynamo` in the recipe (torch.export traces "
                                "the model differently).") from None
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


def _raised_while_tracing(exc: BaseException) -> bool:
    """``exc`` came out of the TorchScript exporter's trace of the model (not from our code or the recipe)."""
    import traceback

    from pipeline_runner.errors import PipelineError

    if isinstance(exc, PipelineError):
        return False
    files = [f.filename.replace("\\", "/") for f in traceback.extract_tb(exc.__traceback__)]
    return any("/torch/jit/" in f or "/torchscript_exporter/" in f for f in files)
