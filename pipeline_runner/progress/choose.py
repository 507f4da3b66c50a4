"""Which reporter a CLI run gets: live on a terminal, timestamped lines otherwise, none with --quiet."""

from __future__ import annotations

import sys

from pipeline_runner.progress.api import Reporter


def reporter_for(*, as_json: bool, quiet: bool) -> Reporter:
    """--json keeps stdout for the JSON document, so progress goes to stderr."""
    if quiet:
        return Reporter()
    stream = sys.stderr if as_json else sys.stdout
    if stream.isatty():
        from rich.console import Console

        from pipeline_runner.progress.live import LiveReporter

        return LiveReporter(Console(file=stream))
    from pipeline_runner.progress.plain import PlainReporter

    return PlainReporter(stream)
