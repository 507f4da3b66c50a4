import Foundation

/// Errors from loading or using ``LabelEmbeddings``.
public enum LabelEmbeddingsError: Error, LocalizedError, Equatable {
    /// The file has a different number of labels and embeddings.
    case countMismatch(labels: Int, embeddings: Int)
    /// An embedding's length differs from the others' (or from the query's).
    case dimensionMismatch(expected: Int, actual: Int)
    /// An embedding has no values.
    case emptyEmbedding(label: String)
    /// `logit_scale` is not a finite number.
    case invalidLogitScale(Float)
    /// There is nothing to classify against.
    case noLabels

    public var errorDescription: String? {
        switch self {
        case let .countMismatch(labels, embeddings):
            return "Label embeddings: \(labels) labels but \(embeddings) embeddings"
        case let .dimensionMismatch(expected, actual):
            return "Label embeddings: an embedding has \(actual) values, expected \(expected)"
        case let .emptyEmbedding(label):
            return "Label embeddings: the embedding of \"\(label)\" is empty"
        case let .invalidLogitScale(scale):
            return "Label embeddings: logit_scale \(scale) is not finite"
        case .noLabels:
            return "Label embeddings: there are no labels to classify against"
        }
    }
}

/// Text embeddings of class prompts for zero-shot classification (CLIP, MobileCLIP).
///
/// JSON form: `{"labels": [String], "embeddings": [[Float]], "logit_scale": Float}`, where
/// `logit_scale` is the multiplier applied to cosine similarities (already exponentiated,
/// e.g. 100 for CLIP). Decoding checks that counts and dimensions agree.
public struct LabelEmbeddings: Codable, Sendable, Equatable {
    /// The labels, in the order of ``embeddings``.
    public private(set) var labels: [String]
    /// One text embedding per label, all of the same length.
    public private(set) var embeddings: [[Float]]
    /// The multiplier applied to cosine similarities before the softmax.
    public private(set) var logitScale: Float

    private enum CodingKeys: String, CodingKey {
        case labels
        case embeddings
        case logitScale = "logit_scale"
    }

    /// - Throws: ``LabelEmbeddingsError`` when counts or dimensions disagree.
    public init(labels: [String] = [], embeddings: [[Float]] = [], logitScale: Float = 100) throws {
        try Self.validate(labels: labels, embeddings: embeddings, logitScale: logitScale)
        self.labels = labels
        self.embeddings = embeddings
        self.logitScale = logitScale
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            labels: container.decode([String].self, forKey: .labels),
            embeddings: container.decode([[Float]].self, forKey: .embeddings),
            logitScale: container.decode(Float.self, forKey: .logitScale)
        )
    }

    /// Reads and checks a label-embedding JSON file.
    public init(contentsOf url: URL) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(contentsOf: url))
    }

    /// The length of every embedding, or `nil` while there are none.
    public var dimension: Int? { embeddings.first?.count }

    /// Adds a label, for example one a user typed, with its text embedding.
    ///
    /// - Throws: ``LabelEmbeddingsError/dimensionMismatch(expected:actual:)`` for a wrong length.
    public mutating func append(label: String, embedding: [Float]) throws {
        try Self.validate(labels: labels + [label], embeddings: embeddings + [embedding], logitScale: logitScale)
        labels.append(label)
        embeddings.append(embedding)
    }

    /// Removes every label and embedding.
    public mutating func removeAll() {
        labels.removeAll()
        embeddings.removeAll()
    }

    /// Zero-shot classification: `softmax(logitScale × cosine(image, label))` over the labels, top `k`.
    ///
    /// - Throws: ``LabelEmbeddingsError/noLabels`` or ``LabelEmbeddingsError/dimensionMismatch(expected:actual:)``.
    public func classify(imageEmbedding: [Float], topK k: Int = 5) throws -> [Prediction] {
        guard let dimension = dimension else {
            throw LabelEmbeddingsError.noLabels
        }
        guard imageEmbedding.count == dimension else {
            throw LabelEmbeddingsError.dimensionMismatch(expected: dimension, actual: imageEmbedding.count)
        }
        return zeroShotClassify(imageEmbedding: imageEmbedding, labels: labels, labelEmbeddings: embeddings,
                                logitScale: logitScale, topK: k)
    }

    private static func validate(labels: [String], embeddings: [[Float]], logitScale: Float) throws {
        guard labels.count == embeddings.count else {
            throw LabelEmbeddingsError.countMismatch(labels: labels.count, embeddings: embeddings.count)
        }
        guard logitScale.isFinite else {
            throw LabelEmbeddingsError.invalidLogitScale(logitScale)
        }
        guard let expected = embeddings.first?.count else {
            return
        }
        for (label, embedding) in zip(labels, embeddings) {
            guard !embedding.isEmpty else {
                throw LabelEmbeddingsError.emptyEmbedding(label: label)
            }
            guard embedding.count == expected else {
                throw LabelEmbeddingsError.dimensionMismatch(expected: expected, actual: embedding.count)
            }
        }
    }
}

/// Zero-shot classification of one image embedding against label embeddings.
///
/// - Precondition: `labels` and `labelEmbeddings` are equally long and every embedding is as
///   long as `imageEmbedding` (``LabelEmbeddings/classify(imageEmbedding:topK:)`` checks this).
/// - Returns: at most `k` predictions, most probable first.
public func zeroShotClassify(
    imageEmbedding: [Float], labels: [String], labelEmbeddings: [[Float]], logitScale: Float, topK k: Int
) -> [Prediction] {
    let logits = labelEmbeddings.map { logitScale * cosineSimilarity(imageEmbedding, $0) }
    return topK(softmax(logits), k: k).map { Prediction(label: labels[$0.index], confidence: $0.value) }
}
