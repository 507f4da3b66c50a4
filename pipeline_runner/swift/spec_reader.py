"""The interface of a saved Core ML model, read from its spec.

``read_model_interface(path)`` reads a ``.mlpackage`` / ``.mlmodel`` spec without
changing it (``coreml_reference.read_spec``; coremltools' ``load_spec`` rewrites a
package's Manifest.json, an upstream artifact) and returns a JSON-serialisable
:class:`ModelInterface`: inputs and outputs (kind, shape, dtype, image size and colour
layout), classifier labels and feature names, the user-defined metadata, and the
class names of any custom layers. The Swift wrappers take every feature name, shape
and label from here, so they always match the compiled model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

# ArrayFeatureType.ArrayDataType → numpy-style dtype name
_ARRAY_DTYPES = {65568: "float32", 65600: "float64", 131104: "int32", 131080: "int8", 65552: "float16"}
# ImageFeatureType.ColorSpace → layout name
_COLOR_SPACES = {10: "GRAYSCALE", 20: "RGB", 30: "BGR", 40: "GRAYSCALE_FLOAT16"}
# FeatureType oneof field → kind name
_KINDS = {
    "multiArrayType": "multiArray",
    "imageType": "image",
    "stringType": "string",
    "dictionaryType": "dictionary",
    "int64Type": "int64",
    "doubleType": "double",
    "sequenceType": "sequence",
    "stateType": "state",
}


@dataclass
class FeatureInfo:
    """One input or output feature of a Core ML model."""

    name: str
    kind: str  # multiArray, image, string, dictionary, int64, double, sequence, state
    description: str = ""
    optional: bool = False
    shape: list[int] = field(default_factory=list)  # multiArray default shape ([] if unspecified)
    dtype: str | None = None  # multiArray element type: float32, float16, float64, int32, int8
    shape_ranges: list[list[int]] | None = None  # [lower, upper] per axis (upper -1 = unbounded)
    enumerated_shapes: list[list[int]] | None = None
    image_width: int | None = None
    image_height: int | None = None
    color_layout: str | None = None  # RGB, BGR, GRAYSCALE, GRAYSCALE_FLOAT16
    dictionary_key_type: str | None = None  # string or int64

    @property
    def is_flexible(self) -> bool:
        return bool(self.shape_ranges or self.enumerated_shapes)


@dataclass
class ModelInterface:
    """What a saved Core ML model looks like from the outside."""

    path: str
    model_type: str  # spec "Type" oneof: mlProgram, neuralNetwork, neuralNetworkClassifier, pipeline, ...
    specification_version: int
    inputs: list[FeatureInfo]
    outputs: list[FeatureInfo]
    class_labels: list[str] | None = None  # classifier labels (int64 labels as decimal strings)
    predicted_feature_name: str | None = None
    predicted_probabilities_name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # the spec's user-defined metadata
    short_description: str = ""
    custom_layers: list[str] = field(default_factory=list)  # MLCustomLayer class names
    # Multifunction models (iOS 18): function name → input name → shape (images: [height, width]),
    # the default function first. Empty for a one-function model.
    function_shapes: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    default_function: str | None = None

    @property
    def is_classifier(self) -> bool:
        return self.class_labels is not None

    @property
    def has_custom_layers(self) -> bool:
        return bool(self.custom_layers)

    def input(self, name: str) -> FeatureInfo:
        return _by_name(self.inputs, name, "input")

    def output(self, name: str) -> FeatureInfo:
        return _by_name(self.outputs, name, "output")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (``from_dict`` reverses it)."""
        data = asdict(self)
        data["is_classifier"] = self.is_classifier
        data["has_custom_layers"] = self.has_custom_layers
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInterface:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        feature_names = {f.name for f in fields(FeatureInfo)}
        for key in ("inputs", "outputs"):
            values[key] = [FeatureInfo(**{k: v for k, v in f.items() if k in feature_names}) for f in data[key]]
        return cls(**values)


def _by_name(features: list[FeatureInfo], name: str, what: str) -> FeatureInfo:
    for feature in features:
        if feature.name == name:
            return feature
    raise KeyError(f"the model has no {what} named {name!r} (it has {[f.name for f in features]})")


def read_model_interface(path: str | Path) -> ModelInterface:
    """Read the interface of a saved ``.mlpackage`` or ``.mlmodel``."""
    from pipeline_runner.coreml_reference.model import read_spec

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no Core ML model at {path}")
    return interface_from_spec(read_spec(str(path))[0], str(path))


def interface_from_spec(spec: Any, path: str = "") -> ModelInterface:
    """Build a :class:`ModelInterface` from a ``Model_pb2.Model`` spec."""
    description = spec.description
    if description.functions and not description.input:  # multi-function model: the default function
        default = description.defaultFunctionName
        description = next((f for f in description.functions if f.name == default), description.functions[0])
    top = spec.description
    labels = _class_labels(spec)
    return ModelInterface(
        path=path,
        model_type=spec.WhichOneof("Type") or "",
        specification_version=int(spec.specificationVersion),
        inputs=[_feature(f) for f in description.input],
        outputs=[_feature(f) for f in description.output],
        class_labels=labels,
        predicted_feature_name=(description.predictedFeatureName or None) if labels is not None else None,
        predicted_probabilities_name=(description.predictedProbabilitiesName or None) if labels is not None else None,
        metadata=dict(sorted(top.metadata.userDefined.items())),
        short_description=top.metadata.shortDescription,
        custom_layers=sorted(set(_custom_layers(spec))),
        function_shapes=_function_shapes(top),
        default_function=top.defaultFunctionName or None,
    )


