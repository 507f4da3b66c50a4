"""`pipeline-runner report RECIPE|DIR...`: regenerate build reports without running anything."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="(re)write build/<name>/report.html and build/index.html; runs no stage")
    p.add_argument("targets", nargs="+",
                   help="recipe files, directories of recipes, build directories (build/<name>) or a build root")
    p.add_argument("--build-dir", default="build", type=Path, help="root of build directories (default: build)")


def _build_dirs(targets: list[str], build_root: Path) -> tuple[list[Path], list[str]]:
    """Build directories named by the targets: a build dir has a manifest.json; a directory
    of build dirs counts as all of them; recipes map to build_root/<name>."""
    dirs, problems = [], []
    for target in targets:
        path = Path(target)
        if (path / "manifest.json").exists():
            dirs.append(path)
            continue
        inner = sorted(p.parent for p in path.glob("*/manifest.json")) if path.is_dir() else []
        if inner:
            dirs += inner
            continue
        from pipeline_runner.errors import RecipeError
        from pipeline_runner.recipe import find_recipes, load_recipe

        files = find_recipes([target]) if path.exists() else []
        if not files:
            problems.append(f"{target}: neither a build directory (no manifest.json) nor a recipe")
        for file in files:
            try:
                name = load_recipe(file).name
            except RecipeError as exc:
                problems.append(str(exc))
                continue
            build = build_root / name
            if (build / "manifest.json").exists():
                dirs.append(build)
            else:
                problems.append(f"{file}: no build in {build} yet; run `pipeline-runner {file}` first")
    return dirs, problems


def main(args) -> int:
    from pipeline_runner.quiet import quiet_third_party
    from pipeline_runner.report import write_index, write_report

    quiet_third_party()
    dirs, problems = _build_dirs(args.targets, args.build_dir)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    for build in dirs:
        print(write_report(build))
    for root in sorted({b.parent for b in dirs}):
        print(write_index(root))
    return 2 if problems else 0
