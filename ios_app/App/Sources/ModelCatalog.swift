import Foundation

/// What a copied model does; the `kind` of a `models.json` entry (the recipe's `ios.wrapper`).
enum ModelKind: String, Codable, Sendable {
    case imageClassifier = "image_classifier"
    case embeddingModel = "embedding_model"
    case tokenModel = "token_model"

    /// A short human-readable name.
    var title: String {
        switch self {
        case .imageClassifier: return "Image classifier"
        case .embeddingModel: return "Image–text embeddings (zero-shot)"
        case .tokenModel: return "Token model"
        }
    }
}

/// One entry of the generated `models.json`.
struct ModelEntry: Codable, Identifiable, Hashable, Sendable {
    /// The recipe name, e.g. `vit`.
    let name: String
    let kind: ModelKind
    /// The generated Swift wrapper class, e.g. `ViTClassifier`.
    let className: String
    /// The files copied into the bundle for this model.
    let files: [String]
    /// For embedding models: the multiplier of cosine similarities, when the build shipped one.
    let logitScale: Float?
    /// Bytes on disk of the Core ML models the wrapper loads (absent in older catalogs).
    let modelBytes: Int?
    /// The compression variant the wrapper loads (`ios.variant`), if any.
    let variant: String?

    /// "12.3 MB", or nil when the catalog does not say.
    var sizeText: String? {
        modelBytes.map { ByteCountFormatter.string(fromByteCount: Int64($0), countStyle: .file) }
    }

    var id: String { name }

    private enum CodingKeys: String, CodingKey {
        case name, kind, files, variant
        case className = "class_name"
        case logitScale = "logit_scale"
        case modelBytes = "model_bytes"
    }
}

/// Errors reading `models.json`.
enum ModelCatalogError: Error, LocalizedError {
    case missing
    case unreadable(String)

    var errorDescription: String? {
        switch self {
        case .missing:
            return "models.json is not in the app bundle. Run ios_app/scripts/copy_models.py, then xcodegen."
        case let .unreadable(reason):
            return "models.json could not be read: \(reason)"
        }
    }
}

/// The generated `models.json`: which models `copy_models.py` copied into the app.
struct ModelCatalog: Codable, Sendable {
    let models: [ModelEntry]

    /// Reads `models.json` from `bundle`.
    static func load(from bundle: Bundle = .main) throws -> ModelCatalog {
        guard let url = bundle.url(forResource: "models", withExtension: "json") else {
            throw ModelCatalogError.missing
        }
        do {
            return try JSONDecoder().decode(ModelCatalog.self, from: Data(contentsOf: url))
        } catch {
            throw ModelCatalogError.unreadable(error.localizedDescription)
        }
    }
}
