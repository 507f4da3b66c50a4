import CoreGraphics
import CoreVideo
import Foundation
import ImageIO
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

/// Several picked photos crossing to the task that runs the model (`CGImage` is immutable).
struct PhotoBatch: @unchecked Sendable {
    let images: [CGImage]
}

/// A picture to run the selected model on. `CGImage` is immutable and ``CameraFrame`` hands
/// its buffer over read-only, so the input may cross to the task that runs the model.
enum ModelInput: @unchecked Sendable {
    case photo(CGImage)
    case frame(CameraFrame)
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
    /// The camera, made once for the app's lifetime (its capture session is expensive).
    let camera: CameraFeed

    /// Counts model switches, so that a result of the previous model is never shown for the new one.
    private var selectionGeneration = 0

    init() {
        zeroShot = ZeroShotLabels()
        camera = CameraFeed()
    }

    /// The model picker's selection: a model's name (the picker's rows are tagged
    /// `Optional(name)`, so it never starts on a tag none of its rows has); setting it selects
    /// that model.
    var pickerSelection: String? {
        get { selectedName }
        set {
            if let newValue {
                select(newValue)
            }
        }
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
        guard name != selectedName, entries.contains(where: { $0.name == name }) else {
            return
        }
        selectedName = name
        selectionGeneration += 1
        capability = ModelRegistry.capability(for: name)
        result = nil
        errorMessage = nil
        if case let .embedder(embedder) = capability {
            // The labels are embedded again by the new model; the photo is reclassified when
            // they are ready (PhotoInputView watches `zeroShot.embeddings`), never with the old ones.
            zeroShot.attach(embedder, logitScale: selectedEntry?.logitScale)
        } else {
            zeroShot.detach()
            if photo != nil {
                Task { await reclassifyPhoto() }
            }
        }
    }

    /// Classifies a picked photo and remembers it.
    func classify(photo: CGImage) async {
        self.photo = photo
        await run(.photo(photo))
    }

    /// Scores several photos in one batch call (`predictions(fromBatch:)` in the wrappers),
    /// faster per photo than classifying them one by one; published unless the model was switched meanwhile.
    func classify(photos: [CGImage]) async {
        let generation = selectionGeneration
        let capability = self.capability
        let batch = PhotoBatch(images: photos)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let predictions: [[Prediction]]
            switch capability {
            case let .classifier(classifier):
                predictions = try await Self.classify(batch, with: classifier, topK: Self.topK)
            case let .embedder(embedder):
                let embeddings = try await Self.embed(batch, with: embedder)
                guard generation == selectionGeneration else {
                    return
                }
                predictions = try embeddings.map { try zeroShot.classify(imageEmbedding: $0, topK: Self.topK) }
            case let .unsupported(reason):
                throw DemoError.unsupportedModel(reason)
            }
            guard generation == selectionGeneration else {
                return
            }
            batchResults = zip(photos, predictions).enumerated().map {
                PhotoResult(id: $0.offset, photo: $0.element.0, predictions: $0.element.1)
            }
            batchMilliseconds = start.duration(to: clock.now).milliseconds
            errorMessage = nil
        } catch is CancellationError {
            return
        } catch {
            guard generation == selectionGeneration else {
                return
            }
            errorMessage = error.localizedDescription
        }
    }

    /// Classifies the last photo again (after the model or the zero-shot labels changed).
    func reclassifyPhoto() async {
        guard let photo else {
            return
        }
        await classify(photo: photo)
    }

    /// Classifies one camera frame.
    func classify(frame: CameraFrame) async {
        await run(.frame(frame))
    }

    /// Runs the selected model on `input`, timing it, and publishes its predictions or its error
    /// unless the model was switched meanwhile.
    private func run(_ input: ModelInput) async {
        let generation = selectionGeneration
        let capability = self.capability
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let predictions: [Prediction]
            switch capability {
            case let .classifier(classifier):
                predictions = try await Self.classify(input, with: classifier, topK: Self.topK)
            case let .embedder(embedder):
                let embedding = try await Self.embed(input, with: embedder)
                guard generation == selectionGeneration else {
                    return
                }
                predictions = try zeroShot.classify(imageEmbedding: embedding, topK: Self.topK)
            case let .unsupported(reason):
                throw DemoError.unsupportedModel(reason)
            }
            guard generation == selectionGeneration else {
                return
            }
            result = InferenceResult(predictions: predictions, milliseconds: start.duration(to: clock.now).milliseconds)
            errorMessage = nil
        } catch is CancellationError {
            return
        } catch DemoError.labelsNotReady where zeroShot.isEmbedding {
            // The labels are being embedded by the (new) model: show nothing rather than stale scores.
            result = nil
        } catch {
            guard generation == selectionGeneration else {
                return
            }
            errorMessage = error.localizedDescription
        }
    }

    /// Runs a classifier off the main actor; the frame's pixel buffer never leaves this task.
    private nonisolated static func classify(
        _ input: ModelInput, with classifier: any ImageClassifying, topK: Int
    ) async throws -> [Prediction] {
        switch input {
        case let .photo(image):
            return try await classifier.classify(image, topK: topK)
        case let .frame(frame):
            return try await classifier.classify(frame.pixelBuffer, orientation: frame.orientation, topK: topK)
        }
    }

    /// Classifies several photos in one batch off the main actor.
    private nonisolated static func classify(
        _ batch: PhotoBatch, with classifier: any ImageClassifying, topK: Int
    ) async throws -> [[Prediction]] {
        try await classifier.classify(batch.images, topK: topK)
    }

    /// Embeds several photos in one batch off the main actor.
    private nonisolated static func embed(_ batch: PhotoBatch, with embedder: any ImageTextEmbedding) async throws -> [[Float]] {
        try await embedder.embed(images: batch.images)
    }

    /// Embeds a picture off the main actor; camera frames go to Vision as pixel buffers
    /// (no `CGImage` render per frame).
    private nonisolated static func embed(_ input: ModelInput, with embedder: any ImageTextEmbedding) async throws -> [Float] {
        switch input {
        case let .photo(image):
            return try await embedder.embed(image: image)
        case let .frame(frame):
            return try await embedder.embed(pixelBuffer: frame.pixelBuffer, orientation: frame.orientation)
        }
    }
}

extension Duration {
    /// The duration in milliseconds.
    var milliseconds: Double {
        Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15
    }
}
