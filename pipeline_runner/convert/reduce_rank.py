"""Keep every tensor at rank <= 5 for Core ML: rewrite the ONNX subgraphs that hold rank-6+ tensors.

Core ML tensors have at most five axes. Window partitions (Swin-style ``view → permute →
reshape``), multi-head splits (``reshape(B, N, 3, heads, dim).permute(2, 0, 3, 1, 4)``
with a window axis) and the dynamo exporter's adaptive pooling (``GatherND`` over a grid)
make rank-6 tensors, although the computation never needs six independent axes: some are
of size 1, and others stay side by side in the same order through every op.

With every shape static (after pinning and folding) the rewrite works on each connected
region of nodes that touch a rank>5 tensor:

1. Every axis of every tensor the region's ops compute on is an *axis class*; ops link
   the axes that are the same axis (a Transpose links output axis j to input axis perm[j],
   an elementwise op links equal axes of its operands and output, ...) and pin the axes
   an op works along (Softmax's axis, the axes a Reduce removes, the last two of a MatMul).
2. Size-1 axes that no op works along are dropped.
3. Two classes A, B merge when, in every tensor where they occur, B comes right after A
   and no broadcast operand is 1 along one and not the other (the canonical form of a
   permutation: axes that travel together are one axis).
4. Reshapes in the region (Reshape/Squeeze/Unsqueeze/Flatten) get the reduced target
   shapes; Transposes, axis attributes and constant operands are renumbered; tensors
   entering or leaving the region are reshaped between their shape and the reduced one.

A region with an op outside the handled set, or still above rank 5 after merging, is left
as it was (the conversion then reports the rank limit as before). We hand-write this: no
ONNX optimizer we could find (onnxscript's rewriter, onnx-simplifier, ORT's graph
optimisations) lowers tensor rank, which only matters to backends with a rank limit.
"""

from __future__ import annotations

from math import prod

MAX_RANK = 5
SUFFIX = "__rank5"
RESHAPES = {"Reshape", "Squeeze", "Unsqueeze", "Flatten"}
ELEMENTWISE = {  # numpy-broadcasting ops: every input aligns with the output
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Equal", "Less", "Greater", "LessOrEqual",
    "GreaterOrEqual", "And", "Or", "Xor", "Not", "Where", "Mod", "PRelu", "Relu", "Sigmoid", "Tanh", "Exp", "Log",
    "Sqrt", "Neg", "Abs", "Erf", "Cast", "Identity", "Reciprocal", "Softplus", "Gelu", "HardSigmoid", "HardSwish",
    "LeakyRelu", "Elu", "Clip", "Floor", "Ceil", "Round", "Sin", "Cos", "Sign", "IsNaN",
}
ONE_AXIS = {"Softmax", "LogSoftmax", "Split", "Concat", "Hardmax"}  # work along attribute ``axis``, keep the rank
REDUCE = {"ReduceMax", "ReduceMin", "ReduceMean", "ReduceSum", "ReduceProd", "ReduceL1", "ReduceL2",
          "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin"}


class Unsupported(Exception):
    """A region this rewrite cannot take: it stays as it was."""


def reduce_rank(model) -> tuple[object, dict]:
    """(``model`` with every rank>5 region rewritten to rank <= 5 where possible, record).

    The record: ``{"rewritten": regions rewritten, "nodes": [their first node's name],
    "left": [{"node": ..., "reason": ...}]}`` (regions left as they were)."""
    from pipeline_runner.convert.reduce_rank_apply import apply, split_transposes
    from pipeline_runner.onnx_weights import copy_model, infer_shapes

    original = model
    if not _all_shaped(model):  # folding leaves inferred shapes; infer them when a caller did not
        model = infer_shapes(copy_model(original))
    shapes = _static_shapes(model)
    big = {name for name, shape in shapes.items() if len(shape) > MAX_RANK}
    record = {"rewritten": 0, "nodes": [], "left": []}
    if not big:
        return original, record
    if model is original:  # ``original`` stays as it was when a region cannot be rewritten
        model = copy_model(original)
    split = split_transposes(model, shapes)
    if split:
        infer_shapes(model)
        shapes = _static_shapes(model)
        big = {name for name, shape in shapes.items() if len(shape) > MAX_RANK}
    regions = _regions(model.graph, big)
    rewritten = []
    for region in regions:
        try:
            rewritten.append(_Region(model.graph, region, shapes, big).plan())
        except Unsupported as exc:
            record["left"].append({"node": model.graph.node[region[0]].name, "reason": str(exc)})
    if not rewritten:
        return original, record
    try:
        model = apply(model, rewritten)
    except Exception as exc:  # a bug of ours must not cost a model that converts without the rewrite
        record["left"] += [{"node": r.nodes[0].name, "reason": f"rewrite failed: {type(exc).__name__}: {exc}"}
                           for r in rewritten]
        return original, record
    record["rewritten"] = len(rewritten)
    record["nodes"] = [r.nodes[0].name for r in rewritten]
    return model, record


