import SwiftUI

/// Edits the zero-shot labels and the prompt template of an embedding model.
@MainActor
struct LabelEditor: View {
    let labels: ZeroShotLabels
    @State private var newLabel = ""
    @State private var templateDraft = ZeroShotDefaults.template

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            Text("Prompt template ({} is the label)")
                .font(.caption)
                .foregroundStyle(.secondary)
            TextField("a photo of a {}.", text: $templateDraft)
                .textFieldStyle(.roundedBorder)
                .textInputAutocapitalization(.never)
                .autocorrectionDisabled()
                .onSubmit { labels.setTemplate(templateDraft) }
            HStack {
                TextField("Add a label", text: $newLabel)
                    .textFieldStyle(.roundedBorder)
                    .textInputAutocapitalization(.never)
                    .onSubmit { addLabel() }
                Button("Add") { addLabel() }
                    .disabled(newLabel.trimmingCharacters(in: .whitespaces).isEmpty)
            }
            ScrollView(.horizontal, showsIndicators: false) {
                HStack {
                    ForEach(labels.labels, id: \.self) { label in
                        Button {
                            labels.remove(label)
                        } label: {
                            Label(label, systemImage: "xmark.circle.fill")
                        }
                        .buttonStyle(.bordered)
                        .accessibilityLabel("Remove \(label)")
                    }
                }
            }
            if labels.isEmbedding {
                ProgressView("Embedding labels…")
                    .font(.caption)
            }
            if let error = labels.errorMessage {
                Text(error)
                    .font(.caption)
                    .foregroundStyle(.red)
            }
        }
        .onAppear {
            templateDraft = labels.template
        }
    }

    private func addLabel() {
        labels.add(newLabel)
        newLabel = ""
    }
}
