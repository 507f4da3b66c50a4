#if canImport(CoreML)
import CoreML
import XCTest
@testable import ModelKit

/// The runtime the generated wrappers share: multi-arrays, output lookup, ranking.
final class ModelRuntimeTests: XCTestCase {
    func testTokenArraysRoundTripInEveryType() throws {
        let ids: [Int32] = [49406, 320, 1929, 49407, 0, 0]
        for dataType in [MLMultiArrayDataType.int32, .float32, .double] {
            let array = try MultiArrays.array(ids, shape: [1, 6], dataType: dataType)
            XCTAssertEqual(array.shape, [1, 6])
            XCTAssertEqual(array.dataType, dataType)
            XCTAssertEqual(MultiArrays.floats(array), ids.map { Float($0) })
        }
    }

    func testTokenArrayRejectsAWrongCount() {
        XCTAssertThrowsError(try MultiArrays.array([1, 2, 3], shape: [1, 4], dataType: .int32))
    }

    func testRowMajorIndex() {
        XCTAssertEqual(MultiArrays.rowMajorIndex(5, shape: [2, 3]), [1, 2])
        XCTAssertEqual(MultiArrays.rowMajorIndex(0, shape: [1, 1, 4]), [0, 0, 0])
    }

    func testOutputIsLookedUpByNameOnly() throws {
        let scores = try MultiArrays.array([1, 2], shape: [1, 2], dataType: .float32)
        let features = try MLDictionaryFeatureProvider(dictionary: ["logits": MLFeatureValue(multiArray: scores)])
        let logits = try MultiArrays.output(named: "logits", in: features)
        XCTAssertEqual(MultiArrays.floats(logits), [1, 2])
        XCTAssertThrowsError(try MultiArrays.output(named: "probabilities", in: features)) { error in
            guard case .unexpectedOutput = error as? ModelRuntimeError else {
                return XCTFail("unexpected error \(error)")
            }
        }
    }

    func testTopPredictionsKeepLabelOrderOnTiesAndPutNaNLast() {
        let predictions = topPredictions([0.2, .nan, 0.4, 0.4], labels: ["a", "b", "c", "d"], k: 4)
        XCTAssertEqual(predictions.map(\.label), ["c", "d", "a", "b"])
    }
}
#endif
