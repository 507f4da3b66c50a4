"""A NumPy reference executor for saved Core ML models, so Core ML numerics can be checked on Linux.

    model = load_model("Model.mlpackage")          # or a NeuralNetwork .mlmodel
    model.input_names, model.output_names, model.compute_precision
    outputs = model.predict({"x": array})           # name -> np.ndarray (classifier: label + dict)
    trace = model.trace({"x": array})               # [TraceEntry(name, type, dtypes, outputs), ...]
"""

from .errors import CoreMLReferenceError, InputError, OpExecutionError, UnsupportedOpError
from .executor import TraceEntry
from .model import ReferenceModel, load_model

__all__ = [
    "CoreMLReferenceError",
    "InputError",
    "OpExecutionError",
    "ReferenceModel",
    "TraceEntry",
    "UnsupportedOpError",
    "load_model",
]
