"""Everything the report shows, gathered from a build directory's records into plain data.

Reads manifest.json, last_run.json, validation/<graph>.json and .npz, the recipe file,
swift/ and the saved Core ML models (for their op histograms); runs nothing.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

from pipeline_runner.report.hook import LAST_RUN


def _json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def collect(build_dir: Path) -> dict:
    manifest = _json(build_dir / "manifest.json") or {"stages": {}}
    stages = manifest.get("stages", {})
    recipe_file = Path(manifest.get("recipe_file", ""))
    data = {
        "name": manifest.get("recipe") or build_dir.name,
        "build_dir": str(build_dir),
        "recipe_file": str(recipe_file) if manifest.get("recipe_file") else None,
        "recipe_sha256": manifest.get("recipe_sha256"),
        "recipe_text": recipe_file.read_text() if manifest.get("recipe_file") and recipe_file.is_file() else None,
        "last_run": _json(build_dir / LAST_RUN),
        "stages": stages,
        "timeline": _timeline(stages, _json(build_dir / LAST_RUN)),
        "artifacts": _artifacts(stages),
        "graphs": [_graph(build_dir, name, stages) for name in _graph_names(stages)],
        "swift": _swift(build_dir),
        "compression": _compression(build_dir, stages),
        "provenance": _provenance(stages),
    }
    data["changes"] = [s for s in (data["last_run"] or {}).get("stages", []) if s["status"] != "cached"]
    return data


def _graph_names(stages: dict) -> list[str]:
    names = []
    for name, rec in stages.items():
        graph = rec.get("key_doc", {}).get("graph")
        if graph and graph not in names:
            names.append(graph)
    return names


def _timeline(stages: dict, last_run: dict | None) -> list[dict]:
    """The last run's stages in run order; without a record, the manifest's."""
    if last_run:
        rows = [dict(s) for s in last_run.get("stages", [])]
    else:
        rows = [{"name": n, "status": "ran" if r.get("status") == "ok" else r.get("status", "?"),
                 "reason": "", "seconds": r.get("seconds", 0.0)} for n, r in stages.items()]
    longest = max((r["seconds"] for r in rows), default=0.0) or 1.0
    for r in rows:
        rec = stages.get(r["name"], {})
        r["recorded_seconds"] = rec.get("seconds", 0.0)  # the run that made the cached artifacts
        r["finished_at"] = rec.get("finished_at", "")
        r["error"] = rec.get("error")
        r["width"] = round(100.0 * r["seconds"] / longest, 1)
    return rows


def _artifacts(stages: dict) -> list[dict]:
    rows = []
    for name, rec in stages.items():
        for rel, fp in sorted(rec.get("artifacts", {}).items()):
            rows.append({"path": rel, "stage": name, "size": fp.get("size", 0), "sha256": fp.get("sha256", "")[:12]})
    return sorted(rows, key=lambda r: r["path"])


def _find(obj, key: str):
    """The first value stored under ``key`` anywhere in a nested JSON document."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        obj = list(obj.values())
    if isinstance(obj, list):
        for item in obj:
            found = _find(item, key)
            if found is not None:
                return found
    return None


def _graph(build_dir: Path, graph: str, stages: dict) -> dict:
    export = stages.get(f"export[{graph}]", {})
    convert = stages.get(f"convert[{graph}]", {})
    spec = export.get("key_doc", {}).get("recipe", {}).get("graph") or {}
    validation = _json(build_dir / "validation" / f"{graph}.json")
    coreml = (validation or {}).get("coreml_model")  # interface and op histogram, stored by validate
    samples = _samples(build_dir / "validation" / f"{graph}.npz")
    numerics = (validation or {}).get("checks", {}).get("coreml_numerics")
    diverging = _find(numerics, "first_divergence") or _find(numerics, "divergence") or {}
    return {
        "name": graph,
        "inputs": spec.get("inputs", []),
        "outputs": spec.get("outputs", []),
        "onnx": export.get("info", {}),
        "convert": convert.get("info", {}),
        "coreml": coreml,
        "validation": validation,
        "samples": samples,
        "diverging_op": diverging.get("op_name") if isinstance(diverging, dict) else None,
        "discrimination": _discrimination(validation),
    }


def _number(x) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _discrimination(validation: dict | None) -> dict | None:
    """Per check and output: how much the reference output changes with the input (the spread,
    relative to its size) and the conversion error (rms, relative to the same size), when the
    validation report carries them; None otherwise."""
    rows = {}
    for check, label in (("onnx_vs_pytorch", "ONNX"), ("coreml_numerics", "Core ML")):
        outputs = ((validation or {}).get("checks", {}).get(check) or {}).get("outputs") or {}
        for name, m in outputs.items():
            spread, error = _number(m.get("input_dependence")), _number(m.get("rel_rms_error"))
            if spread is not None and error is not None:
                rows[f"{name} ({label})"] = {"input-driven spread": spread, "conversion error": error,
                                              "error / spread": _number(m.get("error_to_spread"))}
    return rows or None


def _samples(path: Path) -> dict | None:
    if not path.exists():
        return None
    import numpy as np

    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    outputs: dict[str, dict] = {}
    for key, value in arrays.items():
        head, _, source = key.partition("::")
        if head != "ops":
            outputs.setdefault(head, {})[source] = value
    ops = None
    if "ops::rel_error" in arrays:
        ops = {"name": arrays["ops::name"].tolist(), "type": arrays["ops::type"].tolist(),
               "rel_error": arrays["ops::rel_error"]}
    return {"outputs": outputs, "ops": ops}


def _swift(build_dir: Path) -> dict | None:
    folder = build_dir / "swift"
    if not folder.is_dir():
        return None
    from pipeline_runner.report.swift_api import public_api

    files = []
    for path in sorted(folder.glob("*.swift")):
        files.append({"name": path.name, "api": public_api(path.read_text())})
    interface = _json(folder / "interface.json") or {}
    return {"files": files, "class_name": interface.get("class_name"), "wrapper": interface.get("wrapper"),
            "bundle_names": interface.get("bundle_names", {})}


def _compression(build_dir: Path, stages: dict) -> list[dict] | None:
    """Per graph, the size/accuracy table of its compression variants, when a stage recorded one
    (``info.table``: rows with ``variant``, ``size_bytes``, accuracy figures, ``passed``; ``info.suggested``)."""
    tables = []
    for name, rec in stages.items():
        info = rec.get("info", {})
        rows = info.get("table")
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            columns = list(dict.fromkeys(k for r in rows for k in r))
            columns.sort(key=lambda c: c != "variant")  # the manifest sorts keys; the variant's name leads
            tables.append({"stage": name, "graph": rec.get("key_doc", {}).get("graph") or name,
                           "columns": columns, "rows": rows, "suggested": info.get("suggested")})
    return tables or None


def _provenance(stages: dict) -> dict:
    tools: dict[str, str] = {}
    for rec in stages.values():
        tools.update(rec.get("key_doc", {}).get("tools", {}))
    build = stages.get("build", {}).get("info", {})
    return {
        "tools": dict(sorted(tools.items())),
        "random_weights": build.get("random_weights"),
        "checkpoint": build.get("checkpoint"),
        "parameters": build.get("parameters"),
        "source": f"{build.get('source', '?')}:{build.get('architecture', '?')}",
        "seed": build.get("seed"),
        "python": sys.version.split()[0],
        "platform": f"{platform.system()} {platform.machine()}",
    }
