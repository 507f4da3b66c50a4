{% include "wrapper_header.swift" %}

{% set length_error_doc = "The token sequence does not have the text encoder's fixed length." %}
{% include "sequence_length_error.swift" %}

{{ class_doc }}
@available({{ availability }})
public final class {{ class_name }}: ImageTextEmbedding, @unchecked Sendable {
    /// One label and its zero-shot probability (0...1): ModelKit's type, which the app shows.
    public typealias Prediction = ModelKit.Prediction

    // MARK: - Model interface (from the saved Core ML specs)

    {{ constants | indent(4) }}

    private let imageLoader: ModelLoader
    private let vision: VisionRunner
    /// One text-encoder loader per entry of ``textBatchSizes`` (the function of that batch size).
    private let textLoaders: [ModelLoader]
    private let labelsURL: URL?
    private let vocabularyURL: URL?
    private let mergesURL: URL?
    /// Guards `labelEmbeddings` and `tokenizer` (hence `@unchecked Sendable`).
    private let lock = NSLock()
    private var labelEmbeddings: LabelEmbeddings?
    private var tokenizer: CLIPTokenizer?

    /// - Parameters:
    ///   - imageModelURL: compiled image encoder; `nil` uses `{{ resource_name }}.mlmodelc` from `Bundle.main`.
    ///   - textModelURL: compiled text encoder; `nil` uses `{{ text_resource_name }}.mlmodelc` from `Bundle.main`.
    ///   - labelsURL: label-embedding JSON; `nil` uses ``labelsResource`` from `Bundle.main`.
    ///   - vocabularyURL: tokenizer vocabulary; `nil` uses ``vocabularyResource`` from `Bundle.main`.
    ///   - mergesURL: tokenizer BPE merges; `nil` uses ``mergesResource`` from `Bundle.main`.
    ///   - computeUnits: defaults to the recipe's ``defaultComputeUnits``.
    public init(
        imageModelURL: URL? = nil,
        textModelURL: URL? = nil,
        labelsURL: URL? = nil,
        vocabularyURL: URL? = nil,
        mergesURL: URL? = nil,
        computeUnits: MLComputeUnits = {{ class_name }}.defaultComputeUnits
    ) {
        let imageLoader = ModelLoader(resourceName: {{ class_name }}.modelResourceName, url: imageModelURL, computeUnits: computeUnits)
        self.imageLoader = imageLoader
        vision = VisionRunner(loader: imageLoader, cropAndScale: {{ class_name }}.imageCropAndScaleOption)
        textLoaders = {{ class_name }}.textFunctionNames.map {
            ModelLoader(
                resourceName: {{ class_name }}.textModelResourceName, url: textModelURL, computeUnits: computeUnits, functionName: $0)
        }
        self.labelsURL = labelsURL
        self.vocabularyURL = vocabularyURL
        self.mergesURL = mergesURL
    }

    // MARK: - Embeddings

    /// The L2-normalised embedding of a picture (Vision scales it with ``imageCropAndScaleOption``).
    public func embed(image: CGImage) async throws -> [Float] {
        try await embed(.cgImage(image))
    }

    /// The L2-normalised embedding of a camera frame, scaled by Vision straight from the buffer.
    ///
    /// - Parameter orientation: how the buffer is rotated relative to upright (`.right` for a portrait back camera).
    public func embed(pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation = .up) async throws -> [Float] {
        try await embed(.pixelBuffer(pixelBuffer, orientation: orientation))
    }

    private func embed(_ image: VisionImage) async throws -> [Float] {
        try await vision.run(image) { observations in
            try Self.normalized(MultiArrays.floats(VisionResults.multiArray(named: Self.outputName, in: observations)))
        }
    }

    /// The L2-normalised embedding of a text, tokenised with `CLIPTokenizer` to ``textSequenceLength`` tokens
    /// (a batch of one, see ``embed(texts:)``).
    public func embed(text: String) async throws -> [Float] {
        let embeddings = try await embed(texts: [text])
        guard let embedding = embeddings.first else {
            throw ModelRuntimeError.unexpectedOutput("{{ class_name }}: no embedding for the text")
        }
        return embedding
    }

    /// L2-normalised embeddings of several pictures in one Core ML batch (`predictions(fromBatch:)`),
    /// faster per picture than ``embed(image:)`` one by one. Vision has no batch request, so the
    /// pictures go to the model directly, scaled with ``imageCropAndScaleOption``.
    public func embed(images: [CGImage]) async throws -> [[Float]] {
        guard !images.isEmpty else {
            return []
        }
        let model = try await imageLoader.model()
        let inputs = try BatchPredictions.imageInputs(
            images, for: model, inputName: Self.inputName, cropAndScale: Self.imageCropAndScaleOption)
        return try await BatchPredictions.run(model, inputs).map {
            try Self.normalized(MultiArrays.floats(MultiArrays.output(named: Self.outputName, in: $0)))
        }
    }

