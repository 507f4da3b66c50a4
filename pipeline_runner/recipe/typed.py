"""The recipe as typed, frozen values: what every stage receives.

``from_data`` turns recipe data that passed the JSON Schema (with the schema's
defaults applied, see :mod:`.schema`) into these dataclasses once. Field names are
the YAML keys, so a dotted recipe path (``convert.precision``) is an attribute path;
a stage declares the paths it reads and its cache key holds their values
(:meth:`Recipe.section`). No defaults live here: the schema has them, and a field
with a Python default below is one the schema leaves optional (None: not given).

Hand-written converter rather than pydantic/cattrs: the schema already validates and
fills defaults, so all that is left is a ~30-line walk of the type hints.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline_runner.recipe.custom_op import CustomOp
from pipeline_runner.recipe.yaml_source import YamlDocument


@dataclass(frozen=True)
class ImageSpec:
    color_layout: str  # RGB or BGR
    pixel_scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    resize: str  # center_crop, scale_fill, scale_fit


@dataclass(frozen=True)
class CoreMLShapeSpec:
    """``inputs[].coreml``: what Core ML takes on the dynamic axes (read by convert/shape_specs.py)."""
    axes: dict[str, Any] | None = None  # axis (as text) -> "fixed" | {enumerated: [...]} | {range: [lo, hi], default}
    shapes: tuple[tuple[int, ...], ...] | None = None
    sizes: tuple[tuple[int, ...], ...] | None = None


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str
    dynamic_axes: dict[str, str]  # axis index (as text) -> symbolic name
    range: tuple[float, ...] | None = None
    image: ImageSpec | None = None
    coreml: CoreMLShapeSpec | None = None
    description: str | None = None

    @property
    def is_integer(self) -> bool:
        return self.dtype.startswith("int")


@dataclass(frozen=True)
class OutputSpec:
    name: str
    kind: str  # tensor, logits, probabilities, embedding
    description: str | None = None


@dataclass(frozen=True)
class ClassifierSpec:
    output: str
    labels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class GraphSpec:
    name: str
    entry: str
    entry_args: dict[str, Any]
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    classifier: ClassifierSpec | None = None

    @property
    def image_inputs(self) -> tuple[InputSpec, ...]:
        return tuple(i for i in self.inputs if i.image is not None)

    @property
    def entry_labels(self) -> list | None:
        """The entry's ``labels`` argument (a zero-shot classifier's label list), if any."""
        return self.entry_args.get("labels")


@dataclass(frozen=True)
class NormCalibrationSpec:
    enabled: bool
    samples: int
    seed: int


@dataclass(frozen=True)
class CheckpointRef:
    """``model.checkpoint``: a plain path is ``{path: ...}``; the key mapping applies while loading."""

    path: str  # relative to the recipe: a weights file or a model directory
    strip_prefix: str = ""
    add_prefix: str = ""
    ignore_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    source: str
    architecture: str
    params: dict[str, Any]
    checkpoint: CheckpointRef | None
    seed: int
    norm_calibration: NormCalibrationSpec


@dataclass(frozen=True)
class ExportSpec:
    opset: int
    exporter: str  # torchscript or dynamo
    constant_folding: bool


@dataclass(frozen=True)
class MetadataSpec:
    short_description: str
    version: str
    author: str
    license: str
    input_descriptions: dict[str, str]
    output_descriptions: dict[str, str]


@dataclass(frozen=True)
class ConvertSpec:
    format: str  # mlprogram or neuralnetwork
    precision: str  # fp16 or fp32
    compute_units: str
    fp32_op_types: tuple[str, ...]
    metadata: MetadataSpec
    lowerings: dict[str, str] = field(default_factory=dict)  # OpType or domain::OpType -> "module:function"

    @property
    def is_program(self) -> bool:
        return self.format == "mlprogram"

    @property
    def effective_precision(self) -> str:
        """fp16/fp32 for an ML Program; a NeuralNetwork model is checked as fp32."""
        return self.precision if self.is_program else "fp32"


@dataclass(frozen=True)
class IosSpec:
    deployment_target: str
    wrapper: str  # image_classifier, embedding_model, token_model, none
    class_name: str | None = None
    labels: tuple[str, ...] | None = None
    variant: str | None = None  # a compress variant the wrapper loads instead of the uncompressed model

    @property
    def major(self) -> int:
        return int(self.deployment_target.split(".")[0])


@dataclass(frozen=True)
class Tolerance:
    max_abs: float | None = None
    max_rel: float | None = None
    min_cosine: float | None = None
    top1_agreement: float | None = None
    max_error_to_spread: float | None = None

    def as_dict(self) -> dict[str, float]:
        """The bounds that are set (a bound left out is not checked)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Tolerances:
    onnx: Tolerance
    coreml_fp32: Tolerance
    coreml_fp16: Tolerance

    def coreml(self, precision: str) -> Tolerance:
        return self.coreml_fp16 if precision == "fp16" else self.coreml_fp32