def _function_shapes(description: Any) -> dict[str, dict[str, list[int]]]:
    out = {}
    for function in sorted(description.functions, key=lambda f: f.name != description.defaultFunctionName):
        shapes = {}
        for feature in function.input:
            info = _feature(feature)
            shapes[info.name] = [info.image_height, info.image_width] if info.kind == "image" else info.shape
        out[function.name] = shapes
    return out


def _feature(feature: Any) -> FeatureInfo:
    ftype = feature.type
    which = ftype.WhichOneof("Type")
    info = FeatureInfo(
        name=feature.name,
        kind=_KINDS.get(which or "", which or "unknown"),
        description=feature.shortDescription,
        optional=bool(ftype.isOptional),
    )
    if which == "multiArrayType":
        array = ftype.multiArrayType
        info.shape = [int(d) for d in array.shape]
        info.dtype = _ARRAY_DTYPES.get(array.dataType)
        flexible = array.WhichOneof("ShapeFlexibility")
        if flexible == "shapeRange":
            info.shape_ranges = [[int(r.lowerBound), int(r.upperBound)] for r in array.shapeRange.sizeRanges]
        elif flexible == "enumeratedShapes":
            info.enumerated_shapes = [[int(d) for d in s.shape] for s in array.enumeratedShapes.shapes]
    elif which == "imageType":
        image = ftype.imageType
        info.image_width = int(image.width)
        info.image_height = int(image.height)
        info.color_layout = _COLOR_SPACES.get(image.colorSpace)
        flexible = image.WhichOneof("SizeFlexibility")
        if flexible == "imageSizeRange":
            r = image.imageSizeRange
            info.shape_ranges = [
                [int(r.heightRange.lowerBound), int(r.heightRange.upperBound)],
                [int(r.widthRange.lowerBound), int(r.widthRange.upperBound)],
            ]
        elif flexible == "enumeratedSizes":
            info.enumerated_shapes = [[int(s.height), int(s.width)] for s in image.enumeratedSizes.sizes]
    elif which == "dictionaryType":
        key = ftype.dictionaryType.WhichOneof("KeyType")
        info.dictionary_key_type = {"stringKeyType": "string", "int64KeyType": "int64"}.get(key or "")
    return info


def _class_labels(spec: Any) -> list[str] | None:
    """Labels of a classifier spec (NN classifier, ML Program ``classify`` op, pipeline)."""
    which = spec.WhichOneof("Type")
    if which == "pipelineClassifier":
        for model in reversed(spec.pipelineClassifier.pipeline.models):
            labels = _class_labels(model)
            if labels is not None:
                return labels
        return None
    if which == "mlProgram":
        return _program_class_labels(spec.mlProgram)
    body = getattr(spec, which) if which else None
    if body is None:
        return None
    descriptor_fields = body.DESCRIPTOR.fields_by_name
    for name in ("stringClassLabels", "int64ClassLabels"):
        if name in descriptor_fields and body.HasField(name):
            return [str(v) for v in getattr(body, name).vector]
    return None


def _program_class_labels(program: Any) -> list[str] | None:
    for function in program.functions.values():
        block = function.block_specializations.get(function.opset)
        if block is None:
            continue
        consts = {op.outputs[0].name: op for op in block.operations if op.type == "const" and op.outputs}
        for op in block.operations:
            if op.type != "classify" or "classes" not in op.inputs:
                continue
            argument = op.inputs["classes"].arguments[0]
            if argument.HasField("value"):
                return _mil_strings(argument.value)
            const = consts.get(argument.name)
            if const is not None and "val" in const.attributes:
                return _mil_strings(const.attributes["val"])
    return None


def _mil_strings(value: Any) -> list[str]:
    """Flatten a MIL immediate value (list of scalars, or a tensor) into strings."""
    immediate = value.immediateValue
    if immediate.HasField("list"):
        return [s for item in immediate.list.values for s in _mil_strings(item)]
    tensor = immediate.tensor
    for name in ("strings", "longInts", "ints"):
        if tensor.HasField(name):
            return [str(v) for v in getattr(tensor, name).values]
    return []


def _custom_layers(spec: Any) -> list[str]:
    which = spec.WhichOneof("Type")
    if which in ("pipeline", "pipelineClassifier", "pipelineRegressor"):
        pipeline = getattr(spec, which) if which == "pipeline" else getattr(spec, which).pipeline
        return [name for model in pipeline.models for name in _custom_layers(model)]
    if which in ("neuralNetwork", "neuralNetworkClassifier", "neuralNetworkRegressor"):
        network = getattr(spec, which)
        return [layer.custom.className for layer in network.layers if layer.WhichOneof("layer") == "custom"]
    return []
