"""tokenizer_export: the exported files load, and a from-scratch BPE reproduces open_clip.

``ReferenceTokenizer`` below is the specification ``ios_app/ModelKit``'s
``CLIPTokenizer`` follows, step for step: the same cleaning (ftfy's ``fix_text`` less
mojibake repair, then ``html.unescape`` twice, from the tables in ``TextCleaningTables.swift``), the same
hand-written pre-tokeniser (no regex engine), byte-to-unicode, ``</w>``, merges
by rank, sot/eot, truncation keeping eot, zero padding.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from pipeline_runner.tokenizer_export import DEFAULT_TEXTS, export_clip_tokenizer

SPECIALS = ("<start_of_text>", "<end_of_text>")
TABLES_SWIFT = Path(__file__).resolve().parents[1] / "ios_app/ModelKit/Sources/ModelKit/TextCleaningTables.swift"


def swift_tables() -> dict[str, dict[str, str]]:
    """The tables ModelKit's cleaner reads, parsed from the committed Swift file as the Swift parses them."""
    tables, source = {}, TABLES_SWIFT.read_text(encoding="utf-8")
    for name, body in re.findall(r'static let (\w+) = #"""\n(.*?)\n\s*"""#', source, re.S):
        rows = [line.strip().split("\t") for line in body.splitlines()]
        tables[name] = {row[0]: "".join(chr(int(h, 16)) for h in row[1].split()) if len(row) > 1 else ""
                        for row in rows}
    return tables


T = swift_tables()
CODES = {name: {int(k, 16): v for k, v in T[name].items()}
         for name in ("invalidCharacterReferences", "invalidCodePoints", "c1Controls", "ligatures", "widths",
                      "controlCharacters")}
ALNUM = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
ANSI = re.compile("\033\\[(?:\\d|;)*[a-zA-Z]")


def ftfy_unescape(s: str) -> str:
    """ftfy's unescape_html: ``&#?[0-9A-Za-z]{1,24};``, HTML5 and upper-case names with ';'."""
    out, i = [], 0
    while i < len(s):
        if s[i] == "&":
            j = i + 2 if s[i + 1:i + 2] == "#" else i + 1
            k = j
            while k < len(s) and k - j < 24 and s[k] in ALNUM:
                k += 1
            if k > j and s[k:k + 1] == ";":
                match, name = s[i:k + 1], s[i + 1:k + 1]
                named = T["html5Entities"].get(name, T["ftfyUppercaseEntities"].get(name))
                if named is not None:
                    out.append(named)
                elif match.startswith("&#"):
                    unescaped = html_unescape(match)
                    out.append(match if ";" in unescaped else unescaped)
                else:
                    out.append(match)
                i = k + 1
                continue
        out.append(s[i])
        i += 1
    return "".join(out)


def fix_segment(s: str, unescape_html: bool) -> str:
    while True:
        before = s
        s = ftfy_unescape(s) if unescape_html else s
        s = "".join(CODES["c1Controls"].get(ord(c), CODES["ligatures"].get(ord(c), c)) for c in s)
        s = "".join(CODES["widths"].get(ord(c), "'" if c == "\u02bc" or "\u2018" <= c <= "\u201b"
                                        else '"' if "\u201c" <= c <= "\u201f" else c) for c in s)
        for old in ("\r\n", "\r", "\u2028", "\u2029", "\u0085"):
            s = s.replace(old, "\n")
        s = ANSI.sub("", s)
        s = unicodedata.normalize("NFC", "".join(c for c in s if ord(c) not in CODES["controlCharacters"]))
        if s == before:
            return s


def fix_text(s: str) -> str:
    """ftfy.fix_text without mojibake repair: line by line; a '<' turns unescaping off from there on."""
    out, unescape_html = [], True
    for segment in re.findall(r"[^\n]*\n|[^\n]+$", s):  # segments end after each '\n' (only)
        unescape_html = unescape_html and "<" not in segment
        out.append(fix_segment(segment, unescape_html))
    return "".join(out)


