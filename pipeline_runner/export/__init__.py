"""PyTorch → ONNX."""
