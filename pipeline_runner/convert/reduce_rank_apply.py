"""The rewriting half of :mod:`.reduce_rank`: planned regions in, a graph whose tensors have rank <= 5 out.

Each region node is re-emitted with reduced shapes: reshapes get new target constants,
Transposes new permutations, axis attributes and axis constants new numbers, broadcast
operands are reshaped against the reduced output; tensors entering or leaving a region
are reshaped between their own shape and the reduced one. The result is checked
(onnx.checker, strict shape inference, no tensor above rank 5 left in the regions).
"""

from __future__ import annotations

from pipeline_runner.convert.reduce_rank import (ELEMENTWISE, MAX_RANK, ONE_AXIS, REDUCE, RESHAPES, SUFFIX,
                                                 _attr, axes_input)


def apply(model, regions):
    from pipeline_runner.onnx_weights import infer_shapes

    graph = model.graph
    rewriter = _Rewriter(graph, regions)
    nodes = []
    for at, node in enumerate(graph.node):
        region = rewriter.region_at.get(at)
        nodes.extend(rewriter.rewrite(at, node, region) if region else [node])
    changed = set().union(*(set(r.reduced) | {o for n in r.nodes for o in n.output} for r in regions))
    read_before = {v for r in regions for n in r.nodes for v in n.input}
    kept_info = [v for v in graph.value_info if v.name not in changed]
    graph.ClearField("value_info")
    graph.value_info.extend(kept_info)
    graph.ClearField("node")
    graph.node.extend(nodes)
    used = {v for n in graph.node for v in n.input} | {v.name for v in graph.output}
    for i in reversed([i for i, init in enumerate(graph.initializer) if init.name in read_before - used]):
        del graph.initializer[i]  # old shape constants and the like
    graph.initializer.extend(rewriter.initializers)
    infer_shapes(model, check=True, strict_mode=True)
    _check_ranks(model, rewriter.emitted)
    return model


class _Rewriter:
    def __init__(self, graph, regions):
        self.graph, self.regions = graph, regions
        self.region_at = {at: r for r in regions for at in r.indices}
        self.initializers, self.emitted = [], set()
        self.constants = {i.name: i for i in graph.initializer}
        self.entries, self.exits = {}, {}
        self.taken = set(self.constants) | {v for n in graph.node for v in (*n.input, *n.output)}
        outputs = {o.name for o in graph.output}
        readers = {}
        for at, n in enumerate(graph.node):
            for v in n.input:
                readers.setdefault(v, set()).add(at)
        for r in regions:
            inside = set(r.indices)
            produced = {o for n in r.nodes for o in n.output}
            for t, shape in r.reduced.items():
                if list(r.shape(t)) == list(shape):
                    continue
                outside = t in outputs or bool(readers.get(t, set()) - inside)
                if t not in produced:
                    self.entries[(id(r), t)] = self.fresh(t + SUFFIX)  # made outside: reshaped (or re-stored)
                elif outside:
                    self.exits[t] = self.fresh(t + SUFFIX)  # read outside: reshaped back on the way out
        self.made = set()

    def name(self, region, t):
        return self.entries.get((id(region), t)) or self.exits.get(t) or t

    def fresh(self, name):
        while name in self.taken:  # a name the graph (or an earlier rewrite) already gives a tensor
            name += "_"
        self.taken.add(name)
        return name

    def const(self, name, array, fresh=True):
        from onnx import numpy_helper

        name = self.fresh(name) if fresh else name
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def reshape(self, src, dst, shape, node_name):
        import numpy as np
        from onnx import helper

        self.emitted.add(dst)
        target = self.const(f"{dst}_shape", np.array(list(shape), np.int64))
        return helper.make_node("Reshape", [src, target], [dst], name=node_name)

    def rewrite(self, at, node, r) -> list:
        import numpy as np
        from onnx import helper, numpy_helper

        pre, post = [], []
        ins = []
        for v in node.input:
            inner = self.name(r, v)
            if inner != v and inner not in self.made and (id(r), v) in self.entries:
                self.made.add(inner)
                if v in self.constants:
                    array = numpy_helper.to_array(self.constants[v]).reshape(r.reduced[v])
                    self.const(inner, array, fresh=False)
                else:
                    pre.append(self.reshape(v, inner, r.reduced[v], f"{inner}_reshape"))
            ins.append(inner)
        outs = [self.name(r, v) for v in node.output]
        for v, inner in zip(node.output, outs):
            self.emitted.add(inner)
            if inner != v:
                post.append(self.reshape(inner, v, r.shape(v), f"{v}_restore_rank"))
        op = node.op_type
        if op in RESHAPES:
            y = node.output[0]
            shape = r.reduced.get(y, r.shape(y))
            return [*pre, self.reshape(ins[0], outs[0], shape, node.name), *post]
        new = helper.make_node(op, ins, outs, name=node.name, domain=node.domain)
        new.attribute.extend(node.attribute)
        new.metadata_props.extend(node.metadata_props)
        for (where, index), _ in r.operands.items():
            if where != at:
                continue
            v = node.input[index]
            wanted = r.operand_shape(at, index)
            current = r.reduced.get(v, list(r.shape(v)))
            if _lead(wanted) == _lead(current):
                continue
            dst = self.fresh(f"{v}{SUFFIX}_{at}_{index}")
            if v in self.constants and v not in r.reduced:
                self.const(dst, numpy_helper.to_array(self.constants[v]).reshape(wanted), fresh=False)
            else:
                pre.append(self.reshape(ins[index], dst, wanted, f"{dst}_reshape"))
            new.input[index] = dst
        x = node.input[0]
        if op == "Transpose":
            y = node.output[0]
            signature = [tuple(r.cls[x][a] for a in g) for g in r.groups[x]]
            perm = [signature.index(tuple(r.cls[y][a] for a in g)) for g in r.groups[y]]
            _set(new, "perm", perm)
        elif op == "Expand":
            new.input[1] = self.const(f"{outs[0]}_expand_shape", np.array(r.reduced[node.output[0]], np.int64))
        elif op in ONE_AXIS or op == "Gather" or op in ("ArgMax", "ArgMin"):
            default = 0 if op in ("Split", "Concat", "Gather", "ArgMax", "ArgMin") else -1
            _set(new, "axis", r.new_axis(x, _attr(node, "axis", default)))
        elif op in REDUCE or op in ("Slice", "CumSum"):
            self._axes(new, node, r, at)
        elif op not in ELEMENTWISE | {"MatMul", "GatherND"}:
            raise AssertionError(op)  # _Region.constrain refused it
        return [*pre, new, *post]

    def _axes(self, new, node, r, at):
        """Reduce/Slice/CumSum: the axes (attribute or constant input) renumbered for the reduced input."""
        import numpy as np

        x = node.input[0]
        position = axes_input(node.op_type)
        axes = _attr(node, "axes", None)
        if axes is not None:
            _set(new, "axes", [r.new_axis(x, a) for a in axes])
            return
        if len(node.input) > position and node.input[position]:
            old = r.constant(node.input[position])
            mapped = np.array([r.new_axis(x, int(a)) for a in np.atleast_1d(old)], old.dtype).reshape(old.shape)
        else:  # Slice without axes: it slices the first len(starts) axes
            count = len(r.constant(node.input[1]))
            mapped = np.array([r.new_axis(x, a) for a in range(count)], np.int64)
            while len(new.input) < position:
                new.input.append("")
            new.input.append("")
        new.input[position] = self.const(f"{node.output[0]}{SUFFIX}_axes_{at}", mapped)


