"""A plain in-memory form of an ML Program, read directly from the saved protobuf.

Why walk ``spec.mlProgram`` ourselves instead of ``milproto.load``: the coremltools
loader rebuilds every op through the MIL builder, which re-runs type inference and
constant-folds ops with coremltools' own value inference — code we would then be
checking against itself. Here every op the file contains is executed by this package,
exactly as serialised, with the output types the file declares (which is what the
fp16 rounding follows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .blobs import BlobStore
from .errors import CoreMLReferenceError

# MIL proto DataType enum -> (name, numpy dtype, bits). Names follow MIL ("fp16", "int32").
DTYPES: dict[int, tuple[str, Any, int]] = {
    1: ("bool", np.bool_, 8),
    2: ("string", np.object_, 0),
    10: ("fp16", np.float16, 16),
    11: ("fp32", np.float32, 32),
    12: ("fp64", np.float64, 64),
    21: ("int8", np.int8, 8),
    22: ("int16", np.int16, 16),
    23: ("int32", np.int32, 32),
    24: ("int64", np.int64, 64),
    25: ("int4", np.int8, 4),
    31: ("uint8", np.uint8, 8),
    32: ("uint16", np.uint16, 16),
    33: ("uint32", np.uint32, 32),
    34: ("uint64", np.uint64, 64),
    35: ("uint4", np.uint8, 4),
    36: ("uint2", np.uint8, 2),
    37: ("uint1", np.uint8, 1),
    38: ("uint6", np.uint8, 6),
    39: ("uint3", np.uint8, 3),
}
NP_BY_NAME = {name: np_t for name, np_t, _ in DTYPES.values()}


@dataclass(frozen=True)
class TensorType:
    dtype: str  # MIL name: "fp16", "fp32", "int32", "bool", "string", ...
    shape: tuple[int | None, ...] | None  # None: unknown rank; None dims: symbolic

    @property
    def np_dtype(self):
        return NP_BY_NAME[self.dtype]


@dataclass(frozen=True)
class OtherType:
    kind: str  # "list", "tuple", "dictionary", "state"


@dataclass(frozen=True)
class Arg:
    """An op argument: a reference to a named value, or an inline value."""

    name: str | None = None
    value: Any = None


@dataclass
class Op:
    type: str
    name: str
    inputs: dict[str, list[Arg]]
    outputs: list[tuple[str, TensorType | OtherType]]
    blocks: list["Block"] = field(default_factory=list)


@dataclass
class Block:
    inputs: list[tuple[str, TensorType | OtherType]]
    ops: list[Op]
    outputs: list[str]


@dataclass
class Program:
    inputs: dict[str, TensorType]
    block: Block
    opset: str
    function: str

    def all_ops(self):
        stack = [self.block]
        while stack:
            block = stack.pop(0)
            for op in block.ops:
                yield op
                stack.extend(op.blocks)


def parse_type(vt) -> TensorType | OtherType:
    which = vt.WhichOneof("type")
    if which != "tensorType":
        return OtherType(which or "unknown")
    tt = vt.tensorType
    if tt.dataType not in DTYPES:
        raise CoreMLReferenceError(f"unsupported MIL data type enum {tt.dataType}")
    dims = tuple(d.constant.size if d.WhichOneof("dimension") == "constant" else None for d in tt.dimensions)
    return TensorType(DTYPES[tt.dataType][0], dims if tt.rank >= 0 else None)


def _unpack_sub_byte(packed: np.ndarray, bits: int, count: int, signed: bool) -> np.ndarray:
    # Elements are packed LSB-first, little-endian (as coremltools writes them).
    bitstream = np.unpackbits(packed.view(np.uint8), bitorder="little")[: count * bits]
    weights = (1 << np.arange(bits)).astype(np.int32)
    vals = bitstream.reshape(count, bits).astype(np.int32) @ weights
    if signed:
        vals = np.where(vals >= (1 << (bits - 1)), vals - (1 << bits), vals)
    return vals.astype(np.int8 if signed else np.uint8)


class _ValueReader:
    def __init__(self, blobs: BlobStore):
        self.blobs = blobs

    def tensor(self, t: TensorType, tv=None, blob=None):
        name, np_t, bits = next(v for v in DTYPES.values() if v[0] == t.dtype)
        shape = tuple(d if d is not None else -1 for d in (t.shape or ()))
        count = int(np.prod(shape)) if shape else 1
        if blob is not None:
            if bits < 8:
                raw = self.blobs.read(blob.fileName, blob.offset, np.uint8)
                arr = _unpack_sub_byte(raw, bits, count, signed=name.startswith("int"))
            else:
                arr = self.blobs.read(blob.fileName, blob.offset, np_t, count)
            return arr.reshape(shape)
        kind = tv.WhichOneof("value")
        if kind == "bytes":
            raw = np.frombuffer(tv.bytes.values, dtype=np.uint8)
            arr = _unpack_sub_byte(raw, bits, count, name.startswith("int")) if bits < 8 else raw.view(np_t)
        elif kind == "strings":
            vals = list(tv.strings.values)
            return vals[0] if not shape else np.array(vals, dtype=object).reshape(shape)
        elif kind is None:
            arr = np.zeros(0, dtype=np_t)
        else:
            arr = np.asarray(list(getattr(tv, kind).values)).astype(np_t)
        arr = arr.reshape(shape)
        return arr

    def value(self, v):
        t = parse_type(v.type)
        if isinstance(t, TensorType):
            if v.WhichOneof("value") == "blobFileValue":
                return self.tensor(t, blob=v.blobFileValue)
            return self.tensor(t, tv=v.immediateValue.tensor)
        iv = v.immediateValue
        which = iv.WhichOneof("value")
        if which == "list":
            return [self.value(x) for x in iv.list.values]
        if which == "tuple":
            return tuple(self.value(x) for x in iv.tuple.values)
        if which == "dictionary":
            return {self._key(kv.key): self.value(kv.value) for kv in iv.dictionary.values}
        raise CoreMLReferenceError(f"unsupported MIL value kind {which!r}")

    def _key(self, v):
        k = self.value(v)
        return k.item() if isinstance(k, np.ndarray) else k


def _parse_op(op_spec, reader: _ValueReader) -> Op:
    name = None
    inputs: dict[str, list[Arg]] = {}
    for key, value in op_spec.attributes.items():
        if key == "name":
            name = reader.value(value)
        else:  # const's "val" and iOS16 constexpr attributes: treated as inline inputs
            inputs[key] = [Arg(value=reader.value(value))]
    for key, argument in op_spec.inputs.items():
        args = []
        for binding in argument.arguments:
            if binding.WhichOneof("binding") == "name":
                args.append(Arg(name=binding.name))
            else:
                args.append(Arg(value=reader.value(binding.value)))
        inputs[key] = args
    outputs = [(o.name, parse_type(o.type)) for o in op_spec.outputs]
    blocks = [_parse_block(b, reader) for b in op_spec.blocks]
    return Op(op_spec.type, name or (outputs[0][0] if outputs else op_spec.type), inputs, outputs, blocks)


def _parse_block(block_spec, reader: _ValueReader) -> Block:
    return Block(
        inputs=[(i.name, parse_type(i.type)) for i in block_spec.inputs],
        ops=[_parse_op(op, reader) for op in block_spec.operations],
        outputs=list(block_spec.outputs),
    )


def parse_program(ml_program, weights_dir: str | None, function: str | None = None) -> Program:
    funcs = ml_program.functions
    if not funcs:
        raise CoreMLReferenceError("the ML Program has no functions")
    fname = function or ("main" if "main" in funcs else next(iter(funcs)))
    if fname not in funcs:
        raise CoreMLReferenceError(f"no function {fname!r} in the program (has {sorted(funcs)})")
    f = funcs[fname]
    reader = _ValueReader(BlobStore(weights_dir))
    inputs = {}
    for i in f.inputs:
        t = parse_type(i.type)
        if not isinstance(t, TensorType):
            raise CoreMLReferenceError(f"function input {i.name!r} of kind {t.kind} is not supported")
        inputs[i.name] = t
    block = _parse_block(f.block_specializations[f.opset], reader)
    return Program(inputs=inputs, block=block, opset=f.opset, function=fname)
