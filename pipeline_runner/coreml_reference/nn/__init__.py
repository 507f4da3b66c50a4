"""NeuralNetwork (.mlmodel) execution: layer implementations and the layer-by-layer engine."""
