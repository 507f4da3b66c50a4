"""Render the report and the index page (Jinja2 templates in report/templates/)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pipeline_runner.report import plots
from pipeline_runner.report.hook import REPORT
from pipeline_runner.report.swift_api import usage

_CHECKS = (("onnx_vs_pytorch", "ONNX Runtime vs PyTorch"),
           ("onnx_dynamic_axes", "ONNX Runtime vs PyTorch, dynamic axes doubled"),
           ("coreml_numerics", "Core ML (reference executor) vs PyTorch"))


def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("pipeline_runner.report", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.ChainableUndefined)
    env.filters["size"] = _size
    env.filters["num"] = _num
    # 0.9999995 must not print as 1; strict-JSON reports spell non-finite values as strings
    env.filters["cos"] = lambda x: f"{x:.7f}" if isinstance(x, float) else _num(x)
    return env


def _size(n) -> str:
    n = float(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _num(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int, float)):
        return f"{x:.4g}" if isinstance(x, float) else str(x)
    return str(x)


def _metrics_rows(validation: dict | None) -> list[dict]:
    rows = []
    checks = (validation or {}).get("checks", {})
    pairs = [(checks.get(key) or {}, title) for key, title in _CHECKS]
    for label, entry in ((checks.get("coreml_shapes") or {}).get("shapes") or {}).items():  # each declared shape
        pairs += [({"ran": True, **entry["onnx_vs_pytorch"]}, f"ONNX Runtime vs PyTorch at {label}"),
                  (entry["coreml_numerics"], f"Core ML (reference executor) vs PyTorch at {label}")]
    for check, title in pairs:
        if not check.get("ran"):
            if check:
                rows.append({"check": title, "output": "–", "skipped": check.get("why") or check.get("reason", "not run")})
            continue
        for output, m in (check.get("outputs") or {}).items():
            if isinstance(m, dict):
                rows.append({"check": title, "output": output, "skipped": m.get("skipped"), **{
                    k: m.get(k) for k in ("max_abs_error", "cosine_similarity", "top1_agreement", "error_to_spread")},
                    "max_rel_error": m.get("max_rel_error", m.get("rel_max_error")),
                    "passed": m.get("passed", True)})
    return rows


def _figures(graph: dict) -> dict:
    name, figs = graph["name"], {}
    if graph["onnx"].get("op_histogram"):
        figs["onnx_ops"] = _histogram_rows(graph["onnx"]["op_histogram"])
    if graph["coreml"] and graph["coreml"]["op_histogram"]:
        figs["coreml_ops"] = _histogram_rows(graph["coreml"]["op_histogram"])
    samples = graph["samples"] or {}
    figs["parity"] = {out: plots.parity(out, values, f"{name}-parity-{out}")
                      for out, values in samples.get("outputs", {}).items() if "pytorch" in values}
    if samples.get("ops"):
        numerics = ((graph["validation"] or {}).get("checks", {}).get("coreml_numerics") or {})
        threshold = (numerics.get("divergence") or {}).get("threshold") or 0.05
        figs["op_profile"] = plots.op_profile(samples["ops"], graph["diverging_op"], threshold, f"{name}-ops")
        errors = samples["ops"]["rel_error"]
        worst = int(errors.argmax()) if errors.size else None
        figs["op_profile_worst"] = (samples["ops"]["name"][worst], samples["ops"]["type"][worst],
                                    float(errors[worst])) if worst is not None else None
    if graph["discrimination"]:
        figs["discrimination"] = plots.discrimination(graph["discrimination"], f"{name}-discrimination")
    return figs


def _histogram_rows(counts: dict[str, int]) -> list[tuple[str, int, float]]:
    """(op, count, bar width in %) by count: the page draws them as HTML bars, like the stage timeline
    (a matplotlib bar chart of the same took ~0.9 s per histogram, half the report's time)."""
    top = max(counts.values(), default=0) or 1
    return [(op, n, round(100.0 * n / top, 1)) for op, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _diagnosis(validation: dict) -> str | None:
    d = (validation.get("checks", {}).get("coreml_numerics") or {}).get("diagnosis")
    if isinstance(d, dict):
        return d.get("summary") or json.dumps(d, default=str)
    return d


def render_report(data: dict, key: str) -> str:
    from markupsafe import Markup

    graphs = []
    for g in data["graphs"]:
        figs = _figures(g)
        for k, v in list(figs.items()):
            if isinstance(v, str):
                figs[k] = Markup(v)
            elif isinstance(v, dict):
                figs[k] = {o: Markup(s) for o, s in v.items()}
        validation = g["validation"] or {}
        graphs.append({**g, "figs": figs, "metrics": _metrics_rows(validation),
                       "passed": validation.get("passed"), "failures": validation.get("failures", []),
                       "numerics": (validation.get("checks", {}).get("coreml_numerics") or {}),
                       "diagnosis": _diagnosis(validation)})
    swift = data["swift"]
    usage_text = usage(swift.get("wrapper"), swift.get("class_name")) if swift else None
    statuses = [s["status"] for s in data["timeline"]]
    passed = [g["passed"] for g in graphs if g["passed"] is not None]
    overall = "failed" if "failed" in statuses or (passed and not all(passed)) else "ok"
    return _env().get_template("report.html.j2").render(
        d=data, graphs=graphs, usage=usage_text, key=key, overall=overall,
        generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))


def render_index(build_root: Path, builds: list[Path]) -> str:
    rows = []
    for build in builds:
        last = _read(build / "last_run.json") or {}
        validation = _read(build / "validation.json") or {}
        stages = last.get("stages", [])
        rows.append({"name": build.name, "href": f"{build.name}/{REPORT}",
                     "finished_at": last.get("finished_at", ""),
                     "failed": [s["name"] for s in stages if s["status"] in ("failed", "skipped")],
                     "ran": sum(s["status"] == "ran" for s in stages), "stages": len(stages),
                     "passed": validation.get("passed")})
    return _env().get_template("index.html.j2").render(
        rows=rows, root=str(build_root), generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
