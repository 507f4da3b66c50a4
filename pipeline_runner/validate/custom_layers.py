"""Structural check of a saved Core ML model against the recipe's custom ops.

``custom_layer`` ops must appear as NeuralNetwork ``custom`` layers with the declared
class name and parameters; ``inline`` ops must have left nothing custom behind (no
custom layer of theirs, no op of theirs in an ML Program).
"""

from __future__ import annotations

from collections import Counter

from pipeline_runner.customops.mil_ops import CUSTOM_OP_PREFIX

_NN_TYPES = ("neuralNetwork", "neuralNetworkClassifier", "neuralNetworkRegressor")


def check_custom_ops(spec, custom_ops, fmt: str) -> tuple[dict, list[str]]:
    """(report, failures) for a saved model's spec (format ``mlprogram`` or ``neuralnetwork``)."""
    layers = custom_layers(spec)
    classes = Counter(layer["class_name"] for layer in layers)
    op_types = program_op_types(spec) if fmt == "mlprogram" else Counter()
    failures: list[str] = []
    ops_report = {}
    for op in custom_ops:
        if op.is_custom_layer:
            entry, problems = _check_layer(op, layers)
        else:
            entry, problems = _check_inlined(op, classes, op_types)
        ops_report[op.name] = entry
        failures += [f"custom op {op.name!r}: {p}" for p in problems]
    declared = {op.class_name for op in custom_ops if op.is_custom_layer}
    stray = sorted(set(classes) - declared)
    if stray:
        failures.append(f"custom layer classes {stray} are not declared by any custom_ops entry")
    info = {
        "ran": True,
        "format": fmt,
        "custom_layers": dict(sorted(classes.items())),
        "ops": ops_report,
        "passed": not failures,
    }
    return info, failures


def custom_layers(spec) -> list[dict]:
    """Every ``custom`` layer of a NeuralNetwork spec: {name, class_name, parameters, inputs, outputs}."""
    kind = spec.WhichOneof("Type")
    if kind not in _NN_TYPES:
        return []
    found = []
    for layer in getattr(spec, kind).layers:
        if layer.WhichOneof("layer") != "custom":
            continue
        params = {k: getattr(v, v.WhichOneof("value")) for k, v in layer.custom.parameters.items()}
        found.append({"name": layer.name, "class_name": layer.custom.className, "parameters": params,
                      "inputs": list(layer.input), "outputs": list(layer.output)})
    return found


def program_op_types(spec) -> Counter:
    """{MIL op type: count} over an ML Program's functions."""
    counts: Counter = Counter()
    if spec.WhichOneof("Type") != "mlProgram":
        return counts
    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            _count_ops(block, counts)
    return counts


def _count_ops(block, counts: Counter) -> None:
    for op in block.operations:
        counts[op.type] += 1
        for nested in op.blocks:
            _count_ops(nested, counts)


def _check_layer(op, layers: list[dict]) -> tuple[dict, list[str]]:
    class_name = op.class_name
    mine = [layer for layer in layers if layer["class_name"] == class_name]
    problems = []
    if not mine:
        problems.append(f"no custom layer with class name {class_name!r} "
                        f"(custom layers: {sorted({layer['class_name'] for layer in layers}) or 'none'})")
    wanted = op.parameters
    for layer in mine:
        for key, value in wanted.items():
            if key not in layer["parameters"]:
                problems.append(f"layer {layer['name']!r} lacks parameter {key!r}")
            elif not _same(layer["parameters"][key], value):
                problems.append(f"layer {layer['name']!r} has {key}={layer['parameters'][key]!r}, recipe says {value!r}")
        for key, value in op.attributes.items():
            if key in layer["parameters"] and not _same(layer["parameters"][key], value):
                problems.append(f"layer {layer['name']!r} has {key}={layer['parameters'][key]!r}, "
                                f"onnx.attributes says {value!r}")
    entry = {"mapping": "custom_layer", "class_name": class_name, "layers": len(mine),
             "parameters": mine[0]["parameters"] if mine else {}}
    return entry, problems


def _check_inlined(op, classes: Counter, op_types: Counter) -> tuple[dict, list[str]]:
    problems = []
    class_name = op.class_name
    if class_name and classes.get(class_name):
        problems.append(f"mapping is inline but the model has {classes[class_name]} custom layer(s) {class_name!r}")
    leftover = {t: n for t, n in op_types.items() if t.startswith(CUSTOM_OP_PREFIX)}
    if leftover:
        problems.append(f"mapping is inline but the program still has custom ops {sorted(leftover)}")
    return {"mapping": "inline", "custom_layers": classes.get(class_name, 0) if class_name else 0,
            "leftover_ops": leftover}, problems


def _same(actual, expected) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        return isinstance(actual, (int, float)) and abs(float(actual) - float(expected)) <= 1e-6 * max(1.0, abs(float(expected)))
    return actual == expected
