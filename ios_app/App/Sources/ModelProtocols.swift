import Foundation
import ModelKit

// The model protocols, `ImageClassifying` and `ImageTextEmbedding`, are ModelKit's: the
// generated wrappers conform to them, so the registry hands the wrappers over as they are.

/// What the app can do with a model of this build.
enum ModelCapability: Sendable {
    case classifier(any ImageClassifying)
    case embedder(any ImageTextEmbedding)
    /// The model is in the bundle but the app has no demo for it; the reason says why.
    case unsupported(String)
}

/// Errors of the demo itself (models throw their own typed errors).
enum DemoError: Error, LocalizedError {
    case unsupportedModel(String)
    case labelsNotReady

    var errorDescription: String? {
        switch self {
        case let .unsupportedModel(reason):
            return reason
        case .labelsNotReady:
            return "Add a label and wait for its embedding before classifying."
        }
    }
}
