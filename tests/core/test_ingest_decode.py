"""`files.decode` reads UTF-8 without a byte-order mark as 'utf-8', not 'utf-8-sig' (faster): the same text
and the same reason for undecodable bytes, with or without the mark (random bytes)."""

from __future__ import annotations

import codecs
import random

from bot.core.ingest.files import decode


def _by_sig(data: bytes) -> tuple[str | None, str]:
    """`decode` as it was for data without a UTF-16 byte-order mark."""
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        return None, f"undecodable bytes (not UTF-8: invalid byte 0x{data[exc.start]:02x} at offset {exc.start})"


def test_decode_reads_as_utf_8_sig() -> None:
    rng = random.Random(23)
    pieces = [b"a", b"\n", "é".encode(), "€".encode(), "😀".encode(), b"\xff", b"\xc3", b"\x80", codecs.BOM_UTF8,
              codecs.BOM_UTF8[:2], b"\xed\xa0\x80", b"\x00"]
    samples = [b"", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\xff", b"x\xff", codecs.BOM_UTF8[:2] + b"a"]
    samples += [b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))) for _ in range(5000)]
    for data in samples:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            continue
        assert decode(data) == _by_sig(data), data
