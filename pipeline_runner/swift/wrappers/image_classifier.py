"""``image_classifier``: Vision-backed ``classify(_:topK:)`` for ``CGImage`` and camera
``CVPixelBuffer``. A Core ML classifier uses Vision's classifications; a plain score model
gets softmax (for logits) and top-k from ModelKit, with the recipe's labels."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_runner.swift.render import render
from pipeline_runner.swift.spec_reader import FeatureInfo
from pipeline_runner.swift.wrappers import common
from pipeline_runner.swift.wrappers.kind import WrapperKind, WrapperPlan

IMPORTS = ["CoreGraphics", "CoreML", "CoreVideo", "Foundation", "ImageIO", "ModelKit", "Vision"]


@dataclass(frozen=True)
class Options:
    crop: str = "center_crop"  # how Vision fits a picture: center_crop, scale_fill, scale_fit
    labels: tuple[str, ...] | None = None  # for a score output (default class_<i>)
    output: str | None = None  # the score output (default: the only multi-array output)
    output_kind: str = "logits"  # logits (softmax in Swift) or probabilities


def plan(recipe) -> WrapperPlan:
    """The classifier graph, else the first image graph, else the first graph."""
    graphs = recipe.graphs
    image_graphs = [g for g in graphs if g.image_inputs]
    graph = ([g for g in image_graphs if g.classifier] or image_graphs or list(graphs))[0]
    image = graph.image_inputs[0].image if graph.image_inputs else None
    scores = next((o for o in graph.outputs if o.kind in ("logits", "probabilities")), None)
    labels = recipe.ios.labels
    return WrapperPlan(
        graphs={"image": graph.name},
        options=Options(
            crop=image.resize if image else "center_crop",
            labels=tuple(labels) if labels else None,
            output=scores.name if scores else None,
            output_kind=scores.kind if scores else "logits",
        ),
    )


def generate(request: common.WrapperRequest) -> str:
    options: Options = request.options
    model = request.model("image")
    interface = model.interface
    image = common.image_input(interface, "image_classifier")
    constants = common.Constants()
    common.common_constants(constants, request, "image")
    common.image_constants(constants, image, options.crop)
    values: dict = {"is_classifier": interface.is_classifier}
    if interface.is_classifier:
        constants.add("predictedFeatureName", interface.predicted_feature_name or "", "Classifier label output.")
        constants.add(
            "predictedProbabilitiesName", interface.predicted_probabilities_name or "", "Classifier probabilities output."
        )
        constants.add("classLabels", list(interface.class_labels or []), "Class labels from the Core ML classifier.",
                      "[String]")
    else:
        if options.output_kind not in ("logits", "probabilities"):
            raise ValueError(f"output_kind {options.output_kind!r} is not 'logits' or 'probabilities'")
        output = common.array_output(interface, options.output, "class scores")
        constants.add("outputName", output.name, "Score output feature name.")
        constants.add("outputShape", output.shape, "Score output shape.", "[Int]")
        constants.add("classLabels", score_labels(output, options.labels),
                      "Class labels, one per score (from the recipe).", "[String]")
        values |= {"score_kind": options.output_kind, "is_probabilities": options.output_kind == "probabilities"}
    api = [
        f"let classifier = {request.class_name}()",
        "let top5 = try await classifier.classify(cgImage)",
        "let fromCamera = try await classifier.classify(pixelBuffer, orientation: .right, topK: 3)",
        "let perPhoto = try await classifier.classify([photo1, photo2])  // one Core ML batch",
    ]
    kind_note = "a Core ML classifier" if interface.is_classifier else "a score output"
    resource = model.resource_name
    return render(
        "image_classifier.swift",
        kind="image_classifier",
        imports=IMPORTS,
        spec_note=common.spec_note(interface),
        availability=request.availability,
        class_doc=common.class_doc(f"Classifies pictures with `{resource}` ({kind_note}) through Vision.",
                                   interface, api, common.custom_layer_notes(interface)),
        class_name=request.class_name,
        resource_name=resource,
        constants=constants.render(),
        **values,
    )


def score_labels(output: FeatureInfo, labels: tuple[str, ...] | list[str] | None) -> list[str]:
    count = 0
    if output.shape and not output.is_flexible:
        count = output.shape[-1]
        for dim in output.shape[:-1]:
            if dim != 1:
                raise ValueError(f"score output {output.name!r} has shape {output.shape}; expected [..., classes]")
    if labels:
        if count and len(labels) != count:
            raise ValueError(f"{len(labels)} labels for {count} scores in output {output.name!r}")
        return [str(label) for label in labels]
    if not count:
        raise ValueError(f"output {output.name!r} has no fixed shape in the spec: set ios.labels")
    return [f"class_{i}" for i in range(count)]


KIND = WrapperKind(name="image_classifier", roles=("image",), options=Options, plan=plan, generate=generate,
                   app_protocol="ImageClassifying")
