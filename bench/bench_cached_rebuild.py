"""How much a fully cached rebuild costs, as a ratio to starting the Python interpreter.

A cached rebuild must not import torch/coremltools: its cost should stay within a small
multiple of `python -c pass`. Run: python bench/bench_cached_rebuild.py [RECIPE] [--repeat N]
(the recipe is built once first if needed).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("recipe", nargs="?", default="pipelines/vit.yaml")
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    run = [sys.executable, "-m", "pipeline_runner", args.recipe, "--build-dir", args.build_dir]
    subprocess.run(run, cwd=REPO, check=True, capture_output=True)  # make sure it is built
    baseline = timed([sys.executable, "-c", "pass"], args.repeat)
    check = timed([sys.executable, "-m", "pipeline_runner", "check", args.recipe], args.repeat)
    cached = timed(run, args.repeat)
    print(f"{'what':<28}{'median s':>10}{'ratio':>8}")
    for name, t in (("python -c pass (baseline)", baseline), ("check recipe", check), ("cached rebuild", cached)):
        print(f"{name:<28}{t:>10.3f}{t / baseline:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
