"""Our one seam to onnx2coreml and coremltools: ONNX file in, saved Core ML model out.

onnx2coreml lowers ONNX to a MIL program (with our custom-op lowerings registered on
its Converter); coremltools' public ``ct.convert`` serialises the program with the
recipe's format, deployment target, precision and compute units.
"""

from __future__ import annotations

from pathlib import Path

_UNITS = {"all": "ALL", "cpu_only": "CPU_ONLY", "cpu_and_gpu": "CPU_AND_GPU", "cpu_and_ne": "CPU_AND_NE"}


def deployment_target(ct, version: str):
    major = version.split(".")[0]
    target = getattr(ct.target, f"iOS{major}", None)
    if target is None:
        raise ValueError(f"coremltools {ct.__version__} has no deployment target iOS{major}")
    return target


def convert_graph(onnx_path: Path, out_path: Path, recipe, graph, key: str, random_weights: bool,
                  norm_statistics: str | None = None) -> dict:
    """Convert one graph; several Core ML shapes (``inputs[].coreml``) go through ``multi_shape``."""
    import onnx

    from pipeline_runner import progress
    from pipeline_runner.convert import multi_shape, shape_specs
    from pipeline_runner.convert.metadata import stamp

    cfg = recipe.convert
    plan = shape_specs.plan(graph)
    folding = []  # one record per converted shape: what pinning made constant and the optimizer folded
    ranks = []  # one record per converted shape: the rank>5 regions rewritten (reduce_rank)
    progress.step("loading ONNX")
    model = onnx.load(str(onnx_path))
    if plan.flexible:
        shapes_info = multi_shape.convert_flexible(model, out_path, recipe, graph, plan,
                                                   lambda m, shapes: build_mlmodel(m, recipe, graph, shapes, folding, ranks),
                                                   lambda mlmodel: stamp(mlmodel, recipe, graph, key, random_weights,
                                                                        norm_statistics))
    else:
        mlmodel = build_mlmodel(model, recipe, graph, plan.default.shapes, folding, ranks)
        stamp(mlmodel, recipe, graph, key, random_weights, norm_statistics)
        progress.step("saving Core ML model")
        mlmodel.save(str(out_path))
        shapes_info = {"kind": "fixed", "shapes": {n: list(s) for n, s in plan.default.shapes.items()}}
    import coremltools as ct

    spec = ct.utils.load_spec(str(out_path))
    return {
        "format": cfg.format,
        "precision": cfg.precision if cfg.is_program else "fp32 (NeuralNetwork: set by the runtime)",
        "specification_version": spec.specificationVersion,
        "deployment_target": recipe.ios.deployment_target,
        "coreml_shapes": shapes_info,
        "notes": plan.notes,
        "folding": folding[0],  # the default shape's (converted first)
        **({"folding_per_shape": folding} if len(folding) > 1 else {}),
        "rank_reduction": ranks[0],
        **({"rank_reduction_per_shape": ranks} if len(ranks) > 1 else {}),
    }


