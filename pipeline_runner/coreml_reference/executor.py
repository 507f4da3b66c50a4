"""Runs a parsed ML Program op by op on NumPy arrays.

Precision model: every op computes in fp32 (fp16 inputs are exact in fp32) and its
results are then cast to the dtype the program declares for them. An fp16 output is
rounded to fp16 there and then — overflow becomes inf, precision is lost — at the same
op boundaries as on device. ``fp32=True`` runs the same program with every fp16 value
kept in fp32 instead, to localise where fp16 hurts (weights stored as fp16 in the file stay
fp16-rounded: a replay cannot undo that). ``fp32_ops={"conv", ...}`` replays what
``convert.fp32_op_types`` would build: ops of those types keep fp32 results, and an fp16 op
consuming such a result sees it cast to fp16 first (the cast coremltools inserts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline_runner import progress

from .context import OpContext
from .errors import CoreMLReferenceError, InputError, OpExecutionError, UnsupportedOpError
from .memory import keep_freed_memory
from .ops._util import kernel_threads
from .program import Block, Op, Program, TensorType


@dataclass(frozen=True)
class TraceEntry:
    name: str
    type: str
    dtypes: tuple[str, ...]  # declared output dtypes ("fp16", "fp32", ...)
    outputs: tuple  # output values, in the declared dtype


def round_to_fp16(arr: np.ndarray) -> np.ndarray:
    """fp32 values rounded to the nearest fp16 (overflow -> inf), kept as fp32."""
    if arr.size >= 1 << 16:  # torch's vectorised (F16C) conversion is ~2x NumPy's on big tensors
        import torch

        return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).half().float().numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        return arr.astype(np.float16).astype(np.float32)


def conform(value, t, fp32: bool, op: Op | None = None):
    """Casts an op result to its declared type (fp16 rounding happens here). Values are kept
    as fp32 arrays for fp16 tensors so consumers don't re-convert them."""
    if not isinstance(t, TensorType) or t.dtype == "string":
        return value
    arr = np.asarray(value)
    if t.dtype == "fp16":
        arr = arr.astype(np.float32, copy=False) if fp32 else round_to_fp16(arr)
    elif arr.dtype != t.np_dtype:
        with np.errstate(over="ignore", invalid="ignore"):
            arr = arr.astype(t.np_dtype)
    if t.shape is not None and None not in t.shape and arr.shape != t.shape:
        where = f"{op.type} op {op.name!r}" if op else "value"
        raise CoreMLReferenceError(f"{where}: produced shape {arr.shape}, program declares {t.shape}")
    return arr


def _declared(value, t):
    """A stored value in its declared dtype (fp16 tensors are held as fp32 internally)."""
    if isinstance(t, TensorType) and t.dtype == "fp16" and isinstance(value, np.ndarray):
        return value.astype(np.float16)
    return value


# Activations a convolution applies as its kernel's post-op (oneDNN "swish"/"relu"): one pass over the
# output instead of two, and one op dispatch fewer (EfficientNet-B0: 49 SiLUs after convolutions).
FUSABLE_ACTIVATIONS = ("silu", "relu")


def _names_read(op: Op) -> set[str]:
    """Names ``op`` reads, including those its nested blocks read from the enclosing scope."""
    names = {a.name for args in op.inputs.values() for a in args if a.name is not None}
    for block in op.blocks:
        for inner in block.ops:
            names |= _names_read(inner)
        names.update(block.outputs)
    return names


