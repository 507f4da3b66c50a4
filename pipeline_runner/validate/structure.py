"""Check a saved Core ML model's interface against the recipe: it loads, names, shapes, types, target."""

from __future__ import annotations


# Core ML specification version that each iOS release introduced.
_SPEC_FOR_IOS = {11: 1, 12: 3, 13: 4, 14: 5, 15: 6, 16: 7, 17: 8, 18: 9}


def check_structure(spec, graph, recipe) -> tuple[dict, list[str]]:
    """(report, failures) for a saved model's spec (``coremltools.utils.load_spec``)."""
    failures: list[str] = []
    desc = spec.description
    inputs = {f.name: f for f in desc.input}
    outputs = {f.name: f for f in desc.output}
    for spec_in in graph.inputs:
        name, shape = spec_in.name, list(spec_in.shape)
        feature = inputs.get(name)
        if feature is None:
            failures.append(f"Core ML model has no input {name!r} (has {sorted(inputs)})")
            continue
        kind = feature.type.WhichOneof("Type")
        if spec_in.image is not None:
            if kind != "imageType":
                failures.append(f"input {name!r} should be an image, is {kind}")
            else:
                size = [feature.type.imageType.height, feature.type.imageType.width]
                if size != shape[2:]:
                    failures.append(f"image input {name!r} is {size[1]}x{size[0]}, recipe says {shape[3]}x{shape[2]}")
        elif kind != "multiArrayType":
            failures.append(f"input {name!r} should be a multi-array, is {kind}")
        elif list(feature.type.multiArrayType.shape) != shape:
            failures.append(f"input {name!r} has shape {list(feature.type.multiArrayType.shape)}, recipe says {shape}")
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
        "specification_version": spec.specificationVersion,
        "model_type": spec.WhichOneof("Type"),
        "inputs": {n: f.type.WhichOneof("Type") for n, f in inputs.items()},
        "outputs": {n: f.type.WhichOneof("Type") for n, f in outputs.items()},
        "passed": not failures,
    }
    return info, failures
