"""What every wrapper kind shares: the request, ``static let`` constants, feature selection,
and the OS versions a wrapper declares from ``ios.deployment_target``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pipeline_runner.swift.render import doc_comment, swift_string_literal
from pipeline_runner.swift.spec_reader import FeatureInfo, ModelInterface

COMPUTE_UNITS = {
    "all": ".all",
    "cpu_only": ".cpuOnly",
    "cpu_and_gpu": ".cpuAndGPU",
    "cpu_and_ne": ".cpuAndNeuralEngine",
}
# Recipe `resize` → VNImageCropAndScaleOption
CROP = {"center_crop": ".centerCrop", "scale_fill": ".scaleFill", "scale_fit": ".scaleFit"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# iOS major version → the macOS / tvOS versions of the same SDK year, for `@available`.
_MACOS_FOR_IOS = {13: "10.15", 14: "11.0", 15: "12.0", 16: "13.0", 17: "14.0", 18: "15.0", 26: "26.0"}


@dataclass(frozen=True)
class ModelInput:
    """One compiled model a wrapper loads: its interface (from the saved spec) and bundle name."""

    interface: ModelInterface
    resource_name: str  # "<name>" of "<name>.mlmodelc" in the app bundle


@dataclass(frozen=True)
class WrapperRequest:
    """Everything a wrapper kind needs; ``options`` is the kind's own options dataclass."""

    class_name: str
    models: dict[str, ModelInput]  # role ("image", "text", "model") → model
    options: Any
    compute_units: str = "all"
    deployment_target: str = "17"
    app_resources: dict[str, str] = field(default_factory=dict)  # file a kind reads → its bundle name

    def model(self, role: str) -> ModelInput:
        if role not in self.models:
            raise ValueError(f"the wrapper needs a {role!r} model; it was given {sorted(self.models)}")
        return self.models[role]

    def check(self) -> None:
        if not _IDENT.match(self.class_name):
            raise ValueError(f"class_name {self.class_name!r} is not a Swift identifier")
        if self.compute_units not in COMPUTE_UNITS:
            raise ValueError(f"compute_units {self.compute_units!r} is not one of {sorted(COMPUTE_UNITS)}")
        if self.compute_units == "cpu_and_ne" and self.ios_major < 16:
            raise ValueError(f"compute_units 'cpu_and_ne' (MLComputeUnits.cpuAndNeuralEngine) needs iOS 16; "
                             f"the deployment target is {self.deployment_target}: use 'all' or raise the target")

    @property
    def ios_major(self) -> int:
        try:
            major = int(str(self.deployment_target).split(".")[0])
        except ValueError:
            raise ValueError(f"deployment_target {self.deployment_target!r} is not an iOS version") from None
        if major < 13:
            raise ValueError(f"deployment_target {self.deployment_target!r}: the wrappers need iOS 13 or later")
        return major

    @property
    def availability(self) -> str:
        """The ``@available`` arguments for the deployment target (the wrapper needs nothing newer)."""
        major = self.ios_major
        macos = _MACOS_FOR_IOS.get(major) or _MACOS_FOR_IOS[max(k for k in _MACOS_FOR_IOS if k <= major)]
        return f"iOS {major}.0, macOS {macos}, tvOS {major}.0, *"


class Constants:
    """``public static let`` lines with doc comments, JSON-compatible literals where possible."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, name: str, value: Any, doc: str, swift_type: str | None = None, raw: bool = False) -> None:
        """Add ``name``; ``raw`` values (e.g. ``.centerCrop``) are Swift source, others become literals."""
        if swift_type is None:
            swift_type = _swift_type(value)
        self.lines.append(doc_comment(doc))
        self.lines.append(f"public static let {name}: {swift_type} = {value if raw else literal(value)}")

    def render(self) -> str:
        return "\n".join(self.lines)


def _swift_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, str):
        return "String"
    if isinstance(value, int):
        return "Int"
    if isinstance(value, list):
        return "[String]" if value and isinstance(value[0], str) else "[Int]"
    raise TypeError(f"no Swift type for {value!r}")


def literal(value: Any) -> str:
    """A Swift literal; long lists wrap at ~100 columns."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return swift_string_literal(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        items = [literal(v) for v in value]
        one_line = "[" + ", ".join(items) + "]"
        if len(one_line) <= 100:
            return one_line
        lines, current = [], ""
        for item in items:
            if current and len(current) + len(item) + 2 > 96:
                lines.append(current.rstrip())
                current = ""
            current += item + ", "
        lines.append(current.rstrip().rstrip(","))
        return "[\n" + "\n".join(f"    {line}" for line in lines) + "\n]"
    raise TypeError(f"no Swift literal for {value!r}")


def common_constants(constants: Constants, request: WrapperRequest, role: str) -> None:
    resource = request.model(role).resource_name
    constants.add("modelResourceName", resource, f"Compiled model in the app bundle (`{resource}.mlmodelc`).")
    constants.add(
        "defaultComputeUnits",
        COMPUTE_UNITS[request.compute_units],
        f"Compute units from the recipe (`{request.compute_units}`).",
        "MLComputeUnits",
        raw=True,
    )


