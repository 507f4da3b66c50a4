"""Several Core ML shapes from one ONNX graph, although onnx2coreml lowers one static shape at a time.

The three ways coremltools offers, and which we take:

- **ML Program: one function per enumerated shape, merged into a multifunction package**
  (``ct.utils.MultiFunctionDescriptor`` + ``save_multifunction``, iOS 18). Each variant is an
  ordinary static conversion, so every lowering works; ``save_multifunction`` deduplicates
  the constants the functions share, so the weights are stored once and the package grows
  only by the extra program text and the few shape-dependent constants (a position-embedding
  slice, a causal mask). Every function has static shapes, which is what the Neural Engine
  runs best. This is the only correct way here: onnx2coreml folds shape arithmetic into
  constants (slices of position embeddings, reshape targets), so a program lowered at one
  shape is not shape-polymorphic and must not be declared flexible; and it has no symbolic dims.
- **NeuralNetwork: flexible shapes on the spec** (``enumeratedShapes`` / ``shapeRange`` of the
  input), only when the layers are shape-polymorphic. We check that, rather than assume it:
  the graph is converted at every declared shape (each end of a range) and the layers must be
  identical once the per-layer shape annotations are set aside. If not, the error names the
  first layer that differs (NeuralNetwork models cannot hold several functions).
- Symbolic dims through the lowerings: onnx2coreml 1.1 requires fixed input shapes, so no.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path


def convert_flexible(model, out_path: Path, recipe, graph, plan, build: Callable, stamp: Callable) -> dict:
    """Save a model taking every shape of ``plan``; return what it holds (functions or flexible inputs, sizes)."""
    from pipeline_runner.errors import StageError

    stage = f"convert[{graph.name}]"
    if recipe.convert.is_program:
        if plan.ranges:  # the recipe check refuses this first
            r = plan.ranges[0]
            raise StageError(recipe.name, stage, f"input {r.input!r} axis {r.axis}: a range needs one shape-polymorphic "
                                                 "program, and onnx2coreml lowers each shape statically; use `enumerated` "
                                                 "sizes (one function each)")
        return _multifunction(model, Path(out_path), plan, build, stamp)
    try:
        return _flexible_neuralnetwork(model, Path(out_path), graph, plan, build, stamp)
    except NotPolymorphic as exc:
        raise StageError(recipe.name, stage, str(exc)) from None


class NotPolymorphic(ValueError):
    """The NeuralNetwork layers differ between shapes, so one model cannot take them all."""


def package_size(path: Path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _multifunction(model, out_path: Path, plan, build, stamp) -> dict:
    import coremltools as ct

    with tempfile.TemporaryDirectory(prefix="multishape-", dir=out_path.parent) as tmp:
        paths = {}
        for variant in plan.variants:
            mlmodel = build(model, variant.shapes)
            stamp(mlmodel)  # input/output descriptions travel into each function's description
            paths[variant.name] = Path(tmp) / f"{variant.name}.mlpackage"
            mlmodel.save(str(paths[variant.name]))
        from pipeline_runner import progress

        progress.step(f"merging {len(paths)} functions into one package (weights stored once)")
        desc = ct.utils.MultiFunctionDescriptor()
        for name, path in paths.items():
            desc.add_function(str(path), src_function_name="main", target_function_name=name)
        desc.default_function_name = plan.default.name
        merged = Path(tmp) / "merged.mlpackage"
        ct.utils.save_multifunction(desc, str(merged))
        mlmodel = ct.models.MLModel(str(merged), skip_model_load=True)
        stamp(mlmodel)  # metadata: save_multifunction writes a bare description
        mlmodel.save(str(out_path))
        fixed = package_size(paths[plan.default.name])
    size = package_size(out_path)
    return {
        "kind": "multifunction",
        "default_function": plan.default.name,
        "functions": {v.name: {n: list(s) for n, s in v.shapes.items()} for v in plan.variants},
        "package_bytes": size,
        "fixed_shape_package_bytes": fixed,
        "growth": round(size / fixed - 1.0, 4),
    }


def _flexible_neuralnetwork(model, out_path: Path, graph, plan, build, stamp) -> dict:
    import coremltools as ct

    probes = [(v.name, v.shapes) for v in plan.variants]
    for r in plan.ranges:
        for size in (r.low, r.high):
            shapes = dict(plan.default.shapes)
            shape = list(shapes[r.input])
            shape[r.axis] = size
            shapes[r.input] = tuple(shape)
            probes.append((f"{r.input} axis {r.axis} = {size}", shapes))
    default = build(model, plan.default.shapes)
    reference = _layers(default.get_spec())
    for label, shapes in probes:
        if shapes == plan.default.shapes:
            continue
        difference = _first_difference(reference, _layers(build(model, shapes).get_spec()))
        if difference:
            raise NotPolymorphic(f"NeuralNetwork flexible shapes need shape-polymorphic layers, and this graph's are not: "
                             f"converted at {label}, {difference}. A NeuralNetwork model holds one function; use "
                             "`convert.format: mlprogram` (iOS 18: one function per enumerated shape), or `fixed`")
    spec = default.get_spec()
    _declare_flexible_inputs(spec, plan)
    mlmodel = ct.models.MLModel(spec, skip_model_load=True)
    stamp(mlmodel)
    mlmodel.save(str(out_path))
    shapes = {v.name: {n: list(s) for n, s in v.shapes.items()} for v in plan.variants}
    return {"kind": "flexible_inputs", "enumerated": shapes if len(plan.variants) > 1 else {},
            "ranges": [r.__dict__ for r in plan.ranges], "package_bytes": package_size(out_path)}


def _layers(spec) -> list:
    """The NeuralNetwork layers without their per-layer tensor shape annotations (rank/dims of each edge)."""
    nn = getattr(spec, spec.WhichOneof("Type"))
    layers = []
    for layer in nn.layers:
        copy = type(layer)()
        copy.CopyFrom(layer)
        copy.ClearField("inputTensor")
        copy.ClearField("outputTensor")
        layers.append(copy)
    return layers


def _first_difference(a: list, b: list) -> str | None:
    if len(a) != len(b):
        return f"the model has {len(b)} layers instead of {len(a)}"
    for x, y in zip(a, b):
        if x != y:
            return (f"layer {y.name!r} ({y.WhichOneof('layer')}) differs (its parameters depend on the shape: "
                    "a constant, slice or reshape target baked in at conversion)")
    return None


def _declare_flexible_inputs(spec, plan) -> None:
    """enumeratedShapes / shapeRange on the spec's multi-array inputs (the default shape stays ``shape``)."""
    for feature in spec.description.input:
        if feature.type.WhichOneof("Type") != "multiArrayType":
            continue
        array = feature.type.multiArrayType
        shapes = sorted({v.shapes[feature.name] for v in plan.variants})
        ranges = [r for r in plan.ranges if r.input == feature.name]
        if ranges:
            default = plan.default.shapes[feature.name]
            for axis, size in enumerate(default):
                bound = array.shapeRange.sizeRanges.add()
                r = next((r for r in ranges if r.axis == axis), None)
                bound.lowerBound, bound.upperBound = (r.low, r.high) if r else (size, size)
        elif len(shapes) > 1:
            for shape in shapes:
                array.enumeratedShapes.shapes.add().shape.extend(shape)
