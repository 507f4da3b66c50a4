"""ReferenceModel: a saved Core ML model (.mlpackage ML Program or .mlmodel NeuralNetwork) run with NumPy."""

from __future__ import annotations

import json
import os

import numpy as np

from .errors import CoreMLReferenceError, InputError
from .image import image_to_tensor

_ARRAY_DTYPES = {65568: np.float32, 65600: np.float64, 131104: np.int32, 131080: np.int8, 65552: np.float16}


def read_spec(path: str):
    """(Model protobuf, weights directory or None) for a .mlpackage directory or a .mlmodel file."""
    from coremltools.proto import Model_pb2

    path = os.fspath(path)
    weights_dir = None
    if os.path.isdir(path):
        manifest_path = os.path.join(path, "Manifest.json")
        if not os.path.exists(manifest_path):
            raise CoreMLReferenceError(f"{path}: not a .mlpackage (no Manifest.json)")
        with open(manifest_path) as f:
            manifest = json.load(f)
        root = manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]
        spec_path = os.path.join(path, "Data", root["path"])
        weights_dir = os.path.join(os.path.dirname(spec_path), "weights")
    elif os.path.isfile(path):
        spec_path = path
    else:
        raise CoreMLReferenceError(f"no such model: {path}")
    spec = Model_pb2.Model()
    with open(spec_path, "rb") as f:
        spec.ParseFromString(f.read())
    return spec, (weights_dir if weights_dir and os.path.isdir(weights_dir) else None)


def function_names(spec) -> list[str]:
    """The named functions of a multifunction model (iOS 18), default first; [] for a one-function model."""
    names = [f.name for f in spec.description.functions]
    default = spec.description.defaultFunctionName
    return sorted(names, key=lambda n: n != default)


def function_description(spec, function: str | None = None):
    """The description (input, output, ...) of ``function`` (None: the default); a one-function model's own."""
    desc = spec.description
    if not desc.functions:
        if function not in (None, "main"):
            raise InputError(f"the model has one function; there is no function {function!r}")
        return desc
    function = function or desc.defaultFunctionName
    for f in desc.functions:
        if f.name == function:
            return f
    raise InputError(f"no function {function!r} in the model (functions: {function_names(spec)})")


def flexible_shapes(array_type) -> dict | None:
    """A multi-array input's flexible shapes: {"enumerated": [...]} or {"ranges": [(low, high), ...]}; None if fixed."""
    which = array_type.WhichOneof("ShapeFlexibility")
    if which == "enumeratedShapes":
        return {"enumerated": [tuple(s.shape) for s in array_type.enumeratedShapes.shapes]}
    if which == "shapeRange":
        return {"ranges": [(r.lowerBound, r.upperBound) for r in array_type.shapeRange.sizeRanges]}
    return None


def _check_flexible_shape(name: str, shape: tuple, array_type) -> None:
    flex = flexible_shapes(array_type)
    if flex is None:
        return
    if "enumerated" in flex:
        if tuple(shape) not in flex["enumerated"]:
            raise InputError(f"input {name!r} has shape {list(shape)}; the model takes {flex['enumerated']}")
        return
    ranges = flex["ranges"]
    ok = len(shape) == len(ranges) and all(lo <= d and (hi < 0 or d <= hi) for d, (lo, hi) in zip(shape, ranges))
    if not ok:
        raise InputError(f"input {name!r} has shape {list(shape)}; the model takes sizes within {ranges} (-1: unbounded)")


