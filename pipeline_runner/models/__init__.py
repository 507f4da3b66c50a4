"""Model sources: where a recipe's PyTorch model comes from (registry in ``registry``)."""
