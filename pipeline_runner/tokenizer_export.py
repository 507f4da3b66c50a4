"""Export open_clip's CLIP tokenizer as plain files for a Swift (or any) re-implementation.

``export_clip_tokenizer`` writes three files:

* ``vocab.json``: token → id, exactly ``open_clip.tokenizer.SimpleTokenizer().encoder``
  (49,408 entries: 256 byte symbols, the same with ``</w>``, one per merge, then
  ``<start_of_text>`` and ``<end_of_text>``). About 1 MB.
* ``merges.txt``: the BPE merges in rank order, one ``"a b"`` pair a line after a
  ``#version: 0.2`` header (the layout of OpenAI CLIP's and Hugging Face's merges
  files). Only the 48,894 merges open_clip uses are written.
* ``test_vectors.json``: ``{"context_length", "sot", "eot", "cases": [{"text", "ids"}]}``
  with ids from ``open_clip.tokenize``.

Truncation, as open_clip does it: ``[sot] + encode(text) + [eot]`` is cut to
``context_length`` tokens and the last kept token is replaced by ``eot``, so a
truncated row always ends with ``eot``; shorter rows are padded with ``0`` (which
is also the id of ``!``: the model finds the end by the position of ``eot``, the
largest id, never by the padding).

Text cleaning in open_clip runs ``ftfy.fix_text`` and ``html.unescape`` twice
before collapsing whitespace and lower-casing. The default cases include the edge
cases of both (entities with and without ``;``, Windows-1252 numeric references,
control characters, a BOM, U+0085, terminal escapes, ``<`` turning ftfy's unescaping
off); ModelKit's cleaner reproduces all of it except ftfy's mojibake repair, which is
deliberately not among the cases.

open_clip (and torch) are imported lazily, inside the function.
"""

from __future__ import annotations

import json
from pathlib import Path

#: Default texts: each exercises one part of cleaning, pre-tokenisation or BPE.
DEFAULT_TEXTS: list[str] = [
    "a photo of a cat.",
    "A Photo Of A DOG",                       # lower-casing
    "Hello, world! (really?) -- yes...",      # punctuation runs
    "don't stop; it's what we'd've done, you'll see",  # contractions
    "don’t “smart” quotes",                   # curly quotes → straight (ftfy)
    "3 dogs and 12 cats in 2024",             # numbers: one token per digit
    "café naïve résumé Zürich",               # accents (precomposed)
    "cafe\u0301 with a combining accent",     # NFC joins e + U+0301
    "東京タワー and Москва",                   # non-Latin scripts
    "emoji 🐱🐶 and 👍🏽 thumbs",                # emoji: byte-level symbols
    "  multiple   spaces\tand\nnewlines  ",   # whitespace collapse
    "",                                       # empty: just sot, eot
    "fish &amp; chips &lt;3",                 # HTML entities
    "it&#8217;s &#x41;&#66;C &amp;amp;",      # numeric entities, unescaped twice
    "ﬁne ﬂowers",                             # Latin ligatures (ftfy)
    "ＦＵＬＬ　ｗｉｄｔｈ",                          # full-width ASCII (ftfy)
    "ΟΔΥΣΣΕΥΣ ΣΟΦΟΣ",                          # Greek final sigma when lower-casing
    "x'ſ y",                                  # case-insensitive 's matches long s
    "<start_of_text> literal special tokens <end_of_text>",
    # ftfy.fix_text then html.unescape twice, as open_clip cleans text:
    "&copy; 2024 &copy 2025",                 # named entity with and without ';'
    "fish &amp chips",                        # legacy entity without ';' (html.unescape only)
    "&#150; dash &#150 em &#x97;",            # numeric references remapped as Windows-1252
    "ctrl\x00a\x07b\x1bc\x7fd",                # control characters removed (ftfy)
    "\ufeffbom at the start",                 # byte order mark removed (ftfy)
    "next\u0085line",                         # C1 control read as Windows-1252: '…' (ftfy)
    "&notit; &notin; &ampx &AMP; &EACUTE; &eacute",  # longest-prefix names, ftfy's upper case
    "a < b &amp; c\nx &lt; y",                # '<' turns ftfy's unescaping off; html.unescape still runs
    "\x1b[31mred\x1b[0m text",                # terminal escapes removed (ftfy)
    "&#0;&#13;&#xD800;&#1114112;&#65535;&#1;end",  # invalid references: U+FFFD, CR, dropped
    "&frac12 &frac123 &copyright &#59;",     # prefix matches; '&#59;' is left to html.unescape
    "a diagram of a 'quoted' word and x's",
    " ".join(["a very long caption that keeps going"] * 20),  # truncated, eot kept last
]

MERGES_HEADER = "#version: 0.2"


def export_clip_tokenizer(out_dir: Path, texts: list[str] | None = None,
                          context_length: int = 77) -> dict[str, Path]:
    """Write ``vocab.json``, ``merges.txt`` and ``test_vectors.json`` into ``out_dir``.

    ``texts`` defaults to :data:`DEFAULT_TEXTS`. Returns the written paths keyed
    ``"vocab"``, ``"merges"`` and ``"test_vectors"``.
    """
    import open_clip
    from open_clip.tokenizer import SimpleTokenizer

    texts = list(DEFAULT_TEXTS if texts is None else texts)
    tokenizer = SimpleTokenizer(context_length=context_length)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    vocab_path = out_dir / "vocab.json"
    vocab_path.write_text(json.dumps(tokenizer.encoder, ensure_ascii=False, separators=(",", ":")),
                          encoding="utf-8")

    merges = sorted(tokenizer.bpe_ranks.items(), key=lambda item: item[1])
    merges_path = out_dir / "merges.txt"
    merges_path.write_text("\n".join([MERGES_HEADER] + [f"{a} {b}" for (a, b), _ in merges]) + "\n",
                           encoding="utf-8")

    rows = open_clip.tokenize(texts, context_length=context_length).tolist() if texts else []
    vectors = {
        "context_length": context_length,
        "sot": tokenizer.sot_token_id,
        "eot": tokenizer.eot_token_id,
        "cases": [{"text": text, "ids": ids} for text, ids in zip(texts, rows)],
    }
    vectors_path = out_dir / "test_vectors.json"
    vectors_path.write_text(json.dumps(vectors, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return {"vocab": vocab_path, "merges": merges_path, "test_vectors": vectors_path}
