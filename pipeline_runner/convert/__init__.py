"""ONNX → Core ML: onnx2coreml builds the MIL program, coremltools serialises it."""
