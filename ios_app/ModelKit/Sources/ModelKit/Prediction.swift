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
