"""When to (re)write the report, cheaply: it is cached like a stage.

The report's key is a hash of what it is made of (the manifest's stage records, the last
run's outcomes, the report code's version); it is stamped into report.html's first lines.
A run in which nothing ran leaves a current report alone and imports nothing heavy; the
report is (re)written when a stage ran or failed, or when it is missing or stale.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

REPORT = "report.html"
INDEX = "index.html"
LAST_RUN = "last_run.json"  # the outcomes of the last run in which a stage ran
VERSION = 1  # bump when the page changes in a way the key cannot see
_KEY_RE = re.compile(rb'<meta name="pipeline-runner-report-key" content="([0-9a-f]{64})"')


def report_key(build_dir: Path) -> str:
    h = hashlib.sha256(f"report v{VERSION}\n".encode())
    for name in ("manifest.json", LAST_RUN):
        path = build_dir / name
        if path.exists():
            data = json.loads(path.read_text())
            if name == "manifest.json":
                data = data.get("stages", {})  # not the input-file hash memo
            h.update(json.dumps(data, sort_keys=True, default=str).encode())
    return h.hexdigest()


def stamped_key(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            match = _KEY_RE.search(f.read(2048))
    except OSError:
        return None
    return match.group(1).decode() if match else None


def after_run(build_dir: Path, outcomes, log) -> None:
    """The runner's hook, after the manifest is saved. A report problem never fails a build."""
    if any(o.status in ("ran", "failed") for o in outcomes):
        record = {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "stages": [{"name": o.name, "status": o.status, "reason": o.reason,
                              "seconds": round(o.seconds, 3)} for o in outcomes]}
        (build_dir / LAST_RUN).write_text(json.dumps(record, indent=2) + "\n")
    elif stamped_key(build_dir / REPORT) == report_key(build_dir):
        return
    try:
        write_report(build_dir)
        write_index(build_dir.parent)
    except Exception as exc:  # the build stands; say why its report does not
        log(f"  [report] could not write {build_dir / REPORT}: {type(exc).__name__}: {exc}")


def write_report(build_dir: Path) -> Path:
    from pipeline_runner.report.data import collect
    from pipeline_runner.report.render import render_report

    key = report_key(build_dir)
    html = render_report(collect(build_dir), key)
    return _write(build_dir / REPORT, html)


def write_index(build_root: Path) -> Path:
    from pipeline_runner.report.render import render_index

    builds = sorted(p.parent for p in build_root.glob(f"*/{REPORT}"))
    return _write(build_root / INDEX, render_index(build_root, builds))


def _write(path: Path, text: str) -> Path:
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