def build_mlmodel(model, recipe, graph, shapes: dict, folding: list | None = None, ranks: list | None = None):
    """ONNX ``model`` with its inputs pinned to ``shapes`` → an in-memory coremltools MLModel (not stamped).

    Folding runs after pinning, for each shape (what pinning made constant differs per shape);
    its record is appended to ``folding``. Then rank>5 regions are rewritten to rank <= 5
    (Core ML's limit; :mod:`.reduce_rank`), recorded in ``ranks``."""
    import coremltools as ct
    from onnx2coreml import Converter

    from pipeline_runner import customops
    from pipeline_runner import progress
    from pipeline_runner.convert import lowerings as own_lowerings
    from pipeline_runner.convert.classifier import attach_classifier
    from pipeline_runner.convert.fold import fold_constants
    from pipeline_runner.convert.reduce_rank import reduce_rank
    from pipeline_runner.convert.fixed_shapes import pin_input_shapes
    from pipeline_runner.convert.image_input import coreml_image_inputs, prepend_normalisation

    cfg = recipe.convert
    is_program = cfg.is_program
    progress.step("fixed shapes " + ", ".join(f"{n} {list(s)}" for n, s in shapes.items())
                  + "; image normalisation, custom ops")
    model = pin_input_shapes(model, shapes)
    progress.step("folding what pinning made constant (onnxscript optimizer)")
    model, folded = fold_constants(model)
    if folding is not None:
        folding.append(folded)
    progress.step("keeping tensors at rank <= 5 (reduce_rank)")
    model, reduced = reduce_rank(model)
    if ranks is not None:
        ranks.append(reduced)
    model = prepend_normalisation(model, graph)
    model, lowerings = customops.prepare_for_coreml(model, recipe.custom_ops)
    recipe_lowerings = dict(cfg.lowerings)
    try:
        lowerings = {**own_lowerings.lowerings_for(model, recipe_lowerings), **lowerings}
    except own_lowerings.LoweringImportError as exc:
        from pipeline_runner.errors import StageError

        raise StageError(recipe.name, "convert", f"convert.lowerings: {exc}") from None

    converter = Converter()
    for op_key, lowering in lowerings.items():
        converter.register(op_key)(lowering)
    target = deployment_target(ct, recipe.ios.deployment_target)
    precision = ct.precision.FLOAT16 if cfg.precision == "fp16" else ct.precision.FLOAT32
    # The NeuralNetwork backend accepts programs authored at opset iOS15 at the newest.
    build_target = target if is_program else min(target, ct.target.iOS15)
    progress.step("onnx2coreml: ONNX → MIL")
    program = _to_mil(converter, model, recipe, graph, recipe_lowerings, target=build_target,
                      precision=precision if is_program else None)

    kwargs = {"convert_to": cfg.format, "compute_units": getattr(ct.ComputeUnit, _UNITS[cfg.compute_units])}
    kwargs["inputs"] = coreml_image_inputs(ct, graph, shapes)
    kwargs["classifier_config"] = attach_classifier(ct, program, graph)
    kwargs["minimum_deployment_target"] = target
    if is_program:
        kwargs["compute_precision"] = _compute_precision(ct, precision, cfg.fp32_op_types)
    progress.step("coremltools: MIL passes")  # its tqdm bar, captured, adds the pass count
    try:
        mlmodel = ct.convert(program, **kwargs)
    except ValueError as exc:
        from pipeline_runner.convert.conversion_errors import rank_limit_error

        error = rank_limit_error(recipe.name, graph.name, model, exc, reduced["left"])
        if error is None:
            raise
        raise error from None
    if not is_program:
        mlmodel = _declare_output_shapes(ct, mlmodel, program)
    return mlmodel


def _to_mil(converter, model, recipe, graph, recipe_lowerings: dict, **kwargs):
    """onnx2coreml's lowering, its errors said in recipe terms (no traceback, the field to write)."""
    from onnx2coreml.errors import ConversionError, Onnx2CoreMLError, UnsupportedOpError

    from pipeline_runner.convert.conversion_errors import lowering_failed_error, missing_ops_error
    from pipeline_runner.errors import StageError

    try:
        return converter.to_mil(model, **kwargs)
    except UnsupportedOpError as exc:
        raise missing_ops_error(recipe.name, graph.name, model, exc.missing) from None
    except ConversionError as exc:
        raise lowering_failed_error(recipe.name, graph.name, model, exc, recipe_lowerings) from None
    except Onnx2CoreMLError as exc:
        raise StageError(recipe.name, "convert", f"graph {graph.name!r}: {exc}") from None


def _declare_output_shapes(ct, mlmodel, program):
    """NeuralNetwork specs leave output shapes empty; declare the shapes the MIL program
    inferred from the fixed inputs, so the spec (and the Swift generated from it) says
    what the model returns."""
    shapes = {}
    for var in program.functions["main"].outputs:
        if var.shape is not None and all(isinstance(d, int) for d in var.shape):
            shapes[var.name] = [int(d) for d in var.shape]
    spec = mlmodel.get_spec()
    changed = False
    for feature in spec.description.output:
        array = feature.type.multiArrayType
        if feature.type.WhichOneof("Type") == "multiArrayType" and not array.shape and feature.name in shapes:
            array.shape.extend(shapes[feature.name])
            changed = True
    return ct.models.MLModel(spec, skip_model_load=True) if changed else mlmodel


def _compute_precision(ct, precision, fp32_op_types):
    """fp16 with the recipe's op types kept in fp32 (coremltools' op selector), else the plain enum."""
    if not fp32_op_types or precision != ct.precision.FLOAT16:
        return precision
    keep = set(fp32_op_types)
    return ct.transform.FP16ComputePrecision(op_selector=lambda op: op.op_type not in keep)
