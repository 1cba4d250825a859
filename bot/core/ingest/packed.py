"""A text column kept packed: one code per row into texts held as compressed UTF-8 blocks.

Ingest keeps a run's ``identifiers`` this way (`bot.core.types.IngestResult.identifiers`) instead of
as a column of the measurement frame: nothing in the analysis reads them, only the stored run keeps
them (`IngestResult.stored_measurements`). As a categorical, each distinct text is a Python string
(~49 bytes of header, its text and a pointer): at 10,000 generated files (609,504 rows, 136,158
texts of ~70 characters) ~30 bytes per row of the whole job's memory. Packed: the texts as zlib
blocks (consecutive texts share most of their characters: 9.6 MB in 0.56 MB, 0.9 bytes a row; as
plain UTF-8 they would be ~16 bytes a row), each text's end in its block (4 bytes a text, 0.9 a
row) and one code per row in the narrowest integer type that holds the codes (int32 there): ~6
bytes a row. Compressing them costs ~35 ms of CPU there (~0.1 ms for the 101-file real archive).

The texts are numbered as ingest numbered them (per file, `bot.core.ingest.frame.FileTexts`): a text
may be held twice, and texts no kept row uses stay held. Both go when the column is made
(`column`): it is exactly the categorical the frame held before (categories sorted, only the
texts some row uses).
"""

from __future__ import annotations

import zlib
from array import array
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

BLOCK_TEXTS = 4096  # texts per compressed block (~0.3 MB decompressed at ~71 bytes a text)
_LEVEL = 1  # zlib's fastest: the texts repeat so much that a higher level gains little
_INT32 = 2**31
_UTF8 = ("utf-8", "surrogatepass")  # as `bot.core.ingest.frame` encodes them: a lone surrogate round-trips


@dataclass(frozen=True, eq=False)
class PackedTexts:
    """Texts, one per row: ``codes[row]`` is the number of the row's text. Text ``i`` is in block
    ``i // BLOCK_TEXTS`` (zlib-compressed UTF-8 of its texts one after the other), ending at byte
    ``ends[i]`` of that block's bytes (starting where text ``i - 1`` ends, or at 0 for a block's
    first). Immutable: ``codes`` and ``ends`` are read-only."""

    blocks: tuple[bytes, ...]
    ends: np.ndarray  # one per text: int32, or int64 should a block's bytes not fit
    codes: np.ndarray  # one per row, the narrowest signed integer type that holds them

    def __post_init__(self) -> None:
        self.codes.flags.writeable = False
        self.ends.flags.writeable = False

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def empty(cls) -> PackedTexts:
        return cls((), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8))

    def take(self, rows: np.ndarray) -> PackedTexts:
        """The texts of ``rows`` (a boolean mask or positions, as ``codes[rows]`` takes them); the
        blocks are shared, not copied."""
        return PackedTexts(self.blocks, self.ends, self.codes[rows])

    def texts(self) -> np.ndarray:
        """Every text held, in number order, as an object array (decoded a block at a time)."""
        out = np.empty(len(self.ends), dtype=object)
        for number, block in enumerate(self.blocks):
            low = number * BLOCK_TEXTS
            high = min(low + BLOCK_TEXTS, len(self.ends))
            out[low:high] = _decoded(zlib.decompress(block), self.ends[low:high].tolist())
        return out

    def column(self) -> pd.Categorical | np.ndarray:
        """The column the measurement frame held: a categorical of each row's text (categories
        sorted, only those some row uses); with no row, an empty object array (as
        `bot.core.types.empty_measurements` has it)."""
        if not len(self.codes):
            return np.empty(0, dtype=object)
        # made as the frame's other text columns are (`frame.py` imports the contract module, which
        # names this one: imported here, not at the top, so neither import waits on the other)
        from bot.core.ingest.frame import categorical

        return categorical(self.codes.copy(), self.texts(), merge=True, owned=True)


def pack(data: bytearray, ends: array, codes: np.ndarray) -> PackedTexts:
    """``codes`` into the texts ``data`` holds one after the other (text ``i`` ends at byte
    ``ends[i]``), packed. ``data`` and ``ends`` are emptied, from the end, as their blocks are
    compressed, so the texts are never held twice at once (a bytearray gives its memory back as
    it shrinks)."""
    count = len(ends)
    blocks: list[bytes] = []
    relative = np.empty(count, dtype=np.int64)
    for low in reversed(range(0, count, BLOCK_TEXTS)):
        high = min(low + BLOCK_TEXTS, count)
        start = ends[low - 1] if low else 0
        relative[low:high] = np.frombuffer(ends[low:high], dtype=np.int64) - start
        with memoryview(data) as view:
            blocks.append(zlib.compress(view[start:], _LEVEL))
        del data[start:], ends[low:]
    blocks.reverse()
    if count and relative.max() < _INT32:  # (4 bytes a text less; a block's texts are rarely 2 GB)
        relative = relative.astype(np.int32)
    return PackedTexts(tuple(blocks), relative, codes)


def _decoded(data: bytes, ends: list[int]) -> list[str]:
    """The texts of one block: ``data`` split at ``ends``."""
    whole = str(data, *_UTF8)
    bounds = [0, *ends]
    if len(whole) != len(data):  # not ASCII: byte offsets are not character offsets
        return [str(data[a:b], *_UTF8) for a, b in pairwise(bounds)]
    return [whole[a:b] for a, b in pairwise(bounds)]
