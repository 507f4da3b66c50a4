"""SIGINT/SIGTERM for a run: stop promptly, but never in the middle of recording a finished stage.

While a run is in progress the handlers raise ``Interrupted`` (a BaseException, so no
``except Exception`` swallows it) in the runner's process; stage code runs in a worker
process (engine/worker.py) that the runner kills, so third-party code cannot delay or
eat the signal. ``deferred()`` marks the short sections that move artifacts into place
and write the manifest: a signal arriving there takes effect when the section ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


_state = {"defer": 0, "pending": None}


def _handler(signum, frame):
    if _state["defer"]:
        _state["pending"] = signum
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def interruptible():
    """Install the handlers for the duration of a run (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in HANDLED}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def deferred():
    """A section a signal must not cut in two; the signal is raised when it ends."""
    _state["defer"] += 1
    try:
        yield
    finally:
        _state["defer"] -= 1
        pending = _state["pending"]
        if not _state["defer"] and pending is not None:
            _state["pending"] = None
            raise Interrupted(pending)
