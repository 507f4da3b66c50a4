import Foundation

/// Errors thrown while loading a ``CLIPTokenizer``.
public enum CLIPTokenizerError: Error, LocalizedError, Equatable {
    /// A file could not be read or decoded.
    case unreadableFile(URL, reason: String)
    /// A line of the merges file is not two symbols separated by one space.
    case malformedMerge(lineNumber: Int, line: String)
    /// The vocabulary lacks a token the merges or the byte alphabet need.
    case missingToken(String)

    public var errorDescription: String? {
        switch self {
        case let .unreadableFile(url, reason):
            return "CLIPTokenizer: cannot read \(url.lastPathComponent): \(reason)"
        case let .malformedMerge(lineNumber, line):
            return "CLIPTokenizer: merges line \(lineNumber) is not a pair of symbols: \(line)"
        case let .missingToken(token):
            return "CLIPTokenizer: the vocabulary has no token \(token)"
        }
    }
}

/// CLIP's byte-level BPE tokenizer, reproducing open_clip's `SimpleTokenizer` and `open_clip.tokenize`.
///
/// `encode` cleans the text (see `CLIPTextCleaner`: ftfy's `fix_text` without mojibake repair,
/// `html.unescape` twice, whitespace collapse, lower-casing), splits it like open_clip's regular
/// expression, maps each piece's UTF-8 bytes to CLIP's byte alphabet, marks the last symbol with
/// `</w>`, applies merges lowest rank first, and looks the symbols up in the vocabulary.
/// The row is `[sot] + ids + [eot]`, cut to `contextLength` with `eot` kept last, then padded with 0.
///
/// The files are the ones `pipeline_runner.tokenizer_export.export_clip_tokenizer` writes:
/// `vocab.json` (token → id) and `merges.txt` (`#version` header, then one `a b` pair a line, by rank).
public struct CLIPTokenizer: Sendable {
    /// A pair of adjacent symbols that a merge joins.
    private struct SymbolPair: Hashable, Sendable {
        let first: String
        let second: String
    }

    /// The id of `<start_of_text>`.
    public let startOfTextID: Int32
    /// The id of `<end_of_text>`.
    public let endOfTextID: Int32
    /// The number of tokens in the vocabulary.
    public var vocabularySize: Int { vocabulary.count }

    private let vocabulary: [String: Int32]
    private let mergeRanks: [SymbolPair: Int]
    private let specialTokenIDs: [String: Int32]

    /// The end-of-word marker appended to a piece's last symbol.
    static let endOfWord = "</w>"

