"""Realistic random weights: re-estimate BatchNorm statistics on seeded random inputs.

Freshly initialised BatchNorm layers hold running mean 0 and variance 1 whatever their
input, so a random-weight network's activations drift by orders of magnitude layer by
layer (timm's mobileone_s0: logits ~1e15) or collapse to nearly the same output for every
input. Running the model in training mode on seeded inputs with a cumulative average
(``momentum=None``) gives each layer the statistics its inputs really have, as a trained
model's would, so validation sees realistic ranges. Only BatchNorm layers change; the
statistics are saved with the weights.
"""

from __future__ import annotations

import numpy as np

BATCH = 8


def batchnorm_layers(model) -> list:
    import torch

    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def calibrate(model, batches: list[tuple]) -> int:
    """Re-estimate every BatchNorm layer's running statistics over ``batches`` (tuples of input
    tensors for ``model``). Returns how many layers were updated; the model is left in eval mode.
    On failure the original statistics are restored and the error propagates."""
    import torch

    layers = batchnorm_layers(model)
    if not layers:
        return 0
    saved = [(m.momentum, {k: v.clone() for k, v in m.state_dict().items()}) for m in layers]
    try:
        model.eval()
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over all batches
            m.train()
        with torch.no_grad():
            for args in batches:
                model(*args)
    except Exception:
        for m, (_, state) in zip(layers, saved):
            m.load_state_dict(state)
        raise
    finally:
        for m, (momentum, _) in zip(layers, saved):
            m.momentum = momentum
        model.eval()
    return len(layers)


def seeded_batches(graph, seed: int, samples: int) -> list[tuple]:
    """``samples`` seeded inputs for a graph (images: rendered pictures, normalised), in batches."""
    import torch

    from pipeline_runner.samples import make_samples

    made = make_samples(graph.inputs, seed, samples)
    names = [i.name for i in graph.inputs]
    batches = []
    for start in range(0, len(made), BATCH):
        chunk = made[start:start + BATCH]
        batches.append(tuple(torch.from_numpy(np.concatenate([s.tensors[n] for s in chunk])) for n in names))
    return batches
