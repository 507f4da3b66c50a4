"""Validation: PyTorch vs ONNX Runtime vs Core ML, and the structure of saved models."""