    /// CLIP's reversible byte → symbol table: printable Latin-1 bytes stand for themselves,
    /// the other 68 bytes are moved to U+0100 and up, in byte order.
    static let byteSymbols: [String] = {
        var symbols: [String] = []
        var shifted: UInt32 = 256
        for byte in UInt32(0)..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            let code = printable ? byte : shifted
            if !printable {
                shifted += 1
            }
            symbols.append(Unicode.Scalar(code).map { String(Character($0)) } ?? "")
        }
        return symbols
    }()

    /// Loads `vocab.json` and `merges.txt`.
    ///
    /// - Throws: ``CLIPTokenizerError`` when a file cannot be read, a merge line is malformed,
    ///   or the vocabulary lacks a special token, a byte symbol or a merge result.
    public init(vocabularyURL: URL, mergesURL: URL) throws {
        let vocabulary: [String: Int32]
        do {
            vocabulary = try JSONDecoder().decode([String: Int32].self, from: Data(contentsOf: vocabularyURL))
        } catch {
            throw CLIPTokenizerError.unreadableFile(vocabularyURL, reason: error.localizedDescription)
        }
        let mergesText: String
        do {
            mergesText = try String(contentsOf: mergesURL, encoding: .utf8)
        } catch {
            throw CLIPTokenizerError.unreadableFile(mergesURL, reason: error.localizedDescription)
        }
        try self.init(vocabulary: vocabulary, merges: Self.parseMerges(mergesText))
    }

    /// A tokenizer from an in-memory vocabulary and merges in rank order.
    public init(vocabulary: [String: Int32], merges: [(String, String)]) throws {
        var specialTokenIDs: [String: Int32] = [:]
        for token in CLIPPreTokenizer.specialTokens {
            guard let id = vocabulary[token] else {
                throw CLIPTokenizerError.missingToken(token)
            }
            specialTokenIDs[token] = id
        }
        for symbol in Self.byteSymbols where vocabulary[symbol] == nil || vocabulary[symbol + Self.endOfWord] == nil {
            throw CLIPTokenizerError.missingToken(symbol)
        }
        for (first, second) in merges where vocabulary[first + second] == nil {
            throw CLIPTokenizerError.missingToken(first + second)
        }
        self.vocabulary = vocabulary
        self.specialTokenIDs = specialTokenIDs
        // Like Python's dict(zip(merges, range(...))), a repeated pair keeps its last rank.
        self.mergeRanks = Dictionary(
            merges.enumerated().map { (SymbolPair(first: $0.element.0, second: $0.element.1), $0.offset) },
            uniquingKeysWith: { _, last in last }
        )
        self.startOfTextID = specialTokenIDs[CLIPPreTokenizer.specialTokens[0]] ?? 0
        self.endOfTextID = specialTokenIDs[CLIPPreTokenizer.specialTokens[1]] ?? 0
    }

    /// The merges of a `merges.txt`, skipping the `#version` header and blank lines.
    static func parseMerges(_ text: String) throws -> [(String, String)] {
        var merges: [(String, String)] = []
        for (offset, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            if line.isEmpty || line.hasPrefix("#version") {
                continue
            }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw CLIPTokenizerError.malformedMerge(lineNumber: offset + 1, line: String(line))
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    /// One row for the text encoder: `contextLength` ids, as `open_clip.tokenize(text)` gives.
    ///
    /// Longer texts are truncated to `contextLength` tokens with the last one replaced by
    /// `<end_of_text>`; shorter ones are padded with 0.
    public func encode(_ text: String, contextLength: Int = 77) -> [Int32] {
        guard contextLength > 0 else {
            return []
        }
        var ids = [startOfTextID] + tokenIDs(for: text) + [endOfTextID]
        if ids.count > contextLength {
            ids.removeLast(ids.count - contextLength)
            ids[contextLength - 1] = endOfTextID
        }
        return ids + Array(repeating: 0, count: contextLength - ids.count)
    }

    /// The token ids of `text` without `<start_of_text>`, `<end_of_text>`, truncation or padding
    /// (open_clip's `SimpleTokenizer.encode`).
    public func tokenIDs(for text: String) -> [Int32] {
        var ids: [Int32] = []
        for piece in CLIPPreTokenizer.split(CLIPTextCleaner.clean(text)) {
            if let special = specialTokenIDs[piece] {
                ids.append(special)
                continue
            }
            let symbols = piece.utf8.map { Self.byteSymbols[Int($0)] }
            // The initialiser checked that every symbol a merge can produce is in the vocabulary.
            ids.append(contentsOf: bytePairEncode(symbols).compactMap { vocabulary[$0] })
        }
        return ids
    }

    /// Applies the merges to one piece's byte symbols, lowest rank first, until none applies.
    func bytePairEncode(_ symbols: [String]) -> [String] {
        guard let last = symbols.last else {
            return []
        }
        var word = symbols
        word[word.count - 1] = last + Self.endOfWord
        while word.count > 1 {
            var best: (rank: Int, index: Int)?
            for index in 0..<(word.count - 1) {
                if let rank = mergeRanks[SymbolPair(first: word[index], second: word[index + 1])],
                   rank < (best?.rank ?? Int.max) {
                    best = (rank: rank, index: index)
                }
            }
            guard let best else {
                break
            }
            let first = word[best.index]
            let second = word[best.index + 1]
            var merged: [String] = []
            merged.reserveCapacity(word.count)
            var index = 0
            while index < word.count {
                if index + 1 < word.count, word[index] == first, word[index + 1] == second {
                    merged.append(first + second)
                    index += 2
                } else {
                    merged.append(word[index])
                    index += 1
                }
            }
            word = merged
        }
        return word
    }
}
