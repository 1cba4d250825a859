r"""One benchmark configuration: the ``k=v,k=v`` text that tables, facts, claims and questions share.

A configuration is made once, from a file's settings, by `Config.from_items`: keys sorted, values in
canonical form (``999.00`` -> ``999``, ``0.40`` -> ``0.4``), empty values dropped, giving
``num_ctx=1024,num_gpu=999,temperature=0.2``. That text is what the measurement frame, the facts
and the JSON carry, and `Config.parse` is the one place that reads it back.

A `Config` *is* its text: two configs are equal when their texts are, and ``str(config)`` (or
``config.key``) gives the text back byte for byte, whatever it holds. Reading splits the text at
every ``,`` and each part at its first ``=``.

Escaping: the makers (`from_items`, `from_pairs`, `from_context`) write a ``\`` before every ``,``
and ``\`` inside keys and values and before every ``=`` inside keys (a value's ``=`` needs none:
a part splits at its first ``=``), so ``gpu=Radeon 8060S, gfx1151`` is written
``gpu=Radeon 8060S\, gfx1151`` and reads back as one part. Texts written before escaping existed
hold no backslashes and read exactly as they always did: a value that holds a bare ``,`` (a file's
own configuration name, ``config=a,b``) reads as two parts, the second one without ``=``; such a
*bare* part is kept, with value ``None``, so that nothing of the text is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.core.values import is_missing, parse_number

Item = tuple[str, "str | None"]


def format_config_value(raw: Any) -> str:
    """Canonical text of a configuration value: 999.00 -> '999', 0.40 -> '0.4'."""
    if type(raw) is str:
        return _format_text(raw)
    return _format(raw)


@lru_cache(maxsize=1024)
def _format_text(raw: str) -> str:
    """`format_config_value` of a text. Cached for what repeats (a table writes its settings row
    after row): a few, as every text `bot.core.context` reads for the first time passes through."""
    return _format(raw)


def _format(raw: Any) -> str:
    number = parse_number(raw)
    if number is not None:
        if number == int(number) and abs(number) < 1e15:
            return str(int(number))
        return f"{number:g}"
    return str(raw).strip()


@dataclass(frozen=True)
class Config:
    """A configuration as its canonical text; ``items`` are that text read as (key, value) parts."""

    text: str = ""
    items: tuple[Item, ...] = field(init=False, repr=False, compare=False)
    _parts: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", _read(self.text))
        object.__setattr__(self, "_parts", frozenset(self.parts))

    # --- making ------------------------------------------------------------------------------

    @staticmethod
    def parse(text: str) -> Config:
        """The configuration written as ``text`` (cached: the same few texts recur on every row)."""
        return _parse(text)

    @staticmethod
    def from_items(items: Mapping[str, Any]) -> Config:
        """The canonical configuration of a file's settings: sorted keys, canonical values, no
        empty values."""
        return Config.from_pairs((name, format_config_value(items[name]))
                                 for name in sorted(items) if not is_missing(items[name]))

    @staticmethod
    def from_pairs(pairs: Iterable[tuple[str, str]]) -> Config:
        """(key, value) pairs already in text form, kept in the order given (escaped)."""
        return _parse(",".join(f"{escape_key(key)}={escape_value(value)}" for key, value in pairs))

    @staticmethod
    def from_context(dimensions: Mapping[str, str]) -> Config:
        """The configuration of a measurement's dimensions (already canonical text, see
        `bot.core.context`): sorted keys, every value kept as given, even an empty one."""
        return Config.from_pairs((name, str(dimensions[name])) for name in sorted(dimensions))

    def as_dict(self) -> dict[str, str]:
        """The parts with a value as {key: value}; the first part of a key wins."""
        out: dict[str, str] = {}
        for key, value in self.items:
            if value is not None:
                out.setdefault(key, value)
        return out

    def __add__(self, other: Config) -> Config:
        """This configuration followed by ``other``'s parts (no re-sorting)."""
        return _parse(",".join(text for text in (self.text, other.text) if text))

    # --- reading -----------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The canonical text, as stored in the measurement frame's ``config`` column."""
        return self.text

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)

    @property
    def parts(self) -> tuple[str, ...]:
        """Each ``k=v`` (or bare) part as written (escapes included)."""
        return _split_parts(self.text) if self.text else ()

    def keys(self) -> tuple[str, ...]:
        """Keys of the parts that have a value (``=``), in order, each once."""
        return tuple(dict.fromkeys(key for key, value in self.items if value is not None))

    def __iter__(self) -> Iterator[str]:
        """Iterating a configuration gives its keys (like a mapping)."""
        return iter(self.keys())

    def get(self, key: str) -> str:
        """Value of the first part named ``key``; '' when there is none (or it is bare)."""
        for name, value in self.items:
            if name == key:
                return value or ""
        return ""

    def covers(self, other: Config) -> bool:
        """Every part of ``other`` is one of this configuration's parts (the empty one is covered
        by any)."""
        return other._parts <= self._parts

    def trimmed(self) -> Config:
        """The same parts with spaces around keys and values removed (how questions read them)."""
        return _trimmed(self.text)


def escape_key(key: str) -> str:
    key = str(key)
    if "\\" not in key and "," not in key and "=" not in key:
        return key
    return key.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def escape_value(value: str) -> str:
    value = str(value)
    if "\\" not in value and "," not in value:
        return value
    return value.replace("\\", "\\\\").replace(",", "\\,")


_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text) if "\\" in text else text


def _split_parts(text: str) -> tuple[str, ...]:
    """The text split at every ``,`` that no backslash escapes (as written, escapes kept)."""
    if "\\" not in text:
        return tuple(text.split(","))
    parts: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(char)
            current.append(next(chars, ""))
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return tuple(parts)


def _partition(part: str) -> Item:
    """A part at its first unescaped ``=``: (key, value) or (key, None) for a bare part."""
    if "\\" not in part:
        key, sep, value = part.partition("=")
        return key, value if sep else None
    index = 0
    while index < len(part):
        if part[index] == "\\":
            index += 2
            continue
        if part[index] == "=":
            return _unescape(part[:index]), _unescape(part[index + 1:])
        index += 1
    return _unescape(part), None


def _read(text: str) -> tuple[Item, ...]:
    """The one reading of a configuration text (see the module docstring)."""
    if not text:
        return ()
    return tuple(_partition(part) for part in _split_parts(text))


@lru_cache(maxsize=4096)
def _parse(text: str) -> Config:
    return Config(text)


@lru_cache(maxsize=4096)
def _trimmed(text: str) -> Config:
    items = _parse(text).items
    return _parse(",".join(escape_key(key.strip()) if value is None
                           else f"{escape_key(key.strip())}={escape_value(value.strip())}"
                           for key, value in items))
