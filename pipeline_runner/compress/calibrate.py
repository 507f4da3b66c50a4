"""Activation statistics for W8A8 from the reference executor.

``coremltools.optimize.coreml.linear_quantize_activations`` gathers each intermediate tensor's
range by running the model with the Core ML runtime (its ``ModelDebugger`` adds the tensors as
outputs and calls ``predict``), which does not exist on Linux. Everything else it does (range
bookkeeping, the concat adjustment, inserting quantize/dequantize pairs) we leave to it: only
the one method that runs the model is swapped for the NumPy reference executor, in fp32 as the
runtime's CPU path computes.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from unittest import mock


@contextmanager
def reference_calibration(model_path: Path):
    from coremltools.optimize.coreml.experimental._model_debugger import ModelDebugger

    from pipeline_runner.coreml_reference import load_model

    reference = load_model(model_path)
    output_names = {}
    for op in reference.program.all_ops():
        output_names[op.name] = [name for name, _ in op.outputs]

    def predict_intermediate_outputs(self, inputs, intermediate_output_names, compute_units=None):
        feeds = {k: v for k, v in inputs.items() if k in reference.input_names}
        values = {}
        for entry in reference.trace(feeds, fp32=True):
            values.update(zip(output_names.get(entry.name, ()), entry.outputs))
        wanted = set(intermediate_output_names) | set(reference.output_names)
        return {name: value for name, value in values.items() if name in wanted and hasattr(value, "flatten")}

    with mock.patch.object(ModelDebugger, "predict_intermediate_outputs", predict_intermediate_outputs):
        yield
