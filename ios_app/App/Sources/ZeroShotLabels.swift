import Foundation
import ModelKit
import Observation

/// Starting labels and template, and how a prompt is made from them.
enum ZeroShotDefaults {
    static let template = "a photo of a {}."
    static let labels = ["cat", "dog", "person", "car", "coffee mug", "laptop", "houseplant"]

    /// The prompt for `label`: the template with `{}` replaced, or the label appended when there is no `{}`.
    static func prompt(for label: String, template: String) -> String {
        template.contains("{}")
            ? template.replacingOccurrences(of: "{}", with: label)
            : "\(template) \(label)".trimmingCharacters(in: .whitespaces)
    }
}

/// The labels a user types for zero-shot classification, and their text embeddings.
///
/// Each label is embedded as the prompt template with `{}` replaced by the label
/// ("a photo of a {}." → "a photo of a dog."), as Apple's MobileCLIP demo does.
/// Embeddings are cached per prompt, so adding a label embeds only that label; the prompts
/// not cached yet are embedded together, in one Core ML batch (`embed(texts:)`).
@MainActor
@Observable
final class ZeroShotLabels {
    private(set) var labels: [String] = ZeroShotDefaults.labels
    private(set) var template: String = ZeroShotDefaults.template
    private(set) var isEmbedding = false
    private(set) var errorMessage: String?
    /// The labels' embeddings; `nil` until they are computed for the current template.
    private(set) var embeddings: LabelEmbeddings?

    private var embedder: (any ImageTextEmbedding)?
    private var logitScale: Float = 100
    private var cache: [String: [Float]] = [:]
    private var rebuildTask: Task<Void, Never>?

    /// Uses `embedder` for the labels' texts from now on.
    ///
    /// The previous model's label embeddings are dropped at once: until the new model has
    /// embedded the labels, ``classify(imageEmbedding:topK:)`` throws instead of scoring the
    /// new model's image embedding against the old model's label embeddings.
    func attach(_ embedder: any ImageTextEmbedding, logitScale: Float?) {
        rebuildTask?.cancel()
        self.embedder = embedder
        self.logitScale = logitScale ?? 100
        embeddings = nil
        cache.removeAll()
        rebuild()
    }

    /// Forgets the embedder (the selected model is not an embedding model).
    func detach() {
        rebuildTask?.cancel()
        embedder = nil
        embeddings = nil
        cache.removeAll()
        isEmbedding = false
    }

    func add(_ label: String) {
        let trimmed = label.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, !labels.contains(trimmed) else {
            return
        }
        labels.append(trimmed)
        rebuild()
    }

    func remove(_ label: String) {
        labels.removeAll { $0 == label }
        rebuild()
    }

    func setTemplate(_ newTemplate: String) {
        let trimmed = newTemplate.trimmingCharacters(in: .whitespacesAndNewlines)
        template = trimmed.isEmpty ? ZeroShotDefaults.template : trimmed
        rebuild()
    }

    /// Zero-shot predictions for an image embedding against the current labels.
    func classify(imageEmbedding: [Float], topK: Int) throws -> [Prediction] {
        guard let embeddings = embeddings, !embeddings.labels.isEmpty else {
            throw DemoError.labelsNotReady
        }
        return try embeddings.classify(imageEmbedding: imageEmbedding, topK: topK)
    }

    /// Recomputes the label embeddings in the background, cancelling an unfinished run.
    private func rebuild() {
        rebuildTask?.cancel()
        guard let embedder = embedder else {
            embeddings = nil
            return
        }
        let labels = self.labels
        let template = self.template
        let logitScale = self.logitScale
        isEmbedding = true
        rebuildTask = Task {
            do {
                var built = try LabelEmbeddings(logitScale: logitScale)
                let prompts = labels.map { ZeroShotDefaults.prompt(for: $0, template: template) }
                let missing = Array(Set(prompts.filter { cache[$0] == nil })).sorted()
                if !missing.isEmpty {
                    let fresh = try await embedder.embed(texts: missing)
                    // A cancelled run may belong to the previous model: keep its vectors out of the cache.
                    try Task.checkCancellation()
                    for (prompt, embedding) in zip(missing, fresh) {
                        cache[prompt] = embedding
                    }
                }
                for (label, prompt) in zip(labels, prompts) {
                    guard let embedding = cache[prompt] else {
                        throw DemoError.labelsNotReady
                    }
                    try built.append(label: label, embedding: embedding)
                }
                try Task.checkCancellation()
                embeddings = built
                errorMessage = nil
            } catch is CancellationError {
                return
            } catch {
                errorMessage = error.localizedDescription
            }
            isEmbedding = false
        }
    }
}
