/// Splits cleaned text the way open_clip's regular expression does, without a regex engine:
///
/// `<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
///
/// (open_clip's spelling of the special tokens; OpenAI's CLIP writes `<|startoftext|>`.)
/// Alternatives are tried in that order at each position, as Python's `re.findall` does;
/// runs are of Unicode scalars, so a combining mark after a letter starts a new piece.
/// open_clip compiles the pattern case-insensitively: after lower-casing, the only
/// difference that leaves is `ſ` (U+017F) matching `s`, which is reproduced.
enum CLIPPreTokenizer {
    /// The special tokens, matched literally in the text.
    static let specialTokens = ["<start_of_text>", "<end_of_text>"]

    private static let literals: [[Unicode.Scalar]] = (specialTokens + ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"])
        .map { Array($0.unicodeScalars) }

    private enum Kind: Equatable {
        case letter, number, space, other

        init(_ scalar: Unicode.Scalar) {
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
                self = .letter
            case .decimalNumber, .letterNumber, .otherNumber:
                self = .number
            default:
                self = CLIPTextCleaner.isPythonWhitespace(scalar) ? .space : .other
            }
        }
    }

    /// The pieces of `text`, in order; whitespace is dropped.
    static func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        var index = 0
        while index < scalars.count {
            if let literal = literals.first(where: { matches($0, in: scalars, at: index) }) {
                pieces.append(String(String.UnicodeScalarView(scalars[index..<(index + literal.count)])))
                index += literal.count
                continue
            }
            let kind = Kind(scalars[index])
            var end = index + 1
            switch kind {
            case .space:
                index = end
                continue
            case .number:
                break
            case .letter, .other:
                while end < scalars.count, Kind(scalars[end]) == kind {
                    end += 1
                }
            }
            pieces.append(String(String.UnicodeScalarView(scalars[index..<end])))
            index = end
        }
        return pieces
    }

    /// Whether `literal` starts at `index`, comparing case-insensitively as far as lower-cased text needs.
    private static func matches(_ literal: [Unicode.Scalar], in scalars: [Unicode.Scalar], at index: Int) -> Bool {
        guard scalars.count - index >= literal.count else {
            return false
        }
        for (offset, expected) in literal.enumerated() {
            let actual = scalars[index + offset]
            guard actual == expected || (expected == "s" && actual == "\u{017F}") else {
                return false
            }
        }
        return true
    }
}
