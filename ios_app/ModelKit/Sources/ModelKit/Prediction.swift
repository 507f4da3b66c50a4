/// One label and its confidence (a probability in 0...1), as classifiers in the app report it.
public struct Prediction: Sendable, Hashable {
    /// The class or prompt label.
    public let label: String
    /// The probability of `label`.
    public let confidence: Float

    public init(label: String, confidence: Float) {
        self.label = label
        self.confidence = confidence
    }
}

/// The `k` most probable labels, most probable first; ties keep label order and NaN sorts last
/// (``topK(_:k:)``).
///
/// - Precondition: `probabilities` and `labels` are equally long.
public func topPredictions(_ probabilities: [Float], labels: [String], k: Int) -> [Prediction] {
    precondition(probabilities.count == labels.count, "\(probabilities.count) probabilities for \(labels.count) labels")
    return topK(probabilities, k: k).map { Prediction(label: labels[$0.index], confidence: $0.value) }
}
