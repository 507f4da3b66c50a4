"""The seed's Transformer language model whose feed-forward activation is a custom op.

Token embedding + learned position embedding, ``depth`` pre-norm blocks (causal
multi-head self-attention, feed-forward), a final LayerNorm and a linear head to
vocabulary logits. The feed-forward activation is a ``torch.library`` op named by
``activation`` (``namespace::name``), so export emits one custom ONNX node per block.

An activation op with one Tensor argument is applied to the hidden layer; an op with
k Tensor arguments gets k hidden projections (a gated feed-forward, e.g.
``a · sigmoid(b)``). ``activation_args`` are extra keyword arguments of the op
(e.g. a float ``alpha``), which the exporter turns into node attributes.

Token ids may be int32 (what Core ML takes) or int64; ``nn.Embedding`` accepts both,
so the exported graph takes the dtype the recipe declares and casts nothing.

Queries, keys, values and the gated projections are separate linear layers rather than
one fused projection split by indexing: the split would export as scalar-index
Gather/Slice nodes, which NeuralNetwork Core ML models handle poorly.
"""

from __future__ import annotations

import torch
from torch import nn

_MASKED = -1.0e4  # additive causal mask: exp() underflows to 0, and fp16 can hold it


class CustomOpActivation(nn.Module):
    """Calls a registered ``torch.library`` op on its k Tensor inputs."""

    def __init__(self, op_name: str, op_args: dict | None = None):
        super().__init__()
        from pipeline_runner.customops.library import resolve_op, tensor_arguments

        self.op_name = op_name
        self.op = resolve_op(op_name)
        if self.op is None:
            raise ValueError(f"activation {op_name!r} is not a registered torch op; define it with "
                             "torch.library.custom_op and import its module before building the model")
        self.arity = len(tensor_arguments(op_name))
        self.op_args = dict(op_args or {})

    def forward(self, *hs: torch.Tensor) -> torch.Tensor:
        return self.op(*hs, **self.op_args)

    def extra_repr(self) -> str:
        return f"{self.op_name}, arity={self.arity}, args={self.op_args}"


class CausalSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, max_seq_len: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        mask = torch.triu(torch.full((max_seq_len, max_seq_len), _MASKED), diagonal=1)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = (proj(x).reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
                   for proj in (self.q, self.k, self.v))
        scores = (q @ k.transpose(-2, -1)) * self.scale + self.mask[:n, :n]
        out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int, activation: CustomOpActivation):
        super().__init__()
        self.up = nn.ModuleList(nn.Linear(dim, hidden) for _ in range(activation.arity))
        self.act = activation
        self.down = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.act(*(up(x) for up in self.up)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int, max_seq_len: int, activation: CustomOpActivation):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, max_seq_len)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, hidden, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ff(self.norm2(x))


class CustomTransformerLM(nn.Module):
    def __init__(self, vocab_size: int = 10000, max_seq_len: int = 128, dim: int = 512, depth: int = 4,
                 heads: int = 8, mlp_ratio: float = 4.0,
                 activation: str = "pipeline_runner::custom_square", activation_args: dict | None = None):
        super().__init__()
        import pipeline_runner.customops.library  # noqa: F401  registers the builtin ops

        hidden = int(dim * mlp_ratio)
        self.token_embed = nn.Embedding(vocab_size, dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, max_seq_len, dim))
        self.blocks = nn.Sequential(*[
            Block(dim, heads, hidden, max_seq_len, CustomOpActivation(activation, activation_args))
            for _ in range(depth)
        ])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab_size)
        nn.init.normal_(self.token_embed.weight, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        n = input_ids.shape[1]
        x = self.token_embed(input_ids) + self.pos_embed[:, :n]
        return self.head(self.norm(self.blocks(x)))


ARCHITECTURES = {"custom_transformer": CustomTransformerLM}
