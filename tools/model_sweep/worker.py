"""One model of the sweep, in its own process: choose an input size, write the recipe, run it, write the result."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path

STAGE_ORDER = ("build", "export", "convert", "validate")
# A recipe change a failure names ("set `export.opset: 18`", "Suggestion: `convert.precision: fp32`").
_ASKED = re.compile(r"(?:set|Suggestion:) `((?:export|convert)\.\w+): ([^`]+)`")
PROBE_SIZES = (64, 96, 128)  # small inputs keep the shared CPU's sweep short
CALIBRATION_SAMPLES = 16


def _forward_ok(model, size: int) -> bool:
    """The model runs at ``size`` and every adaptive pooling divides its input evenly (the ONNX exporter
    lowers adaptive pooling to a plain pool only then)."""
    import torch

    uneven = []

    def check(module, inputs, output):
        if tuple(inputs[0].shape[-2:]) and any(i % max(o, 1) for i, o in zip(inputs[0].shape[-2:], output.shape[-2:])):
            uneven.append(module)

    pools = (torch.nn.AdaptiveAvgPool2d, torch.nn.AdaptiveMaxPool2d)
    hooks = [m.register_forward_hook(check) for m in model.modules() if isinstance(m, pools)]
    try:
        with torch.no_grad():
            model(torch.randn(1, 3, size, size))
        return not uneven
    except Exception:
        return False
    finally:
        for h in hooks:
            h.remove()


def _image_setup(entry: dict) -> tuple[dict, int]:
    """(model params, input size): the smallest probe size the model takes, else its own size."""
    import torch

    from pipeline_runner.models.registry import get_source

    create = get_source(entry["source"]).create
    base = {"num_classes": 10}
    torch.manual_seed(0)
    model = create(entry["architecture"], base).eval()
    for size in PROBE_SIZES:
        if _forward_ok(model, size):
            return base, size
    size_key = "img_size" if entry["source"] == "timm" else "image_size"
    for size in PROBE_SIZES:
        try:
            resized = create(entry["architecture"], {**base, size_key: size}).eval()
        except Exception:
            break
        if _forward_ok(resized, size):
            return {**base, size_key: size}, size
    default = 224
    cfg = getattr(model, "pretrained_cfg", None) or {}
    if cfg.get("input_size"):
        default = int(cfg["input_size"][-1])
    elif "inception" in entry["architecture"]:
        default = 299
    return base, default


def recipe_for(entry: dict) -> dict:
    name = entry["id"].replace(":", "-").replace("_", "-").lower()
    recipe = {"name": name, "model": {"source": entry["source"], "architecture": entry["architecture"]},
              "validate": {"samples": 1}}
    kind = entry.get("kind", "image_classifier")
    if kind == "image_classifier":
        params, size = _image_setup(entry)
        recipe["model"]["params"] = params
        # BatchNorm statistics from 16 pictures (two batches) instead of 32: half the build's forward passes
        recipe["model"]["norm_calibration"] = {"samples": CALIBRATION_SAMPLES}
        recipe["inputs"] = [{"name": "image", "shape": [1, 3, size, size]}]
        recipe["outputs"] = [{"name": "logits", "kind": "logits"}]
        return recipe
    recipe["model"]["params"] = entry["params"]
    tokens = {"shape": [1, 16], "dtype": "int32"}
    ids = {"name": "input_ids", **tokens, "range": [0, 128]}
    mask = {"name": "attention_mask", **tokens, "range": [1, 2]}
    pixels = {"name": "pixel_values", "shape": [1, 3, 32, 32]}
    if kind == "text":
        recipe["graphs"] = [{"name": "text", "entry": "embedding", "entry_args": {"pooling": "mean", "normalize": "l2"},
                             "inputs": [ids, mask], "outputs": [{"name": "embedding", "kind": "embedding"}]}]
    elif kind == "image":
        recipe["inputs"] = [pixels]
        recipe["outputs"] = [{"name": "logits", "kind": "logits"}]
    else:  # clip: forward(input_ids, pixel_values, attention_mask)
        recipe["inputs"] = [ids, pixels, mask]
        recipe["outputs"] = [{"name": n} for n in ("logits_per_image", "logits_per_text", "text_embeds",
                                                     "image_embeds")]
    return recipe


def _asked_change(error) -> tuple[str, object] | None:
    import yaml

    match = _ASKED.search(str(error or ""))
    return (match.group(1), yaml.safe_load(match.group(2))) if match else None


def _reason(error) -> str:
    """The failure as a table cell: for a validation failure the diagnosis (what to set) first, then
    the numbers; the report path (deleted with the build) left out."""
    failures = getattr(error, "failures", None)
    if failures:
        told = [f for f in failures if "Suggestion:" in f or "the model amplifies rounding" in f]
        return f"{error.stage}: " + " ".join(told + [f for f in failures if f not in told])
    text = str(error)
    return text.split(": stage ", 1)[-1] if ": stage " in text else text


def run_one(entry: dict, work: Path) -> dict:
    import yaml

    from pipeline_runner.engine.runner import run_recipe
    from pipeline_runner.recipe import load_recipe

    started = time.time()
    result = {"id": entry["id"], "architecture": entry["architecture"], "source": entry["source"],
              "family": entry.get("family"), "stage_reached": "recipe", "coreml_check": "not run"}
    recipe_dict = recipe_for(entry)
    result["input"] = (recipe_dict.get("inputs") or recipe_dict["graphs"][0]["inputs"])[0]["shape"]
    path = work / "recipes" / f"{recipe_dict['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    build = work / "build"
    while True:
        path.write_text(yaml.safe_dump(recipe_dict, sort_keys=False))
        report = run_recipe(load_recipe(path), build, force=set(), dry_run=False, html_report=False,
                            log=lambda msg: print(msg, flush=True))  # the build is deleted: no report
        # What the failure tells a user to write in the recipe, the sweep writes too (each field once),
        # and the table says so: it shows that the advice works.
        change = _asked_change(report.error)
        if change is None or change[0] in result.get("changes", {}):
            break
        field, value = change
        section, key = field.split(".")
        recipe_dict.setdefault(section, {})[key] = value
        result.setdefault("changes", {})[field] = value
        result.setdefault("first_reason", _reason(report.error))
    statuses = {o.name.split("[")[0]: o.status for o in report.outcomes}
    for stage in STAGE_ORDER:
        if statuses.get(stage) in ("ran", "cached"):
            result["stage_reached"] = stage
    manifest = json.loads((build / recipe_dict["name"] / "manifest.json").read_text())
    for key, record in manifest["stages"].items():
        folding = record.get("info", {}).get("folding")
        if key.startswith("convert") and folding:
            result["folding"] = [folding["nodes_before"], folding["nodes_after"]]
        ranks = record.get("info", {}).get("rank_reduction") or {}
        if key.startswith("convert") and ranks.get("rewritten"):
            result["rank_regions"] = ranks["rewritten"]
    floors = _noise_floors(build / recipe_dict["name"] / "validation.json")
    if floors:  # checks that passed only against the model's own fp32 rounding noise (validate.fp32_noise_factor)
        result["noise_floor"] = floors
    if statuses.get("validate") in ("ran", "cached"):
        result["coreml_check"] = "passed"
    elif statuses.get("convert") in ("ran", "cached") and report.error is not None:
        result["coreml_check"] = "failed"
    if report.error is not None:
        result["reason"] = _reason(report.error)
    result["ok"] = report.error is None
    result["seconds"] = round(time.time() - started, 1)
    result["stage_seconds"] = {o.name: round(o.seconds, 1) for o in report.outcomes if o.seconds}
    shutil.rmtree(build / recipe_dict["name"], ignore_errors=True)  # keep the sweep's disk use flat
    return result


def _noise_floors(path) -> dict[str, float]:
    """{check: the max_rel it was judged with} for each check whose bound was raised to the model's
    own fp32 rounding noise."""
    try:
        graphs = json.loads(path.read_text()).get("graphs", {})
    except (OSError, ValueError):
        return {}
    floors = {}
    for report in graphs.values():
        for name, check in (report.get("checks") or {}).items():
            floor = check.get("noise_floor") if isinstance(check, dict) else None
            if floor:
                floors[name] = max(floors.get(name, 0.0), floor["max_rel"])
    return floors


def main(argv: list[str]) -> int:
    entry, work, out = json.loads(argv[0]), Path(argv[1]), Path(argv[2])
    try:
        result = run_one(entry, work)
    except Exception as exc:  # a probe or recipe problem: one failed row, not a failed sweep
        result = {"id": entry["id"], "architecture": entry["architecture"], "source": entry["source"],
                  "family": entry.get("family"), "stage_reached": "recipe", "coreml_check": "not run", "ok": False,
                  "reason": f"{type(exc).__name__}: {exc}"}
    out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
