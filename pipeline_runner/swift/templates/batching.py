"""Swift templates for batched and variable-length calls (Core ML ``predictions(fromBatch:)``).

A Core ML image input has no batch axis: several pictures go through the runtime's batch
API, which schedules them together and is faster per picture than one prediction each.
Vision has no batch request, so batched calls feed the model directly: each ``CGImage``
becomes an ``MLFeatureValue`` scaled as the recipe's ``resize`` says (the same
``VNImageCropAndScaleOption`` the single-picture calls give Vision).
"""

# Nested in wrappers with an image input (needs `imageInputName`, `imageCropAndScaleOption`, the error type).
BATCH_RUNNER = '''\
/// `images` as the model's image input, scaled with ``imageCropAndScaleOption``.
private static func imageFeatures(_ images: [CGImage], for model: MLModel, inputName: String) throws -> [MLFeatureProvider] {
    guard let constraint = model.modelDescription.inputDescriptionsByName[inputName]?.imageConstraint else {
        throw {{class_name}}Error.unexpectedOutput("the model has no image input '\\(inputName)'")
    }
    let options: [MLFeatureValue.ImageOption: Any] = [.cropAndScale: imageCropAndScaleOption.rawValue]
    return try images.map { image in
        let value = try MLFeatureValue(cgImage: image, constraint: constraint, options: options)
        return try MLDictionaryFeatureProvider(dictionary: [inputName: value])
    }
}

/// One Core ML batch prediction (`predictions(fromBatch:)`, which blocks) on a background queue.
private static func batchPredictions(_ model: MLModel, _ inputs: [MLFeatureProvider]) async throws -> [MLFeatureProvider] {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            do {
                let batch = try model.predictions(fromBatch: MLArrayBatchProvider(array: inputs))
                continuation.resume(returning: (0..<batch.count).map { batch.features(at: $0) })
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

/// The multi-array output `name` of one prediction as Floats.
private static func floats(named name: String, in features: MLFeatureProvider) throws -> [Float] {
    guard let array = features.featureValue(for: name)?.multiArrayValue else {
        throw {{class_name}}Error.unexpectedOutput("no multi-array output '\\(name)'")
    }
    return MLShapedArray<Float>(converting: array).scalars
}
'''

IMAGE_BATCH_CLASSIFY = '''\
/// Classifies several pictures in one Core ML batch (`MLModel.predictions(fromBatch:)`), which is
/// faster per picture than classifying them one by one. Pictures are scaled with ``imageCropAndScaleOption``.
///
/// - Returns: one list of at most `topK` predictions per picture, in the order of `images`.
public func classify(_ images: [CGImage], topK: Int = 5) async throws -> [[Prediction]] {
    guard topK > 0 else {
        throw {{class_name}}Error.invalidArgument("topK must be at least 1, got \\(topK)")
    }
    guard !images.isEmpty else {
        return []
    }
    let model = try await imageLoader.model()
    let inputs = try Self.imageFeatures(images, for: model, inputName: Self.inputName)
    return try await Self.batchPredictions(model, inputs).map { try Self.predictions(from: $0, topK: topK) }
}
'''

# Batch results of a Core ML classifier: the probabilities dictionary output.
BATCH_CLASSIFIER_PREDICTIONS = '''\
/// One batch result of the classifier: its ``predictedProbabilitiesName`` dictionary, top `topK`.
private static func predictions(from features: MLFeatureProvider, topK: Int) throws -> [Prediction] {
    guard let probabilities = features.featureValue(for: predictedProbabilitiesName)?.dictionaryValue else {
        throw {{class_name}}Error.unexpectedOutput("no probabilities output '\\(predictedProbabilitiesName)'")
    }
    return probabilities
        .map { Prediction(label: "\\($0.key)", confidence: $0.value.floatValue) }
        .sorted { $0.confidence > $1.confidence }
        .prefix(topK)
        .map { $0 }
}
'''

# Batch results of a score model: the same softmax / top-k as the Vision path.
BATCH_SCORES_PREDICTIONS = '''\
/// One batch result: the ``outputName`` scores, {{score_note}}, top `topK` with ``classLabels``.
private static func predictions(from features: MLFeatureProvider, topK: Int) throws -> [Prediction] {
    let scores = try floats(named: outputName, in: features)
    guard scores.count == classLabels.count else {
        throw {{class_name}}Error.unexpectedOutput("\\(scores.count) scores for \\(classLabels.count) labels")
    }
    let probabilities = {{probabilities_expression}}
    return Self.topK(probabilities, k: topK).map { Prediction(label: classLabels[$0.index], confidence: $0.value) }
}
'''

