"""Checks of ``inputs[].coreml`` (flexible Core ML shapes) that the JSON Schema cannot express."""

from __future__ import annotations

from pipeline_runner.convert import shape_specs
from pipeline_runner.recipe.checks import check, graph_paths


def _dynamic(spec: dict) -> set[int]:
    rank = len(spec["shape"])
    return {int(a) % rank for a in spec.get("dynamic_axes", {}) if -rank <= int(a) < rank}


@check("convert", "ios", "inputs", "outputs", "graphs")
def _coreml_shapes(doc, data):
    problems = []
    fmt = data["convert"]["format"]
    target = float(data["ios"]["deployment_target"])
    for prefix, graph in graph_paths(data):
        enumerates, found_here = False, []
        for i, spec in enumerate(graph["inputs"]):
            section = spec.get("coreml")
            if not section:
                continue
            at = (*prefix, "inputs", i, "coreml")
            found, enumerated = _input_problems(doc, at, spec, section, fmt)
            found_here += found
            enumerates = enumerates or enumerated
        problems += found_here
        if enumerates:
            count = len(shape_specs.plan(graph).variants)
            where = (*prefix, "inputs")
            if count > shape_specs.MAX_VARIANTS and not found_here:
                problems.append(doc.problem(where, f"{count} enumerated shape combinations (at most "
                                                   f"{shape_specs.MAX_VARIANTS}: each is a converted program)",
                                            "enumerate fewer sizes, or use `shapes` to list the combinations you need"))
            if fmt == "mlprogram" and target < 18:
                problems.append(doc.problem(("ios", "deployment_target"),
                                            "enumerated Core ML shapes in an ML Program are one function per shape in a "
                                            f"multifunction package, which needs iOS 18; got {data['ios']['deployment_target']}",
                                            'set ios.deployment_target: "18", or make the axes `fixed`'))
    return problems


def _input_problems(doc, at, spec, section, fmt) -> tuple[list, bool]:
    problems = []
    shape, dynamic, name = list(spec["shape"]), _dynamic(spec), spec["name"]
    rank = len(shape)
    is_image = "image" in spec
    if is_image and ("axes" in section or "shapes" in section):
        key = "axes" if "axes" in section else "shapes"
        problems.append(doc.problem((*at, key), f"input {name!r} is an image: Core ML image inputs have no batch axis "
                                                "and take enumerated sizes only",
                                    "use coreml.sizes: [[H, W], ...]; batching pictures is the Swift wrapper's job "
                                    "(predictions(fromBatch:)), keep the batch in dynamic_axes for ONNX"))
        return problems, False
    if "sizes" in section:
        if not is_image:
            problems.append(doc.problem((*at, "sizes"), f"input {name!r} is not an image; `sizes` is for image inputs",
                                        "use coreml.axes or coreml.shapes for tensor inputs"))
        elif not {2, 3} <= dynamic:
            problems.append(doc.problem((*at, "sizes"), "enumerated image sizes need axes 2 and 3 in dynamic_axes",
                                        "add {2: height, 3: width} to dynamic_axes (and make sure the model takes other sizes)"))
        elif shape[2:] not in [list(s) for s in section["sizes"]]:
            problems.append(doc.problem((*at, "sizes"), f"the dummy size {shape[2:]} is not among the sizes",
                                        "list the dummy input's [H, W]: it is the default"))
        return problems, True
    if "shapes" in section:
        for j, s in enumerate(section["shapes"]):
            if len(s) != rank:
                problems.append(doc.problem((*at, "shapes", j), f"shape {s} has rank {len(s)}, the input has {rank}"))
                continue
            fixed_diff = [a for a in range(rank) if s[a] != shape[a] and a not in dynamic]
            if fixed_diff:
                problems.append(doc.problem((*at, "shapes", j), f"shape {s} differs from the dummy shape {shape} on "
                                                                f"axis {fixed_diff[0]}, which is not dynamic",
                                            f"add {fixed_diff[0]} to dynamic_axes"))
        if shape not in [list(s) for s in section["shapes"]]:
            problems.append(doc.problem((*at, "shapes"), f"the dummy shape {shape} is not among the shapes",
                                        "list it: it is the default shape"))
        return problems, True
    enumerated = False
    for key, choice in (section.get("axes") or {}).items():
        where = (*at, "axes", key)
        if not -rank <= int(key) < rank or int(key) % rank not in dynamic:
            problems.append(doc.problem(where, f"axis {key} is not one of the input's dynamic_axes",
                                        f"add it to dynamic_axes (e.g. {key}: sequence) so ONNX keeps it dynamic",
                                        key=True))
            continue
        size = shape[int(key) % rank]
        if isinstance(choice, dict) and "enumerated" in choice:
            enumerated = True
            if size not in choice["enumerated"]:
                problems.append(doc.problem((*where, "enumerated"), f"the dummy size {size} is not among the sizes",
                                            "list it: it is the default size"))
        elif isinstance(choice, dict) and "range" in choice:
            low, high = choice["range"]
            default = choice.get("default", size)
            if not low <= default <= high or not low <= size <= high:
                problems.append(doc.problem((*where, "range"), f"range [{low}, {high}] must hold the default {default} "
                                                               f"and the dummy size {size}"))
            if fmt == "mlprogram":
                problems.append(doc.problem((*where, "range"), "an ML Program cannot take a range here: onnx2coreml "
                                                               "lowers each shape statically, so there is no "
                                                               "shape-polymorphic program to declare flexible",
                                            "use {enumerated: [...]} (one function per size, Neural Engine friendly)"))
    return problems, enumerated
