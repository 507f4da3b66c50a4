"""The CLI in a subprocess (a runner that never imported torch, as users run it), and what it leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import REPO

STOP_WITHIN = 5.0  # seconds; ~1 s on an idle machine, slack for a loaded CI runner


class Run:
    """The CLI in a subprocess, its output collected line by line."""

    def __init__(self, recipe: Path, build: Path, *extra: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline_runner", str(recipe), "--build-dir", str(build), *extra],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    def wait_for(self, text: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, "".join(self.lines) + self.proc.stderr.read()
            assert time.monotonic() < deadline, f"no {text!r} in {self.lines}"
            time.sleep(0.05)

    def stop(self, signum: int) -> tuple[int, float, str]:
        started = time.monotonic()
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=60)
        took = time.monotonic() - started
        self.reader.join(5)
        return code, took, self.proc.stderr.read()

    def finish(self) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=900)
        self.reader.join(5)
        return code, "".join(self.lines), self.proc.stderr.read()


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state  # a zombie nobody reaped (PID 1 in a container may not)


def no_leftovers(build: Path) -> None:
    assert not [p for p in build.glob(".work/**/*") if p.is_file()]
    assert not list(build.glob("manifest.json.tmp*"))
