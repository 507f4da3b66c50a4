"""Command line: `pipeline-runner [run] RECIPE...` and `pipeline-runner check PATH...`.

Exit codes: 0 success, 1 a stage or validation failed, 2 an invalid recipe or usage,
130/143 interrupted by SIGINT/SIGTERM. A user or model error prints its message, never
a traceback (``--debug`` adds it); an internal bug says so and prints its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

from pipeline_runner.errors import RecipeError

COMMANDS = ("run", "check", "stages", "report")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pipeline-runner",
        description="Build PyTorch models into ONNX and Core ML from YAML recipes, check them, write Swift glue.",
        epilog="`pipeline-runner RECIPE` is short for `pipeline-runner run RECIPE`.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="validate recipes, then run their stale stages")
    run.add_argument("recipes", nargs="+", help="recipe files or directories of recipes")
    run.add_argument("--build-dir", default="build", type=Path, help="root of build directories (default: build)")
    run.add_argument("--force", nargs="?", const="all", action="append",
                     help="rerun every stage, or the named stage (and what consumes it); repeatable")
    run.add_argument("--dry-run", "--explain", action="store_true", dest="dry_run",
                     help="print what each stage would do and why, and run nothing")
    run.add_argument("--keep-going", action="store_true", help="with several recipes, go on after one fails")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress or summary; errors only")
    run.add_argument("--cache", metavar="URL", default=None,
                     help="shared stage cache: a directory or any fsspec URL (s3://bucket/prefix); "
                          "stages found there are pulled, stages that ran are pushed "
                          "(default: $PIPELINE_RUNNER_CACHE)")
    run.add_argument("--cache-mode", choices=("read-write", "read-only"), default=None,
                     help="read-only pulls but never pushes, e.g. for untrusted pull requests "
                          "(default: $PIPELINE_RUNNER_CACHE_MODE or read-write)")
    run.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                     help="run up to N stages at once, each in its own worker process: N recipes, or one "
                          "recipe's independent graphs (default: 1)")
    run.add_argument("--verify", action="store_true",
                     help="re-hash every artifact (not only those whose size or mtime changed) and report; "
                          "altered ones are rebuilt unless --dry-run")
    check = sub.add_parser("check", help="validate recipes only (fast; imports no ML library)")
    check.add_argument("paths", nargs="+", help="recipe files or directories")
    check.add_argument("--json", action="store_true")
    sub.add_parser("stages", help="list the stages, what they read and consume")
    from pipeline_runner.report.cli import add_parser as add_report_parser

    add_report_parser(sub)
    for command in (run, check):
        command.add_argument("--debug", action="store_true", help="print the Python traceback of a failure")
    return p


def main(argv: list[str] | None = None) -> int:
    from pipeline_runner.engine.signals import Interrupted

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in (*COMMANDS, "-h", "--help"):
        argv.insert(0, "run")
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "stages":
            return _stages()
        if args.command == "report":
            from pipeline_runner.report.cli import main as report_main

            return report_main(args)
        return _run(args)
    except (Interrupted, KeyboardInterrupt) as exc:
        code = exc.exit_code if isinstance(exc, Interrupted) else 130
        print(f"\ninterrupted ({exc if isinstance(exc, Interrupted) else 'SIGINT'}): stopped; finished stages are "
              "recorded, and the next run resumes from there", file=sys.stderr)
        return code
    except Exception:  # a bug: say so, with what a bug report needs
        print("internal error, a bug in pipeline_runner (please report it with this traceback):\n"
              + traceback.format_exc(), file=sys.stderr)
        return 1


def _load_all(paths, as_json: bool):
    from pipeline_runner.recipe import find_recipes, load_recipe

    recipes, errors = [], []
    files = find_recipes(paths)
    if not files:
        print(f"no recipes found in {' '.join(map(str, paths))}", file=sys.stderr)
    for path in files:
        try:
            recipes.append(load_recipe(path))
        except RecipeError as exc:
            errors.append(exc)
            if not as_json:
                print(f"error: {exc}", file=sys.stderr)
    return recipes, errors, files


def _check(args) -> int:
    recipes, errors, files = _load_all(args.paths, args.json)
    if args.json:
        print(json.dumps({"valid": [str(r.path) for r in recipes], "errors": [e.to_dict() for e in errors]}, indent=2))
    else:
        for r in recipes:
            print(f"ok  {r.path}")
    return 2 if errors or not files else 0


def _stages() -> int:
    from pipeline_runner.engine.stage import order_stages
    from pipeline_runner.stages import STAGES

    width = max(len(name) for name in STAGES)
    for stage in order_stages(STAGES):
        scope = "per graph" if stage.per_graph else "per recipe"
        print(f"{stage.name:<{width}} {scope:<10} needs: {', '.join(stage.needs) or '-':<24} reads: {', '.join(stage.reads)}")
    return 0


def _run(args) -> int:
    recipes, errors, files = _load_all(args.recipes, args.json)
    if errors or not files:
        if args.json:
            print(json.dumps({"errors": [e.to_dict() for e in errors]}, indent=2))
        return 2
    force = set(args.force or [])
    from pipeline_runner.stages import STAGES

    unknown = force - {"all", *STAGES}
    if unknown:
        print(f"error: --force: unknown stage {sorted(unknown)[0]!r}; stages: {', '.join(STAGES)}", file=sys.stderr)
        return 2
    from pipeline_runner import progress
    from pipeline_runner.engine.remote_cache import RemoteCache
    from pipeline_runner.progress.choose import reporter_for

    try:
        cache = RemoteCache.from_options(args.cache, args.cache_mode)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("error: -j/--jobs: expected a positive number of workers", file=sys.stderr)
        return 2
    options = dict(force=force, dry_run=args.dry_run, verify=args.verify, cache=cache)
    reports, exit_code = [], 0
    with progress.activate(reporter_for(as_json=args.json, quiet=args.quiet)) as reporter:
        if args.jobs > 1 and len(recipes) > 1:
            from pipeline_runner.engine.parallel import run_parallel

            results = run_parallel(recipes, args.build_dir, args.jobs, options,
                                   keep_going=args.keep_going, quiet=args.quiet)
        else:
            results = _run_serial(recipes, args.build_dir, {**options, "jobs": args.jobs}, reporter, args)
        for report, output in results:
            (sys.stderr if args.json else sys.stdout).write(output)  # a worker's log, as one block
            reports.append(report)
            if not args.json:
                _print_verify(report)
                _print_error(report, args.debug)
            if report.error is not None:
                exit_code = max(exit_code, report.error.exit_code)
    if args.json:
        print(json.dumps([_report_dict(r) for r in reports], indent=2))
    if exit_code and len(recipes) > 1:
        failed = [r.recipe for r in reports if r.error is not None]
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return exit_code


def _run_serial(recipes, build_root: Path, options: dict, reporter, args):
    """One recipe after another, reporting live; yields (report, "")."""
    from pipeline_runner import progress
    from pipeline_runner.engine.runner import run_recipe

    for recipe in recipes:
        started = time.perf_counter()
        if not args.json:
            reporter.recipe_started(recipe.name, str(recipe.path), str(build_root / recipe.name))
        report = run_recipe(recipe, build_root, log=progress.log, **options)
        if not args.json:
            reporter.recipe_finished(report, time.perf_counter() - started, args.dry_run)
        yield report, ""
        if report.error is not None and not args.keep_going:
            return


def _print_verify(report) -> None:
    if getattr(report, "altered", None) is not None:
        print(f"  verify: {len(report.altered)} artifact(s) altered or missing"
              + (": " + ", ".join(report.altered) if report.altered else ""))


def _print_error(report, debug: bool) -> None:
    error = report.error
    if error is None:
        return
    print(f"error: {error}", file=sys.stderr)
    trace = getattr(error, "traceback", None)
    if trace and (debug or getattr(error, "internal", False)):
        print(trace, file=sys.stderr)
    elif trace:
        print("(run with --debug for the traceback)", file=sys.stderr)


def _report_dict(report) -> dict:
    return {
        "recipe": report.recipe,
        "build_dir": str(report.build_dir),
        "ok": report.ok,
        "stages": [o.__dict__ for o in report.outcomes],
        "altered": getattr(report, "altered", None),
        "error": report.error.to_dict() if report.error else None,
    }
