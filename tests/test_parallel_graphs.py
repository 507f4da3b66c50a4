"""-j N inside one recipe: its independent graphs run side by side, in worker processes."""

from __future__ import annotations

import json
import re
import signal
import time

import pytest

from tests.cli_process import STOP_WITHIN, Run, children, gone, no_leftovers
from tests.conftest import stage_statuses

TWO_GRAPHS = """\
name: two_graphs
model:
  source: builtin
  architecture: vit
  params: {image_size: 32, patch_size: 8, num_classes: 10, dim: 32, depth: 2, heads: 4}
graphs:
  - name: first
    inputs:
      - {name: image, shape: [1, 3, 32, 32], image: {mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3]}}
    outputs: [{name: logits, kind: logits}]
  - name: second
    inputs:
      - {name: pixels, shape: [2, 3, 32, 32]}
    outputs: [{name: logits, kind: logits}]
convert:
  precision: fp32
ios:
  class_name: TwoGraphs
  wrapper: image_classifier
validate:
  samples: 2
"""

ORDER = ["build", "export[first]", "export[second]", "convert[first]", "convert[second]",
         "validate[first]", "validate[second]", "swift"]


def _events(lines: list[str]) -> list[tuple[str, str]]:
    """(stage, "start" | "done") in the order the plain reporter printed them."""
    found = []
    for line in lines:
        m = re.match(r"\d\d:\d\d:\d\d (\S+): (start|done) ", line)
        if m:
            found.append((m.group(1), m.group(2)))
    return found


@pytest.fixture(scope="module")
def parallel_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("two_graphs")
    (root / "r.yaml").write_text(TWO_GRAPHS)
    code, out, err = Run(root / "r.yaml", root / "build", "-j", "2").finish()
    assert code == 0, out + err
    return root, out


def test_graphs_run_side_by_side_and_the_summary_keeps_the_plan_order(parallel_build):
    root, out = parallel_build
    lines = out.splitlines()
    events = _events(lines)
    # both graphs' exports were running at once: the second started before the first finished
    first_done = events.index(("export[first]", "done"))
    second_done = events.index(("export[second]", "done"))
    assert events.index(("export[second]", "start")) < first_done
    assert events.index(("export[first]", "start")) < second_done
    # a consumer starts only after its producer finished
    for graph in ("first", "second"):
        assert events.index((f"export[{graph}]", "done")) < events.index((f"convert[{graph}]", "start"))
        assert events.index((f"convert[{graph}]", "done")) < events.index((f"validate[{graph}]", "start"))
    statuses = stage_statuses(out)
    assert list(statuses) == ORDER and set(statuses.values()) == {"ran"}, out
    # every line is whole: concurrent stages never write into each other's lines
    assert all(line.count(" start (") <= 1 for line in lines), out
    summary = json.loads((root / "build" / "two_graphs" / "validation.json").read_text())
    assert summary["passed"] and set(summary["graphs"]) == {"first", "second"}


def test_keys_do_not_depend_on_jobs(parallel_build):
    root, _ = parallel_build
    code, out, err = Run(root / "r.yaml", root / "build").finish()
    assert code == 0, out + err
    assert set(stage_statuses(out).values()) == {"cached"}, out


def test_an_interrupt_stops_every_worker_and_the_build_resumes(parallel_build, tmp_path):
    root, _ = parallel_build
    (tmp_path / "r.yaml").write_text(TWO_GRAPHS)
    build_root = tmp_path / "build"
    run = Run(tmp_path / "r.yaml", build_root, "-j", "2")
    run.wait_for("export[second]: start")
    run.wait_for("export[first]: start")
    deadline = time.monotonic() + 60
    while len(children(run.proc.pid)) < 2:
        assert time.monotonic() < deadline, "two stage workers expected"
        time.sleep(0.05)
    workers = children(run.proc.pid)
    time.sleep(1.0)
    code, took, err = run.stop(signal.SIGINT)
    assert code == 130 and took < STOP_WITHIN, (code, took, err)
    assert "Traceback" not in err
    deadline = time.monotonic() + STOP_WITHIN
    while not all(gone(w) for w in workers):
        assert time.monotonic() < deadline, "a worker outlived the interrupted run"
        time.sleep(0.1)
    build = build_root / "two_graphs"
    no_leftovers(build)

    code, out, err = Run(tmp_path / "r.yaml", build_root, "-j", "2").finish()
    assert code == 0, out + err
    statuses = stage_statuses(out)
    assert statuses["build"] == "cached" and statuses["swift"] == "ran", out
