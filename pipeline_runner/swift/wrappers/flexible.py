"""Wrappers for models with several input shapes: multifunction packages and enumerated inputs.

A multifunction package (one function per enumerated shape, iOS 18) is loaded once per
function (ModelKit's ``ModelLoader(functionName:)``, i.e. ``MLModelConfiguration.functionName``);
a NeuralNetwork model with enumerated shapes is one model taking each of them. A token
model's lengths and a text encoder's batch sizes come from either.
"""

from __future__ import annotations

from pipeline_runner.swift.render import swift_string_literal
from pipeline_runner.swift.spec_reader import FeatureInfo, ModelInterface
from pipeline_runner.swift.wrappers.common import _MACOS_FOR_IOS, Constants, WrapperRequest

MULTIFUNCTION_IOS = 18  # MLModelConfiguration.functionName


def is_multifunction(*interfaces: ModelInterface) -> bool:
    return any(len(i.function_shapes) > 1 for i in interfaces)


def availability(request: WrapperRequest, *interfaces: ModelInterface) -> str:
    """The recipe's ``@available``, raised to iOS 18 / macOS 15 for multifunction models."""
    if not is_multifunction(*interfaces) or request.ios_major >= MULTIFUNCTION_IOS:
        return request.availability
    return f"iOS {MULTIFUNCTION_IOS}.0, macOS {_MACOS_FOR_IOS[MULTIFUNCTION_IOS]}, tvOS {MULTIFUNCTION_IOS}.0, *"


def token_lengths(interface: ModelInterface, feature: FeatureInfo) -> tuple[list[int], list[str | None]]:
    """(sequence lengths ascending, the function running each; None: the model itself) for a token input.

    Only shapes that match the default on every axis but the last count (a token model takes one
    sequence at a time)."""
    default = list(feature.shape)

    def fits(shape: list[int]) -> bool:
        return len(shape) == len(default) and shape[:-1] == default[:-1]

    if len(interface.function_shapes) > 1:
        pairs = {shapes[feature.name][-1]: name for name, shapes in interface.function_shapes.items()
                 if fits(shapes[feature.name])}
    elif feature.enumerated_shapes:
        pairs = {shape[-1]: None for shape in feature.enumerated_shapes if fits(shape)}
    else:
        pairs = {default[-1]: None}
    lengths = sorted(pairs)
    return lengths, [pairs[n] for n in lengths]


def batch_sizes(interface: ModelInterface, feature: FeatureInfo) -> tuple[list[int], list[str | None]]:
    """(batch sizes ascending, the function running each) for an input whose axis 0 is the batch."""
    default = list(feature.shape)
    if len(interface.function_shapes) > 1:
        pairs = {shapes[feature.name][0]: name for name, shapes in interface.function_shapes.items()
                 if shapes[feature.name][1:] == default[1:]}
    else:
        pairs = {default[0]: None}
    sizes = sorted(pairs)
    return sizes, [pairs[n] for n in sizes]


def add_length_constants(constants: Constants, interface: ModelInterface, feature: FeatureInfo) -> list[int]:
    """``sequenceLengths``, ``maximumSequenceLength``, ``functionNames``, ``padTokenID``; returns the lengths."""
    lengths, functions = token_lengths(interface, feature)
    constants.add("sequenceLengths", lengths, "The sequence lengths the model takes, shortest first.", "[Int]")
    constants.add("maximumSequenceLength", lengths[-1], "The longest sequence the model takes.")
    constants.add("functionNames", optional_strings_literal(functions),
                  "The model function for each of ``sequenceLengths`` (`nil`: the model's only function).",
                  "[String?]", raw=True)
    constants.add("padTokenID", 0, "Token id that pads a sequence up to the chosen length.", "Int32")
    return lengths


def add_batch_constants(constants: Constants, interface: ModelInterface, feature: FeatureInfo) -> None:
    """``textBatchSizes`` and ``textFunctionNames`` of a text encoder."""
    sizes, functions = batch_sizes(interface, feature)
    constants.add("textBatchSizes", sizes, "How many texts the text encoder takes per call, smallest first.", "[Int]")
    constants.add("textFunctionNames", optional_strings_literal(functions),
                  "The text-encoder function for each of ``textBatchSizes`` (`nil`: its only function).",
                  "[String?]", raw=True)


def optional_strings_literal(values: list[str | None]) -> str:
    return "[" + ", ".join("nil" if v is None else swift_string_literal(v) for v in values) + "]"
