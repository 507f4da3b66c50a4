"""Swift for models with several input shapes: multifunction packages and flexible inputs.

A multifunction package (one function per enumerated shape, iOS 18) is loaded once per
function (``MLModelConfiguration.functionName``); a NeuralNetwork model with enumerated
shapes is one model taking each of them. A token model's lengths come from either.
"""

from __future__ import annotations

from pipeline_runner.swift.spec_reader import FeatureInfo, ModelInterface
from pipeline_runner.swift.templates import render, swift_string_literal
from pipeline_runner.swift.templates import wrappers as tpl

IOS17 = "@available(iOS 17.0, macOS 14.0, tvOS 17.0, visionOS 1.0, *)"
IOS18 = "@available(iOS 18.0, macOS 15.0, tvOS 18.0, visionOS 2.0, *)"


def is_multifunction(*interfaces: ModelInterface) -> bool:
    return any(len(i.function_shapes) > 1 for i in interfaces)


def with_availability(source: str, *interfaces: ModelInterface) -> str:
    """Multifunction models (``MLModelConfiguration.functionName``) need iOS 18 / macOS 15."""
    return source.replace(IOS17, IOS18) if is_multifunction(*interfaces) else source


def model_loader(class_name: str, *interfaces: ModelInterface) -> str:
    config = "configuration.functionName = functionName" if is_multifunction(*interfaces) else ""
    return render(tpl.MODEL_LOADER, class_name=class_name, function_configuration=config)


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


def add_length_constants(constants, interface: ModelInterface, feature: FeatureInfo):
    """``sequenceLengths``, ``maximumSequenceLength``, ``functionNames``, ``padTokenID``; returns (lengths, functions)."""
    lengths, functions = token_lengths(interface, feature)
    constants.add("sequenceLengths", lengths, "The sequence lengths the model takes, shortest first.", "[Int]")
    constants.add("maximumSequenceLength", lengths[-1], "The longest sequence the model takes.")
    constants.add("functionNames", optional_strings_literal(functions),
                  "The model function for each of ``sequenceLengths`` (`nil`: the model's only function).",
                  "[String?]", raw=True)
    constants.add("padTokenID", 0, "Token id that pads a sequence up to the chosen length.", "Int32")
    return lengths, functions


def add_batch_constants(constants, interface: ModelInterface, feature: FeatureInfo) -> list[str | None]:
    """``textBatchSizes`` and ``textFunctionNames`` of a text encoder; returns the functions."""
    sizes, functions = batch_sizes(interface, feature)
    constants.add("textBatchSizes", sizes, "How many texts the text encoder takes per call, smallest first.", "[Int]")
    constants.add("textFunctionNames", optional_strings_literal(functions),
                  "The text-encoder function for each of ``textBatchSizes`` (`nil`: its only function).",
                  "[String?]", raw=True)
    return functions


def optional_strings_literal(values: list[str | None]) -> str:
    return "[" + ", ".join("nil" if v is None else swift_string_literal(v) for v in values) + "]"
