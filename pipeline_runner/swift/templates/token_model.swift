{% include "wrapper_header.swift" %}

{% set length_error_doc = "The token sequence is empty or longer than the model's longest length." %}
{% include "sequence_length_error.swift" %}

{{ class_doc }}
@available({{ availability }})
public final class {{ class_name }}: Sendable {
    // MARK: - Model interface (from the saved Core ML spec)

    {{ constants | indent(4) }}

    /// One loader per entry of ``sequenceLengths`` (the function of that length).
    private let loaders: [ModelLoader]

    /// - Parameters:
    ///   - modelURL: a compiled `.mlmodelc`; `nil` uses `{{ resource_name }}.mlmodelc` from `Bundle.main`.
    ///   - computeUnits: defaults to the recipe's ``defaultComputeUnits``.
    public init(modelURL: URL? = nil, computeUnits: MLComputeUnits = {{ class_name }}.defaultComputeUnits) {
        loaders = {{ class_name }}.functionNames.map {
            ModelLoader(resourceName: {{ class_name }}.modelResourceName, url: modelURL, computeUnits: computeUnits, functionName: $0)
        }
    }

    /// Loads the model (every sequence length's function) now instead of on the first prediction.
    public func prepare() async throws {
        for loader in loaders {
            _ = try await loader.model()
        }
    }

{% if shaped_arrays %}
    /// Runs the model on 1 to ``maximumSequenceLength`` token ids (see ``logitsArray(for:)``).
    ///
    /// - Returns: the ``outputName`` output for the padded sequence.
    /// - Throws: ``{{ class_name }}Error/wrongSequenceLength(expected:actual:)`` for an empty or too long input.
    public func logits(for tokenIDs: [Int32]) async throws -> MLShapedArray<Float> {
        let array = try await logitsArray(for: tokenIDs)
        return MLShapedArray<Float>(converting: array)
    }

{% endif %}
    /// Runs the model on 1 to ``maximumSequenceLength`` token ids{{ "" if shaped_arrays else " (iOS " ~ ios_major ~ " has no `MLShapedArray`; read it with `MultiArrays.floats`)" }}.
    ///
    /// The model takes the lengths in ``sequenceLengths``{{ function_note }}: the ids go to the
    /// shortest of those that fits, padded with ``padTokenID`` only up to that length (a 3-token
    /// input runs at {{ shortest }} tokens, not {{ longest }}).
    ///
    /// - Returns: the ``outputName`` output as Core ML returns it for the padded sequence (the
    ///   sequence axis at the chosen length; positions from `tokenIDs.count` on belong to the padding).
    /// - Throws: ``{{ class_name }}Error/wrongSequenceLength(expected:actual:)`` for an empty or too long input.
    public func {{ "logitsArray" if shaped_arrays else "logits" }}(for tokenIDs: [Int32]) async throws -> MLMultiArray {
        guard !tokenIDs.isEmpty, let index = Self.sequenceLengths.firstIndex(where: { $0 >= tokenIDs.count }) else {
            throw {{ class_name }}Error.wrongSequenceLength(expected: Self.maximumSequenceLength, actual: tokenIDs.count)
        }
        let length = Self.sequenceLengths[index]
        let padded = tokenIDs + Array(repeating: Self.padTokenID, count: length - tokenIDs.count)
        var shape = Self.inputShape
        shape[shape.count - 1] = length
        let model = try await loaders[index].model()
        let input = try MultiArrays.array(padded, shape: shape, dataType: Self.inputDataType)
        let features = try MLDictionaryFeatureProvider(dictionary: [Self.inputName: MLFeatureValue(multiArray: input)])
        let output = try await model.predictFeatures(from: features)
        return try MultiArrays.output(named: Self.outputName, in: output)
    }
}
