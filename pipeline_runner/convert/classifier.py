"""Classifier graphs: a Core ML classifier over the recipe's probabilities output, with its labels.

A graph with ``classifier: {output, labels}`` becomes a Core ML classifier
(``predictedFeatureName`` ``classLabel``, ``predictedProbabilitiesName``
``classLabel_probs``), so a Vision request returns classification observations.
The probabilities stay a multi-array output under their recipe name as well:
coremltools' classify op consumes a copy of that output (an identity op), not the
output itself, which it would otherwise replace.

Labels: ``classifier.labels``, else the graph's ``entry_args.labels`` (a zero-shot
classifier's label list).
"""

from __future__ import annotations

PREDICTED_FEATURE = "classLabel"


def class_labels(graph) -> list[str] | None:
    """The graph's class labels, or None when it is not a classifier."""
    cls = graph.classifier
    if not cls:
        return None
    entry_labels = graph.entry_labels
    labels = cls.labels or entry_labels
    if cls.labels and entry_labels and list(cls.labels) != list(entry_labels):
        raise ValueError(f"graph {graph.name!r}: classifier.labels differ from entry_args.labels; "
                         "drop classifier.labels (the entry's labels are used) or make them equal")
    if not labels:
        raise ValueError(f"graph {graph.name!r}: classifier.labels is missing and entry_args has no labels; "
                         "list the class labels in graphs[].classifier.labels")
    return [str(label) for label in labels]


def attach_classifier(ct, program, graph):
    """Prepare MIL ``program`` for ``ct.convert``; return its ``ct.ClassifierConfig`` (None: not a classifier)."""
    from coremltools.converters.mil import Builder as mb

    labels = class_labels(graph)
    if labels is None:
        return None
    output = graph.classifier.output
    func = program.functions["main"]
    outputs = list(func.outputs)
    probs = next((v for v in outputs if v.name == output), None)
    if probs is None:
        raise ValueError(f"graph {graph.name!r}: classifier.output {output!r} is not an output of the "
                         f"converted program (outputs: {[v.name for v in outputs]})")
    shape = probs.shape
    if not shape or shape[-1] != len(labels) or any(d != 1 for d in shape[:-1]):
        raise ValueError(f"graph {graph.name!r}: classifier.output {output!r} has shape {list(shape)}; "
                         f"a classifier over {len(labels)} labels needs shape [1, {len(labels)}] "
                         "(check classifier.labels / entry_args.labels and the input's batch size)")
    copy_name = f"{output}__classifier"
    with func:
        copy = mb.identity(x=probs, name=copy_name)
    func.set_outputs([*outputs, copy])
    return ct.ClassifierConfig(labels, predicted_feature_name=PREDICTED_FEATURE,
                               predicted_probabilities_output=copy_name)
