import SwiftUI

/// The root screen: the model picker, the input (photo or camera) and the results.
@MainActor
struct ContentView: View {
    let store: ModelStore

    var body: some View {
        NavigationStack {
            Group {
                if let catalogError = store.catalogError {
                    ContentUnavailableView(
                        "No models", systemImage: "shippingbox", description: Text(catalogError)
                    )
                } else if !store.hasLoadedCatalog {
                    ProgressView()
                } else if store.entries.isEmpty {
                    ContentUnavailableView(
                        "No models copied",
                        systemImage: "shippingbox",
                        description: Text("Build a recipe, then run ios_app/scripts/copy_models.py build/ and xcodegen.")
                    )
                } else {
                    DemoView(store: store)
                }
            }
            .navigationTitle("Model Demo")
            .navigationBarTitleDisplayMode(.inline)
        }
        .task {
            await store.loadCatalog()
        }
    }
}

/// The demo for the selected model.
@MainActor
struct DemoView: View {
    @Bindable var store: ModelStore

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 16) {
                Picker("Model", selection: $store.pickerSelection) {
                    ForEach(store.entries) { entry in
                        Text("\(entry.name) (\(entry.className))\(entry.sizeText.map { ", \($0)" } ?? "")")
                            .tag(Optional(entry.name))
                    }
                }
                .pickerStyle(.menu)
                if let entry = store.selectedEntry {
                    Text(entry.kind.title)
                        .font(.subheadline)
                        .foregroundStyle(.secondary)
                }
                Picker("Input", selection: $store.source) {
                    ForEach(InputSource.allCases) { source in
                        Text(source.rawValue).tag(source)
                    }
                }
                .pickerStyle(.segmented)
                switch store.source {
                case .photo:
                    PhotoInputView(store: store)
                case .camera:
                    CameraInputView(store: store)
                }
                if store.isZeroShot {
                    LabelEditor(labels: store.zeroShot)
                }
                PredictionsView(result: store.result, errorMessage: store.errorMessage)
            }
            .padding()
        }
    }
}
