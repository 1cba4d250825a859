"""The shortcuts of a file's reading before its table is read, held to what they stand for (random and
hostile inputs): a report's folded bytes lowered from the file's own bytes (`files.utf8_of`)."""

from __future__ import annotations

import codecs
import random

from bot.core.ingest.files import decode, utf8_of
from bot.core.ingest.tools.base import SourceFile

# characters the patterns read as others (re.IGNORECASE: 'ſ' is an 's', the Kelvin sign a 'k', 'ı' an
# 'i'), characters that lower to several, whitespace `str.splitlines` or ``\s`` know, lone surrogates
_ODD = ["ſ", "\u212a", "ı", "İ", "Σ", "é", "\x1c", "\x85", "\u2028", "\u3000", "\xa0", "\t", "\r\n", "\r",
        "\ud800", "\U0001f600", "\x00"]


def _texts(pieces: list[str], count: int, longest: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, longest))) for _ in range(count)]


def test_utf8_of_is_the_decoded_text_encoded_again() -> None:
    rng = random.Random(41)
    pieces = [b"a", b"Z", b"\n", "é".encode(), "€".encode(), "😀".encode(), "İ".encode(), "ſ".encode(),
              "\u212a".encode(), b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\x00", codecs.BOM_UTF8,
              codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, "x".encode("utf-16-le"), "é".encode("utf-16-be")]
    samples = [b"", codecs.BOM_UTF8, codecs.BOM_UTF8 * 2, codecs.BOM_UTF16_LE + "İx".encode("utf-16-le"),
               codecs.BOM_UTF16_BE + "Σ".encode("utf-16-be")]
    samples += [b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 20))) for _ in range(20000)]
    valid = [codecs.BOM_UTF8, *(piece.encode() for piece in ["a", "Z", "\n", "é", "😀", "İ", "ſ", "\u212a", "\x00"])]
    samples += [b"".join(rng.choice(valid) for _ in range(rng.randint(1, 20))) for _ in range(5000)]
    decoded = 0
    for data in samples:
        text, _reason = decode(data)
        if text is None:
            continue
        decoded += 1
        utf8 = utf8_of(data)
        if utf8 is not None:
            assert utf8 == text.encode("utf-8", "surrogatepass"), data
        else:
            assert data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)), data
        given = SourceFile(rel="r.md", fmt="md", text=text, utf8=utf8)
        assert given.folded == SourceFile(rel="r.md", fmt="md", text=text).folded, data
        assert given.utf8 is None  # let go once folded
    assert decoded > 5000
