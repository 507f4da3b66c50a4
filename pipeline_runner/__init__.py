"""pipeline_runner: YAML recipes → ONNX, Core ML and Swift."""
