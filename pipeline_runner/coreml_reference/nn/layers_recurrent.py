"""NeuralNetwork uniDirectionalLSTM / biDirectionalLSTM on the MIL lstm kernel.

Rank-5 blobs: x [seq, b, I, 1, 1]; states [1, b, H, 1, 1]. Outputs: y, h, c (per direction
for the bidirectional layer: y, h_fwd, c_fwd, h_back, c_back).
"""

from __future__ import annotations

import numpy as np

from ..errors import CoreMLReferenceError
from ..ops.recurrent import ACTIVATIONS, lstm_direction
from .weights import weights

NN_ACTIVATION_NAMES = {"sigmoid": "sigmoid", "tanh": "tanh", "ReLU": "relu", "linear": "linear",
                   "sigmoidHard": "hard_sigmoid", "scaledTanh": "scaled_tanh"}


def _acts(layer, activations):
    names = [a.WhichOneof("NonlinearityType") for a in activations] or ["sigmoid", "tanh", "tanh"]
    if any(n not in NN_ACTIVATION_NAMES for n in names):
        raise CoreMLReferenceError(f"LSTM layer {layer.name!r}: activations {names} are not supported")
    return tuple(ACTIVATIONS[NN_ACTIVATION_NAMES[n]] for n in names)


def _stacked(wp, params, hidden, inputs):
    """MIL-layout weights (gate order input, forget, output, cell) from NN LSTMWeightParams."""
    w_ih = np.concatenate([weights(getattr(wp, f"{g}WeightMatrix"), (hidden, inputs))
                           for g in ("inputGate", "forgetGate", "outputGate", "blockInput")])
    w_hh = np.concatenate([weights(getattr(wp, f"{g}RecursionMatrix"), (hidden, hidden))
                           for g in ("inputGate", "forgetGate", "outputGate", "blockInput")])
    bias = None
    if params.hasBiasVectors:
        bias = np.concatenate([weights(getattr(wp, f"{g}BiasVector"))
                               for g in ("inputGate", "forgetGate", "outputGate", "blockInput")])
    if params.forgetBias:
        bias = (bias if bias is not None else np.zeros(4 * hidden, np.float32)).copy()
        bias[hidden : 2 * hidden] += 1.0
    peephole = None
    if params.hasPeepholeVectors:
        peephole = np.concatenate([weights(getattr(wp, f"{g}PeepholeVector"))
                                   for g in ("inputGate", "forgetGate", "outputGate")])
    return w_ih, w_hh, bias, peephole


def _state(xs, i, b, hidden):
    return xs[i].reshape(b, hidden).astype(np.float32) if len(xs) > i else np.zeros((b, hidden), np.float32)


def _rank5(a):
    return a.reshape(a.shape + (1, 1))


def _uni_lstm(layer, p, xs):
    x = xs[0].reshape(xs[0].shape[0], xs[0].shape[1], -1)
    hidden, b = p.outputVectorSize, x.shape[1]
    clip = p.params.cellClipThreshold or None
    y, h, c = lstm_direction(x, _state(xs, 1, b, hidden), _state(xs, 2, b, hidden),
                              *_stacked(p.weightParams, p.params, hidden, p.inputVectorSize), clip,
                              _acts(layer, p.activations), p.reverseInput)
    y = y if p.params.sequenceOutput else h[None]
    return [_rank5(y), _rank5(h[None]), _rank5(c[None])]


def _bi_lstm(layer, p, xs):
    x = xs[0].reshape(xs[0].shape[0], xs[0].shape[1], -1)
    hidden, b = p.outputVectorSize, x.shape[1]
    clip = p.params.cellClipThreshold or None
    fwd = _stacked(p.weightParams[0], p.params, hidden, p.inputVectorSize)
    back = _stacked(p.weightParams[1], p.params, hidden, p.inputVectorSize)
    yf, hf, cf = lstm_direction(x, _state(xs, 1, b, hidden), _state(xs, 2, b, hidden), *fwd, clip,
                                 _acts(layer, p.activationsForwardLSTM), False)
    yb, hb, cb = lstm_direction(x, _state(xs, 3, b, hidden), _state(xs, 4, b, hidden), *back, clip,
                                 _acts(layer, p.activationsBackwardLSTM), True)
    y = np.concatenate([yf, yb[::-1]], -1) if p.params.sequenceOutput else np.concatenate([hf, hb], -1)[None]
    return [_rank5(y), _rank5(hf[None]), _rank5(cf[None]), _rank5(hb[None]), _rank5(cb[None])]


REGISTRY = {"uniDirectionalLSTM": _uni_lstm, "biDirectionalLSTM": _bi_lstm}
