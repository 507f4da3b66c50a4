{% include "wrapper_header.swift" %}

{{ class_doc }}
@available({{ availability }})
public final class {{ class_name }}: ImageClassifying {
    /// One class and its confidence (0...1): ModelKit's type, which the app shows.
    public typealias Prediction = ModelKit.Prediction

    // MARK: - Model interface (from the saved Core ML spec)

    {{ constants | indent(4) }}

    private let loader: ModelLoader
    private let vision: VisionRunner

    /// - Parameters:
    ///   - modelURL: a compiled `.mlmodelc`; `nil` uses `{{ resource_name }}.mlmodelc` from `Bundle.main`.
    ///   - computeUnits: defaults to the recipe's ``defaultComputeUnits``.
    public init(modelURL: URL? = nil, computeUnits: MLComputeUnits = {{ class_name }}.defaultComputeUnits) {
        let loader = ModelLoader(resourceName: {{ class_name }}.modelResourceName, url: modelURL, computeUnits: computeUnits)
        self.loader = loader
        vision = VisionRunner(loader: loader, cropAndScale: {{ class_name }}.imageCropAndScaleOption)
    }

    /// Loads the model now instead of on the first classification.
    public func prepare() async throws {
        try await vision.prepare()
    }

    /// Classifies a picture; Vision scales it with ``imageCropAndScaleOption``.
    ///
    /// - Returns: at most `topK` predictions, most confident first (ties in label order).
    public func classify(_ image: CGImage, topK: Int = 5) async throws -> [Prediction] {
        try await run(.cgImage(image), topK: topK)
    }

    /// Classifies a camera frame.
    ///
    /// - Parameter orientation: how the buffer is rotated relative to upright (`.right` for a portrait back camera).
    public func classify(
        _ pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation = .up, topK: Int = 5
    ) async throws -> [Prediction] {
        try await run(.pixelBuffer(pixelBuffer, orientation: orientation), topK: topK)
    }

    /// Classifies several pictures in one Core ML batch (`MLModel.predictions(fromBatch:)`), which is
    /// faster per picture than classifying them one by one. Vision has no batch request, so the
    /// pictures go to the model directly, scaled with ``imageCropAndScaleOption``.
    ///
    /// - Returns: one list of at most `topK` predictions per picture, in the order of `images`.
    public func classify(_ images: [CGImage], topK: Int = 5) async throws -> [[Prediction]] {
        guard topK > 0 else {
            throw ModelRuntimeError.invalidArgument("{{ class_name }}: topK must be at least 1, got \(topK)")
        }
        guard !images.isEmpty else {
            return []
        }
        let model = try await loader.model()
        let inputs = try BatchPredictions.imageInputs(
            images, for: model, inputName: Self.inputName, cropAndScale: Self.imageCropAndScaleOption)
        return try await BatchPredictions.run(model, inputs).map { try Self.predictions(from: $0, topK: topK) }
    }

    private func run(_ image: VisionImage, topK: Int) async throws -> [Prediction] {
        guard topK > 0 else {
            throw ModelRuntimeError.invalidArgument("{{ class_name }}: topK must be at least 1, got \(topK)")
        }
        return try await vision.run(image) { observations in
            try Self.predictions(from: observations, topK: topK)
        }
    }
{% if is_classifier %}

    /// The model is a Core ML classifier: Vision returns one observation per label.
    private static func predictions(from observations: [VNObservation], topK: Int) throws -> [Prediction] {
        try VisionResults.topClassifications(observations, k: topK)
    }

    /// One batch result of the classifier: its ``predictedProbabilitiesName`` dictionary, top `topK`.
    private static func predictions(from features: MLFeatureProvider, topK: Int) throws -> [Prediction] {
        let probabilities = try BatchPredictions.classProbabilities(
            named: predictedProbabilitiesName, in: features, labels: classLabels)
        return topPredictions(probabilities, labels: classLabels, k: topK)
    }
{% else %}

    /// The model outputs {{ score_kind }}: {{ "used as they are" if is_probabilities else "softmax here" }}, then the top `topK` with ``classLabels``.
    private static func predictions(from observations: [VNObservation], topK: Int) throws -> [Prediction] {
        let scores = try MultiArrays.floats(VisionResults.multiArray(named: outputName, in: observations))
        guard scores.count == classLabels.count else {
            throw ModelRuntimeError.unexpectedOutput("{{ class_name }}: \(scores.count) scores for \(classLabels.count) labels")
        }
        return topPredictions({{ "scores" if is_probabilities else "softmax(scores)" }}, labels: classLabels, k: topK)
    }

    /// One batch result: the ``outputName`` scores, {{ "used as they are" if is_probabilities else "softmax here" }}, top `topK` with ``classLabels``.
    private static func predictions(from features: MLFeatureProvider, topK: Int) throws -> [Prediction] {
        let scores = try MultiArrays.floats(MultiArrays.output(named: outputName, in: features))
        guard scores.count == classLabels.count else {
            throw ModelRuntimeError.unexpectedOutput("{{ class_name }}: \(scores.count) scores for \(classLabels.count) labels")
        }
        return topPredictions({{ "scores" if is_probabilities else "softmax(scores)" }}, labels: classLabels, k: topK)
    }
{% endif %}
}