    /// L2-normalised embeddings of several texts (e.g. label prompts), each tokenised to ``textSequenceLength`` tokens.
    ///
    /// The text encoder takes ``textBatchSizes`` texts per call{{ function_note }}: the texts go in chunks of
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
                throw {{ class_name }}Error.wrongSequenceLength(expected: Self.textSequenceLength, actual: tokenIDs.count)
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
                let input = try MultiArrays.array(batch.flatMap { $0 }, shape: shape, dataType: Self.textInputDataType)
                return try MLDictionaryFeatureProvider(dictionary: [Self.textInputName: MLFeatureValue(multiArray: input)])
            }
            let outputs = try await BatchPredictions.run(model, inputs)
            for (chunk, output) in zip(chunks, outputs) {
                let scalars = try MultiArrays.floats(MultiArrays.output(named: Self.textOutputName, in: output))
                guard scalars.count == size * Self.embeddingDimension else {
                    throw ModelRuntimeError.unexpectedOutput(
                        "{{ class_name }}: \(scalars.count) text-embedding values for a batch of \(size)")
                }
                for row in 0..<chunk.count {
                    let values = scalars[(row * Self.embeddingDimension)..<((row + 1) * Self.embeddingDimension)]
                    embeddings[chunk.start + row] = try Self.normalized(Array(values))
                }
            }
        }
        return embeddings
    }

    // MARK: - Zero-shot classification

    /// Classifies a picture against the labels (shipped ones plus those added with ``addLabel(_:template:)``).
    ///
    /// Probabilities are `softmax(logitScale * cosine(image, label))` over all labels; ties keep label order.
    public func classify(_ image: CGImage, topK: Int = 5) async throws -> [Prediction] {
        guard topK > 0 else {
            throw ModelRuntimeError.invalidArgument("{{ class_name }}: topK must be at least 1, got \(topK)")
        }
        let labels = try currentLabels()
        let imageEmbedding = try await embed(image: image)
        return try labels.classify(imageEmbedding: imageEmbedding, topK: topK)
    }

    /// The current labels, in order.
    public func labels() throws -> [String] {
        try currentLabels().labels
    }

    /// Adds a label at run time by embedding `template` with `{}` replaced by `label`.
    ///
    /// - Parameter template: a prompt with one `{}`, for example `"a photo of a {}."`.
    public func addLabel(_ label: String, template: String = "a photo of a {}.") async throws {
        guard template.contains("{}") else {
            throw ModelRuntimeError.invalidArgument("{{ class_name }}: template '\(template)' has no {} placeholder")
        }
        _ = try currentLabels()
        let embedding = try await embed(text: template.replacingOccurrences(of: "{}", with: label))
        try appendLabel(label, embedding: embedding)
    }

    /// Adds several labels at once, their prompts embedded in one batch (see ``addLabel(_:template:)``).
    public func addLabels(_ labels: [String], template: String = "a photo of a {}.") async throws {
        guard template.contains("{}") else {
            throw ModelRuntimeError.invalidArgument("{{ class_name }}: template '\(template)' has no {} placeholder")
        }
        _ = try currentLabels()
        let embeddings = try await embed(texts: labels.map { template.replacingOccurrences(of: "{}", with: $0) })
        for (label, embedding) in zip(labels, embeddings) {
            try appendLabel(label, embedding: embedding)
        }
    }

    // MARK: - State

    private func appendLabel(_ label: String, embedding: [Float]) throws {
        lock.lock()
        defer { lock.unlock() }
        try labelEmbeddings?.append(label: label, embedding: embedding)
    }

    /// The labels and their embeddings, read from the label-embedding JSON on first use.
    private func currentLabels() throws -> LabelEmbeddings {
        lock.lock()
        defer { lock.unlock() }
        if let labelEmbeddings {
            return labelEmbeddings
        }
        let loaded = try LabelEmbeddings(contentsOf: labelsURL ?? bundledResource(Self.labelsResource))
        if let dimension = loaded.dimension, dimension != Self.embeddingDimension {
            throw ModelRuntimeError.unexpectedOutput(
                "{{ class_name }}: label embeddings have \(dimension) values, the model \(Self.embeddingDimension)"
            )
        }
        labelEmbeddings = loaded
        return loaded
    }

    /// The tokenizer, created from the vocabulary and merges files on first use.
    private func currentTokenizer() throws -> CLIPTokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let tokenizer {
            return tokenizer
        }
        let made = try CLIPTokenizer(
            vocabularyURL: vocabularyURL ?? bundledResource(Self.vocabularyResource),
            mergesURL: mergesURL ?? bundledResource(Self.mergesResource)
        )
        tokenizer = made
        return made
    }

    /// `vector` scaled to unit length; checks it has ``embeddingDimension`` entries.
    private static func normalized(_ vector: [Float]) throws -> [Float] {
        guard vector.count == embeddingDimension else {
            throw ModelRuntimeError.unexpectedOutput(
                "{{ class_name }}: embedding has \(vector.count) values, expected \(embeddingDimension)"
            )
        }
        return l2Normalized(vector)
    }
}
