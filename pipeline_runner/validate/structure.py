"""Check a saved Core ML model's interface against the recipe: it loads, names, shapes, types, target."""

from __future__ import annotations


# Core ML specification version that each iOS release introduced.
_SPEC_FOR_IOS = {11: 1, 12: 3, 13: 4, 14: 5, 15: 6, 16: 7, 17: 8, 18: 9}


def check_structure(spec, graph, recipe) -> tuple[dict, list[str]]:
    """(report, failures) for a saved model's spec (``coremltools.utils.load_spec``)."""
    from pipeline_runner.convert import shape_specs
    from pipeline_runner.coreml_reference.model import flexible_shapes, function_description, function_names

    failures: list[str] = []
    plan = shape_specs.plan(graph)
    functions = function_names(spec)
    desc = function_description(spec)
    inputs = {f.name: f for f in desc.input}
    outputs = {f.name: f for f in desc.output}
    for variant in plan.variants if functions else [plan.default]:
        if functions and variant.name not in functions:
            failures.append(f"Core ML model has no function {variant.name!r} for shapes {dict(variant.shapes)} "
                            f"(functions: {functions})")
            continue
        fdesc = function_description(spec, variant.name) if functions else desc
        where = f"function {variant.name!r}: " if functions else ""
        failures += [where + p for p in _input_problems(fdesc, graph, variant.shapes)]
    if plan.flexible and not functions:
        for spec_in in graph.inputs:
            feature = inputs.get(spec_in.name)
            declared = shape_specs.declared_axes(spec_in)
            if feature is not None and declared and feature.type.WhichOneof("Type") == "multiArrayType" \
                    and flexible_shapes(feature.type.multiArrayType) is None:
                failures.append(f"input {spec_in.name!r} should take flexible shapes (axes {sorted(declared)}), "
                                "the model declares one shape")
    expected_outputs = {o.name for o in graph.outputs}
    missing = expected_outputs - set(outputs)
    if missing:
        failures.append(f"Core ML model lacks outputs {sorted(missing)} (has {sorted(outputs)})")
    major = recipe.ios.major
    wanted = _SPEC_FOR_IOS.get(major)
    if wanted and spec.specificationVersion > wanted:
        failures.append(f"specification version {spec.specificationVersion} needs a newer iOS than {major}")
    info = {
        "loads": True,
        **({"functions": functions} if functions else {}),
        "specification_version": spec.specificationVersion,
        "model_type": spec.WhichOneof("Type"),
        "inputs": {n: f.type.WhichOneof("Type") for n, f in inputs.items()},
        "outputs": {n: f.type.WhichOneof("Type") for n, f in outputs.items()},
        "passed": not failures,
    }
    return info, failures


def _input_problems(desc, graph, shapes: dict) -> list[str]:
    failures = []
    inputs = {f.name: f for f in desc.input}
    for spec_in in graph.inputs:
        feature = inputs.get(spec_in.name)
        want = list(shapes[spec_in.name])
        if feature is None:
            failures.append(f"Core ML model has no input {spec_in.name!r} (has {sorted(inputs)})")
            continue
        kind = feature.type.WhichOneof("Type")
        if spec_in.image is not None:
            if kind != "imageType":
                failures.append(f"input {spec_in.name!r} should be an image, is {kind}")
            else:
                size = [feature.type.imageType.height, feature.type.imageType.width]
                if size != want[2:]:
                    failures.append(f"image input {spec_in.name!r} is {size[1]}x{size[0]}, recipe says {want[3]}x{want[2]}")
        elif kind != "multiArrayType":
            failures.append(f"input {spec_in.name!r} should be a multi-array, is {kind}")
        elif list(feature.type.multiArrayType.shape) != want:
            failures.append(f"input {spec_in.name!r} has shape {list(feature.type.multiArrayType.shape)}, recipe says {want}")
    return failures
