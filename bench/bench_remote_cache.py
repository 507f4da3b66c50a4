"""The shared stage cache and -j, as ratios measured in one run.

1. cold build of a recipe with an empty cache (it pushes), then the same recipe in a second,
   empty build directory with the same cache: every stage is pulled and verified. Prints both
   times and their ratio, and checks the pulled artifacts are byte-identical.
2. with --jobs PATH...: for each PATH (a directory of recipes, or one recipe), a cold build with
   -j 1, then again (fresh build directory, no cache) with -j 2; prints both times and the
   speed-up. A directory's recipes run side by side; one recipe's graphs run side by side.

Run: python bench/bench_remote_cache.py [RECIPE] [--cache URL] [--jobs pipelines/ pipelines/mobileclip.yaml]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pipeline_runner", *args], cwd=REPO,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"pipeline-runner {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return time.perf_counter() - start, out.stdout


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file of every stage artifact the build directory's manifest records."""
    manifest = json.loads((root / "manifest.json").read_text())
    paths = [root / rel for rec in manifest["stages"].values() for rel in rec["artifacts"]]
    files = [f for p in paths for f in ([*p.rglob("*")] if p.is_dir() else [p]) if f.is_file()]
    return {f.relative_to(root).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(files)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", nargs="?", default="pipelines/vit.yaml")
    parser.add_argument("--cache", help="cache URL (default: a fresh temporary directory)")
    parser.add_argument("--jobs", metavar="PATH", nargs="+", default=[],
                        help="also measure -j 2 against -j 1 over each PATH (a recipe directory or one recipe)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = args.cache or str(tmp / "cache")
        cold, _ = run([args.recipe, "--build-dir", str(tmp / "a"), "--cache", cache, "--force"])
        pull, out = run([args.recipe, "--build-dir", str(tmp / "b"), "--cache", cache])
        statuses = {line.split()[1] for line in out.splitlines()
                    if line.startswith("  ") and len(line.split()) > 1 and not line.startswith("  done")}
        (name,) = [p.name for p in (tmp / "a").iterdir() if (p / "manifest.json").exists()]
        same = digests(tmp / "a" / name) == digests(tmp / "b" / name)
        print(f"{'what':<44}{'seconds':>9}{'ratio':>8}")
        print(f"{'cold build (pushes to the cache)':<44}{cold:>9.1f}{1.0:>8.1f}")
        print(f"{'second checkout, same cache (pulls)':<44}{pull:>9.1f}{cold / pull:>8.1f}x faster")
        print(f"stage statuses: {sorted(statuses)}; artifacts byte-identical: {same}")
        for i, path in enumerate(args.jobs):
            serial, _ = run([path, "--build-dir", str(tmp / f"serial{i}"), "--keep-going"])
            parallel, _ = run([path, "--build-dir", str(tmp / f"parallel{i}"), "--keep-going", "-j", "2"])
            print(f"{path + ', -j 1':<44}{serial:>9.1f}{1.0:>8.1f}", flush=True)
            print(f"{path + ', -j 2':<44}{parallel:>9.1f}{serial / parallel:>8.2f}x faster", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
