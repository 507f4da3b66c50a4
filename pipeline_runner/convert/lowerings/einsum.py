"""ONNX ``Einsum`` → MIL transposes, reshapes, one ``matmul`` (two operands) or a ``reduce_sum`` (one).

onnx2coreml 1.1 has no Einsum lowering, and MIL's own ``einsum`` takes only two
fixed layouts. Any one- or two-operand equation without repeated letters inside an
operand (the forms models use: attention ``bhqd,bhkd->bhqk``, SAM's relative
positions ``bhwc,hkc->bhwk``) is a batched matrix product once its letters are sorted
into batch (both operands and the output), left/right-only (one operand and the
output), contracted (both operands, not the output) and summed-away (one operand only)
groups. Shapes are static here (convert pins them), so every reshape is known.
"""

from __future__ import annotations

import numpy as np


def lower(ctx, node):
    from coremltools.converters.mil import Builder as mb

    equation = next(a.s for a in node.attribute if a.name == "equation").decode().replace(" ", "")
    lhs, _, out = equation.partition("->")
    terms = lhs.split(",")
    operands = [ctx.values_map[name] for name in node.input]
    if "." in equation or "->" not in equation or len(terms) not in (1, 2) or any(
            len(set(t)) != len(t) for t in terms):
        raise ValueError(f"Einsum {equation!r}: only one or two operands with explicit output and no repeated "
                         "or ellipsis indices are lowered")
    name = node.output[0]
    dims = {}
    for term, var in zip(terms, operands):
        for letter, size in zip(term, var.shape):
            dims[letter] = max(dims.get(letter, 1), int(size))
    # Sum away letters found in one operand only and not in the output.
    vars_, kept = [], []
    for i, (term, var) in enumerate(zip(terms, operands)):
        others = "".join(t for j, t in enumerate(terms) if j != i)
        gone = [k for k, c in enumerate(term) if c not in out and c not in others]
        if gone:
            var = mb.reduce_sum(x=var, axes=gone, keep_dims=False, name=f"{name}__sum{i}")
            term = "".join(c for k, c in enumerate(term) if k not in gone)
        vars_.append(var)
        kept.append(term)
    if len(kept) == 1:
        return _permute(mb, vars_[0], kept[0], out, name)
    a_term, b_term = kept
    batch = [c for c in out if c in a_term and c in b_term]
    left = [c for c in out if c in a_term and c not in b_term]
    right = [c for c in out if c in b_term and c not in a_term]
    contract = [c for c in a_term if c in b_term and c not in out]
    a = _arrange(mb, vars_[0], a_term, batch + left + contract, dims, [batch, left, contract], f"{name}__a")
    b = _arrange(mb, vars_[1], b_term, batch + contract + right, dims, [batch, contract, right], f"{name}__b")
    product = mb.matmul(x=a, y=b, name=f"{name}__matmul")
    shape = [dims[c] for c in batch + left + right]
    product = mb.reshape(x=product, shape=np.asarray(shape or [1], np.int32), name=f"{name}__unflat")
    if not shape:
        return mb.squeeze(x=product, name=name)
    return _permute(mb, product, "".join(batch + left + right), out, name)


def _broadcast_ok(var, term, dims):
    return all(int(s) == dims[c] for c, s in zip(term, var.shape))


def _arrange(mb, var, term: str, order: list[str], dims: dict, groups: list[list[str]], name: str):
    """``var`` transposed to ``order`` and flattened to [batch, rows, cols] (sizes of ``groups``)."""
    if not _broadcast_ok(var, term, dims):
        raise ValueError(f"Einsum operand {term!r}: broadcasting a size-1 dimension is not lowered")
    perm = [term.index(c) for c in order]
    if perm != list(range(len(perm))):
        var = mb.transpose(x=var, perm=perm, name=f"{name}_t")
    sizes = [int(np.prod([dims[c] for c in g])) if g else 1 for g in groups]
    return mb.reshape(x=var, shape=np.asarray(sizes, np.int32), name=f"{name}_r")


def _permute(mb, var, term: str, out: str, name: str):
    perm = [term.index(c) for c in out]
    if perm == list(range(len(perm))):
        return mb.identity(x=var, name=name)
    return mb.transpose(x=var, perm=perm, name=name)