def _all_shaped(model) -> bool:
    known = {v.name for v in (*model.graph.value_info, *model.graph.input, *model.graph.output)}
    known |= {i.name for i in model.graph.initializer}
    return all(o in known for n in model.graph.node for o in n.output if o)


def _static_shapes(model) -> dict:
    shapes = {}
    values = list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)
    for value in values:
        tensor = value.type.tensor_type
        if tensor.HasField("shape") and all(d.HasField("dim_value") for d in tensor.shape.dim):
            shapes[value.name] = tuple(d.dim_value for d in tensor.shape.dim)
    for init in model.graph.initializer:
        shapes[init.name] = tuple(init.dims)
    return shapes


def _regions(graph, big: set) -> list[list]:
    """The indices of the nodes touching a rank>5 tensor, grouped into connected regions (in graph order)."""
    touching = [i for i, n in enumerate(graph.node) if any(v in big for v in (*n.input, *n.output))]
    parent = list(range(len(touching)))
    first = {}
    for i, at in enumerate(touching):
        node = graph.node[at]
        for v in (*node.input, *node.output):
            if v in big:
                if v in first:
                    parent[_find(parent, i)] = _find(parent, first[v])
                else:
                    first[v] = i
    groups = {}
    for i, at in enumerate(touching):
        groups.setdefault(_find(parent, i), []).append(at)
    return list(groups.values())