def html_unescape(s: str) -> str:
    """Python's html.unescape, from the tables (the spec of the Swift's scanner)."""
    out, i = [], 0
    while i < len(s):
        if s[i] != "&" or i + 1 >= len(s):
            out.append(s[i])
            i += 1
            continue
        if s[i + 1] == "#":
            k = i + 2
            hexa = s[k:k + 1] in ("x", "X")
            k += hexa
            d = k
            while k < len(s) and s[k] in ("0123456789abcdefABCDEF" if hexa else "0123456789"):
                k += 1
            if k == d:
                out.append("&")
                i += 1
                continue
            num = int(s[d:k], 16 if hexa else 10)
            k += s[k:k + 1] == ";"
            if num in CODES["invalidCharacterReferences"]:
                out.append(CODES["invalidCharacterReferences"][num])
            elif 0xD800 <= num <= 0xDFFF or num > 0x10FFFF:
                out.append("\ufffd")
            elif num not in CODES["invalidCodePoints"]:
                out.append(chr(num))
            i = k
            continue
        k = i + 1
        while k < len(s) and k - i - 1 < 32 and s[k] not in "\t\n\f <&#;":
            k += 1
        if k == i + 1:
            out.append("&")
            i += 1
            continue
        name = s[i + 1:k] + (";" if s[k:k + 1] == ";" else "")
        k += s[k:k + 1] == ";"
        if name in T["html5Entities"]:
            out.append(T["html5Entities"][name])
        else:
            prefix = next((x for x in range(len(name) - 1, 1, -1) if name[:x] in T["html5Entities"]), None)
            out.append("&" + name if prefix is None else T["html5Entities"][name[:prefix]] + name[prefix:])
        i = k
    return "".join(out)


CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def byte_symbols() -> list[str]:
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(extra)) for b in range(256)]


def is_space(c: str) -> bool:  # Python's str.isspace(): Unicode White_Space plus U+001C...U+001F
    return c.isspace()


class ReferenceTokenizer:
    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab, self.ranks, self.bytes = vocab, {m: i for i, m in enumerate(merges)}, byte_symbols()
        self.sot, self.eot = vocab[SPECIALS[0]], vocab[SPECIALS[1]]

    def clean(self, text: str) -> str:
        return " ".join(html_unescape(html_unescape(fix_text(text))).split()).lower()

    def pretokenize(self, text: str) -> list[str]:
        kind = lambda c: "L" if unicodedata.category(c)[0] == "L" else "N" if unicodedata.category(c)[0] == "N" \
            else "S" if is_space(c) else "P"
        tokens, i = [], 0
        while i < len(text):
            rest = text[i:]
            folded = rest.replace("ſ", "s")  # open_clip's pattern is case-insensitive
            match = next((s for s in (*SPECIALS, *CONTRACTIONS) if folded.startswith(s)), None)
            if match:
                tokens.append(rest[:len(match)])
                i += len(match)
                continue
            k, j = kind(text[i]), i + 1
            if k == "S":
                i = j
                continue
            if k != "N":
                while j < len(text) and kind(text[j]) == k:
                    j += 1
            tokens.append(text[i:j])
            i = j
        return tokens

    def bpe(self, token: str) -> list[str]:
        if token in SPECIALS:
            return [token]
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            ranked = [(self.ranks[p], p) for p in zip(word, word[1:]) if p in self.ranks]
            if not ranked:
                break
            first, second = min(ranked)[1]
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return word

    def encode(self, text: str, context_length: int = 77) -> list[int]:
        ids = [self.sot]
        for token in self.pretokenize(self.clean(text)):
            symbols = token if token in SPECIALS else "".join(self.bytes[b] for b in token.encode("utf-8"))
            ids.extend(self.vocab[s] for s in self.bpe(symbols))
        ids.append(self.eot)
        if len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = self.eot
        return ids + [0] * (context_length - len(ids))


def load_merges(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split(" ")) for line in lines if line and not line.startswith("#version")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    return export_clip_tokenizer(tmp_path_factory.mktemp("tokenizer"), DEFAULT_TEXTS)


def test_files_load(exported):
    vocab = json.loads(exported["vocab"].read_text(encoding="utf-8"))
    merges = load_merges(exported["merges"])
    vectors = json.loads(exported["test_vectors"].read_text(encoding="utf-8"))
    assert len(vocab) == 49408 and len(merges) == 48894
    assert all(len(m) == 2 for m in merges)
    assert exported["merges"].read_text(encoding="utf-8").startswith("#version: 0.2\n")
    assert vectors["sot"] == vocab["<start_of_text>"] == 49406
    assert vectors["eot"] == vocab["<end_of_text>"] == 49407
    assert [c["text"] for c in vectors["cases"]] == DEFAULT_TEXTS
    assert all(len(c["ids"]) == vectors["context_length"] == 77 for c in vectors["cases"])
    for path in exported.values():
        assert path.stat().st_size < 2 * 1024 * 1024


