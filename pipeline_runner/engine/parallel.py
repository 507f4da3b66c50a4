"""Run several recipes at once, each in its own worker process.

Each build directory has its own lock, so recipes never share files; what they
share is the machine. A worker buffers its recipe's log, and the parent prints it
as one block when that recipe is done, so the output of N recipes stays readable.
Workers are spawned, not forked: the parent may hold threads, and torch and
coremltools are imported only inside the workers.
"""

from __future__ import annotations

import contextlib
import io
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

from pipeline_runner.errors import CapturedError


def _run_one(recipe_path: str, build_root: str, options: dict, quiet: bool):
    from pipeline_runner import progress
    from pipeline_runner.engine.runner import run_recipe
    from pipeline_runner.progress.api import Reporter
    from pipeline_runner.progress.plain import PlainReporter
    from pipeline_runner.recipe import load_recipe

    recipe = load_recipe(recipe_path)
    buffer = io.StringIO()
    started = time.perf_counter()
    reporter = Reporter() if quiet else PlainReporter(buffer)
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer), progress.activate(reporter):
        reporter.recipe_started(recipe.name, str(recipe.path), str(Path(build_root) / recipe.name))
        report = run_recipe(recipe, Path(build_root), log=progress.log, **options)
        reporter.recipe_finished(report, time.perf_counter() - started, options.get("dry_run", False))
    if report.error is not None:  # our error types are not all picklable; keep what the CLI shows
        report.error = CapturedError.of(report.error)
    return report, buffer.getvalue()


def run_parallel(recipes, build_root: Path, jobs: int, options: dict, keep_going: bool, quiet: bool = False):
    """Yield (report, output) per recipe in the order they finish."""
    with ProcessPoolExecutor(max_workers=min(jobs, len(recipes)), mp_context=get_context("spawn")) as pool:
        pending = {pool.submit(_run_one, str(r.path), str(build_root), options, quiet) for r in recipes}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                if future.cancelled():
                    continue
                result = future.result()
                yield result
                if result[0].error is not None and not keep_going:
                    for other in pending:
                        other.cancel()  # not started yet: dropped; running ones finish
