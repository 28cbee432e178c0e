"""Offline work: features, heads, calibration, evaluation, ONNX export and MLflow tracking."""
