import XCTest
@testable import ModelKit

final class LabelEmbeddingsTests: XCTestCase {
    private let json = Data("""
    {"labels": ["cat", "dog", "car"],
     "embeddings": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
     "logit_scale": 100}
    """.utf8)

    func testDecodesAndClassifies() throws {
        let labels = try JSONDecoder().decode(LabelEmbeddings.self, from: json)
        XCTAssertEqual(labels.labels, ["cat", "dog", "car"])
        XCTAssertEqual(labels.logitScale, 100)
        XCTAssertEqual(labels.dimension, 3)

        let predictions = try labels.classify(imageEmbedding: [0.1, 0.9, 0.2], topK: 2)
        XCTAssertEqual(predictions.map(\.label), ["dog", "car"])
        XCTAssertGreaterThan(predictions[0].confidence, 0.99)
    }

    func testRoundTripsThroughJSON() throws {
        let labels = try JSONDecoder().decode(LabelEmbeddings.self, from: json)
        let again = try JSONDecoder().decode(LabelEmbeddings.self, from: JSONEncoder().encode(labels))
        XCTAssertEqual(again, labels)
    }

    func testRejectsMismatchedCounts() {
        let bad = Data(#"{"labels": ["a", "b"], "embeddings": [[1, 0]], "logit_scale": 1}"#.utf8)
        XCTAssertThrowsError(try JSONDecoder().decode(LabelEmbeddings.self, from: bad)) { error in
            XCTAssertEqual(error as? LabelEmbeddingsError, .countMismatch(labels: 2, embeddings: 1))
        }
    }

    func testAppendChecksDimension() throws {
        var labels = try LabelEmbeddings()
        XCTAssertThrowsError(try labels.classify(imageEmbedding: [1, 0])) { error in
            XCTAssertEqual(error as? LabelEmbeddingsError, .noLabels)
        }
        try labels.append(label: "sky", embedding: [0, 1])
        XCTAssertThrowsError(try labels.append(label: "sea", embedding: [1, 0, 0])) { error in
            XCTAssertEqual(error as? LabelEmbeddingsError, .dimensionMismatch(expected: 2, actual: 3))
        }
        XCTAssertEqual(try labels.classify(imageEmbedding: [0, 2]).first, Prediction(label: "sky", confidence: 1))
    }
}
