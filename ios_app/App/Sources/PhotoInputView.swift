import PhotosUI
import SwiftUI

/// Picks photos from the library and classifies them with the selected model: one photo
/// in detail, several at once in one batch call (each with its best label).
@MainActor
struct PhotoInputView: View {
    let store: ModelStore
    @State private var items: [PhotosPickerItem] = []
    @State private var loadError: String?

    var body: some View {
        VStack(spacing: 12) {
            if items.count > 1 {
                BatchResultsView(results: store.batchResults, milliseconds: store.batchMilliseconds)
            } else if let photo = store.photo {
                Image(decorative: photo, scale: 1)
                    .resizable()
                    .scaledToFit()
                    .frame(maxHeight: 320)
                    .clipShape(RoundedRectangle(cornerRadius: 12))
            }
            HStack {
                PhotosPicker(selection: $items, maxSelectionCount: 12, matching: .images) {
                    Label("Choose Photos", systemImage: "photo.on.rectangle")
                }
                .buttonStyle(.borderedProminent)
                if let photo = store.photo {
                    Button {
                        Task { await store.classify(photo: photo) }
                    } label: {
                        Label("Run Again", systemImage: "arrow.clockwise")
                    }
                    .buttonStyle(.bordered)
                }
            }
            if let loadError {
                Text(loadError)
                    .foregroundStyle(.red)
            }
        }
        .frame(maxWidth: .infinity)
        .task(id: items) {
            await load(items)
        }
        .onChange(of: store.zeroShot.embeddings) {
            // New zero-shot labels or template: the shown result is stale.
            Task { await store.reclassifyPhoto() }
        }
    }

    private func load(_ items: [PhotosPickerItem]) async {
        guard !items.isEmpty else {
            return
        }
        do {
            var images: [CGImage] = []
            for item in items {
                images.append(try await item.loadUprightImage())
            }
            loadError = nil
            if images.count == 1, let image = images.first {
                await store.classify(photo: image)
            } else {
                await store.classify(photos: images)
            }
        } catch {
            loadError = error.localizedDescription
        }
    }
}

/// Several photos scored in one batch: a thumbnail and the best label of each.
private struct BatchResultsView: View {
    let results: [PhotoResult]
    let milliseconds: Double?

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            if let milliseconds {
                Text("\(results.count) photos in one batch: \(milliseconds, specifier: "%.0f") ms")
                    .font(.caption)
                    .foregroundStyle(.secondary)
            }
            ScrollView(.horizontal) {
                HStack(spacing: 8) {
                    ForEach(results) { result in
                        VStack(spacing: 4) {
                            Image(decorative: result.photo, scale: 1)
                                .resizable()
                                .scaledToFill()
                                .frame(width: 96, height: 96)
                                .clipShape(RoundedRectangle(cornerRadius: 8))
                            Text(result.predictions.first?.label ?? "–")
                                .font(.caption)
                                .lineLimit(1)
                                .frame(width: 96)
                        }
                    }
                }
            }
        }
    }
}
