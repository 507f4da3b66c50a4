"""Checks a JSON Schema cannot express: cross-field rules and registry look-ups.

Each check takes the YAML document (for locations) and the recipe data (defaults
applied) and returns problems; all checks run, so a user sees every problem at once.
A check names the top-level sections it reads: it runs on any recipe whose schema
problems (reported together with these) lie outside those sections.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from pathlib import Path

from pipeline_runner.errors import Problem
from pipeline_runner.recipe.custom_op import CustomOp, FunctionParseError
from pipeline_runner.recipe.yaml_source import YamlDocument

Check = Callable[[YamlDocument, dict], list[Problem]]
CHECKS: list[tuple[frozenset[str], Check]] = []

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
MAX_INPUT_ELEMENTS = 1 << 26  # 256 MB of float32 per validation sample: beyond any model that fits a phone
_INT_LIMITS = {"int32": (-(2**31), 2**31), "int64": (-(2**63), 2**63)}
_IO = ("inputs", "outputs", "graphs")


def check(*sections: str) -> Callable[[Check], Check]:
    """Register a check that reads the named top-level sections of the recipe."""

    def register(fn: Check) -> Check:
        CHECKS.append((frozenset(sections), fn))
        return fn

    return register


def graph_paths(data: dict) -> list[tuple[tuple, dict]]:
    """(yaml path prefix, graph) for each graph, in both recipe forms."""
    if "graphs" in data:
        return [(("graphs", i), g) for i, g in enumerate(data["graphs"])]
    return [((), {"inputs": data.get("inputs", []), "outputs": data.get("outputs", [])})]


@check("inputs", "outputs", "graphs")
def _graph_form(doc, data):
    has_io = "inputs" in data or "outputs" in data
    if "graphs" in data and has_io:
        key = "inputs" if "inputs" in data else "outputs"
        return [doc.problem((key,), "top-level inputs/outputs and `graphs` are exclusive",
                            "move them into a graph, or drop `graphs`", key=True)]
    if "graphs" not in data:
        missing = [k for k in ("inputs", "outputs") if k not in data]
        if missing:
            return [doc.problem((), f"missing {' and '.join(missing)}",
                                "declare the exported graph's inputs and outputs, or a `graphs` list")]
    return []


@check(*_IO, "custom_ops")
def _unique_names(doc, data):
    problems = []
    if "graphs" in data:
        problems += _duplicates(doc, ("graphs",), data["graphs"], "graph")
    for prefix, graph in graph_paths(data):
        problems += _duplicates(doc, (*prefix, "inputs"), graph["inputs"], "input")
        problems += _duplicates(doc, (*prefix, "outputs"), graph["outputs"], "output")
    problems += _duplicates(doc, ("custom_ops",), data.get("custom_ops", []), "custom op")
    return problems


def _duplicates(doc, path, items, what):
    seen, problems = set(), []
    for i, item in enumerate(items):
        name = item.get("name")
        if name in seen:
            problems.append(doc.problem((*path, i, "name"), f"duplicate {what} name {name!r}"))
        seen.add(name)
    return problems


@check(*_IO)
def _inputs(doc, data):
    problems = []
    for prefix, graph in graph_paths(data):
        for i, spec in enumerate(graph["inputs"]):
            at = (*prefix, "inputs", i)
            rank = len(spec["shape"])
            for axis in spec.get("dynamic_axes", {}):
                index = int(axis)
                if not -rank <= index < rank:
                    problems.append(doc.problem((*at, "dynamic_axes", axis),
                                                f"axis {axis} is outside the input's rank {rank}", key=True))
                elif index < 0:  # torch.onnx crashes natively on negative dynamic axes
                    problems.append(doc.problem((*at, "dynamic_axes", axis), f"negative axis {axis}",
                                                f"write it as axis {index + rank} (counted from 0)", key=True))
            elements = math.prod(spec["shape"])
            if elements > MAX_INPUT_ELEMENTS:
                problems.append(doc.problem((*at, "shape"), f"the input has {elements:,} elements; at most "
                                            f"{MAX_INPUT_ELEMENTS:,} are supported", "is the shape right?"))
            problems += _range_problems(doc, at, spec)
            if "image" in spec:
                if rank != 4 or spec["shape"][:2] != [1, 3] or spec.get("dtype") != "float32":
                    problems.append(doc.problem(
                        (*at, "shape"), "an image input must be float32 with shape [1, 3, H, W]",
                        "a Core ML image input holds one picture; for a batch, drop `image:` and feed a tensor"))
    return problems


def _range_problems(doc, at, spec) -> list[Problem]:
    dtype = spec.get("dtype", "float32")
    value = spec.get("range")
    if value is None:
        if dtype.startswith("int"):
            return [doc.problem(at, "integer input needs `range: [low, high)` for validation samples",
                                "e.g. range: [0, 10000] for token ids of a 10000-word vocabulary")]
        return []
    low, high = value
    if not low < high:
        return [doc.problem((*at, "range"), f"range [{low}, {high}) is empty", "write [low, high) with low < high")]
    if dtype in _INT_LIMITS:
        if not all(isinstance(v, int) for v in value):
            return [doc.problem((*at, "range"), f"an {dtype} input needs integer bounds, got {value}")]
        lo, hi = _INT_LIMITS[dtype]
        if low < lo or high > hi:
            return [doc.problem((*at, "range"), f"range {value} does not fit {dtype}")]
    elif dtype == "float16" and max(abs(low), abs(high)) > 65504:
        return [doc.problem((*at, "range"), f"range {value} does not fit float16 (|x| <= 65504)")]
    return []


@check(*_IO)
def _classifier(doc, data):
    problems = []
    for prefix, graph in graph_paths(data):
        cls = graph.get("classifier")
        if cls and cls["output"] not in [o["name"] for o in graph["outputs"]]:
            problems.append(doc.problem((*prefix, "classifier", "output"),
                                        f"{cls['output']!r} is not one of this graph's outputs"))
    return problems


@check("model")
def _model_source(doc, data):
    from pipeline_runner.models.registry import source_names

    source = data["model"]["source"]
    known = source_names()
    if source not in known:
        close = difflib.get_close_matches(source, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known sources: {', '.join(known)}"
        return [doc.problem(("model", "source"), f"unknown model source {source!r}", hint)]
    return []


@check("model")
def _checkpoint(doc, data):
    ckpt = data["model"].get("checkpoint")
    if not ckpt:
        return []
    at = ("model", "checkpoint", "path") if isinstance(ckpt, dict) else ("model", "checkpoint")
    path = resolve_relative(doc, ckpt["path"] if isinstance(ckpt, dict) else ckpt)
    if path.is_dir():
        from pipeline_runner.models.checkpoint import DIRECTORY_WEIGHTS

        if not any((path / name).is_file() for name in DIRECTORY_WEIGHTS):
            return [doc.problem(at, f"checkpoint directory {path} holds no weights file",
                                f"expected one of {', '.join(DIRECTORY_WEIGHTS)}")]
        return []
    if not path.suffix in CHECKPOINT_SUFFIXES:
        return [doc.problem(at, f"unsupported checkpoint type {path.suffix!r}",
                            f"use one of {', '.join(CHECKPOINT_SUFFIXES)}, or a model directory")]
    if not path.is_file():
        return [doc.problem(at, f"checkpoint file not found: {path}",
                            "paths are relative to the recipe file")]
    return []


@check("convert", "ios")
def _convert_target(doc, data):
    problems = []
    fmt = data["convert"]["format"]
    target = float(data["ios"]["deployment_target"])
    if fmt == "mlprogram" and target < 15:
        problems.append(doc.problem(("ios", "deployment_target"),
                                    f"ML Program needs iOS 15 or later, got {data['ios']['deployment_target']}",
                                    "raise ios.deployment_target or use convert.format: neuralnetwork"))
    if fmt == "neuralnetwork" and data["convert"]["fp32_op_types"]:
        problems.append(doc.problem(("convert", "fp32_op_types"),
                                    "fp32_op_types applies to fp16 ML Programs only"))
    return problems


@check("custom_ops", "convert", "export")
def _custom_ops(doc, data):
    problems = []
    fmt = data["convert"]["format"]
    for i, op in enumerate(data.get("custom_ops", [])):
        at = ("custom_ops", i)
        if op["coreml"]["mapping"] == "custom_layer" and fmt != "neuralnetwork":
            problems.append(doc.problem(
                (*at, "coreml", "mapping"),
                "a Core ML custom layer needs the NeuralNetwork format (ML Program has no custom layers)",
                "either set convert.format: neuralnetwork, or use coreml.mapping: inline to expand the op into Core ML ops",
            ))
        problems += _function_problems(doc, (*at, "onnx", "function"), CustomOp.from_data(op, i, data["export"]["opset"]))
    return problems


def _function_problems(doc, at, op: CustomOp) -> list[Problem]:
    try:
        fn = op.function
    except FunctionParseError as exc:
        return [doc.problem(at, f"the ONNX function does not parse: {exc}",
                            "write it in ONNX text syntax, e.g. `CustomSquare (x) => (y) { y = Mul(x, x) }`")]
    if fn.name != op.op_type:
        return [doc.problem(at, f"the function is named {fn.name!r} but onnx.op_type is {op.op_type!r}")]
    return []


@check("custom_ops", "export")
def _custom_op_export(doc, data):
    """Custom ops need the TorchScript exporter; attributes and layer parameters must fit the function."""
    ops = data.get("custom_ops", [])
    if not ops:
        return []  # and import no ML library
    problems = []
    if data["export"]["exporter"] != "torchscript":
        names = ", ".join(op["name"] for op in ops)
        problems.append(doc.problem(("export", "exporter"), f"custom ops ({names}) need export.exporter: torchscript",
                                    "the symbolics that emit one custom node per call are TorchScript-exporter hooks"))
    for i, op in enumerate(ops):
        at = ("custom_ops", i)
        try:
            declared = CustomOp.from_data(op, i, data["export"]["opset"]).declared_attributes
        except FunctionParseError:  # reported by _custom_ops
            continue
        for name, value in op["onnx"]["attributes"].items():
            if name not in declared:
                problems.append(doc.problem((*at, "onnx", "attributes", name), f"the function declares no attribute {name!r}",
                                            f"declare it: `{op['onnx']['op_type']} <{name}> (...) => (...)`", key=True))
            elif isinstance(value, list) and op["coreml"]["mapping"] == "custom_layer":
                problems.append(doc.problem((*at, "onnx", "attributes", name),
                                            "a list attribute cannot be a Core ML custom layer parameter",
                                            "use a scalar, or coreml.mapping: inline"))
        for name in op["coreml"]["parameters"]:
            if name in declared or name == "name":
                why = "is a function attribute (attributes are passed already)" if name != "name" else "is reserved"
                problems.append(doc.problem((*at, "coreml", "parameters", name), f"parameter name {name!r} {why}", key=True))
    return problems


@check("ios")
def _ios(doc, data):
    ios = data["ios"]
    if ios["wrapper"] != "none" and "class_name" not in ios:
        return [doc.problem(("ios",), f"ios.wrapper {ios['wrapper']!r} needs ios.class_name (the Swift class name)")]
    return []


@check("ios", *_IO)
def _wrapper_inputs(doc, data):
    """The Swift wrapper kind must fit the graphs' inputs (the swift stage, last, would fail otherwise)."""
    kind = data["ios"]["wrapper"]
    graphs = [g for _, g in graph_paths(data)]
    image_graphs = [g for g in graphs if any("image" in i for i in g["inputs"])]
    token_graphs = [g for g in graphs if any(i.get("dtype", "float32").startswith("int") for i in g["inputs"])]
    at = ("ios", "wrapper")
    if kind == "image_classifier":
        if not image_graphs:
            return [doc.problem(at, "an image_classifier wrapper needs an input with `image:` settings",
                                "add `image: {}` (and its normalisation) to the picture input, or choose another wrapper")]
        chosen = ([g for g in image_graphs if g.get("classifier")] or image_graphs)[0]
        if len(chosen["inputs"]) != 1:
            return [doc.problem(at, "an image_classifier wrapper feeds a model with exactly one input, the image")]
    if kind == "token_model":
        if len(graphs[0]["inputs"]) != 1 or graphs[0] not in token_graphs:
            return [doc.problem(at, "a token_model wrapper needs a graph whose one input is integer token ids",
                                "declare the input with dtype: int32 and a range")]
    if kind == "embedding_model":
        if not [g for g in image_graphs if not g.get("classifier")] or not token_graphs:
            return [doc.problem(at, "an embedding_model wrapper needs an image-encoder graph (an `image:` input) "
                                "and a text-encoder graph (an integer token-id input)")]
    return []


