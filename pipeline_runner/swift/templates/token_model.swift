{% include "wrapper_header.swift" %}

/// Errors thrown by ``{{ class_name }}`` besides ModelKit's ``ModelRuntimeError``.
public enum {{ class_name }}Error: Error, LocalizedError {
    /// The token sequence does not have the model's fixed length.
    case wrongSequenceLength(expected: Int, actual: Int)

    public var errorDescription: String? {
        switch self {
        case let .wrongSequenceLength(expected, actual):
            return "{{ class_name }}: expected \(expected) tokens, got \(actual)"
        }
    }
}

{{ class_doc }}
@available({{ availability }})
public final class {{ class_name }}: Sendable {
    // MARK: - Model interface (from the saved Core ML spec)

    {{ constants | indent(4) }}

    private let loader: ModelLoader

    /// - Parameters:
    ///   - modelURL: a compiled `.mlmodelc`; `nil` uses `{{ resource_name }}.mlmodelc` from `Bundle.main`.
    ///   - computeUnits: defaults to the recipe's ``defaultComputeUnits``.
    public init(modelURL: URL? = nil, computeUnits: MLComputeUnits = {{ class_name }}.defaultComputeUnits) {
        loader = ModelLoader(resourceName: {{ class_name }}.modelResourceName, url: modelURL, computeUnits: computeUnits)
    }

    /// Loads the model now instead of on the first prediction.
    public func prepare() async throws {
        _ = try await loader.model()
    }

{% if shaped_arrays %}
    /// Runs the model on exactly ``sequenceLength`` token ids.
    ///
    /// - Returns: the ``outputName`` output, shaped ``outputShape``.
    /// - Throws: ``{{ class_name }}Error/wrongSequenceLength(expected:actual:)`` for other lengths.
    public func logits(for tokenIDs: [Int32]) async throws -> MLShapedArray<Float> {
        let array = try await logitsArray(for: tokenIDs)
        return MLShapedArray<Float>(converting: array)
    }

{% endif %}
    /// Runs the model on exactly ``sequenceLength`` token ids{{ "" if shaped_arrays else " (iOS " ~ ios_major ~ " has no `MLShapedArray`; read it with `MultiArrays.floats`)" }}.
    ///
    /// - Returns: the ``outputName`` output as Core ML returns it.
    /// - Throws: ``{{ class_name }}Error/wrongSequenceLength(expected:actual:)`` for other lengths.
    public func {{ "logitsArray" if shaped_arrays else "logits" }}(for tokenIDs: [Int32]) async throws -> MLMultiArray {
        guard tokenIDs.count == Self.sequenceLength else {
            throw {{ class_name }}Error.wrongSequenceLength(expected: Self.sequenceLength, actual: tokenIDs.count)
        }
        let model = try await loader.model()
        let input = try MultiArrays.array(tokenIDs, shape: Self.inputShape, dataType: Self.inputDataType)
        let features = try MLDictionaryFeatureProvider(dictionary: [Self.inputName: MLFeatureValue(multiArray: input)])
        let output = try await model.predictFeatures(from: features)
        return try MultiArrays.output(named: Self.outputName, in: output)
    }
}
