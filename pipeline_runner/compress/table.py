"""The size/accuracy table of a graph's variants, and the suggested one: the smallest within tolerance."""

from __future__ import annotations


def _worst(outputs: dict, key: str, pick):
    values = [m[key] for m in outputs.values() if isinstance(m.get(key), (int, float))]
    return pick(values) if values else None


def row(name: str, report: dict) -> dict:
    """One table row from a variant's (or the uncompressed model's) report."""
    vs_pt, vs_ml = report.get("vs_pytorch", {}), report.get("vs_coreml", {})
    return {
        "variant": name,
        "size_bytes": report.get("size_bytes"),
        "weights_bytes": report.get("weights_bytes"),
        "ratio": report.get("ratio"),
        "max_abs_vs_pytorch": _worst(vs_pt, "max_abs_error", max),
        "cosine_vs_pytorch": _worst(vs_pt, "cosine_similarity", min),
        "top1_vs_pytorch": _worst(vs_pt, "top1_agreement", min),
        "error_to_spread_vs_pytorch": _worst(vs_pt, "error_to_spread", max),
        "max_abs_vs_coreml": _worst(vs_ml, "max_abs_error", max),
        "cosine_vs_coreml": _worst(vs_ml, "cosine_similarity", min),
        "top1_vs_coreml": _worst(vs_ml, "top1_agreement", min),
        "passed": report.get("passed", False),
    }


def suggest(rows: list[dict]) -> str | None:
    """The smallest variant within its tolerance (the uncompressed model is not a variant)."""
    passing = [r for r in rows if r["passed"] and r["variant"] != "uncompressed" and r["size_bytes"]]
    return min(passing, key=lambda r: r["size_bytes"])["variant"] if passing else None


def _fmt(value, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def markdown(rows: list[dict]) -> str:
    lines = ["| variant | size MB | weights × | cosine vs PyTorch | error/spread vs PyTorch | top-1 vs PyTorch "
             "| cosine vs Core ML | top-1 vs Core ML | max abs vs PyTorch | passed |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {_fmt(r['size_bytes'] and r['size_bytes'] / 1e6, '.2f')} "
                     f"| {_fmt(r['ratio'], '.3f')} | {_fmt(r['cosine_vs_pytorch'], '.5f')} "
                     f"| {_fmt(r['error_to_spread_vs_pytorch'], '.3f')} "
                     f"| {_fmt(r['top1_vs_pytorch'], '.2f')} | {_fmt(r['cosine_vs_coreml'], '.5f')} "
                     f"| {_fmt(r['top1_vs_coreml'], '.2f')} | {_fmt(r['max_abs_vs_pytorch'], '.3g')} "
                     f"| {'yes' if r['passed'] else 'no'} |")
    return "\n".join(lines)
