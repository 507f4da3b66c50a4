import ModelKit
import SwiftUI

/// The top predictions with their confidences, and the inference time.
struct PredictionsView: View {
    let result: InferenceResult?
    let errorMessage: String?

    var body: some View {
        VStack(alignment: .leading, spacing: 10) {
            if let errorMessage {
                Label(errorMessage, systemImage: "exclamationmark.triangle")
                    .foregroundStyle(.red)
            }
            if let result {
                ForEach(Array(result.predictions.enumerated()), id: \.offset) { _, prediction in
                    PredictionRow(prediction: prediction)
                }
                Text("Inference: \(result.milliseconds, format: .number.precision(.fractionLength(1))) ms")
                    .font(.footnote.monospacedDigit())
                    .foregroundStyle(.secondary)
            } else if errorMessage == nil {
                Text("Choose a photo or point the camera at something.")
                    .foregroundStyle(.secondary)
            }
        }
    }
}

/// One label with its confidence as text and as a bar.
struct PredictionRow: View {
    let prediction: Prediction

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            HStack {
                Text(prediction.label)
                    .lineLimit(1)
                Spacer()
                Text(Double(prediction.confidence), format: .percent.precision(.fractionLength(1)))
                    .monospacedDigit()
            }
            ProgressView(value: Double(min(max(prediction.confidence, 0), 1)))
        }
    }
}
