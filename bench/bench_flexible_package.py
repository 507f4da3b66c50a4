"""Package size of a model taking several shapes, as a ratio to the same model at its one default shape.

Builds the recipe (default: the inline custom transformer, 16/32/64/128 tokens in a multifunction
package) and reads what the convert stage measured: the saved package, and the package of the
default shape alone, converted in the same run. Target: growth below 10 % (weights are stored once).
Run: python bench/bench_flexible_package.py [RECIPE] [--build-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_GROWTH = 0.10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("recipe", nargs="?", default="pipelines/custom_transformer_inline.yaml")
    parser.add_argument("--build-dir", default="build")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "pipeline_runner", args.recipe, "--build-dir", args.build_dir],
                   cwd=REPO, check=True, capture_output=True)
    sys.path.insert(0, str(REPO))
    from pipeline_runner.recipe import load_recipe

    recipe = load_recipe(REPO / args.recipe)
    manifest = json.loads((REPO / args.build_dir / recipe.name / "manifest.json").read_text())
    failed = False
    print(f"{'graph':<28}{'functions':>10}{'fixed bytes':>14}{'package bytes':>15}{'ratio':>8}")
    for graph in recipe.graphs:
        shapes = manifest["stages"][f"convert[{graph['name']}]"]["info"].get("coreml_shapes", {})
        if shapes.get("kind") != "multifunction":
            print(f"{graph['name']:<28}{'-':>10}  (one shape: {shapes.get('kind', 'fixed')})")
            continue
        ratio = shapes["package_bytes"] / shapes["fixed_shape_package_bytes"]
        failed |= ratio - 1 >= TARGET_GROWTH
        print(f"{graph['name']:<28}{len(shapes['functions']):>10}{shapes['fixed_shape_package_bytes']:>14,}"
              f"{shapes['package_bytes']:>15,}{ratio:>8.4f}")
    print(f"target: ratio < {1 + TARGET_GROWTH:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
