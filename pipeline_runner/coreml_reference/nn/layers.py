"""All NeuralNetwork layer implementations, merged; a type in two modules is an import-time error."""

from __future__ import annotations

from ..ops import merge_registries
from . import layers_compare, layers_math, layers_recurrent, layers_shape, layers_tensor

REGISTRY, OWNER = merge_registries((layers_compare, layers_math, layers_recurrent, layers_shape, layers_tensor))