@check("convert")
def _fp32_op_types(doc, data):
    from pipeline_runner.recipe.mil_ops import MIL_OP_TYPES

    problems = []
    for i, op in enumerate(data["convert"]["fp32_op_types"]):
        if op not in MIL_OP_TYPES:
            close = difflib.get_close_matches(op, sorted(MIL_OP_TYPES), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "MIL op types look like softmax, layer_norm, matmul"
            problems.append(doc.problem(("convert", "fp32_op_types", i), f"{op!r} is not a Core ML (MIL) op type", hint))
    return problems


@check("model")
def _model_params(doc, data):
    """Architectures and their params, for sources that can check them without importing their library."""
    from pipeline_runner.models.registry import get_source, source_names

    spec = data["model"]
    if spec["source"] not in source_names():
        return []  # reported by _model_source
    static = get_source(spec["source"]).check
    if static is None:
        return []
    return [doc.problem(("model", *p.field), p.message, p.hint) for p in static(spec["architecture"], spec["params"])]


def resolve_relative(doc: YamlDocument, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (Path(doc.file).resolve().parent / p)


def semantic_problems(doc: YamlDocument, data: dict, broken: set[str] = frozenset()) -> list[Problem]:
    """Problems from every check whose sections have no schema problem (``broken``)."""
    problems = []
    for sections, fn in CHECKS:
        if not sections & broken:
            problems.extend(fn(doc, data))
    return problems


# Checks kept in their own modules register themselves on import.
from pipeline_runner.recipe import shape_checks  # noqa: E402,F401
from pipeline_runner.recipe import compress_checks  # noqa: E402,F401  (registers its checks)
