import Foundation

/// open_clip's default text cleaning (`clean="lower"`), reproduced with Foundation only.
///
/// open_clip runs `ftfy.fix_text`, then `html.unescape` twice, collapses whitespace and
/// lower-cases. This type reproduces, in this order:
/// 1. `html.unescape` twice, for `&amp; &lt; &gt; &quot; &apos; &nbsp;` and numeric
///    `&#NN;` / `&#xHH;` entities (up to 9 decimal or 8 hex digits) of valid scalars;
/// 2. ftfy's Latin-ligature, full-width ASCII (U+FF01...U+FF5E, U+3000) and curly-quote fixes;
/// 3. ftfy's NFC normalisation;
/// 4. Python's `" ".join(text.split())` (Unicode White_Space plus U+001C...U+001F);
/// 5. Python's `str.lower()`, including the Greek final-sigma rule.
///
/// It does not reproduce ftfy's mojibake repair (`fix_encoding`), its removal of terminal
/// escapes and control characters, half-width katakana, or HTML's other named entities.
/// Text that needs those is tokenised differently from open_clip; everyday prompts are not.
enum CLIPTextCleaner {
    /// The cleaned text that the pre-tokeniser splits.
    static func clean(_ text: String) -> String {
        let unescaped = unescapeHTML(unescapeHTML(text))
        let fixed = replacingCompatibilityCharacters(in: unescaped).precomposedStringWithCanonicalMapping
        return lowercased(collapsingWhitespace(fixed))
    }

    /// Python's `str.isspace()`: Unicode White_Space plus the four information separators.
    static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    // MARK: - ftfy's character fixes

    /// ftfy's `fix_latin_ligatures` table.
    private static let ligatures: [UInt32: String] = [
        0x0132: "IJ", 0x0133: "ij", 0x0149: "'n",
        0x01C4: "D\u{017D}", 0x01C5: "D\u{017E}", 0x01C6: "d\u{017E}",
        0x01C7: "LJ", 0x01C8: "Lj", 0x01C9: "lj", 0x01CA: "NJ", 0x01CB: "Nj", 0x01CC: "nj",
        0x01F1: "DZ", 0x01F2: "Dz", 0x01F3: "dz",
        0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u{017F}t", 0xFB06: "st",
    ]

    /// Ligatures spelled out, full-width ASCII made ASCII, curly quotes made straight.
    static func replacingCompatibilityCharacters(in text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if let spelled = ligatures[value] {
                result.append(contentsOf: spelled.unicodeScalars)
            } else if value == 0x02BC || (0x2018...0x201B).contains(value) {
                result.append("'")
            } else if (0x201C...0x201F).contains(value) {
                result.append("\"")
            } else if value == 0x3000 {
                result.append(" ")
            } else if (0xFF01...0xFF5E).contains(value), let ascii = Unicode.Scalar(value - 0xFEE0) {
                result.append(ascii)
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    // MARK: - HTML entities

    private static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}",
    ]

    /// One pass of entity replacement, left to right, never re-reading a replacement.
    static func unescapeHTML(_ text: String) -> String {
        guard text.contains("&") else {
            return text
        }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if scalars[index] == "&",
               let end = scalars[index...].prefix(12).firstIndex(of: ";"),
               let replacement = entity(named: String(String.UnicodeScalarView(scalars[(index + 1)..<end]))) {
                result.append(contentsOf: replacement.unicodeScalars)
                index = end + 1
            } else {
                result.append(scalars[index])
                index += 1
            }
        }
        return String(result)
    }

    /// The text of `&name;`, or `nil` when `name` is not a supported entity.
    private static func entity(named name: String) -> String? {
        if let named = namedEntities[name] {
            return named
        }
        guard name.hasPrefix("#") else {
            return nil
        }
        var digits = name.dropFirst()
        var radix = 10
        if let marker = digits.first, marker == "x" || marker == "X" {
            digits = digits.dropFirst()
            radix = 16
        }
        let isDigit: (Character) -> Bool = radix == 16
            ? { $0.isASCII && $0.isHexDigit }
            : { $0.isASCII && $0.isWholeNumber }
        guard !digits.isEmpty, digits.allSatisfy(isDigit),
              let value = UInt32(digits, radix: radix), value > 0,
              let scalar = Unicode.Scalar(value) else {
            return nil
        }
        return String(Character(scalar))
    }

    // MARK: - Whitespace and case

    /// Python's `" ".join(text.split())`.
    static func collapsingWhitespace(_ text: String) -> String {
        text.unicodeScalars
            .split(whereSeparator: isPythonWhitespace)
            .map { String(String.UnicodeScalarView($0)) }
            .joined(separator: " ")
    }

    /// Python's `str.lower()`: full lower-case mappings, and capital sigma becomes final
    /// sigma after a cased letter that no cased letter follows.
    static func lowercased(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if scalar.value == 0x03A3 {
                let sigma: Unicode.Scalar = isFinalSigma(at: index, in: scalars) ? "\u{03C2}" : "\u{03C3}"
                result.append(sigma)
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(result)
    }

    private static func isFinalSigma(at index: Int, in scalars: [Unicode.Scalar]) -> Bool {
        guard let before = scalars[..<index].last(where: { !$0.properties.isCaseIgnorable }),
              before.properties.isCased else {
            return false
        }
        guard let after = scalars[(index + 1)...].first(where: { !$0.properties.isCaseIgnorable }) else {
            return true
        }
        return !after.properties.isCased
    }
}