EMBED_BATCH = '''\
/// L2-normalised embeddings of several pictures in one Core ML batch (`predictions(fromBatch:)`),
/// faster per picture than ``embed(image:)`` one by one; scaled with ``imageCropAndScaleOption``.
public func embed(images: [CGImage]) async throws -> [[Float]] {
    guard !images.isEmpty else {
        return []
    }
    let model = try await imageLoader.model()
    let inputs = try Self.imageFeatures(images, for: model, inputName: Self.inputName)
    return try await Self.batchPredictions(model, inputs).map { try Self.normalized(Self.floats(named: Self.outputName, in: $0)) }
}

/// L2-normalised embeddings of several texts (e.g. labels), each tokenised to ``textSequenceLength`` tokens.
///
/// The text encoder takes ``textBatchSizes`` texts per call{{function_note}}: the texts go in chunks of
/// the largest size, the last chunk to the smallest size that holds it (filled up with its last text,
/// whose extra results are dropped), and the chunks of each size in one Core ML batch (`predictions(fromBatch:)`).
public func embed(texts: [String]) async throws -> [[Float]] {
    guard !texts.isEmpty else {
        return []
    }
    let tokenizer = try currentTokenizer()
    let rows: [[Int32]] = try texts.map { text in
        let tokenIDs = try tokenizer.encode(text, contextLength: Self.textSequenceLength)
        guard tokenIDs.count == Self.textSequenceLength else {
            throw {{class_name}}Error.wrongSequenceLength(expected: Self.textSequenceLength, actual: tokenIDs.count)
        }
        return tokenIDs
    }
    let largest = Self.textBatchSizes[Self.textBatchSizes.count - 1]
    var chunksBySize: [Int: [(start: Int, count: Int)]] = [:]
    for start in stride(from: 0, to: rows.count, by: largest) {
        let count = min(largest, rows.count - start)
        let index = Self.textBatchSizes.firstIndex(where: { $0 >= count }) ?? Self.textBatchSizes.count - 1
        chunksBySize[index, default: []].append((start: start, count: count))
    }
    var embeddings = [[Float]](repeating: [], count: rows.count)
    for (index, chunks) in chunksBySize {
        let size = Self.textBatchSizes[index]
        let model = try await textLoaders[index].model()
        var shape = Self.textInputShape
        shape[0] = size
        let inputs: [MLFeatureProvider] = try chunks.map { chunk in
            var batch = Array(rows[chunk.start..<(chunk.start + chunk.count)])
            batch += Array(repeating: batch[batch.count - 1], count: size - chunk.count)
            {{text_batch_input}}
            return try MLDictionaryFeatureProvider(dictionary: [Self.textInputName: MLFeatureValue(shapedArray: input)])
        }
        let outputs = try await Self.batchPredictions(model, inputs)
        for (chunk, output) in zip(chunks, outputs) {
            let scalars = try Self.floats(named: Self.textOutputName, in: output)
            for row in 0..<chunk.count {
                let values = scalars[(row * Self.embeddingDimension)..<((row + 1) * Self.embeddingDimension)]
                embeddings[chunk.start + row] = try Self.normalized(Array(values))
            }
        }
    }
    return embeddings
}

/// Adds several labels at once, their prompts embedded in one batch (see ``addLabel(_:template:)``).
public func addLabels(_ labels: [String], template: String = "a photo of a {}.") async throws {
    guard template.contains("{}") else {
        throw {{class_name}}Error.invalidArgument("template '\\(template)' has no {} placeholder")
    }
    _ = try currentLabels()
    let embeddings = try await embed(texts: labels.map { template.replacingOccurrences(of: "{}", with: $0) })
    for (label, embedding) in zip(labels, embeddings) {
        appendLabel(label, embedding: embedding)
    }
}
'''

# The token model: the shortest allowed length that fits, padded only up to it.
TOKEN_LOGITS = '''\
/// Runs the model on 1 to ``maximumSequenceLength`` token ids.
///
/// The model takes the lengths in ``sequenceLengths``{{function_note}}: the ids go to the
/// shortest of those that fits, padded with ``padTokenID`` only up to that length (a 3-token
/// input runs at {{shortest}} tokens, not {{longest}}).
///
/// - Returns: the ``outputName`` output for the padded sequence, shaped like ``outputShape`` with the
///   sequence axis at the chosen length; positions from `tokenIDs.count` on belong to the padding.
/// - Throws: ``{{class_name}}Error/wrongSequenceLength(expected:actual:)`` for an empty or too long input.
public func logits(for tokenIDs: [Int32]) async throws -> MLShapedArray<Float> {
    guard !tokenIDs.isEmpty, let index = Self.sequenceLengths.firstIndex(where: { $0 >= tokenIDs.count }) else {
        throw {{class_name}}Error.wrongSequenceLength(expected: Self.maximumSequenceLength, actual: tokenIDs.count)
    }
    let length = Self.sequenceLengths[index]
    let padded = tokenIDs + Array(repeating: Self.padTokenID, count: length - tokenIDs.count)
    var shape = Self.inputShape
    shape[shape.count - 1] = length
    let model = try await loaders[index].model()
    {{input_array}}
    let features = try MLDictionaryFeatureProvider(dictionary: [Self.inputName: MLFeatureValue(shapedArray: input)])
    let output = try await model.prediction(from: features)
    guard let array = output.featureValue(for: Self.outputName)?.multiArrayValue else {
        throw {{class_name}}Error.unexpectedOutput("no multi-array output '\\(Self.outputName)'")
    }
    return MLShapedArray<Float>(converting: array)
}
'''