class ReferenceModel:
    """Use :func:`load_model`. ``predict`` and ``trace`` take a dict of input name -> array
    (image inputs: HxWx3 uint8 RGB array or PIL image)."""

    def __init__(self, spec, engine, kind: str, path: str, function: str | None = None):
        self.spec = spec
        self.kind = kind  # "mlprogram" | "neuralnetwork"
        self.path = path
        self._engine = engine
        desc = function_description(spec, function)
        self.function = function or (spec.description.defaultFunctionName or None)
        self.function_names = function_names(spec)
        self.input_names = [i.name for i in desc.input]
        self.output_names = [o.name for o in desc.output]
        self._inputs = {i.name: i.type for i in desc.input}
        self._outputs = {o.name: o.type for o in desc.output}

    @property
    def compute_precision(self) -> str:
        """'fp16', 'fp32' or 'mixed': the float types the program's ops compute in."""
        return self._engine.compute_precision()

    @property
    def program(self):
        """The parsed ML Program (``Program``), or None for a NeuralNetwork model."""
        return getattr(self._engine, "executor", None) and self._engine.executor.program

    @property
    def op_types(self) -> set[str]:
        return self._engine.op_types()

    def _prepare(self, inputs: dict) -> dict:
        unknown = set(inputs) - set(self._inputs)
        if unknown:
            raise InputError(f"unknown input(s) {sorted(unknown)}; model inputs are {self.input_names}")
        feeds = {}
        for name, ftype in self._inputs.items():
            if name not in inputs:
                raise InputError(f"missing input {name!r}; model inputs are {self.input_names}")
            value = inputs[name]
            if ftype.WhichOneof("Type") == "imageType":
                tensor = image_to_tensor(name, value, ftype.imageType)
                feeds[name] = self._engine.preprocess_image(name, tensor, ftype.imageType.colorSpace)
            else:
                feeds[name] = np.asarray(value)
                _check_flexible_shape(name, feeds[name].shape, ftype.multiArrayType)
        return feeds

    def _finish(self, raw: dict, fp32: bool = False) -> dict:
        out = {}
        for name, ftype in self._outputs.items():
            if name not in raw:
                raise CoreMLReferenceError(f"model output {name!r} was not produced by the program")
            value = raw[name]
            kind = ftype.WhichOneof("Type")
            dtype = _ARRAY_DTYPES.get(ftype.multiArrayType.dataType) if kind == "multiArrayType" else None
            if dtype is np.float16 and fp32:
                value = np.asarray(value, np.float32)  # an fp32 replay stays fp32 to the end
            elif dtype is not None:
                with np.errstate(over="ignore"):
                    value = np.asarray(value).astype(_ARRAY_DTYPES[ftype.multiArrayType.dataType])
            elif kind == "stringType":
                value = str(value.item() if isinstance(value, np.ndarray) else value)
            elif kind == "int64Type":
                value = int(np.asarray(value).reshape(-1)[0])
            elif kind == "doubleType":
                value = float(np.asarray(value).reshape(-1)[0])
            elif kind == "imageType":
                value = np.asarray(value)
            out[name] = value
        return out

    def predict(self, inputs: dict, *, fp32: bool = False, fp32_ops=frozenset()) -> dict:
        """Outputs by the model's output names. Classifiers: the label (str/int) and {label: probability}.

        ``fp32=True``: every fp16 value computed in fp32, outputs included (weights stored as
        fp16 stay rounded). ``fp32_ops``: op types kept in fp32, as ``convert.fp32_op_types`` would.
        """
        extra = {"fp32_ops": frozenset(fp32_ops)} if fp32_ops else {}
        return self._finish(self._engine.run(self._prepare(inputs), fp32=fp32, **extra), fp32=fp32)

    def trace(self, inputs: dict, *, fp32: bool = False, fp32_ops=frozenset()) -> list:
        """Every executed op in order: TraceEntry(name, type, dtypes, outputs)."""
        return self.predict_traced(inputs, fp32=fp32, fp32_ops=fp32_ops)[1]

    def predict_traced(self, inputs: dict, *, fp32: bool = False, fp32_ops=frozenset()) -> tuple[dict, list]:
        """(:meth:`predict`'s outputs, :meth:`trace`'s entries) of one run."""
        trace: list = []
        extra = {"fp32_ops": frozenset(fp32_ops)} if fp32_ops else {}
        raw = self._engine.run(self._prepare(inputs), fp32=fp32, trace=trace, **extra)
        return self._finish(raw, fp32=fp32), trace


class _MilEngine:
    def __init__(self, spec, weights_dir, function: str | None = None):
        from .executor import MilExecutor
        from .ops import REGISTRY
        from .program import parse_program

        function = function or spec.description.defaultFunctionName or None  # multifunction packages
        self.executor = MilExecutor(parse_program(spec.mlProgram, weights_dir, function), REGISTRY)

    def op_types(self):
        return self.executor.op_types()

    def compute_precision(self) -> str:
        from .program import TensorType

        seen = set()
        for op in self.executor.program.all_ops():
            if op.type in ("const", "cast") or op.type.startswith("constexpr_"):
                continue
            seen |= {t.dtype for _, t in op.outputs if isinstance(t, TensorType) and t.dtype in ("fp16", "fp32")}
        return "mixed" if len(seen) > 1 else (seen.pop() if seen else "fp32")

    def preprocess_image(self, name, tensor, color_space):
        return tensor  # ML Program: scale/bias are ops inside the program

    def run(self, feeds, *, fp32=False, trace=None, fp32_ops=frozenset()):
        return self.executor.run(feeds, fp32=fp32, trace=trace, fp32_ops=fp32_ops)


def load_model(path, custom_layers: dict | None = None, function: str | None = None) -> ReferenceModel:
    """Load a saved .mlpackage (ML Program) or .mlmodel (NeuralNetwork or ML Program) from disk.

    ``function``: which function of a multifunction package to run (default: its default function).
    Flexible inputs (NeuralNetwork ``enumeratedShapes``/``shapeRange``) take any shape they allow.

    ``custom_layers`` maps a NeuralNetwork custom layer's ``className`` to
    ``fn(inputs: list[np.ndarray], parameters: dict) -> list[np.ndarray]``.
    Raises UnsupportedOpError listing every op / layer type the executor lacks. ``function``:
    which function of a multifunction package (default: its default function).
    """
    spec, weights_dir = read_spec(path)
    kind = spec.WhichOneof("Type")
    if kind == "mlProgram":
        function_description(spec, function)  # an unknown function name is an InputError listing the known ones
        return ReferenceModel(spec, _MilEngine(spec, weights_dir, function), "mlprogram", os.fspath(path), function)
    if kind in ("neuralNetwork", "neuralNetworkClassifier", "neuralNetworkRegressor"):
        from .nn.engine import NNEngine

        return ReferenceModel(spec, NNEngine(spec, kind, custom_layers or {}), "neuralnetwork", os.fspath(path))
    raise CoreMLReferenceError(f"{path}: model type {kind!r} is not supported (ML Program and NeuralNetwork are)")
