"""The reporting API stages call, and the reporter interface the CLI implements.

The current stage is held in a ContextVar, so ``step``/``advance`` cost one lookup when
no stage is being reported and stay correct if stages ever run in threads.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


class Reporter:
    """Receives progress events. This base class ignores them all (the quiet reporter)."""

    def recipe_started(self, name: str, path: str, build_dir: str) -> None: ...
    def stage_started(self, handle: "StageHandle") -> None: ...
    def stage_changed(self, handle: "StageHandle") -> None: ...
    def stage_finished(self, handle: "StageHandle", ok: bool) -> None: ...
    def recipe_finished(self, report, seconds: float, dry_run: bool) -> None: ...
    def log(self, message: str) -> None: ...
    def close(self) -> None: ...


@dataclass
class StageHandle:
    """What one running stage is doing now."""

    name: str
    reason: str
    reporter: Reporter
    started: float = field(default_factory=time.monotonic)
    step: str = ""
    done: int | None = None  # the sub-step's k of n, when it has a count
    total: int | None = None
    unit: str = ""

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


_reporter: Reporter | None = None
_current: ContextVar[StageHandle | None] = ContextVar("pipeline_runner_stage", default=None)


@contextmanager
def activate(reporter: Reporter):
    """Make ``reporter`` receive events until the block ends (then it is closed)."""
    global _reporter
    previous, _reporter = _reporter, reporter
    try:
        yield reporter
    finally:
        _reporter = previous
        reporter.close()


def active() -> Reporter | None:
    return _reporter


@contextmanager
def stage(name: str, reason: str = ""):
    """Around one stage's run function: the runner's only hook. No reporter: does nothing."""
    reporter = _reporter
    if reporter is None:
        yield None
        return
    from pipeline_runner.progress.tqdm_capture import captured_tqdm

    handle = StageHandle(name, reason, reporter)
    token = _current.set(handle)
    reporter.stage_started(handle)
    ok = False
    try:
        with captured_tqdm():
            yield handle
        ok = True
    finally:
        _current.reset(token)
        reporter.stage_finished(handle, ok)


def step(label: str) -> None:
    """The current stage is now doing ``label`` (clears any count)."""
    handle = _current.get()
    if handle is None:
        return
    handle.step, handle.done, handle.total, handle.unit = label, None, None, ""
    handle.reporter.stage_changed(handle)


def advance(done: int, total: int | None, unit: str = "") -> None:
    """``done`` of ``total`` of the current step (``unit``: what is counted, e.g. "ops")."""
    handle = _current.get()
    if handle is None:
        return
    handle.done, handle.total, handle.unit = done, total, unit
    handle.reporter.stage_changed(handle)


def ticker(total: int, unit: str = ""):
    """A function that advances the count by one per call, or None when nothing is reported
    (so hot loops pay one ``if`` per iteration)."""
    handle = _current.get()
    if handle is None:
        return None
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        advance(count, total, unit)

    return tick


def log(message: str) -> None:
    """A line for the user, printed above the live display (or plainly)."""
    if _reporter is not None:
        _reporter.log(message)
    else:
        print(message)
