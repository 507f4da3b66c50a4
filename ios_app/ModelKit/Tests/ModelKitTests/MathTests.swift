import XCTest
@testable import ModelKit

final class MathTests: XCTestCase {
    func testSoftmaxSumsToOneAndKeepsOrder() {
        let probabilities = softmax([1, 2, 3])
        XCTAssertEqual(probabilities.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(probabilities[0], 0.09003057, accuracy: 1e-6)
        XCTAssertEqual(probabilities[2], 0.66524096, accuracy: 1e-6)
        XCTAssertLessThan(probabilities[0], probabilities[1])
    }

    func testSoftmaxIsStableForLargeLogits() {
        let probabilities = softmax([1000, 1000])
        XCTAssertEqual(probabilities, [0.5, 0.5])
    }

    func testSoftmaxOfNothingIsNothing() {
        XCTAssertEqual(softmax([]), [])
    }

    func testTopKOrdersByValueThenIndex() {
        let top = topK([0.1, 0.7, 0.2, 0.7], k: 3)
        XCTAssertEqual(top.map { $0.index }, [1, 3, 2])
        XCTAssertEqual(top.map { $0.value }, [0.7, 0.7, 0.2])
    }

    func testTopKEdgeCases() {
        XCTAssertTrue(topK([1, 2], k: 0).isEmpty)
        XCTAssertEqual(topK([1, 2], k: 5).map { $0.index }, [1, 0])
        XCTAssertEqual(topK([.nan, 1], k: 2).map { $0.index }, [1, 0])
    }

    func testCosineSimilarity() {
        XCTAssertEqual(cosineSimilarity([1, 2, 3], [2, 4, 6]), 1, accuracy: 1e-6)
        XCTAssertEqual(cosineSimilarity([1, 0], [0, 1]), 0, accuracy: 1e-6)
        XCTAssertEqual(cosineSimilarity([1, 1], [-1, -1]), -1, accuracy: 1e-6)
        XCTAssertEqual(cosineSimilarity([0, 0], [1, 1]), 0)
    }

    func testL2Normalized() {
        let unit = l2Normalized([3, 4])
        XCTAssertEqual(unit[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(unit[1], 0.8, accuracy: 1e-6)
        XCTAssertEqual(l2Normalized([0, 0]), [0, 0])
    }
}