def test_vocab_is_derivable_from_merges(exported):
    """open_clip builds the vocabulary from the merges; the exported vocab.json agrees."""
    vocab = json.loads(exported["vocab"].read_text(encoding="utf-8"))
    by_byte = byte_symbols()  # vocab order: the printable bytes first, then the remapped ones
    symbols = sorted(by_byte, key=lambda s: (ord(s) >= 256, ord(s)))
    derived = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in load_merges(exported["merges"])]
    assert list(vocab) == derived + list(SPECIALS)
    assert list(vocab.values()) == list(range(len(vocab)))


def test_reference_bpe_reproduces_open_clip(exported):
    vocab = json.loads(exported["vocab"].read_text(encoding="utf-8"))
    reference = ReferenceTokenizer(vocab, load_merges(exported["merges"]))
    vectors = json.loads(exported["test_vectors"].read_text(encoding="utf-8"))
    for case in vectors["cases"]:
        assert reference.encode(case["text"], vectors["context_length"]) == case["ids"], case["text"]


def test_cases_cover_edge_behaviour(exported):
    vectors = json.loads(exported["test_vectors"].read_text(encoding="utf-8"))
    by_text = {c["text"]: c["ids"] for c in vectors["cases"]}
    sot, eot = vectors["sot"], vectors["eot"]
    assert by_text[""][:3] == [sot, eot, 0]
    long_ids = next(ids for text, ids in by_text.items() if len(text) > 300)
    assert long_ids[0] == sot and long_ids[-1] == eot and 0 not in long_ids  # truncated, eot kept last
    assert by_text["don’t “smart” quotes"][:3] == by_text["don't stop; it's what we'd've done, you'll see"][:3]
    assert by_text["A Photo Of A DOG"][:5] == by_text["a photo of a cat."][:5]


def test_reference_matches_open_clip_on_extra_texts(tmp_path):
    """A second, differently shaped batch, with a short context length."""
    texts = ["Hello World", "x" * 5, "it's 4:30pm!!", "naïve—dash", "tab\tsep"]
    paths = export_clip_tokenizer(tmp_path, texts, context_length=8)
    vocab = json.loads(paths["vocab"].read_text(encoding="utf-8"))
    reference = ReferenceTokenizer(vocab, load_merges(paths["merges"]))
    vectors = json.loads(paths["test_vectors"].read_text(encoding="utf-8"))
    assert vectors["context_length"] == 8
    for case in vectors["cases"]:
        assert reference.encode(case["text"], 8) == case["ids"], case["text"]


# Pieces that hit every rule of the cleaning: entities with and without ';', numeric and
# Windows-1252 references, '<', controls, BOM, C1, line breaks, quotes, ligatures, widths.
_PIECES = [*"&#;xX0129afAMPampltgtcopynotin <<\n\n\r\t\x85\ufeff\x00\x80\x9d\u2019\u2028ﬁＡｶﾞ",
           "&amp", "&copy", "&#150", "&#x9f", "&not", "&ntilde", "\x1b[1m", "\x1b[٣m", "&lt;", "&#8217;", "&AMP;", "é"]


def test_cleaning_matches_python_and_ftfy_on_random_text():
    """The Swift cleaner's specification against Python's html.unescape and open_clip's cleaner
    (ftfy), on 3,000 random strings; only mojibake repair (not reproduced) may differ."""
    import html
    import random

    import ftfy
    from open_clip.tokenizer import _clean_lower

    rng = random.Random(0)
    reference = ReferenceTokenizer.__new__(ReferenceTokenizer)
    for _ in range(3000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 14)))
        assert html_unescape(text) == html.unescape(text), repr(text)
        if ftfy.fix_text(text) != ftfy.fix_text(text, fix_encoding=False):
            continue  # mojibake repair
        assert reference.clean(text) == _clean_lower(text), repr(text)
