"""Compare one output's metrics with the recipe's tolerances; return what failed, in words."""

from __future__ import annotations


def gate(output: str, metrics: dict, tolerance: dict, kind: str, label: str) -> list[str]:
    failures = []
    if not metrics.get("finite", True):
        failures.append(f"{label} {output}: non-finite values (inf/nan)")
    if "max_abs" in tolerance and metrics["max_abs_error"] > tolerance["max_abs"]:
        failures.append(f"{label} {output}: max abs error {metrics['max_abs_error']:.3g} > {tolerance['max_abs']:.3g}")
    if "min_cosine" in tolerance and metrics["cosine_similarity"] < tolerance["min_cosine"]:
        failures.append(f"{label} {output}: cosine similarity {metrics['cosine_similarity']:.6f} < {tolerance['min_cosine']}")
    top1 = metrics.get("top1_agreement")
    if kind in ("logits", "probabilities") and top1 is not None and "top1_agreement" in tolerance:
        if top1 < tolerance["top1_agreement"]:
            failures.append(f"{label} {output}: top-1 agreement {top1:.3f} < {tolerance['top1_agreement']}")
    return failures
