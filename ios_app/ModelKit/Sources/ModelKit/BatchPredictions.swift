#if canImport(CoreML)
import CoreGraphics
import CoreML
import Foundation
import Vision

/// Batched predictions: several inputs through Core ML's `MLModel.predictions(fromBatch:)`.
///
/// A Core ML image input has no batch axis: several pictures go through the runtime's batch
/// API, which schedules them together and is faster per picture than one prediction each.
/// Vision has no batch request, so batched calls feed the model directly: each `CGImage`
/// becomes an `MLFeatureValue` scaled with the same `VNImageCropAndScaleOption` the
/// single-picture calls give Vision.
public enum BatchPredictions {
    /// The inputs and the model cross to the background queue together; `MLModel` predictions are
    /// thread-safe, and the caller does not touch the feature providers after handing them over.
    private struct Batch: @unchecked Sendable {
        let model: MLModel
        let inputs: [MLFeatureProvider]
    }

    /// The outputs, handed back to the calling task (they are read-only feature providers).
    private struct Outputs: @unchecked Sendable {
        let features: [MLFeatureProvider]
    }

    /// `images` as the model's image input `inputName`, scaled with `cropAndScale`.
    ///
    /// - Throws: ``ModelRuntimeError/unexpectedOutput(_:)`` when the model has no such image input.
    public static func imageInputs(
        _ images: [CGImage], for model: MLModel, inputName: String, cropAndScale: VNImageCropAndScaleOption
    ) throws -> [MLFeatureProvider] {
        guard let constraint = model.modelDescription.inputDescriptionsByName[inputName]?.imageConstraint else {
            throw ModelRuntimeError.unexpectedOutput("the model has no image input '\(inputName)'")
        }
        let options: [MLFeatureValue.ImageOption: Any] = [.cropAndScale: cropAndScale.rawValue]
        return try images.map { image in
            let value = try MLFeatureValue(cgImage: image, constraint: constraint, options: options)
            return try MLDictionaryFeatureProvider(dictionary: [inputName: value])
        }
    }

    /// One Core ML batch prediction (`predictions(fromBatch:)`, which blocks) on a background queue.
    ///
    /// - Returns: one output per input, in the order of `inputs`.
    public static func run(_ model: MLModel, _ inputs: [MLFeatureProvider]) async throws -> [MLFeatureProvider] {
        try Task.checkCancellation()
        let batch = Batch(model: model, inputs: inputs)
        let outputs = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Outputs, Error>) in
            DispatchQueue.global(qos: .userInitiated).async {
                do {
                    let result = try batch.model.predictions(fromBatch: MLArrayBatchProvider(array: batch.inputs))
                    continuation.resume(returning: Outputs(features: (0..<result.count).map { result.features(at: $0) }))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        return outputs.features
    }

    /// A Core ML classifier's probabilities dictionary output `name`, one probability per label
    /// of `labels` (0 for a label the dictionary lacks).
    public static func classProbabilities(
        named name: String, in features: MLFeatureProvider, labels: [String]
    ) throws -> [Float] {
        guard let dictionary = features.featureValue(for: name)?.dictionaryValue else {
            throw ModelRuntimeError.unexpectedOutput("no probabilities output '\(name)'")
        }
        var byLabel: [String: Float] = [:]
        for (key, value) in dictionary {
            byLabel["\(key)"] = value.floatValue
        }
        return labels.map { byLabel[$0] ?? 0 }
    }
}
#endif
