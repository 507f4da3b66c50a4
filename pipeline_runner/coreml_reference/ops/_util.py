"""Small helpers shared by op modules."""

from __future__ import annotations

import warnings

import numpy as np


def torch():
    import torch as _torch

    return _torch


def to_torch(a: np.ndarray):
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not a.flags.writeable:  # memory-mapped weights; kernels never write their inputs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return torch().from_numpy(a)
    return torch().from_numpy(a)


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
