"""Strict JSON for validation reports: no bare NaN/Infinity.

Non-finite floats are written as the strings "NaN", "Infinity" and "-Infinity" (what
JavaScript's ``String(x)`` gives); everything else is plain JSON, dumped with
``allow_nan=False`` so a stray non-finite value is a bug, not an unreadable file.
"""

from __future__ import annotations

import json
import math

import numpy as np


def strict(value):
    """A copy of ``value`` with NumPy scalars made Python and non-finite floats spelled out."""
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if isinstance(value, np.ndarray):
        return strict(value.tolist())
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return x
    return value


def dumps(value) -> str:
    return json.dumps(strict(value), indent=2, sort_keys=True, allow_nan=False) + "\n"