def _set(node, name, value):
    from onnx import helper

    for i, a in enumerate(node.attribute):
        if a.name == name:
            del node.attribute[i]
            break
    node.attribute.append(helper.make_attribute(name, value))


def _lead(shape) -> list:
    shape = list(shape)
    while shape and shape[0] == 1:
        shape.pop(0)
    return shape


def _check_ranks(model, names: set):
    for value in model.graph.value_info:
        if value.name in names and len(value.type.tensor_type.shape.dim) > MAX_RANK:
            raise RuntimeError(f"rank rewrite left {value.name!r} at rank {len(value.type.tensor_type.shape.dim)}")


def split_transposes(model, shapes: dict) -> int:
    """(in place; how many reshapes it added) Each Transpose whose permutation keeps more than five axes even after dropping size-1 axes and merging
    the ones that travel together (Hiera's ``[0, 2, 4, 1, 3, 5]`` unroll) → a chain of transposes that
    each move one axis (at most four merged axes each), cut apart by reshapes to the same shape so the
    region rewrite merges each step's axes on their own."""
    import numpy as np
    from onnx import helper, numpy_helper

    nodes, added = [], []
    for node in model.graph.node:
        shape = shapes.get(node.input[0]) if node.op_type == "Transpose" else None
        perm = list(_attr(node, "perm", [])) if shape else []
        if not shape or len(shape) <= MAX_RANK or len(perm) != len(shape) or _canonical_rank(perm, shape) <= MAX_RANK:
            nodes.append(node)
            continue
        stem = f"{node.output[0]}{SUFFIX}_step"
        order, current = list(range(len(perm))), node.input[0]

        def cut(src, dims, dst):
            target = f"{dst}_shape"
            added.append(numpy_helper.from_array(np.array(dims, np.int64), target))
            nodes.append(helper.make_node("Reshape", [src, target], [dst], name=f"{dst}_cut"))
            return dst

        current = cut(current, list(shape), f"{stem}0_in")
        moves = []
        for k, wanted in enumerate(perm):
            i = order.index(wanted)
            if i != k:
                moves.append(list(range(k)) + [i] + list(range(k, i)) + list(range(i + 1, len(perm))))
                order = [order[j] for j in moves[-1]]
        order = list(range(len(perm)))
        for step, move in enumerate(moves, 1):
            order = [order[j] for j in move]
            moved = f"{stem}{step}"
            nodes.append(helper.make_node("Transpose", [current], [moved], name=moved, perm=move))
            current = cut(moved, [shape[a] for a in order], node.output[0] if step == len(moves) else f"{moved}_out")
    if added:
        model.graph.ClearField("node")
        model.graph.node.extend(nodes)
        model.graph.initializer.extend(added)
    return len(added)


def _canonical_rank(perm, shape) -> int:
    """The rank of ``Transpose(perm)`` once size-1 axes are dropped and axes that stay side by side merged."""
    kept = [a for a in perm if shape[a] != 1]
    position = {a: i for i, a in enumerate(sorted(kept))}
    return sum(1 for j, a in enumerate(kept) if j == 0 or position[kept[j - 1]] != position[a] - 1)
