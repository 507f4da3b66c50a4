"""Helpers the executor's op tests share: closeness in float64, and TensorFlow-style "same" padding."""

from __future__ import annotations

import numpy as np


def close(actual, expected, atol=1e-5, rtol=1e-5):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64), atol=atol, rtol=rtol)


def close_1e4(actual, expected, atol=1e-4, rtol=1e-4):
    """``close`` with the looser default of convolution and pooling tests."""
    close(actual, expected, atol=atol, rtol=rtol)


def tf_same(n, k, s, d, lower=False):
    """(before, after) padding of a "same" (or "same_lower") convolution over ``n`` elements."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return (total - total // 2, total // 2) if lower else (total // 2, total - total // 2)
