"""Small helpers shared by op modules."""

from __future__ import annotations

import os
import warnings

import numpy as np


def torch():
    import torch as _torch

    return _torch


def to_torch(a: np.ndarray):
    """An fp32 tensor sharing ``a``'s memory whatever its layout (a channels-last activation, a
    transposed view): torch's kernels take strided inputs, so no copy is made unless ``a`` is not
    fp32 or has negative strides (which torch cannot represent)."""
    a = np.asarray(a)
    if a.dtype != np.float32 or min(a.strides, default=0) < 0:
        a = np.ascontiguousarray(a, dtype=np.float32)
    if not a.flags.writeable:  # memory-mapped weights, broadcast views; kernels never write their inputs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return torch().from_numpy(a)
    return torch().from_numpy(a)


# Element count from which an fp32 element-wise op or reduction runs on torch's kernels instead of
# NumPy's: on channels-last activations NumPy's broadcasting (x * per-channel scale) and axis
# reductions are ~2x slower; below this the call overhead dominates either way.
TORCH_MIN_SIZE = 1 << 15


def big_fp32(*arrays) -> bool:
    """All operands fp32 arrays and the first one large: worth a torch kernel."""
    return (isinstance(arrays[0], np.ndarray) and arrays[0].size >= TORCH_MIN_SIZE
            and all(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in arrays))


def from_torch(t) -> np.ndarray:
    return t.detach().numpy()


def norm_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"axis {axis} out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def norm_axes(axes, rank: int) -> tuple[int, ...]:
    return tuple(norm_axis(int(a), rank) for a in np.asarray(axes).reshape(-1))


def f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def kernel_thread_count() -> int:
    """Threads for torch kernels during a model run: every CPU when the machine is idle (1-minute
    load average below CPUs - 0.75, our own run included), else one.

    The executor calls many small kernels one after another; when the cores are shared, torch's
    intra-op thread pool costs more in wake-ups than it gains (MobileCLIP-S1 image encoder on 2
    busy cores: ~0.2 s with one thread, 0.7-2.5 s with two). On an idle machine the big kernels
    (convolutions, matmuls) gain from every core, as ONNX Runtime's do.
    ``PIPELINE_RUNNER_KERNEL_THREADS=N`` sets it explicitly.
    """
    from pipeline_runner.machine import idle_cpus

    forced = os.environ.get("PIPELINE_RUNNER_KERNEL_THREADS", "")
    if forced.isdigit() and int(forced) > 0:  # an explicit choice wins
        return int(forced)
    return idle_cpus()


class kernel_threads:
    """Sets torch's intra-op threads to ``kernel_thread_count()`` for a model run, then restores."""

    def __enter__(self):
        import sys

        self._torch = sys.modules.get("torch")  # only touch torch if something already imported it
        self._saved = self._torch.get_num_threads() if self._torch else None
        self._want = kernel_thread_count() if self._torch else None
        if self._saved is not None and self._saved != self._want:
            self._torch.set_num_threads(self._want)
        return self

    def __exit__(self, *exc):
        if self._saved is not None and self._saved != self._want:
            self._torch.set_num_threads(self._saved)
        return False


def matmul(a, b) -> np.ndarray:
    """fp32 matrix product with NumPy broadcasting rules, on torch's kernels: NumPy's matmul on
    stacked (rank > 2) operands does not use BLAS and is ~100x slower for attention shapes."""
    t = torch()
    with t.no_grad():
        return from_torch(t.matmul(to_torch(a), to_torch(b)))


def linear(x, weight, bias=None) -> np.ndarray:
    """x @ weight.T + bias with weight [out, in] (no transposed copy of the weight)."""
    t = torch()
    with t.no_grad():
        return from_torch(t.nn.functional.linear(to_torch(x), to_torch(weight), None if bias is None else to_torch(bias)))
