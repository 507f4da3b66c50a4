"""Live progress: the API stages call, tqdm capture, and what the CLI prints per output mode."""

from __future__ import annotations

import io
import json

from pipeline_runner import progress
from pipeline_runner.progress.api import Reporter
from tests.conftest import stage_statuses


class Recorder(Reporter):
    def __init__(self):
        self.events = []

    def stage_started(self, handle):
        self.events.append(("start", handle.name))

    def stage_changed(self, handle):
        self.events.append(("change", handle.name, handle.step, handle.done, handle.total, handle.unit))

    def stage_finished(self, handle, ok):
        self.events.append(("finish", handle.name, ok))

    def log(self, message):
        self.events.append(("log", message))


def test_api_is_a_no_op_without_a_reporter():
    assert progress.ticker(10) is None
    progress.step("nothing listens")  # must not raise or print
    progress.advance(1, 2)
    with progress.stage("build") as handle:
        assert handle is None


def test_stage_steps_and_counts_reach_the_reporter():
    rec = Recorder()
    with progress.activate(rec):
        with progress.stage("convert[g]", "no previous run"):
            progress.step("saving")
            tick = progress.ticker(3, "ops")
            for _ in range(3):
                tick()
    assert rec.events[0] == ("start", "convert[g]")
    assert ("change", "convert[g]", "saving", None, None, "") in rec.events
    assert ("change", "convert[g]", "saving", 3, 3, "ops") in rec.events
    assert rec.events[-1] == ("finish", "convert[g]", True)
    assert progress.api.active() is None  # deactivated after the block


def test_a_failing_stage_is_reported_as_failed():
    rec = Recorder()
    with progress.activate(rec):
        try:
            with progress.stage("export[g]"):
                raise ValueError("boom")
        except ValueError:
            pass
    assert rec.events[-1] == ("finish", "export[g]", False)


def test_third_party_tqdm_bars_are_captured_not_printed(capsys):
    import tqdm

    original = tqdm.tqdm
    rec = Recorder()
    with progress.activate(rec):
        with progress.stage("convert[g]"):
            for _ in tqdm.tqdm(range(4), desc="Running MIL default pipeline", unit=" passes"):
                pass
    assert tqdm.tqdm is original  # restored
    changes = [e for e in rec.events if e[0] == "change"]
    assert changes[-1] == ("change", "convert[g]", "Running MIL default pipeline", 4, 4, "passes")
    err = capsys.readouterr().err
    assert "it/s" not in err and "%|" not in err, err


def test_off_a_terminal_progress_is_timestamped_lines_quiet_and_json_keep_working(built, run_cli):
    path, _ = built
    code, out, err = run_cli(path, "--force", "convert")
    assert code == 0, out + err
    lines = out.splitlines()
    assert any(l[:8].count(":") == 2 and "convert[tiny_vit]: coremltools: MIL passes" in l for l in lines), out
    assert any("convert[tiny_vit]: Running MIL default pipeline" in l for l in lines), out  # coremltools' tqdm
    assert any("convert[tiny_vit]: done in" in l for l in lines), out
    assert "%|" not in out + err  # no raw tqdm bar
    assert stage_statuses(out)["convert[tiny_vit]"] == "ran"

    # --quiet prints nothing; --json keeps stdout for the JSON document, progress goes to stderr
    code, out, err = run_cli(path, "--quiet")
    assert code == 0 and out == "" and err == ""
    code, out, err = run_cli(path, "--json", "--force", "swift")
    assert code == 0
    assert json.loads(out)[0]["ok"] is True
    assert "swift: start" in err  # progress went to stderr


def test_live_reporter_draws_stages_and_a_summary_table():
    from rich.console import Console

    from pipeline_runner.engine.runner import Outcome, RunReport
    from pipeline_runner.progress.live import LiveReporter

    buf = io.StringIO()
    reporter = LiveReporter(Console(file=buf, force_terminal=True, width=120, color_system=None))
    with progress.activate(reporter):
        with progress.stage("export[tiny_vit]", "key changed: export.opset 17 → 18"):
            progress.step("torch.onnx.export")
            progress.advance(5, 10, "ops")
        report = RunReport("tiny_vit", None, [Outcome("export[tiny_vit]", "ran", "key changed", 1.25),
                                              Outcome("build", "cached", "up to date")])
        reporter.recipe_finished(report, 2.0, False)
    text = buf.getvalue()
    assert "✓ export[tiny_vit]" in text  # brackets survive rich markup
    assert "│ export[tiny_vit] │ ran" in text and "│ build            │ cached" in text, text
