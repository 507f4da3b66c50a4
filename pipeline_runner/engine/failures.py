"""Turn what a stage raised into the error a user sees: a message, and a traceback only for bugs.

- ``PipelineError``: raised on purpose with an actionable message; reported as is.
- ``OSError`` (disk full, permissions) and ``MemoryError``: the environment; message only.
- A programming error (TypeError, KeyError, AttributeError, ...) raised in our own code:
  an internal bug; the message says so and the traceback is always shown.
- Anything else (a library refusing the model, e.g. an exporter's RuntimeError): a model
  error; message only, the traceback with ``--debug``.
"""

from __future__ import annotations

import errno
import traceback

from pipeline_runner.errors import PipelineError, StageError

_BUG_TYPES = (AssertionError, AttributeError, IndexError, KeyError, NameError, NotImplementedError,
              TypeError, UnboundLocalError, ZeroDivisionError)
_OUR_PACKAGE = "pipeline_runner"


def stage_failure(recipe: str, stage: str, exc: BaseException) -> PipelineError:
    """The error to report for ``exc`` raised while ``stage`` ran; ``.traceback`` holds the trace."""
    trace = "".join(traceback.format_exception(exc))
    if isinstance(exc, PipelineError):
        err = exc
    elif isinstance(exc, OSError):
        err = StageError(recipe, stage, _os_message(exc))
    elif isinstance(exc, MemoryError):
        err = StageError(recipe, stage, "out of memory (try smaller inputs, fewer validate.samples, or a larger machine)")
    elif isinstance(exc, _BUG_TYPES) and _raised_in_our_code(exc):
        err = StageError(recipe, stage, f"internal error, a bug in pipeline_runner: {type(exc).__name__}: {exc} "
                                        "(please report it with the traceback below)")
        err.internal = True
    else:
        err = StageError(recipe, stage, f"{type(exc).__name__}: {exc}")
    err.traceback = trace
    return err


def _os_message(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"no space left on device{where} (free some space and run again; nothing was recorded)"
    return f"{exc.strerror or exc}{where}"


def _raised_in_our_code(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and f"/{_OUR_PACKAGE}/" in frames[-1].filename.replace("\\", "/")
