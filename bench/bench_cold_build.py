"""A cold build of a recipe against a hand-written script doing the same export + convert + ORT check.

    python bench/bench_cold_build.py [pipelines/vit.yaml] [--repeat 1]

Both run in fresh processes with empty build directories, interleaved (script, pipeline,
script, ...), so a busy shared machine slows both alike. The script builds the same model
(the recipe's builtin architecture, params and seed), exports ONNX (torch.onnx, opset 17,
dynamic batch), converts it with onnx2coreml at the recipe's precision and saves the
.mlpackage, then checks ONNX Runtime against PyTorch on the recipe's validation samples.
The pipeline also does what the script skips (Core ML numerics through the reference
executor, structure checks, Swift glue, manifest): the ratio is what that costs.
Prints both times and pipeline / script (target: <= 1.3 for pipelines/vit.yaml).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hand_written(recipe_path: str, out_dir: str) -> None:
    """The baseline: what someone would write by hand for the same result."""
    import warnings

    import numpy as np
    import onnx2coreml
    import onnxruntime as ort
    import torch

    from pipeline_runner.models.builtin import architectures
    from pipeline_runner.recipe import load_recipe

    recipe = load_recipe(recipe_path)
    spec, graph = recipe.model, recipe.graphs[0]
    torch.manual_seed(spec.seed)
    model = architectures()[spec.architecture](**spec.params).eval()
    shape = list(graph.inputs[0].shape)
    onnx_path = os.path.join(out_dir, "model.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(shape),), onnx_path, dynamo=False,
                          opset_version=recipe.export.opset, input_names=["image"],
                          output_names=["logits"])  # onnx2coreml needs fixed shapes
        onnx2coreml.convert(onnx_path, compute_precision=recipe.convert.precision).save(
            os.path.join(out_dir, "model.mlpackage"))
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for _ in range(recipe.validate.samples):
        x = rng.standard_normal(shape).astype(np.float32)
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        got = session.run(None, {"image": x})[0]
        assert np.max(np.abs(got - want)) <= 1e-3 * np.max(np.abs(want)), "ONNX Runtime disagrees with PyTorch"


def _timed(argv: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": REPO}
    t = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", nargs="?", default="pipelines/vit.yaml")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved pairs (median reported)")
    parser.add_argument("--baseline-only", metavar="OUT_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_only:
        hand_written(args.recipe, args.baseline_only)
        return
    scripts, pipelines, ratios = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench_cold_") as tmp:
            os.makedirs(os.path.join(tmp, "script"))
            scripts.append(_timed([sys.executable, os.path.abspath(__file__), args.recipe,
                                   "--baseline-only", os.path.join(tmp, "script")]))
            pipelines.append(_timed([sys.executable, "-m", "pipeline_runner", args.recipe,
                                     "--build-dir", os.path.join(tmp, "build")]))
            ratios.append(pipelines[-1] / scripts[-1])
    print(f"cold build of {args.recipe}: pipeline {statistics.median(pipelines):.1f} s, hand-written export + "
          f"convert + ORT check {statistics.median(scripts):.1f} s; ratio {statistics.median(ratios):.2f} "
          f"(target <= 1.3; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
