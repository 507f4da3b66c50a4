"""Checks of the ``compress`` section and ``ios.variant`` that the schema cannot express."""

from __future__ import annotations

from pipeline_runner.compress.variants import ios18_reasons, min_ios
from pipeline_runner.recipe.checks import check


def _graph_names(data: dict) -> list[str]:
    return [g["name"] for g in data["graphs"]] if "graphs" in data else [data["name"]]


@check("compress", "ios", "convert", "name", "graphs")
def _compress(doc, data):
    variants = data.get("compress", {}).get("variants", [])
    problems, seen = [], set()
    target = float(data["ios"]["deployment_target"])
    graphs = _graph_names(data)
    for i, variant in enumerate(variants):
        at = ("compress", "variants", i)
        if variant["name"] in seen:
            problems.append(doc.problem((*at, "name"), f"duplicate variant name {variant['name']!r}"))
        seen.add(variant["name"])
        for j, graph in enumerate(variant.get("graphs", [])):
            if graph not in graphs:
                problems.append(doc.problem((*at, "graphs", j), f"unknown graph {graph!r}",
                                            f"the recipe's graphs are {', '.join(graphs)}"))
        needed = min_ios(variant)
        if target < needed:
            why = "; ".join(ios18_reasons(variant)) or ("activation quantization" if needed == 17 else "compressed weights")
            problems.append(doc.problem(at, f"variant {variant['name']!r} needs iOS {needed} ({why}); "
                                            f"ios.deployment_target is {data['ios']['deployment_target']}",
                                        f"raise ios.deployment_target to \"{needed}\" or drop those settings"))
    if variants and data["convert"]["format"] != "mlprogram":
        problems.append(doc.problem(("compress",), "compression variants need convert.format: mlprogram",
                                    "coremltools.optimize.coreml compresses ML Programs only"))
    variant = data["ios"].get("variant")
    if variant is not None and variant not in seen:
        problems.append(doc.problem(("ios", "variant"), f"no compression variant named {variant!r}",
                                    f"known variants: {', '.join(sorted(seen)) or 'none (add compress.variants)'}"))
    return problems


@check("compress", "ios", "name", "graphs")
def _multifunction(doc, data):
    problems = []
    graphs = _graph_names(data)
    variants = {v["name"]: v for v in data.get("compress", {}).get("variants", [])}
    for i, entry in enumerate(data.get("compress", {}).get("multifunction", [])):
        at = ("compress", "multifunction", i)
        if float(data["ios"]["deployment_target"]) < 18:
            problems.append(doc.problem(at, "a multifunction package needs iOS 18; ios.deployment_target is "
                                            f"{data['ios']['deployment_target']}", 'raise ios.deployment_target to "18"'))
        for j, graph in enumerate(entry["functions"]):
            if graph not in graphs:
                problems.append(doc.problem((*at, "functions", j), f"unknown graph {graph!r}",
                                            f"the recipe's graphs are {', '.join(graphs)}"))
        variant = entry.get("variant")
        if variant is not None:
            applies = variants.get(variant, {}).get("graphs") or graphs
            if variant not in variants or not set(entry["functions"]) <= set(applies):
                problems.append(doc.problem((*at, "variant"), f"no compression variant {variant!r} of all of "
                                            f"{', '.join(entry['functions'])}", f"known variants: {', '.join(variants) or 'none'}"))
    return problems
