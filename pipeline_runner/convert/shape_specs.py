"""What Core ML gets for each dynamic axis: the recipe's ``inputs[].coreml`` section as plain data.

No ML library here: recipe checks, convert, validate and the Swift stage all read it.

A graph's Core ML shapes are a list of **variants**, each a concrete shape for every input:

- no ``coreml`` section, or ``fixed`` axes: one variant, the dummy shape (dynamic axes pinned);
- ``axes: {1: {enumerated: [16, 32, 64, 128]}}``: one variant per value (several enumerated axes,
  and several inputs, multiply);
- ``shapes: [[1, 16], [4, 16]]``: the input's enumerated shape sets, several axes together;
- ``sizes: [[224, 224], [256, 256]]``: an image input's enumerated (height, width).

The variant whose shapes are all the dummy shapes is the default. ``range: [low, high]``
axes are not variants: one model takes any size in between (``ranges``), checked at the ends
and the middle (``validation_shapes``).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

MAX_VARIANTS = 16  # each is a converted program; past this a range (or fewer sizes) is the better tool


@dataclass(frozen=True)
class Variant:
    name: str  # the Core ML function name of this variant in a multifunction package
    shapes: dict[str, tuple[int, ...]]
    default: bool = False


@dataclass(frozen=True)
class AxisRange:
    input: str
    axis: int
    low: int
    high: int
    default: int


@dataclass
class ShapePlan:
    variants: list[Variant]
    ranges: list[AxisRange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def flexible(self) -> bool:
        return len(self.variants) > 1 or bool(self.ranges)

    @property
    def default(self) -> Variant:
        return next(v for v in self.variants if v.default)


def _as_data(spec) -> dict:
    """An input spec as plain data: recipe checks pass raw YAML dicts, stages typed ``InputSpec``s."""
    if dataclasses.is_dataclass(spec):
        from pipeline_runner.recipe.typed import plain

        return _drop_none(plain(spec))
    return spec


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


def _inputs(graph) -> list[dict]:
    return [_as_data(s) for s in (graph.inputs if dataclasses.is_dataclass(graph) else graph["inputs"])]


def _axis(spec: dict, key) -> int:
    axis = int(key)
    return axis + len(spec["shape"]) if axis < 0 else axis


def input_shapes(spec: dict) -> list[tuple[int, ...]]:
    """Every shape Core ML should take for one input spec (enumerations only; ranges keep the default)."""
    spec = _as_data(spec)
    dummy = tuple(spec["shape"])
    section = spec.get("coreml") or {}
    if "shapes" in section:
        return [tuple(s) for s in section["shapes"]]
    if "sizes" in section:
        return [(*dummy[:2], int(h), int(w)) for h, w in section["sizes"]]
    per_axis = []
    for axis, size in enumerate(dummy):
        choice = _axis_choice(spec, axis)
        per_axis.append(list(choice["enumerated"]) if isinstance(choice, dict) and "enumerated" in choice
                        else [size])
    return [tuple(s) for s in itertools.product(*per_axis)]


def _axis_choice(spec: dict, axis: int):
    axes = (spec.get("coreml") or {}).get("axes") or {}
    for key, choice in axes.items():
        if _axis(spec, key) == axis:
            return choice
    return "fixed"


def declared_axes(spec: dict) -> set[int]:
    """Axes whose Core ML sizes the recipe declares (not ``fixed``)."""
    spec = _as_data(spec)
    section = spec.get("coreml") or {}
    rank = len(spec["shape"])
    if "sizes" in section:
        return {2, 3}
    if "shapes" in section:
        return {a for a in range(rank) if len({tuple(s)[a] for s in section["shapes"]}) > 1}
    return {_axis(spec, k) for k, c in (section.get("axes") or {}).items() if c != "fixed"}


def axis_ranges(spec: dict) -> list[AxisRange]:
    spec = _as_data(spec)
    out = []
    for key, choice in ((spec.get("coreml") or {}).get("axes") or {}).items():
        if isinstance(choice, dict) and "range" in choice:
            axis = _axis(spec, key)
            low, high = (int(v) for v in choice["range"])
            out.append(AxisRange(spec["name"], axis, low, high, int(choice.get("default", spec["shape"][axis]))))
    return out


def variant_name(shapes: dict[str, tuple[int, ...]], flexible_inputs: list[str]) -> str:
    """``input_ids_1x16``; several flexible inputs are joined with ``__``."""
    return "__".join(f"{n}_{'x'.join(map(str, shapes[n]))}" for n in flexible_inputs)


def plan(graph: dict) -> ShapePlan:
    """The graph's Core ML shape plan: variants (default first), ranges and notes."""
    inputs = _inputs(graph)
    options = {spec["name"]: input_shapes(spec) for spec in inputs}
    flexible_inputs = [n for n, shapes in options.items() if len(shapes) > 1]
    combos = list(itertools.product(*options.values()))
    variants = []
    for combo in combos:
        shapes = dict(zip(options, combo))
        default = all(shapes[s["name"]] == tuple(s["shape"]) for s in inputs)
        name = variant_name(shapes, flexible_inputs) if flexible_inputs else "main"
        variants.append(Variant(name, shapes, default))
    variants.sort(key=lambda v: not v.default)  # stable: default first, then declaration order
    ranges = [r for spec in inputs for r in axis_ranges(spec)]
    return ShapePlan(variants, ranges, _notes(inputs))


def _notes(inputs: list[dict]) -> list[str]:
    notes = []
    for spec in inputs:
        for key, name in spec.get("dynamic_axes", {}).items():
            axis = _axis(spec, key)
            if "image" in spec and axis == 0:
                notes.append(f"input {spec['name']!r} axis 0 ({name}) stays dynamic in ONNX; a Core ML image input "
                             "has no batch axis, so the Swift wrapper batches pictures with predictions(fromBatch:)")
            elif "image" in spec and axis in (2, 3) and "sizes" in (spec.get("coreml") or {}):
                continue
            elif _axis_choice(spec, axis) == "fixed" and "shapes" not in (spec.get("coreml") or {}):
                notes.append(f"input {spec['name']!r} axis {axis} ({name}) is fixed to {spec['shape'][axis]} in Core ML "
                             f"(declare inputs[].coreml.axes.{axis} to keep it flexible)")
    return notes


def validation_shapes(graph: dict) -> list[tuple[str, dict[str, tuple[int, ...]]]]:
    """(label, shapes) to validate at: every variant, and each range's low end, middle and high end."""
    p = plan(graph)
    out = [(v.name, dict(v.shapes)) for v in p.variants]
    base = p.default.shapes
    for r in p.ranges:
        for size in sorted({r.low, (r.low + r.high) // 2, r.high} - {base[r.input][r.axis]}):
            shapes = dict(base)
            shape = list(shapes[r.input])
            shape[r.axis] = size
            shapes[r.input] = tuple(shape)
            out.append((f"{r.input}_axis{r.axis}_{size}", shapes))
    return out


def with_shapes(inputs, shapes: dict[str, tuple[int, ...]]) -> list:
    """Input specs with their dummy shapes replaced (for samples at a variant's shapes)."""
    if all(dataclasses.is_dataclass(spec) for spec in inputs):
        return [dataclasses.replace(spec, shape=tuple(shapes.get(spec.name, spec.shape))) for spec in inputs]
    return [{**spec, "shape": list(shapes.get(spec["name"], spec["shape"]))} for spec in inputs]
