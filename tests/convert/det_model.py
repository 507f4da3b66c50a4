"""A model whose export uses an ONNX op no lowering covers (Det), and a recipe-level lowering for it."""

from __future__ import annotations


def make(size: int = 2):
    import torch

    class Head(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.det(x).unsqueeze(-1)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Linear(size, size)
            self.head = Head()

        def forward(self, x):
            return self.head(self.scale(x))

    return Model()


def lower_det(ctx, node):
    """Det of [..., 2, 2] matrices: a*d - b*c (the user's own lowering, named in convert.lowerings)."""
    from coremltools.converters.mil import Builder as mb

    x = ctx.values_map[node.input[0]]
    out = node.output[0]
    a, b, c, d = (mb.slice_by_index(x=x, begin=[0, r, k], end=[0, r + 1, k + 1], end_mask=[True, False, False],
                                    squeeze_mask=[False, True, True], name=f"{out}__{r}{k}")
                  for r, k in ((0, 0), (0, 1), (1, 0), (1, 1)))
    return mb.sub(x=mb.mul(x=a, y=d, name=f"{out}__ad"), y=mb.mul(x=b, y=c, name=f"{out}__bc"), name=out)