@dataclass(frozen=True)
class ValidateSpec:
    samples: int
    seed: int
    tolerances: Tolerances
    fp32_noise_factor: float = 4.0  # see conditioning.noise_floored


@dataclass(frozen=True)
class MultifunctionSpec:
    name: str
    functions: tuple[str, ...]  # graph names; the first is the default function
    variant: str | None = None


@dataclass(frozen=True)
class CompressSpec:
    """``compress``: each variant's sections are the keyword arguments of coremltools' op configs,
    kept as data (``pipeline_runner.compress.variants`` reads them) since they map one to one."""

    tolerance: Tolerance
    variants: tuple[dict[str, Any], ...] = ()
    multifunction: tuple[MultifunctionSpec, ...] = ()

    def variants_for(self, graph: str) -> list[dict]:
        """The variants that apply to ``graph`` (a variant without ``graphs`` applies to all)."""
        return [v for v in self.variants if not v.get("graphs") or graph in v["graphs"]]


@dataclass(frozen=True)
class Recipe:
    name: str
    model: ModelSpec
    graphs: tuple[GraphSpec, ...]  # a recipe with top-level inputs/outputs has one, named after the recipe
    export: ExportSpec
    custom_ops: tuple[CustomOp, ...]
    convert: ConvertSpec
    ios: IosSpec
    validate: ValidateSpec
    compress: CompressSpec
    path: Path = field(compare=False)
    doc: YamlDocument = field(repr=False, compare=False)
    sha256: str = field(compare=False)  # of the recipe data with defaults applied
    description: str | None = None

    def graph(self, name: str) -> GraphSpec:
        return next(g for g in self.graphs if g.name == name)

    def checkpoint_path(self) -> Path | None:
        from pipeline_runner.recipe.checks import resolve_relative

        ckpt = self.model.checkpoint
        return resolve_relative(self.doc, ckpt.path) if ckpt else None

    def model_error(self, exc) -> Exception:
        """A model source's complaint (ModelSpecError) about ``model.*`` fields, located in this recipe's file."""
        from pipeline_runner.errors import RecipeError

        return RecipeError([self.doc.problem(("model", *p.field), p.message, p.hint) for p in exc.problems])

    def section(self, dotted: str):
        """The value at a dotted path (``convert.precision``) as plain JSON data, or None.
        ``graphs[].inputs``: that field of every item of a list."""
        if "[]." in dotted:
            head, tail = dotted.split("[].", 1)
            return [plain(_dig(item, tail)) for item in _dig(self, head)]
        return plain(_dig(self, dotted))


def _dig(value, dotted: str):
    for part in dotted.split("."):
        if not hasattr(value, part):
            return None
        value = getattr(value, part)
    return value


def plain(value):
    """Typed recipe values as JSON data (for cache keys and reports)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.compare}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def from_data(data: dict, path: Path, doc: YamlDocument) -> Recipe:
    """The typed recipe of schema-valid ``data`` whose defaults are applied."""
    opset = data["export"]["opset"]
    graphs = data.get("graphs") or [{
        "name": data["name"].replace("-", "_").replace(".", "_"),
        "entry": "forward", "entry_args": {}, "inputs": data["inputs"], "outputs": data["outputs"],
    }]
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return Recipe(
        name=data["name"],
        description=data.get("description"),
        model=_build(ModelSpec, _checkpoint_as_object(data["model"])),
        graphs=tuple(_build(GraphSpec, g) for g in graphs),
        export=_build(ExportSpec, data["export"]),
        custom_ops=tuple(CustomOp.from_data(op, i, opset) for i, op in enumerate(data["custom_ops"])),
        convert=_build(ConvertSpec, data["convert"]),
        ios=_build(IosSpec, data["ios"]),
        validate=_build(ValidateSpec, data["validate"]),
        compress=_build(CompressSpec, data["compress"]),
        path=path,
        doc=doc,
        sha256=hashlib.sha256(canonical.encode()).hexdigest(),
    )


def _checkpoint_as_object(model: dict) -> dict:
    ckpt = model.get("checkpoint")
    return {**model, "checkpoint": {"path": ckpt}} if isinstance(ckpt, str) else model


def _build(cls, value: dict):
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _convert(hints[f.name], value[f.name])
                  for f in dataclasses.fields(cls) if f.name in value})


def _convert(tp, value):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
        origin = typing.get_origin(tp)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return tuple(_convert(item, v) for v in value)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value)
    if tp is float:
        return float(value)
    if origin is dict or tp is dict:
        return {str(k): v for k, v in value.items()}
    return value
