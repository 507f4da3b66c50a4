"""Runs a NeuralNetwork model (plain, classifier or regressor) layer by layer."""

from __future__ import annotations

import numpy as np

from ..errors import CoreMLReferenceError, InputError, OpExecutionError, UnsupportedOpError
from ..executor import TraceEntry
from ..image import apply_nn_preprocessing
from ..ops._util import kernel_threads
from .custom import custom_layer_parameters
from .layers import REGISTRY


class NNEngine:
    def __init__(self, spec, kind: str, custom_layers: dict):
        self.spec = spec
        self.nn = getattr(spec, kind)
        self.classifier = kind == "neuralNetworkClassifier"
        self.custom_layers = custom_layers
        self.layers = list(self.nn.layers)
        missing: dict[str, list[str]] = {}
        for layer in self.layers:
            t = layer.WhichOneof("layer")
            if t == "custom":
                cls = layer.custom.className
                if cls not in custom_layers:
                    missing.setdefault(f"custom:{cls}", []).append(layer.name)
            elif t not in REGISTRY:
                missing.setdefault(t, []).append(layer.name)
        if missing:
            raise UnsupportedOpError(missing, kind="NeuralNetwork layer")
        self.preprocessing = {p.featureName: p for p in self.nn.preprocessing}

    def op_types(self):
        return {layer.WhichOneof("layer") for layer in self.layers}

    def compute_precision(self) -> str:
        return "fp32"  # NeuralNetwork models carry no compute precision; the CPU path runs fp32

    def preprocess_image(self, name, tensor, color_space):
        pre = self.preprocessing.get(name) or self.preprocessing.get("")
        if pre is None:
            return tensor
        if pre.WhichOneof("preprocessor") != "scaler":
            raise CoreMLReferenceError(f"image preprocessing {pre.WhichOneof('preprocessor')!r} is not supported")
        return apply_nn_preprocessing(tensor, pre.scaler, color_space)

    def run(self, feeds, *, fp32=False, trace=None):
        with kernel_threads():
            return self._run(feeds, trace)

    def _run(self, feeds, trace):
        env = {name: np.asarray(v, dtype=np.float32) if np.asarray(v).dtype.kind == "f" else np.asarray(v)
               for name, v in feeds.items()}
        for layer in self.layers:
            t = layer.WhichOneof("layer")
            try:
                xs = [env[i] for i in layer.input]
            except KeyError as exc:
                raise InputError(f"layer {layer.name!r} reads {exc.args[0]!r}, which nothing produced") from None
            try:
                if t == "custom":
                    fn = self.custom_layers[layer.custom.className]
                    outs = fn(xs, custom_layer_parameters(layer))
                else:
                    outs = REGISTRY[t](layer, getattr(layer, t), xs)
            except CoreMLReferenceError:
                raise
            except Exception as exc:
                raise OpExecutionError(t, layer.name, exc) from exc
            if len(outs) != len(layer.output):
                raise CoreMLReferenceError(f"{t} layer {layer.name!r}: {len(outs)} results for {len(layer.output)} outputs")
            outs = [np.asarray(o, dtype=np.float32) if np.asarray(o).dtype.kind == "f" else np.asarray(o) for o in outs]
            env.update(zip(layer.output, outs))
            if trace is not None:
                trace.append(TraceEntry(layer.name, t, tuple("fp32" for _ in outs), tuple(outs)))
        return self._outputs(env)

    def _outputs(self, env):
        desc = self.spec.description
        out = {}
        for o in desc.output:
            if o.name in env:
                out[o.name] = env[o.name]
        if self.classifier:
            labels = (list(self.nn.stringClassLabels.vector) if self.nn.WhichOneof("ClassLabels") == "stringClassLabels"
                      else list(self.nn.int64ClassLabels.vector))
            blob = self.nn.labelProbabilityLayerName or self.layers[-1].output[0]
            probs = np.asarray(env[blob], dtype=np.float64).reshape(-1)
            if probs.size != len(labels):
                raise CoreMLReferenceError(f"classifier: {len(labels)} labels but {probs.size} probabilities")
            out[desc.predictedFeatureName] = labels[int(np.argmax(probs))]
            if desc.predictedProbabilitiesName:
                out[desc.predictedProbabilitiesName] = {k: float(p) for k, p in zip(labels, probs)}
        return out
