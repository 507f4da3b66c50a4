import CoreGraphics
import Foundation
import ModelKit
import Observation

/// Where the pictures come from.
enum InputSource: String, CaseIterable, Identifiable {
    case photo = "Photo"
    case camera = "Camera"

    var id: String { rawValue }
}

/// The outcome of one inference.
struct InferenceResult {
    let predictions: [Prediction]
    /// Wall-clock time of the model call (for embedding models: image embedding plus zero-shot scoring).
    let milliseconds: Double
}

/// One of several photos scored together, and its best predictions.
struct PhotoResult: Identifiable {
    let id: Int
    let photo: CGImage
    let predictions: [Prediction]
}

/// App state: the catalog of copied models, the selected one, and its latest result.
@MainActor
@Observable
final class ModelStore {
    /// How many predictions to show.
    static let topK = 5

    private(set) var entries: [ModelEntry] = []
    private(set) var catalogError: String?
    private(set) var hasLoadedCatalog = false
    private(set) var selectedName: String?
    private(set) var capability: ModelCapability = .unsupported("No model selected")
    private(set) var result: InferenceResult?
    private(set) var errorMessage: String?
    /// The last picked photo, re-classified when the model or the labels change.
    private(set) var photo: CGImage?
    /// Several photos picked at once, each with its predictions (one batch call), and how long the batch took.
    private(set) var batchResults: [PhotoResult] = []
    private(set) var batchMilliseconds: Double?
    var source: InputSource = .photo
    let zeroShot: ZeroShotLabels

    private let converter = PixelBufferConverter()

    init() {
        zeroShot = ZeroShotLabels()
    }

    var selectedEntry: ModelEntry? {
        entries.first { $0.name == selectedName }
    }

    var isZeroShot: Bool {
        if case .embedder = capability {
            return true
        }
        return false
    }

    /// Reads `models.json` and selects the first model.
    func loadCatalog() {
        defer { hasLoadedCatalog = true }
        do {
            entries = try ModelCatalog.load().models
            catalogError = nil
            if selectedName == nil, let first = entries.first {
                select(first.name)
            }
        } catch {
            catalogError = error.localizedDescription
        }
    }

    /// Makes the named model current (the wrapper loads its Core ML model on first use).
    func select(_ name: String) {
        guard name != selectedName else {
            return
        }
        selectedName = name
        capability = ModelRegistry.capability(for: name)
        result = nil
        errorMessage = nil
        if case let .embedder(embedder) = capability {
            zeroShot.attach(embedder, logitScale: selectedEntry?.logitScale)
        } else {
            zeroShot.detach()
        }
        if photo != nil {
            Task { await reclassifyPhoto() }
        }
    }

    /// Classifies a picked photo and remembers it.
    func classify(photo: CGImage) async {
        self.photo = photo
        await measure { [capability = self.capability, zeroShot = self.zeroShot] in
            switch capability {
            case let .classifier(classifier):
                return try await classifier.classify(photo, topK: Self.topK)
            case let .embedder(embedder):
                let embedding = try await embedder.embed(image: photo)
                return try zeroShot.classify(imageEmbedding: embedding, topK: Self.topK)
            case let .unsupported(reason):
                throw DemoError.unsupportedModel(reason)
            }
        }
    }

    /// Scores several photos in one batch call (`predictions(fromBatch:)` in the wrappers),
    /// faster per photo than classifying them one by one.
    func classify(photos: [CGImage]) async {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let predictions: [[Prediction]]
            switch capability {
            case let .classifier(classifier):
                predictions = try await classifier.classify(photos, topK: Self.topK)
            case let .embedder(embedder):
                let embeddings = try await embedder.embed(images: photos)
                predictions = try embeddings.map { try zeroShot.classify(imageEmbedding: $0, topK: Self.topK) }
            case let .unsupported(reason):
                throw DemoError.unsupportedModel(reason)
            }
            batchResults = zip(photos, predictions).enumerated().map {
                PhotoResult(id: $0.offset, photo: $0.element.0, predictions: $0.element.1)
            }
            batchMilliseconds = start.duration(to: clock.now).milliseconds
            errorMessage = nil
        } catch is CancellationError {
            return
        } catch {
            errorMessage = error.localizedDescription
        }
    }

    /// Classifies the last photo again (after the zero-shot labels changed).
    func reclassifyPhoto() async {
        guard let photo else {
            return
        }
        await classify(photo: photo)
    }

    /// Classifies one camera frame.
    func classify(frame: CameraFrame) async {
        await measure { [capability = self.capability, zeroShot = self.zeroShot, converter = self.converter] in
            switch capability {
            case let .classifier(classifier):
                return try await classifier.classify(frame.pixelBuffer, orientation: frame.orientation, topK: Self.topK)
            case let .embedder(embedder):
                let embedding = try await Self.embed(frame, with: embedder, converter: converter)
                return try zeroShot.classify(imageEmbedding: embedding, topK: Self.topK)
            case let .unsupported(reason):
                throw DemoError.unsupportedModel(reason)
            }
        }
    }

    /// Converts and embeds a frame off the main actor.
    private nonisolated static func embed(
        _ frame: CameraFrame, with embedder: any ImageTextEmbedding, converter: PixelBufferConverter
    ) async throws -> [Float] {
        let image = try converter.cgImage(from: frame.pixelBuffer, orientation: frame.orientation)
        return try await embedder.embed(image: image)
    }

    /// Runs `work`, timing it, and publishes its predictions or its error.
    private func measure(_ work: () async throws -> [Prediction]) async {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let predictions = try await work()
            result = InferenceResult(predictions: predictions, milliseconds: start.duration(to: clock.now).milliseconds)
            errorMessage = nil
        } catch is CancellationError {
            return
        } catch {
            errorMessage = error.localizedDescription
        }
    }
}

extension Duration {
    /// The duration in milliseconds.
    var milliseconds: Double {
        Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15
    }
}
