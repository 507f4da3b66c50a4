import PhotosUI
import SwiftUI

/// Picks a photo from the library and classifies it with the selected model.
@MainActor
struct PhotoInputView: View {
    let store: ModelStore
    @State private var item: PhotosPickerItem?
    @State private var loadError: String?

    var body: some View {
        VStack(spacing: 12) {
            if let photo = store.photo {
                Image(decorative: photo, scale: 1)
                    .resizable()
                    .scaledToFit()
                    .frame(maxHeight: 320)
                    .clipShape(RoundedRectangle(cornerRadius: 12))
            }
            HStack {
                PhotosPicker(selection: $item, matching: .images) {
                    Label("Choose Photo", systemImage: "photo.on.rectangle")
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
        .task(id: item) {
            await load(item)
        }
        .onChange(of: store.zeroShot.embeddings) {
            // New zero-shot labels or template: the shown result is stale.
            Task { await store.reclassifyPhoto() }
        }
    }

    private func load(_ item: PhotosPickerItem?) async {
        guard let item else {
            return
        }
        do {
            let image = try await item.loadUprightImage()
            loadError = nil
            await store.classify(photo: image)
        } catch {
            loadError = error.localizedDescription
        }
    }
}
