"""Live progress on a terminal with rich: one line per running stage (spinner, stage,
sub-step, bar, elapsed), finished stages printed above it, and a summary table per recipe."""

from __future__ import annotations

from rich.markup import escape

from pipeline_runner.progress.api import Reporter, StageHandle

_STATUS_STYLE = {"ran": "green", "cached": "dim", "failed": "bold red", "skipped": "yellow", "will run": "cyan",
                 "pulled": "blue", "would pull": "blue"}


class LiveReporter(Reporter):
    def __init__(self, console=None):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console or Console()
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[stage]}"),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[count]}", justify="right"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._tasks: dict[str, int] = {}
        self._started = False

    def _ensure_started(self) -> None:
        if not self._started:
            self.progress.start()
            self._started = True

    def recipe_started(self, name: str, path: str, build_dir: str) -> None:
        self.console.print(f"[bold]{escape(name)}[/] ({escape(path)}) → {escape(build_dir)}")

    def stage_started(self, handle: StageHandle) -> None:
        self._ensure_started()
        self._tasks[handle.name] = self.progress.add_task(escape(handle.reason), total=None,
                                                          stage=escape(handle.name), count="")

    def stage_changed(self, handle: StageHandle) -> None:
        task = self._tasks.get(handle.name)
        if task is None:
            return
        description = handle.step + (f" ({handle.unit})" if handle.unit and handle.total else "")
        count = f"{handle.done}/{handle.total}" if handle.total else ""
        self.progress.update(task, description=escape(description), total=handle.total,
                             completed=handle.done if handle.total else 0, count=count)

    def stage_finished(self, handle: StageHandle, ok: bool) -> None:
        task = self._tasks.pop(handle.name, None)
        if task is not None:
            self.progress.remove_task(task)
        mark = "[green]✓[/]" if ok else "[bold red]✗[/]"
        self.console.print(f"  {mark} {escape(handle.name)}  {handle.elapsed:.1f}s")

    def log(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False)

    def recipe_finished(self, report, seconds: float, dry_run: bool) -> None:
        from rich.table import Table

        table = Table(title=f"{escape(report.recipe)}: {'plan' if dry_run else f'{seconds:.1f}s'}", title_justify="left")
        table.add_column("stage")
        table.add_column("status")
        table.add_column("seconds", justify="right")
        table.add_column("why")
        for o in report.outcomes:
            style = _STATUS_STYLE.get(o.status, "")
            timing = f"{o.seconds:.1f}" if o.status in ("ran", "failed") else ""
            status = f"[{style}]{o.status}[/]" if style else o.status
            table.add_row(escape(o.name), status, timing, escape(o.reason))
        self.console.print(table)

    def close(self) -> None:
        if self._started:
            self.progress.stop()
            self._started = False
