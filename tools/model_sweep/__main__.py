"""``python -m tools.model_sweep [--fast] [--work DIR] [--out docs/model_coverage.md]``: see the package docstring."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tools.model_sweep.catalogue import catalogue
from tools.model_sweep.report import _over_limit, render

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.model_sweep", description=__doc__)
    p.add_argument("--fast", action="store_true", help="the CI subset (a few models of each source)")
    p.add_argument("--work", type=Path, default=Path("build/model_sweep"), help="recipes, builds and results")
    p.add_argument("--out", type=Path, default=None, help="coverage table (default: docs/model_coverage.md; "
                                                          "the fast subset writes none unless given)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per model")
    p.add_argument("--only", nargs="*", help="model ids (e.g. timm:resnet transformers:BertModel)")
    p.add_argument("--retry-failed", action="store_true", help="run models whose last result failed again")
    p.add_argument("--jobs", type=int, default=1, help="models run at once (each in its own process)")
    p.add_argument("--reverse", action="store_true",
                   help="take the models from the end (a second sweep on the same --work meets the first halfway)")
    args = p.parse_args(argv)
    out = args.out or (None if args.fast else ROOT / "docs" / "model_coverage.md")
    work = args.work.resolve()
    results_dir = work / ("results_fast" if args.fast else "results")
    results_dir.mkdir(parents=True, exist_ok=True)
    catalogue_entries = _entries(work, args.fast)
    entries = catalogue_entries
    if args.only:  # run these; the table still shows every model with a result in --work
        entries = [e for e in entries if e["id"] in args.only]
    todo = []
    for entry in entries:
        target = results_dir / f"{entry['id'].replace(':', '__')}.json"
        if target.exists():
            previous = json.loads(target.read_text())
            if previous.get("ok") or not args.retry_failed:
                continue
        if entry.get("skip"):  # outside the sample ("fits in memory"): listed, not counted
            target.write_text(json.dumps({**_row(entry), "reason": entry["skip"], "excluded": True}))
            continue
        todo.append((entry, target))

    def one(item):
        entry, target = item
        claim = target.with_suffix(".running")
        if (target.exists() and not args.retry_failed) or claim.exists():
            return  # another sweep on this work directory took it
        claim.write_text(str(time.time()))
        try:
            _run_worker(entry, work, target, args.timeout)
        finally:
            claim.unlink(missing_ok=True)
        reason = json.loads(target.read_text()).get("reason", "ok")
        print(f"{entry['id']} ({entry['architecture']}): {reason[:300]}", flush=True)

    if args.reverse:
        todo.reverse()
    print(f"{len(todo)} of {len(entries)} models to run", flush=True)
    with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        list(pool.map(one, todo))
    results = [json.loads((results_dir / f"{e['id'].replace(':', '__')}.json").read_text())
               for e in catalogue_entries if (results_dir / f"{e['id'].replace(':', '__')}.json").exists()]
    if out:
        scope = "fast subset" if args.fast else "full sweep"
        done = {r["id"] for r in results}
        out.write_text(render(results, scope, [e for e in catalogue_entries if e["id"] not in done]))
        print(f"wrote {out}")
    ok = sum(1 for r in results if r.get("ok"))
    counted = [r for r in results if not (r.get("excluded") or _over_limit(r))]
    print(f"{ok}/{len(counted)} built and Core ML-verified")
    return 0


def _row(entry: dict) -> dict:
    return {"id": entry["id"], "architecture": entry["architecture"], "source": entry["source"],
            "family": entry.get("family"), "stage_reached": "recipe", "coreml_check": "not run", "ok": False}


def _entries(work: Path, fast: bool) -> list[dict]:
    """The catalogue, planned once and kept (planning counts parameters of many candidates)."""
    plan = work / ("catalogue_fast.json" if fast else "catalogue.json")
    if plan.exists():
        return json.loads(plan.read_text())
    entries = catalogue(fast)
    plan.write_text(json.dumps(entries, indent=1))
    return entries


def _run_worker(entry: dict, work: Path, target: Path, timeout: int) -> None:
    log = work / "logs" / f"{entry['id'].replace(':', '__')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    with log.open("w") as fh:
        try:
            proc = subprocess.run([sys.executable, "-m", "tools.model_sweep.worker", json.dumps(entry), str(work),
                                   str(target)], cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if code != 0 or not target.exists():
        reason = (f"timed out after {timeout} s" if code == "timeout"
                  else f"worker process died (exit {code}; out of memory?); log: {log}")
        target.write_text(json.dumps({**_row(entry), "reason": reason, "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    sys.exit(main())
