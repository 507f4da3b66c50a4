"""Export wrappers for Transformers models: tensors out (not ModelOutput objects), pooled embeddings.

``embedding(output, pooling, normalize)``: a sentence (or image) embedder as the
model family defines it, e.g. sentence-transformers' all-MiniLM: mean of
``last_hidden_state`` over the tokens the attention mask keeps, then L2 norm.

    output     which output field to pool (default ``last_hidden_state``)
    pooling    ``mean`` (masked by attention_mask when the graph takes it), ``cls``
               (first token), ``max``, ``pooler`` (the model's ``pooler_output``), ``none``
    normalize  ``l2`` or ``none``
"""

from __future__ import annotations

import inspect

POOLINGS = ("mean", "cls", "max", "pooler", "none")
NORMALIZATIONS = ("l2", "none")


def _module_base():
    import torch

    return torch.nn.Module


# Generation-cache arguments: a graph never feeds them (it exports one full pass).
_CACHE_ARGS = frozenset({"past_key_values", "past_key_value", "cache", "cache_position", "use_cache", "layer_past"})


def input_names(model) -> list[str]:
    """The names positional graph inputs take: forward's arguments in order, without the cache ones."""
    params = inspect.signature(model.forward).parameters.values()
    return [p.name for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in _CACHE_ARGS]


def _call(model, args):
    """Call a Transformers model with positional tensors, named by its forward's own argument order."""
    kwargs = dict(zip(input_names(model), args))
    extra = {"use_cache": False} if "use_cache" in inspect.signature(model.forward).parameters else {}
    return model(**kwargs, **extra, return_dict=True), kwargs


def tensor_outputs(module):
    """``module`` if it already returns tensors, else a wrapper returning the top-level tensors of its output."""
    from transformers import PreTrainedModel

    if not isinstance(module, PreTrainedModel):
        return module
    return _TensorOutputs(module)


class _TensorOutputs(_module_base()):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args):
        import torch

        out, _ = _call(self.model, args)
        tensors = tuple(v for v in out.values() if isinstance(v, torch.Tensor))
        return tensors if len(tensors) > 1 else tensors[0]


def embedding(model, output: str = "last_hidden_state", pooling: str = "mean", normalize: str = "l2"):
    if pooling not in POOLINGS:
        raise ValueError(f"entry_args.pooling: {pooling!r} is not one of {', '.join(POOLINGS)}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"entry_args.normalize: {normalize!r} is not one of {', '.join(NORMALIZATIONS)}")
    return _Embedding(model, output, pooling, normalize)


class _Embedding(_module_base()):
    def __init__(self, model, output: str, pooling: str, normalize: str):
        super().__init__()
        self.model, self.output, self.pooling, self.normalize = model, output, pooling, normalize

    def forward(self, *args):
        import torch

        out, kwargs = _call(self.model, args)
        field = "pooler_output" if self.pooling == "pooler" else self.output
        if out.get(field) is None:
            raise ValueError(f"entry_args: the model's output has no {field!r} "
                             f"(it has {', '.join(k for k, v in out.items() if v is not None)})")
        x = out[field]
        if self.pooling == "mean":
            mask = kwargs.get("attention_mask")
            if mask is None:
                x = x.mean(dim=1)
            else:  # sentence-transformers' mean pooling: padding tokens do not count
                weights = mask.to(x.dtype).unsqueeze(-1)
                x = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        elif self.pooling == "cls":
            x = x[:, 0]
        elif self.pooling == "max":
            x = x.max(dim=1).values
        if self.normalize == "l2":
            x = torch.nn.functional.normalize(x, p=2, dim=-1)
        return x