class _Region:
    """One region's axis classes, merged groups and reduced shapes (see the module docstring)."""

    def __init__(self, graph, indices, shapes, big):
        self.graph, self.shapes, self.big = graph, shapes, big
        self.indices = indices
        self.nodes = [graph.node[i] for i in indices]
        self.parent = {}           # union-find over (tensor, axis)
        self.fixed = set()         # (tensor, axis) an op works along
        self.tensors = []          # tensors whose axes are classes (in first-seen order)
        self.patterns = {}         # tensor -> broadcast patterns of its operands (tuple of bools per axis)
        self.operands = {}         # (node index, input index) -> (the output it broadcasts to, its aligned shape)
        self.constants = {i.name: i for i in graph.initializer}

    # -- axis classes ---------------------------------------------------------------------------
    def shape(self, name):
        if name not in self.shapes:
            raise Unsupported(f"tensor {name!r} has no static shape")
        return self.shapes[name]

    def declare(self, name):
        if (name, 0) not in self.parent and name not in self.tensors:
            self.tensors.append(name)
            for axis in range(len(self.shape(name))):
                self.parent[(name, axis)] = (name, axis)

    def find(self, key):
        return _find(self.parent, key)

    def link(self, a, i, b, j):
        self.declare(a)
        self.declare(b)
        if self.shape(a)[i] != self.shape(b)[j]:
            raise Unsupported(f"axis {i} of {a!r} and axis {j} of {b!r} differ in size")
        self.parent[self.find((a, i))] = self.find((b, j))

    def fix(self, name, *axes):
        self.declare(name)
        self.fixed.update((name, a % len(self.shape(name))) for a in axes)

    def broadcast(self, node, index, out):
        """Input ``index`` of ``node`` broadcasts to ``out``: merged axes must be all 1 or all full in it."""
        name, target = node.input[index], self.shape(out)
        src = self.shape(name)
        if len(src) > len(target):
            raise Unsupported(f"{node.op_type} {node.name!r}: input {name!r} has more axes than its output")
        aligned = (1,) * (len(target) - len(src)) + tuple(src)
        self.patterns.setdefault(out, []).append(tuple(a == 1 and t != 1 for a, t in zip(aligned, target)))
        self.operands[(self.at, index)] = (out, aligned)

    # -- what each op asks --------------------------------------------------------------------
    def constrain(self, at, node):
        """``at``: the node's index in the graph (names may repeat)."""
        self.at = at
        op, ins, outs = node.op_type, list(node.input), list(node.output)
        if op in RESHAPES:
            return
        if op not in ELEMENTWISE | {"MatMul", "Concat", "GatherND"} and any(v in self.big for v in ins[1:]):
            raise Unsupported(f"{op} {node.name!r} takes a rank>5 tensor as an index or parameter")
        y = outs[0]
        self.declare(y)
        rank = len(self.shape(y))
        if op == "Transpose":
            for j, p in enumerate(_attr(node, "perm", list(range(rank))[::-1])):
                self.link(y, j, ins[0], p)
        elif op in ELEMENTWISE or op == "Expand":
            for i, name in enumerate(ins[:1] if op == "Expand" else ins):
                if name and self.shape(name) == self.shape(y) and op != "Expand":
                    for a in range(rank):
                        self.link(y, a, name, a)
                elif name:
                    self.broadcast(node, i, y)
        elif op == "MatMul":
            self._matmul(node)
        elif op in ONE_AXIS:
            axis = _attr(node, "axis", -1 if op != "Split" and op != "Concat" else 0) % rank
            for name in [v for v in ins if v] if op == "Concat" else [ins[0]]:
                for other in outs:
                    self._same_rank(name, other, {axis})
        elif op == "Gather":
            self._gather(node, rank)
        elif op == "GatherND":
            self._gather_nd(node)
        elif op in REDUCE or op == "Slice" or op == "CumSum":
            axes = self.axes_of(node, len(self.shape(ins[0])))
            keep = _attr(node, "keepdims", 1) or op in ("Slice", "CumSum")
            self.fix(ins[0], *axes)
            if keep:
                self._same_rank(ins[0], y, set(axes))
            else:
                rest = [a for a in range(len(self.shape(ins[0]))) if a not in axes]
                for j, a in enumerate(rest):
                    self.link(y, j, ins[0], a)
        else:
            raise Unsupported(f"no rank rewrite for {op} (node {node.name!r})")

    def _same_rank(self, a, b, along: set):
        for axis in range(len(self.shape(a))):
            if axis in along:
                self.fix(a, axis)
                self.fix(b, axis)
            else:
                self.link(a, axis, b, axis)

    def _matmul(self, node):
        a, b, y = node.input[0], node.input[1], node.output[0]
        ra, rb, ry = len(self.shape(a)), len(self.shape(b)), len(self.shape(y))
        if rb == 2 and ra >= 2:     # x @ W: every axis of x but the last is a batch axis
            for j in range(ra - 1):
                self.link(y, j, a, j)
            self.fix(a, -1)
            self.fix(y, -1)
        elif ra == rb == ry and self.shape(a)[:-2] == self.shape(b)[:-2]:
            for j in range(ry - 2):
                self.link(y, j, a, j)
                self.link(y, j, b, j)
            self.fix(a, -1, -2)
            self.fix(b, -1, -2)
            self.fix(y, -1, -2)
        else:
            raise Unsupported(f"MatMul {node.name!r} broadcasts its batch axes")

    def _gather(self, node, rank_out):
        data, idx, y = node.input[0], node.input[1], node.output[0]
        rank = len(self.shape(data))
        axis = _attr(node, "axis", 0) % rank
        r = len(self.shape(idx))
        self.fix(data, axis)
        self.fix(y, *range(axis, axis + r))
        for j in range(axis):
            self.link(y, j, data, j)
        for j in range(axis + 1, rank):
            self.link(y, j - 1 + r, data, j)

    def _gather_nd(self, node):
        """GatherND (batch_dims 0): out = indices.shape[:-1] + data.shape[k:], k = indices.shape[-1]."""
        data, idx, y = node.input[0], node.input[1], node.output[0]
        if _attr(node, "batch_dims", 0):
            raise Unsupported(f"GatherND {node.name!r} has batch_dims")
        q, k = len(self.shape(idx)), self.shape(idx)[-1]
        self.fix(idx, -1)
        self.fix(data, *range(k))
        for j in range(q - 1):
            self.link(y, j, idx, j)
        for j in range(k, len(self.shape(data))):
            self.link(y, q - 1 + j - k, data, j)

    def axes_of(self, node, rank) -> list[int]:
        if node.op_type in ("ArgMax", "ArgMin"):
            return [_attr(node, "axis", 0) % rank]
        position = axes_input(node.op_type)
        axes = _attr(node, "axes", None)
        if axes is None and len(node.input) > position and node.input[position]:
            axes = self.constant(node.input[position]).tolist()
        if axes is None and node.op_type == "Slice":
            axes = list(range(len(self.constant(node.input[1]))))
        if axes is None:
            raise Unsupported(f"{node.op_type} {node.name!r} over all axes")
        return sorted({int(a) % rank for a in (axes if isinstance(axes, list) else [axes])})

    def constant(self, name):
        from onnx import numpy_helper

        if name not in self.constants:
            raise Unsupported(f"{name!r} is computed, not a constant")
        return numpy_helper.to_array(self.constants[name])

    # -- merge ------------------------------------------------------------------------------------
    def plan(self):
        for value in self.graph.output:
            if value.name in self.big:
                raise Unsupported(f"graph output {value.name!r} has rank > {MAX_RANK}")
        for at, node in zip(self.indices, self.nodes):
            self.constrain(at, node)
        self.cls = cls = {t: [self.find((t, a)) for a in range(len(self.shape(t)))] for t in self.tensors}
        fixed = {self.find(k) for k in self.fixed}
        for t, classes in cls.items():  # a class twice in one tensor (x + x.T): never merge it
            fixed.update(c for c in classes if classes.count(c) > 1)
        # kept axes: size 1 ones go unless an op works along them
        kept = {t: [a for a in range(len(c)) if self.shape(t)[a] != 1 or c[a] in fixed] for t, c in cls.items()}
        after, before = {}, {}
        for t, axes in kept.items():
            for i, a in enumerate(axes):
                c = cls[t][a]
                after.setdefault(c, set()).add(cls[t][axes[i + 1]] if i + 1 < len(axes) else None)
                before.setdefault(c, set()).add(cls[t][axes[i - 1]] if i else None)

        def merges(t, a, b):
            ca, cb = cls[t][a], cls[t][b]
            if ca in fixed or cb in fixed or after[ca] != {cb} or before[cb] != {ca}:
                return False
            return all(p[a] == p[b] for t2 in self.tensors for p in self.patterns.get(t2, ())
                       if ca in cls[t2] and cb in cls[t2] for a, b in [(cls[t2].index(ca), cls[t2].index(cb))])

        self.groups = {}
        for t, axes in kept.items():
            groups = []
            for i, a in enumerate(axes):
                if groups and merges(t, axes[i - 1], a):
                    groups[-1].append(a)
                else:
                    groups.append([a])
            self.groups[t] = groups
            if len(groups) > MAX_RANK:
                raise Unsupported(f"{t!r} keeps {len(groups)} axes that cannot merge")
        self.reduced = {t: [prod(self.shape(t)[a] for a in g) for g in gs] for t, gs in self.groups.items()}
        for t in self.big - set(self.reduced):  # only reshapes make and read it (or it is a broadcast operand)
            if any(t in n.input or t in n.output for n in self.nodes):
                wanted = {tuple(self.operand_shape(at, i)) for (at, i) in self.operands
                          if self.graph.node[at].input[i] == t}
                self.reduced[t] = list(wanted.pop()) if len(wanted) == 1 else [prod(self.shape(t))]
        return self

    def operand_shape(self, at, index) -> list[int]:
        """The reduced shape broadcast operand ``index`` of node ``at`` takes against the reduced output."""
        out, aligned = self.operands[(at, index)]
        return [prod(aligned[a] for a in g) for g in self.groups[out]]

    def new_axis(self, name, axis) -> int:
        axis %= len(self.shape(name))
        return next(i for i, g in enumerate(self.groups[name]) if axis in g)


def _find(parent, key):
    """The root of ``key`` in the union-find ``parent`` (a list or dict), halving the path on the way."""
    while parent[key] != key:
        parent[key] = parent[parent[key]]
        key = parent[key]
    return key


def axes_input(op_type: str) -> int:
    """Which input holds the axes when Reduce* (opset 18+), Slice or CumSum takes them as an input."""
    return {"Slice": 3, "CumSum": 1}.get(op_type, 1)


def _attr(node, name, default):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default

