"""Live progress: stages say what they are doing, the CLI decides how it is shown.

Stages and the code they call report through three cheap functions, which do nothing
unless a reporter is active (the CLI activates one; tests and library use usually don't)::

    from pipeline_runner import progress
    progress.step("ONNX export")          # what the current stage is doing now
    progress.advance(12, 89, "passes")    # k of n of a sub-step (a bar)

Reporters: ``live.LiveReporter`` (rich, on a terminal), ``plain.PlainReporter``
(timestamped lines for CI and pipes), ``api.Reporter`` (silent). Third-party tqdm bars
(coremltools' MIL passes) are routed into ``advance`` while a stage runs (``tqdm_capture``).
"""

from pipeline_runner.progress.api import Reporter, activate, advance, log, stage, step, ticker

__all__ = ["Reporter", "activate", "advance", "log", "stage", "step", "ticker"]
