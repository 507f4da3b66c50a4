"""tokenizer_export: the exported files load, and a from-scratch BPE reproduces open_clip.

``ReferenceTokenizer`` below is the specification ``ios_app/ModelKit``'s
``CLIPTokenizer`` follows, step for step: the same cleaning subset, the same
hand-written pre-tokeniser (no regex engine), byte-to-unicode, ``</w>``, merges
by rank, sot/eot, truncation keeping eot, zero padding.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from pathlib import Path

import pytest

from pipeline_runner.tokenizer_export import DEFAULT_TEXTS, export_clip_tokenizer

SPECIALS = ("<start_of_text>", "<end_of_text>")
QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
          "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'}
QUOTES["\u02bc"] = "'"
LIGATURES = {"Ĳ": "IJ", "ĳ": "ij", "ŉ": "'n", "Ǆ": "DŽ", "ǅ": "Dž", "ǆ": "dž", "Ǉ": "LJ", "ǈ": "Lj", "ǉ": "lj",
             "Ǌ": "NJ", "ǋ": "Nj", "ǌ": "nj", "Ǳ": "DZ", "ǲ": "Dz", "ǳ": "dz",
             "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
             "\ufb05": "ſt", "\ufb06": "st"}
ENTITY = re.compile(r"&(#[0-9]{1,9}|#[xX][0-9a-fA-F]{1,8}|amp|lt|gt|quot|apos|nbsp);")
NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\u00a0"}
CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def byte_symbols() -> list[str]:
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(extra)) for b in range(256)]


def unescape(text: str) -> str:
    def entity(m):
        name = m.group(1)
        if name.startswith("#"):
            code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            valid = 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF
            return chr(code) if valid else m.group(0)
        return NAMED[name]
    return ENTITY.sub(entity, text)


def is_space(c: str) -> bool:  # Python's str.isspace(): Unicode White_Space plus U+001C...U+001F
    return c.isspace()


class ReferenceTokenizer:
    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab, self.ranks, self.bytes = vocab, {m: i for i, m in enumerate(merges)}, byte_symbols()
        self.sot, self.eot = vocab[SPECIALS[0]], vocab[SPECIALS[1]]

    def clean(self, text: str) -> str:
        text = unescape(unescape(text))
        text = "".join(LIGATURES.get(c, QUOTES.get(c, c)) for c in text)
        text = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else " " if c == "\u3000" else c
                       for c in text)
        return " ".join(unicodedata.normalize("NFC", text).split()).lower()

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
    assert html.unescape("&amp;") == unescape("&amp;")
