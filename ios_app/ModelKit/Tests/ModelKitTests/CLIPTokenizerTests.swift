import XCTest
@testable import ModelKit

/// Checks the tokenizer against ids from `open_clip.tokenize`, written by
/// `ios_app/scripts/make_tokenizer_fixtures.py` into `Resources/`.
final class CLIPTokenizerTests: XCTestCase {
    private struct TestVectors: Decodable {
        struct Case: Decodable {
            let text: String
            let ids: [Int32]
        }

        let contextLength: Int
        let sot: Int32
        let eot: Int32
        let cases: [Case]

        enum CodingKeys: String, CodingKey {
            case contextLength = "context_length"
            case sot, eot, cases
        }
    }

    private static func resource(_ name: String, _ pathExtension: String) throws -> URL {
        try XCTUnwrap(
            Bundle.module.url(forResource: name, withExtension: pathExtension, subdirectory: "Resources"),
            "\(name).\(pathExtension) is missing: run ios_app/scripts/make_tokenizer_fixtures.py"
        )
    }

    private func makeTokenizer() throws -> CLIPTokenizer {
        try CLIPTokenizer(vocabularyURL: Self.resource("vocab", "json"), mergesURL: Self.resource("merges", "txt"))
    }

    private func loadVectors() throws -> TestVectors {
        try JSONDecoder().decode(TestVectors.self, from: Data(contentsOf: Self.resource("test_vectors", "json")))
    }

    func testMatchesOpenCLIPTestVectors() throws {
        let tokenizer = try makeTokenizer()
        let vectors = try loadVectors()
        XCTAssertFalse(vectors.cases.isEmpty)
        XCTAssertEqual(tokenizer.startOfTextID, vectors.sot)
        XCTAssertEqual(tokenizer.endOfTextID, vectors.eot)
        XCTAssertEqual(tokenizer.vocabularySize, 49_408)
        for testCase in vectors.cases {
            XCTAssertEqual(
                tokenizer.encode(testCase.text, contextLength: vectors.contextLength), testCase.ids,
                "text: \(testCase.text.debugDescription)"
            )
        }
    }

    func testShortContextKeepsEndOfText() throws {
        let tokenizer = try makeTokenizer()
        let ids = tokenizer.encode("a photo of a cat with a hat", contextLength: 4)
        XCTAssertEqual(ids.count, 4)
        XCTAssertEqual(ids.first, tokenizer.startOfTextID)
        XCTAssertEqual(ids.last, tokenizer.endOfTextID)
        XCTAssertEqual(tokenizer.encode("", contextLength: 3), [tokenizer.startOfTextID, tokenizer.endOfTextID, 0])
        XCTAssertEqual(tokenizer.encode("cat", contextLength: 0), [])
    }

    func testCleaning() {
        XCTAssertEqual(CLIPTextCleaner.clean("  Don’t\t STOP &amp;amp; ﬁne  "), "don't stop & fine")
        XCTAssertEqual(CLIPTextCleaner.clean("ΟΔΟΣ"), "οδος")
        // ftfy.fix_text, then html.unescape twice (expected values from open_clip's _clean_lower).
        XCTAssertEqual(CLIPTextCleaner.clean("&copy; 2024 &copy 2025"), "© 2024 © 2025")
        XCTAssertEqual(CLIPTextCleaner.clean("fish &amp chips"), "fish & chips")
        XCTAssertEqual(CLIPTextCleaner.clean("&#150; dash &#150 em &#x97;"), "– dash – em —")
        XCTAssertEqual(CLIPTextCleaner.clean("ctrl\u{0}a\u{7}b\u{1B}c\u{7F}d"), "ctrlabcd")
        XCTAssertEqual(CLIPTextCleaner.clean("\u{FEFF}bom at the start"), "bom at the start")
        XCTAssertEqual(CLIPTextCleaner.clean("next\u{85}line"), "next…line")
        XCTAssertEqual(CLIPTextCleaner.clean("&notit; &notin; &ampx &AMP; &EACUTE; &eacute"), "¬it; ∉ &x & é é")
        XCTAssertEqual(CLIPTextCleaner.clean("a < b &amp; c\nx &lt; y"), "a < b & c x < y")
        XCTAssertEqual(CLIPTextCleaner.clean("&frac12 &frac123 &copyright &#59;"), "½ ½3 ©right ;")
        XCTAssertEqual(CLIPPreTokenizer.split("it's 42!?"), ["it", "'s", "4", "2", "!?"])
    }

    func testRejectsMalformedMerges() {
        XCTAssertThrowsError(try CLIPTokenizer.parseMerges("#version: 0.2\na b\nabc\n")) { error in
            XCTAssertEqual(error as? CLIPTokenizerError, .malformedMerge(lineNumber: 3, line: "abc"))
        }
    }

    func testReportsMissingFiles() {
        let missing = URL(fileURLWithPath: "/nonexistent/vocab.json")
        XCTAssertThrowsError(try CLIPTokenizer(vocabularyURL: missing, mergesURL: missing)) { error in
            guard case .unreadableFile = error as? CLIPTokenizerError else {
                return XCTFail("unexpected error \(error)")
            }
        }
    }
}
