"""Sweep the model zoo through the runner and publish what converts: ``python -m tools.model_sweep``.

Writes a recipe per model on the fly (timm: the smallest model of every family;
torchvision: the smallest model of every classification family; Transformers:
architectures built from tiny configs with random weights), runs each through the
runner in its own process (memory is returned, a crash or timeout is one failed row),
and writes ``docs/model_coverage.md``. Results are kept per model under the work
directory, so an interrupted sweep resumes where it stopped.
"""