class MilExecutor:
    def __init__(self, program: Program, registry: dict):
        self.program = program
        self.registry = registry
        missing: dict[str, list[str]] = {}
        for op in program.all_ops():
            if op.type not in registry:
                missing.setdefault(op.type, []).append(op.name)
        if missing:
            raise UnsupportedOpError(missing)
        self._const_cache: dict[tuple[str, bool], object] = {}
        self._fp32_ops: frozenset[str] = frozenset()
        self._kept: set[str] = set()
        self._types = {name: t for op in program.all_ops() for name, t in op.outputs}
        self._types.update(program.inputs)
        self._dead: dict[int, list[tuple[str, ...]]] = {}  # id(block) -> names last read by each op
        self._fusions: dict[int, dict[int, str]] = {}  # id(block) -> {index of a conv: activation after it}
        # Values fixed for the program's life: const and constexpr (decompressed once) outputs.
        self._const_names = {name for op in program.all_ops() if op.type == "const" or op.type.startswith("constexpr_")
                             for name, _ in op.outputs}
        self._const_keys: dict[int, frozenset[str]] = {}  # id(op) -> its inputs made of constants only
        self._op_caches: dict[int, dict] = {}  # id(op) -> what the op derived from its constants

    def _context(self, op: Op, values: dict, runner, then: str | None = None) -> OpContext:
        key = id(op)
        if key not in self._const_keys:
            self._const_keys[key] = frozenset(k for k, args in op.inputs.items()
                                              if all(a.name is None or a.name in self._const_names for a in args))
        return OpContext(op, values, runner, self._const_keys[key], self._op_caches.setdefault(key, {}), then)

    def _fusable(self, block: Block) -> dict[int, str]:
        """{i: activation} where op i is a conv whose fp32 output only the activation op i + 1 reads."""
        key = id(block)
        if key not in self._fusions:
            readers: dict[str, int] = {}
            for op in block.ops:
                for name in _names_read(op):
                    readers[name] = readers.get(name, 0) + 1
            found = {}
            for i, (op, nxt) in enumerate(zip(block.ops, block.ops[1:])):
                if op.type != "conv" or nxt.type not in FUSABLE_ACTIVATIONS or len(op.outputs) != 1:
                    continue
                name, t = op.outputs[0]
                x = nxt.inputs.get("x") or []
                if (len(x) == 1 and x[0].name == name and readers.get(name) == 1 and name not in block.outputs
                        and isinstance(t, TensorType) and nxt.outputs[0][1] == t):
                    found[i] = nxt.type
            self._fusions[key] = found
        return self._fusions[key]

    def _dead_after(self, block: Block) -> list[tuple[str, ...]]:
        """Per op of ``block``: the values it reads for the last time, freed once it ran so the
        allocator reuses their (cache-warm) memory instead of growing the run's footprint."""
        key = id(block)
        if key not in self._dead:
            last: dict[str, int] = {}
            for i, op in enumerate(block.ops):
                for name in _names_read(op):
                    last[name] = i
            dead: list[list[str]] = [[] for _ in block.ops]
            for name, i in last.items():
                if name not in block.outputs:
                    dead[i].append(name)
            self._dead[key] = [tuple(d) for d in dead]
        return self._dead[key]

    def op_types(self) -> set[str]:
        return {op.type for op in self.program.all_ops()}

    def run(self, feeds: dict, *, fp32: bool = False, trace: list | None = None,
            fp32_ops: frozenset[str] = frozenset()) -> dict:
        env: dict[str, object] = {}
        self._fp32_ops = frozenset(fp32_ops) if not fp32 else frozenset()
        self._kept: set[str] = set()
        for name, t in self.program.inputs.items():
            if name not in feeds:
                raise InputError(f"missing input {name!r} (program inputs: {sorted(self.program.inputs)})")
            arr = np.asarray(feeds[name])
            if t.shape is not None and None not in t.shape and arr.shape != t.shape:
                # Only unit dims may differ (e.g. [3] for [1, 3]); anything else would reinterpret data.
                if tuple(d for d in arr.shape if d != 1) != tuple(d for d in t.shape if d != 1):
                    raise InputError(f"input {name!r}: shape {arr.shape}, model expects {t.shape}")
                arr = arr.reshape(t.shape)
            env[name] = conform(arr, t, fp32)
        keep_freed_memory()
        with kernel_threads():
            self._run_block(self.program.block, env, fp32, trace)
        outs = {}
        for name in self.program.block.outputs:
            value = env[name]
            if name in self._kept:  # kept in fp32 by fp32_ops; the declared output is fp16
                value = round_to_fp16(value)
            value = _declared(value, self._types.get(name)) if not fp32 else value
            # Kernels may leave activations channels-last (strided views): hand back plain C-order arrays.
            if isinstance(value, np.ndarray) and not value.flags.c_contiguous:  # (0-d arrays always are)
                value = np.ascontiguousarray(value)
            outs[name] = value
        return outs

    def _cast_kept(self, op: Op, values: dict) -> dict:
        """An fp16 op reads fp32-kept values through a cast to fp16."""
        if not any(isinstance(t, TensorType) and t.dtype == "fp16" for _, t in op.outputs):
            return values
        out = {}
        for key, args in op.inputs.items():
            out[key] = [round_to_fp16(v) if a.name in self._kept else v for a, v in zip(args, values[key])]
        return out

    def _const(self, op: Op, fp32: bool):
        key = (op.outputs[0][0], fp32)
        if key not in self._const_cache:
            self._const_cache[key] = conform(op.inputs["val"][0].value, op.outputs[0][1], fp32, op)
        return self._const_cache[key]

    def _block_runner(self, env: dict, fp32: bool, trace: list | None):
        def run(block: Block, inputs: list) -> list:
            scope = dict(env)  # nested blocks see the enclosing values
            for (name, t), value in zip(block.inputs, inputs):
                scope[name] = conform(value, t, fp32)
            self._run_block(block, scope, fp32, trace)
            return [scope[name] for name in block.outputs]

        return run

    def _run_block(self, block: Block, env: dict, fp32: bool, trace: list | None):
        tick = progress.ticker(len(block.ops), "ops") if block is self.program.block else None
        dead_before: tuple[str, ...] = ()
        # Fusion skips the activation's own output (a trace shows every op) and its fp16 rounding of
        # the conv's output: only for fp32 values, and not while replaying some op types in fp32.
        fusions = self._fusable(block) if trace is None and not self._fp32_ops else {}
        fused_into: Op | None = None  # the activation the previous op applied
        for i, (op, dead) in enumerate(zip(block.ops, self._dead_after(block))):
            if tick is not None:
                tick()
            for name in dead_before:  # read for the last time by the previous op
                env.pop(name, None)
            dead_before = dead
            if fused_into is op:
                fused_into = None
                continue
            if op.type == "const":
                env[op.outputs[0][0]] = self._const(op, fp32)
                continue
            cache_key = (op.outputs[0][0], fp32) if op.type.startswith("constexpr_") else None
            if cache_key in self._const_cache:  # compressed weights: decompressed once per precision
                for (name, _), value in zip(op.outputs, self._const_cache[cache_key]):
                    env[name] = value
                continue
            values = {k: [env[a.name] if a.name is not None else a.value for a in args] for k, args in op.inputs.items()}
            keep = op.type in self._fp32_ops
            if self._kept and not keep:
                values = self._cast_kept(op, values)
            then = fusions.get(i)
            if then is not None and not fp32 and op.outputs[0][1].dtype != "fp32":
                then = None  # an fp16 program rounds the conv's output before the activation
            try:
                runner = self._block_runner(env, fp32, trace) if op.blocks else None
                result = self.registry[op.type](self._context(op, values, runner, then))
            except CoreMLReferenceError:
                raise
            except Exception as exc:
                raise OpExecutionError(op.type, op.name, exc) from exc
            results = (result,) if len(op.outputs) == 1 else tuple(result)
            if len(results) != len(op.outputs):
                raise CoreMLReferenceError(f"{op.type} op {op.name!r}: {len(results)} results for {len(op.outputs)} outputs")
            outputs = op.outputs
            if then is not None:  # the result is the activation's: stored under its name
                fused_into = block.ops[i + 1]
                outputs = fused_into.outputs
            conformed = []
            for (name, t), r in zip(outputs, results):
                env[name] = conform(r, t, fp32 or keep, op)
                if keep and isinstance(t, TensorType) and t.dtype == "fp16":
                    self._kept.add(name)
                conformed.append(env[name])
            if cache_key is not None:
                self._const_cache[cache_key] = tuple(conformed)
            if trace is not None and not op.type.startswith("constexpr_"):
                dtypes = tuple(("fp32" if (fp32 or keep) and t.dtype == "fp16" else t.dtype) if isinstance(t, TensorType)
                               else t.kind for _, t in op.outputs)
                outs = tuple(v if fp32 or keep else _declared(v, t) for v, (_, t) in zip(conformed, op.outputs))
                trace.append(TraceEntry(op.name, op.type, dtypes, outs))
