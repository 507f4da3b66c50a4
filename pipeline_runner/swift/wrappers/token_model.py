"""``token_model``: ``logits(for: [Int32])`` at the shortest length the model takes that fits
(one function per length of a multifunction model, or a NeuralNetwork's enumerated lengths). From iOS 15 it returns an
``MLShapedArray<Float>``; for older deployment targets, Core ML's ``MLMultiArray``."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_runner.swift.render import render
from pipeline_runner.swift.wrappers import common, flexible
from pipeline_runner.swift.wrappers.kind import WrapperKind, WrapperPlan

IMPORTS = ["CoreML", "Foundation", "ModelKit"]


@dataclass(frozen=True)
class Options:
    output: str | None = None  # the logits output (default: the only multi-array output)


def plan(recipe) -> WrapperPlan:
    graph = recipe.graphs[0]
    logits = next((o for o in graph.outputs if o.kind in ("logits", "probabilities")), None)
    return WrapperPlan(graphs={"model": graph.name}, options=Options(output=logits.name if logits else None))


def generate(request: common.WrapperRequest) -> str:
    options: Options = request.options
    model = request.model("model")
    interface = model.interface
    token = common.token_input(interface, "token_model")
    output = common.array_output(interface, options.output, "logits")
    constants = common.Constants()
    common.common_constants(constants, request, "model")
    common.token_constants(constants, token)
    lengths = flexible.add_length_constants(constants, interface, token)
    constants.add("outputName", output.name, "Logits output feature name.")
    constants.add("outputShape", output.shape, "Logits output shape (empty when the spec leaves it open).", "[Int]")
    api = [
        f"let model = {request.class_name}()",
        f"let logits = try await model.logits(for: ids)  // 1...{request.class_name}.maximumSequenceLength ids",
    ]
    return render(
        "token_model.swift",
        kind="token_model",
        imports=IMPORTS,
        spec_note=common.spec_note(interface),
        availability=flexible.availability(request, interface),
        ios_major=request.ios_major,
        shaped_arrays=request.ios_major >= 15,
        shortest=lengths[0],
        longest=lengths[-1],
        function_note=(" (one function of the model each)" if flexible.is_multifunction(interface) else ""),
        class_doc=common.class_doc(f"Runs `{model.resource_name}` on a sequence of token ids.",
                                   interface, api, common.custom_layer_notes(interface)),
        class_name=request.class_name,
        resource_name=model.resource_name,
        constants=constants.render(),
    )


KIND = WrapperKind(name="token_model", roles=("model",), options=Options, plan=plan, generate=generate)
