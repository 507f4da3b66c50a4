"""Run stages in a worker process the runner can always stop and survive.

Third-party code (torch.onnx, coremltools, sympy) may swallow KeyboardInterrupt or crash
natively. In a forked child it can do neither to the run: on SIGINT/SIGTERM the runner
kills the child with SIGKILL, which no code can catch, and cleans up; a native crash of
the child becomes a clean stage failure. The worker is forked once per run, when the
first stage must run, and kept for the next stages, so their imports stay warm.

Fork (not spawn) so the child shares the runner's loaded recipe and registries. The
child exits by itself when the runner dies (kill -9), and closes its copy of the build
lock so that a dead runner never leaves the build directory locked.

Forking is only safe from a process that has not loaded an OpenMP runtime: its thread
pool does not survive fork, and the child's first parallel op (torch, scikit-learn's
k-means) waits for it forever. The CLI's runner never loads one. A process that did
(a test suite, a notebook that ran torch) runs stages in process instead, where Ctrl-C
is a KeyboardInterrupt as the caller expects; ``PIPELINE_RUNNER_WORKER`` overrides.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pipeline_runner.errors import PipelineError, StageError

WORKER_ENV = "PIPELINE_RUNNER_WORKER"  # "fork" | "in-process" (debuggers) | unset: decide (see above)
_PRELOAD = "pipeline_runner:preload"  # a job that only imports modules (StageWorker.preload)
_OPENMP = re.compile(r"/lib(gomp|iomp5|omp)[-.][^/\n]*$", re.MULTILINE)


def worker_mode() -> str:
    """"fork" or "in-process": the environment's choice, else fork unless an OpenMP runtime is loaded."""
    chosen = os.environ.get(WORKER_ENV, "").strip().lower()
    if chosen in ("fork", "in-process"):
        return chosen
    return "in-process" if _openmp_loaded() else "fork"


def _openmp_loaded() -> bool:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:  # no procfs (macOS): the libraries that bring OpenMP along
        return any(name in sys.modules for name in ("torch", "sklearn", "coremltools"))
    return _OPENMP.search(maps) is not None


