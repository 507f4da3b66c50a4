#if canImport(Vision) && canImport(CoreML) && canImport(CoreVideo)
import CoreGraphics
import CoreML
import CoreVideo
import Foundation
import ImageIO
import Vision

/// A picture for Vision: an upright `CGImage`, or a camera frame and its rotation.
///
/// `CVPixelBuffer` is not `Sendable`; a caller hands the frame over and must not write to it
/// while the request runs (camera frames are read-only), hence `@unchecked`.
public enum VisionImage: @unchecked Sendable {
    case cgImage(CGImage)
    /// `orientation`: how the buffer is rotated relative to upright (`.right` for a portrait back camera).
    case pixelBuffer(CVPixelBuffer, orientation: CGImagePropertyOrientation)

    /// A new request handler for this picture (made on the queue that runs the request).
    func makeHandler() -> VNImageRequestHandler {
        switch self {
        case let .cgImage(image):
            return VNImageRequestHandler(cgImage: image, options: [:])
        case let .pixelBuffer(buffer, orientation):
            return VNImageRequestHandler(cvPixelBuffer: buffer, orientation: orientation, options: [:])
        }
    }
}

/// Runs one image model through Vision, which scales and crops pictures to the model's input.
///
/// The Vision model is made once from the loaded `MLModel`. Each call builds its request and
/// handler on a background queue and hands back only `Sendable` values (what `extract` makes of
/// the observations), so no Vision object crosses a concurrency boundary. Cancelling the calling
/// task cancels the Vision request.
public final class VisionRunner: @unchecked Sendable {
    private let loader: ModelLoader
    private let cropAndScale: VNImageCropAndScaleOption
    private let lock = NSLock()
    /// Guarded by `lock`; `VNCoreMLModel` is immutable once made.
    private var visionModel: VNCoreMLModel?

    public init(loader: ModelLoader, cropAndScale: VNImageCropAndScaleOption) {
        self.loader = loader
        self.cropAndScale = cropAndScale
    }

    /// Loads the model and makes the Vision model now instead of on the first call.
    public func prepare() async throws {
        _ = try await sharedVisionModel()
    }

    /// Runs the model on `image` and returns what `extract` makes of Vision's observations.
    public func run<Value: Sendable>(
        _ image: VisionImage, extract: @escaping @Sendable ([VNObservation]) throws -> Value
    ) async throws -> Value {
        try Task.checkCancellation()
        let visionModel = try await sharedVisionModel()
        let shared = SharedModel(model: visionModel)
        let cropAndScale = cropAndScale
        let cancellation = RequestCancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, Error>) in
                DispatchQueue.global(qos: .userInitiated).async {
                    let request = VNCoreMLRequest(model: shared.model)
                    request.imageCropAndScaleOption = cropAndScale
                    guard cancellation.begin(request) else {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    do {
                        try image.makeHandler().perform([request])
                        cancellation.end()
                        if cancellation.isCancelled {
                            throw CancellationError()
                        }
                        continuation.resume(returning: try extract(request.results ?? []))
                    } catch {
                        cancellation.end()
                        continuation.resume(throwing: cancellation.isCancelled ? CancellationError() : error)
                    }
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// The Vision model, made once from the loaded model.
    private func sharedVisionModel() async throws -> VNCoreMLModel {
        let model = try await loader.model()
        return try cachedVisionModel(for: model)
    }

    /// Synchronous, because `NSLock` may not be locked directly in an async function.
    private func cachedVisionModel(for model: MLModel) throws -> VNCoreMLModel {
        lock.lock()
        defer { lock.unlock() }
        if let visionModel {
            return visionModel
        }
        let made = try VNCoreMLModel(for: model)
        visionModel = made
        return made
    }

    /// Lets the Vision model cross to the queue that runs the request; it is not changed after it is made.
    private struct SharedModel: @unchecked Sendable {
        let model: VNCoreMLModel
    }
}

/// The running request of one call, so that task cancellation can cancel it.
private final class RequestCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var request: VNRequest?
    private var cancelled = false

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// Records the request about to run; false when the task was cancelled already.
    func begin(_ request: VNRequest) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        self.request = request
        return !cancelled
    }

    func end() {
        lock.lock()
        defer { lock.unlock() }
        request = nil
    }

    func cancel() {
        lock.lock()
        defer { lock.unlock() }
        cancelled = true
        request?.cancel()
    }
}

/// Reading Vision's observations without guessing.
public enum VisionResults {
    /// The multi-array output `featureName` among Vision's feature-value observations.
    ///
    /// - Throws: ``ModelRuntimeError/unexpectedOutput(_:)`` when the output is missing; there is
    ///   no fallback to another output, which would be silently wrong on a multi-output model.
    public static func multiArray(named featureName: String, in observations: [VNObservation]) throws -> MLMultiArray {
        let features = observations.compactMap { $0 as? VNCoreMLFeatureValueObservation }
        guard let observation = features.first(where: { $0.featureName == featureName }),
              let array = observation.featureValue.multiArrayValue else {
            let found = features.map { $0.featureName }
            throw ModelRuntimeError.unexpectedOutput("no multi-array output '\(featureName)' in the Vision results \(found)")
        }
        return array
    }

    /// The `k` most confident classifications of a Core ML classifier, ordered like ``topK(_:k:)``
    /// (ties keep the model's label order, NaN last).
    public static func topClassifications(_ observations: [VNObservation], k: Int) throws -> [Prediction] {
        let classifications = observations.compactMap { $0 as? VNClassificationObservation }
        guard !classifications.isEmpty else {
            throw ModelRuntimeError.unexpectedOutput("the model returned no classifications")
        }
        return topK(classifications.map { $0.confidence }, k: k).map {
            Prediction(label: classifications[$0.index].identifier, confidence: $0.value)
        }
    }
}
#endif
