"""Weight compression of converted Core ML models, variant by variant (the ``compress`` stage).

``variants``: what a recipe variant asks for (pure Python, used by recipe checks and planning);
``apply``: the variant through ``coremltools.optimize.coreml``; ``calibrate``: activation
statistics for W8A8 from the reference executor (coremltools gathers them with the Core ML
runtime, which Linux lacks); ``measure``: size on disk and the ops carrying compressed weights;
``table``: the size/accuracy table and the suggested variant.
"""
