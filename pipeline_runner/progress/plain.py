"""Progress as plain timestamped lines, for CI logs and pipes (no cursor movement).

Counts are printed sparsely (for steps running over 2 s: every quarter, or every 10 s) so a log stays readable.
"""

from __future__ import annotations

import sys
import threading
import time

from pipeline_runner.progress.api import Reporter, StageHandle

_COUNT_EVERY_SECONDS = 10.0
_QUIET_SECONDS = 2.0  # counts of steps shorter than this are not printed


class PlainReporter(Reporter):
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self._last_step: dict[str, str] = {}
        self._last_count: dict[str, tuple[float, int]] = {}  # stage -> (when, quarter)
        self._step_started: dict[str, float] = {}
        self._write = threading.Lock()  # stages running side by side (-j) report from their threads

    def _line(self, text: str) -> None:
        with self._write:  # one write per line: lines of concurrent stages never run together
            self.stream.write(f"{time.strftime('%H:%M:%S')} {text}\n")
            self.stream.flush()

    def stage_started(self, handle: StageHandle) -> None:
        self._line(f"{handle.name}: start ({handle.reason})")

    def stage_changed(self, handle: StageHandle) -> None:
        if handle.step and self._last_step.get(handle.name) != handle.step:
            self._last_step[handle.name] = handle.step
            self._last_count.pop(handle.name, None)
            self._step_started[handle.name] = time.monotonic()
            self._line(f"{handle.name}: {handle.step}")
        long_running = time.monotonic() - self._step_started.get(handle.name, 0.0) > _QUIET_SECONDS
        if handle.total and long_running:
            quarter = int(4 * handle.done / handle.total)
            when, last_quarter = self._last_count.get(handle.name, (0.0, -1))
            now = time.monotonic()
            if quarter > last_quarter or now - when > _COUNT_EVERY_SECONDS:
                self._last_count[handle.name] = (now, quarter)
                self._line(f"{handle.name}: {handle.step} {handle.done}/{handle.total} {handle.unit}".rstrip())

    def stage_finished(self, handle: StageHandle, ok: bool) -> None:
        self._line(f"{handle.name}: {'done' if ok else 'failed'} in {handle.elapsed:.1f}s")

    def log(self, message: str) -> None:
        self._line(message.strip())

    def recipe_started(self, name: str, path: str, build_dir: str) -> None:
        print(f"{name} ({path}) → {build_dir}", file=self.stream, flush=True)

    def recipe_finished(self, report, seconds: float, dry_run: bool) -> None:
        """One line per stage instance (tests and scripts read ``NAME STATUS``), then the totals."""
        width = max((len(o.name) for o in report.outcomes), default=8)
        for o in report.outcomes:
            timing = f"{o.seconds:7.1f}s" if o.status in ("ran", "failed") else " " * 8
            print(f"  {o.name:<{width}}  {o.status:<8} {timing}  {o.reason}", file=self.stream)
        if report.error is None and not dry_run:
            ran = sum(o.status == "ran" for o in report.outcomes)
            pulled = sum(o.status == "pulled" for o in report.outcomes)
            from_cache = f", {pulled} pulled from the shared cache" if pulled else ""
            print(f"  done in {seconds:.1f}s: {ran} stage(s) ran{from_cache}, "
                  f"{len(report.outcomes) - ran - pulled} cached", file=self.stream)
        self.stream.flush()