# Token-id input element type in the spec → MLMultiArrayDataType of the array built from [Int32].
TOKEN_DATA_TYPES = {"int32": ".int32", "float32": ".float32", "float64": ".double"}


def token_constants(constants: Constants, feature: FeatureInfo, prefix: str = "", model: str = "model") -> None:
    """``inputName``/``inputShape``/``inputDataType``/``sequenceLength``, prefixed (``textInputName``...)."""

    def name(base: str) -> str:
        return prefix + base[0].upper() + base[1:] if prefix else base

    constants.add(name("inputName"), feature.name, f"Token-id input feature name of the {model}.")
    constants.add(name("inputShape"), feature.shape, f"Token-id input shape of the {model}.", "[Int]")
    constants.add(
        name("inputDataType"), TOKEN_DATA_TYPES[feature.dtype or ""],
        f"Token-id element type in the {model} (`{feature.dtype}`).", "MLMultiArrayDataType", raw=True,
    )
    constants.add(name("sequenceLength"), feature.shape[-1], f"Number of token ids the {model} takes.")


def image_constants(constants: Constants, feature: FeatureInfo, crop: str) -> None:
    """The image input's name, size and layout, and how Vision fits pictures to it."""
    width, height = feature.image_width, feature.image_height
    channels = 1 if (feature.color_layout or "").startswith("GRAYSCALE") else 3
    if crop not in CROP:
        raise ValueError(f"crop {crop!r} is not one of {sorted(CROP)}")
    constants.add("inputName", feature.name, "Image input feature name.")
    constants.add("inputWidth", width, "Image input width in pixels.")
    constants.add("inputHeight", height, "Image input height in pixels.")
    constants.add("inputColorLayout", feature.color_layout or "", "Image input colour layout.")
    constants.add("inputShape", [1, channels, height, width], "Image input as a tensor: [1, channels, height, width].")
    constants.add(
        "imageCropAndScaleOption", CROP[crop], f"How Vision fits pictures to the input (`{crop}`).",
        "VNImageCropAndScaleOption", raw=True,
    )


def image_input(interface: ModelInterface, kind: str) -> FeatureInfo:
    images = [f for f in interface.inputs if f.kind == "image"]
    if not images:
        found = [f"{f.name} ({f.kind})" for f in interface.inputs]
        raise ValueError(f"{kind} needs an image input (convert with ct.ImageType); the model has {found}")
    if len(interface.inputs) > 1:
        raise ValueError(f"{kind} supports one input; the model has {[f.name for f in interface.inputs]}")
    if not images[0].image_width or not images[0].image_height:
        raise ValueError(f"image input {images[0].name!r} has no fixed size")
    return images[0]


def array_output(interface: ModelInterface, name: str | None, what: str) -> FeatureInfo:
    """The named multi-array output, or the only one; several without a name is an error."""
    if name:
        feature = interface.output(name)
    else:
        arrays = [f for f in interface.outputs if f.kind == "multiArray"]
        if not arrays:
            raise ValueError(f"the model has no multi-array output for {what}: {[f.name for f in interface.outputs]}")
        if len(arrays) > 1:
            raise ValueError(f"the model has several multi-array outputs {[f.name for f in arrays]}: "
                             f"name the one holding {what}")
        feature = arrays[0]
    if feature.kind != "multiArray":
        raise ValueError(f"output {feature.name!r} is a {feature.kind}, not a multi-array")
    return feature


def token_input(interface: ModelInterface, kind: str) -> FeatureInfo:
    if len(interface.inputs) != 1:
        raise ValueError(f"{kind} supports one token-id input; the model has {[f.name for f in interface.inputs]}")
    feature = interface.inputs[0]
    if feature.kind != "multiArray" or feature.dtype not in TOKEN_DATA_TYPES:
        raise ValueError(
            f"input {feature.name!r} ({feature.kind}, {feature.dtype}) is not an int32/float32/float64 multi-array"
        )
    if not feature.shape:
        raise ValueError(f"input {feature.name!r} has no shape in the spec")
    return feature


def class_doc(summary: str, interface: ModelInterface, api: list[str], notes: list[str]) -> str:
    lines = [summary, ""]
    if interface.short_description:
        lines += [interface.short_description, ""]
    lines += ["Usage:", "", "```swift", *api, "```"]
    if notes:
        lines += ["", *(f"- Note: {n}" for n in notes)]
    return doc_comment("\n".join(lines))


def custom_layer_notes(*interfaces: ModelInterface) -> list[str]:
    layers = sorted({layer for i in interfaces for layer in i.custom_layers})
    if not layers:
        return []
    return [f"The model has custom layers ({', '.join(layers)}): add their generated MLCustomLayer classes "
            "to the app target."]


def spec_note(interface: ModelInterface) -> str:
    return f" {interface.path.rstrip('/').rsplit('/', 1)[-1]}" if interface.path else ""