class StageWorker:
    """``run(job, log)`` calls ``target(job, log)`` in the worker and returns its result or raises its error."""

    def __init__(self, target: Callable, *, close_fds: tuple[int, ...] = ()):
        self.target, self.close_fds = target, close_fds
        self.in_process = worker_mode() == "in-process"
        self._proc = self._conn = None
        self._preloading = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def run(self, job, log: Callable[[str], None], describe: tuple[str, str],
            on_progress: Callable[[tuple], None] = lambda state: None):
        """``describe``: (recipe, stage) for a crash message; ``on_progress``: the stage's progress
        (step, done, total, unit) as it reports it (in-process, progress goes to the reporter directly)."""
        if self.in_process:
            return self.target(job, log)
        self.start()
        self._conn.send(job)  # after a preload still under way: the worker finishes that first
        while True:
            if not self._conn.poll(0.25):
                if not self._proc.is_alive() and not self._conn.poll(0):
                    raise self._crashed(describe)
                continue
            try:
                kind, payload = self._conn.recv()
            except (EOFError, OSError):
                raise self._crashed(describe) from None
            if kind == "preloaded":
                self._preloading = False
            elif kind == "log":
                log(payload)
            elif kind == "progress":
                on_progress(payload)
            elif kind == "result":
                return payload
            else:
                raise payload

    def preload(self, modules: tuple[str, ...]) -> None:
        """Have the (forked) worker import ``modules`` now, in the background: a spare worker warms up
        on an idle core while another runs a stage. Import errors are left for the stage to meet."""
        self.start()
        self._conn.send((_PRELOAD, tuple(modules)))
        self._preloading = True

    def ready(self) -> bool:
        """Its preload (if any) is done and the worker is alive."""
        if self._preloading and self._proc is not None and self._conn.poll(0):
            try:
                kind, _ = self._conn.recv()
            except (EOFError, OSError):
                return False
            self._preloading = kind != "preloaded"
        return not self._preloading and self._proc is not None and self._proc.is_alive()

    def start(self) -> None:
        """Fork the worker now if it is not running (several workers are forked before any thread starts)."""
        if not self.in_process and (self._proc is None or not self._proc.is_alive()):
            self._start()

    def kill(self) -> None:
        """Kill the worker from another thread than the one in ``run`` (which then raises); ``stop`` reaps it."""
        proc = self._proc
        if proc is not None and proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Kill the worker now (it holds no state worth saving: its output goes to a scratch folder)."""
        if self._proc is not None:
            if self._proc.is_alive():
                os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.join()
            self._conn.close()
            self._proc = self._conn = None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.target, os.getpid(), self.close_fds),
                                 name="pipeline-runner-stage", daemon=True)
        self._proc.start()
        child.close()

    def _crashed(self, describe: tuple[str, str]) -> StageError:
        if self._proc is not None:
            self._proc.join(timeout=2)
        code = self._proc.exitcode if self._proc is not None else None
        self.stop()
        if code is not None and code < 0:
            how = f"was killed by {signal.Signals(-code).name}"
            if -code in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL):
                how += " (a native crash inside a library)"
            elif -code == signal.SIGKILL:
                how += " (out of memory?)"
        else:
            how = f"exited unexpectedly (code {code})"
        return StageError(*describe, f"the stage's worker process {how}")


class HandoverWorker:
    """A :class:`StageWorker` and a spare that imports ``modules`` meanwhile (``StageWorker.preload``):
    the first job sent once the spare is ready runs on the spare, and the first worker stops. The
    runner uses it with one job on an idle machine, so the later stages' heavy imports (coremltools,
    onnxruntime) happen on the other core while the first stages run. Same interface as StageWorker."""

    def __init__(self, first: StageWorker, spare: StageWorker, modules: tuple[str, ...]):
        self.in_process = False
        self._current, self._spare = first, spare
        spare.preload(modules)

    def run(self, job, log: Callable[[str], None], describe: tuple[str, str],
            on_progress: Callable[[tuple], None] = lambda state: None):
        if self._spare is not None and self._spare.ready():
            self._current.stop()
            self._current, self._spare = self._spare, None
        return self._current.run(job, log, describe, on_progress)

    def start(self) -> None:
        self._current.start()

    def kill(self) -> None:
        self._current.kill()

    def stop(self) -> None:
        for worker in (self._current, self._spare):
            if worker is not None:
                worker.stop()


def _serve(conn, target: Callable, parent: int, close_fds: tuple[int, ...]) -> None:
    """The worker's loop: run jobs until the runner closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides; it kills us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for fd in close_fds:
        os.close(fd)
    if "torch" in sys.modules:
        # Forced fork (PIPELINE_RUNNER_WORKER=fork) from a process that ran torch: its OpenMP pool
        # did not survive the fork. One thread keeps torch off OpenMP (what torch's DataLoader does
        # in its forked workers). The CLI's runner never imports torch; its workers keep every thread.
        sys.modules["torch"].set_num_threads(1)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()

    def log(message: str) -> None:
        conn.send(("log", message))

    from pipeline_runner import progress
    from pipeline_runner.progress.api import active

    reporting = active() is not None  # the runner shows progress: forward the stage's
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if isinstance(job, tuple) and job and job[0] == _PRELOAD:
            _import_each(job[1])
            conn.send(("preloaded", None))
            continue
        try:
            if reporting:
                with progress.activate(_ProgressForwarder(conn)), progress.stage("worker"):
                    result = target(job, log)
            else:
                result = target(job, log)
            conn.send(("result", result))
        except PipelineError as exc:
            _send_error(conn, exc)
        except BaseException as exc:  # target turns exceptions into PipelineErrors; this is a last resort
            _send_error(conn, StageError("?", "?", f"{type(exc).__name__}: {exc}"))


def _import_each(modules: tuple[str, ...]) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # not installed, or broken: the stage that needs it says so
            pass


class _ProgressForwarder:
    """The worker's progress reporter: sends each change to the runner, at most every 50 ms per step."""

    def __init__(self, conn):
        self.conn, self.sent_at, self.sent_step = conn, 0.0, None

    def stage_changed(self, handle) -> None:
        now = time.monotonic()
        if handle.step == self.sent_step and now - self.sent_at < 0.05 and handle.done != handle.total:
            return
        self.sent_at, self.sent_step = now, handle.step
        self.conn.send(("progress", (handle.step, handle.done, handle.total, handle.unit)))

    def log(self, message: str) -> None:
        self.conn.send(("log", message))

    def __getattr__(self, name):  # the other Reporter events do not cross: the runner sends them
        return lambda *args, **kwargs: None


def _send_error(conn, exc: PipelineError) -> None:
    try:
        conn.send(("error", exc))
    except Exception:  # an error that does not pickle: keep its text
        plain = StageError(getattr(exc, "recipe", "?"), getattr(exc, "stage", "?"), str(exc))
        plain.traceback = getattr(exc, "traceback", None)
        conn.send(("error", plain))


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
