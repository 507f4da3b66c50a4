"""The report's figures: matplotlib drawn to SVG text, inlined in the page.

Each figure gets its own ``svg.hashsalt`` so the ids matplotlib generates (clip paths,
markers) are unique across the many SVGs of one page; text stays text (``svg.fonttype:
none``) so figures are small and sharp on a phone. Deterministic: same data, same SVG.
"""

from __future__ import annotations

import io
import re

import numpy as np

COLORS = {"onnx": "#1f77b4", "coreml": "#ff7f0e", "fp16": "#d62728"}
LABELS = {"onnx": "ONNX Runtime", "coreml": "Core ML (reference executor)"}
_MAX_POINTS = 1500  # per scatter series: enough to see the shape, small SVG


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _svg(fig, salt: str) -> str:
    import matplotlib

    plt = _plt()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg",
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE: it is inlined in HTML
    # Scale with the page: keep the viewBox, drop the fixed size.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 class="plot" role="img"', text, count=1)


def _subsample(n: int) -> np.ndarray:
    if n <= _MAX_POINTS:
        return np.arange(n)
    return np.linspace(0, n - 1, _MAX_POINTS).astype(int)


def parity(output: str, values: dict[str, np.ndarray], salt: str) -> str:
    """Left: ONNX and Core ML against PyTorch (y = x). Right: distribution of |error|."""
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 3.4))
    ref = values["pytorch"].astype(np.float64)
    lo, hi = float(np.min(ref)), float(np.max(ref))
    pad = (hi - lo) * 0.05 or 1.0
    left.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#999", lw=0.8, zorder=0)
    for source in ("onnx", "coreml"):
        got = values.get(source)
        if got is None or got.shape != ref.shape:
            continue
        idx = _subsample(ref.size)
        left.scatter(ref[idx], got[idx].astype(np.float64), s=6, alpha=0.6, color=COLORS[source],
                     label=LABELS[source], linewidths=0)
        err = np.abs(got.astype(np.float64) - ref)
        err = err[np.isfinite(err)]
        floor = 1e-12
        right.hist(np.log10(np.maximum(err, floor)), bins=40, alpha=0.6, color=COLORS[source], label=LABELS[source])
    left.set(xlabel="PyTorch", ylabel="converted", title=f"{output}: parity")
    left.legend(fontsize=7, loc="upper left")
    right.set(xlabel="log10 |converted − PyTorch|", ylabel="values", title=f"{output}: error distribution")
    right.legend(fontsize=7)
    fig.tight_layout()
    return _svg(fig, salt)


def op_profile(ops: dict, diverging: str | None, threshold: float | None, salt: str) -> str:
    """fp16-vs-fp32 relative error of every op along the program, the diverging op marked."""
    plt = _plt()
    err = np.asarray(ops["rel_error"], np.float64)
    shown = np.where(np.isfinite(err), np.maximum(err, 1e-9), np.nan)
    fig, ax = plt.subplots(figsize=(8.0, 3.0))
    x = np.arange(err.size)
    ax.plot(x, shown, lw=0.9, color="#555", marker=".", markersize=3)
    ax.set_yscale("log")
    if threshold:
        ax.axhline(threshold, color="#999", ls="--", lw=0.8, label=f"divergence threshold {threshold:g}")
    mark = ops["name"].index(diverging) if diverging in ops["name"] else None
    label = "diverging op"
    if mark is None and err.size:
        finite = np.where(np.isfinite(err), err, np.inf)
        mark, label = int(np.argmax(finite)), "largest difference"
    if mark is not None:
        y = shown[mark] if np.isfinite(shown[mark]) else np.nanmax(shown)
        ax.plot([mark], [y], "o", color=COLORS["fp16"], markersize=8,
                label=f"{label}: {ops['name'][mark]} ({ops['type'][mark]})")
    ax.set(xlabel="op index in the program (execution order)", ylabel="max |fp16 − fp32| / scale",
           title="fp16 vs fp32 along the program")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _svg(fig, salt)


def discrimination(rows: dict[str, dict], salt: str) -> str | None:
    """Per output: the input-driven spread of the reference and the conversion error (both
    relative to the output's size, log scale). A check proves something only when the error bar
    is far shorter than the spread bar."""
    rows = {k: v for k, v in rows.items() if v.get("input-driven spread") is not None}
    if not rows:
        return None
    plt = _plt()
    names = list(rows)[::-1]
    fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.5 * len(names)))
    y = np.arange(len(names))
    for offset, field, color in ((0.2, "input-driven spread", "#2da44e"), (-0.2, "conversion error", COLORS["fp16"])):
        values = [max(rows[n][field], 1e-12) for n in names]
        ax.barh(y + offset, values, height=0.38, color=color, label=field)
    ax.set_yticks(y, names, fontsize=7)
    ax.set_xscale("log")
    ax.set(xlabel="relative to the output's rms size", title="discrimination: conversion error vs input-driven spread")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _svg(fig, salt)
