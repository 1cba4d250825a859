"""Number check: every number the model writes must match a fact (pure; no I/O).

A *claim* is a number in free text together with the unit written after it ("0.87 s", "870ms",
"1,234.5 tok/s", "12%"). It is grounded when some reference quantity — a fact's value, its row
count, a number in its statement or configuration — equals it after unit conversion, within the
precision the text shows (``118`` matches 118.43, ``118.4`` does not match 118.49). An unsigned
number states a size ("a drop of 12%" is the size of a -12 % change); an explicit sign ("+12%",
"-12%") must agree with the fact's. A number followed by a count noun ("290 failed requests")
matches only counts. Scientific notation ("4.66e5"), ``k``/``K``, range ends ("45-47") and number
words before a unit ("forty-six tok/s", "three times") are claims too.

Numbers that are parts of identifiers are not claims: fact ids (``[F3]``), model names
(``gemma3:270m``, ``llama3.1:8b-instruct-q8_0``, ``q8_0``), config keys (``num_ctx=4096``),
percentile names (``p95``), dates and list enumerators.

How values are written is `bot.core.numbers` (all four precisions are matched).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.config import Config
from bot.core.numbers import COUNT_UNITS
from bot.core.types import Fact, without_quoted

# unit written in text -> (dimension, factor to the dimension's base unit)
_UNIT_DIMENSIONS: dict[str, tuple[str, float]] = {
    "ns": ("time", 1e-6),
    "us": ("time", 1e-3),
    "µs": ("time", 1e-3),
    "ms": ("time", 1.0),
    "s": ("time", 1000.0),
    "min": ("time", 60_000.0),
    "h": ("time", 3_600_000.0),
    "%": ("percent", 1.0),
    "ratio": ("percent", 100.0),
    "fraction": ("percent", 100.0),
    "tok/s": ("rate", 1.0),
    "x": ("multiple", 1.0),
    "tokens": ("tokens", 1.0),
    "kb": ("bytes", 1e3),
    "mb": ("bytes", 1e6),
    "gb": ("bytes", 1e9),
    "kib": ("bytes", 1024.0),
    "mib": ("bytes", 1024.0**2),
    "gib": ("bytes", 1024.0**3),
}

# How units are spelled in prose (lower-case), longest first so "tokens/s" wins over "tokens".
_UNIT_SPELLINGS: list[tuple[str, str]] = sorted(
    [
        ("tokens per second", "tok/s"),
        ("tokens per sec", "tok/s"),
        ("tokens/second", "tok/s"),
        ("tokens/sec", "tok/s"),
        ("tokens/s", "tok/s"),
        ("token/s", "tok/s"),
        ("tok/sec", "tok/s"),
        ("tok/s", "tok/s"),
        ("t/s", "tok/s"),
        ("tps", "tok/s"),
        ("milliseconds", "ms"),
        ("millisecond", "ms"),
        ("msec", "ms"),
        ("ms", "ms"),
        ("microseconds", "us"),
        ("µs", "µs"),
        ("us", "us"),
        ("nanoseconds", "ns"),
        ("ns", "ns"),
        ("seconds", "s"),
        ("second", "s"),
        ("secs", "s"),
        ("sec", "s"),
        ("s", "s"),
        ("minutes", "min"),
        ("minute", "min"),
        ("mins", "min"),
        ("min", "min"),
        ("hours", "h"),
        ("hour", "h"),
        ("hrs", "h"),
        ("hr", "h"),
        ("percent", "%"),
        ("per cent", "%"),
        ("%", "%"),
        ("times", "x"),
        ("x", "x"),
        ("×", "x"),
        ("tokens", "tokens"),
        ("gib", "gib"),
        ("mib", "mib"),
        ("kib", "kib"),
        ("gb", "gb"),
        ("mb", "mb"),
        ("kb", "kb"),
    ],
    key=lambda pair: -len(pair[0]),
)

# Canonical fact units that are plain counts (no conversion, matched like a unitless number).

_NUMBER = re.compile(
    # not inside an identifier (gemma3, q8_0, :270m, =4096, v1.2), except the end of a range
    # "45-47"; a leading "_" is Markdown italics ("_8.7 s_"), not part of a name
    r"(?<![^\W_])(?<![^\W_]_)(?:(?<=\d-)|(?<![.:=/\-−+]))"
    r"(?P<sign>(?<!\d-)[-−+])?"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)"
    r"(?P<frac>\.\d+)?"
    r"(?P<exp>[eE][-+]?\d+(?![A-Za-z]))?"
    r"(?P<k>[kK](?![A-Za-z]))?"
)
# "290 failed requests": a number of things, never a throughput or a latency
_COUNT_NOUN = re.compile(
    r"\s?(?:failed\s+|successful\s+|warm\s+)?(?:requests?|failures?|errors?|runs?|rows|files?|samples?"
    r"|cold[\s-]starts?|retries|attempts?)\b",
    re.IGNORECASE,
)
_ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_NUMBER_WORD = "|".join(sorted([*_ONES, *_TENS, *_SCALES], key=len, reverse=True))
_WORD_NUMBER = re.compile(
    rf"\b(?:{_NUMBER_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_NUMBER_WORD}))*\b", re.IGNORECASE
)
# F: the report's facts; Q: facts a follow-up question computed
_CITATION = re.compile(r"\[\s*([FQ]\d+(?:\s*[,;]\s*[FQ]\d+)*)\s*\]")
_MASKS = [
    re.compile(r"\b[A-Za-z_][\w.\-]*=[^\s,;)\]]+"),  # config keys: num_ctx=4096, temperature=0.2
    re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?"),  # dates, timestamps
    re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b"),  # clock times
    re.compile(r"(?m)^\s*(?:\d+[.)]|[-*]\s*\d+[.)])\s"),  # list enumerators "1. " / "2) "
]


@dataclass(frozen=True)
class Claim:
    """A number written in text; ``start``/``end`` cover the number and its unit."""

    start: int
    end: int
    text: str
    value: float
    tolerance: float  # half a unit of the last digit shown, in the claim's unit
    unit: str  # canonical spelling ('' when none was written; 'count' before a count noun)
    sign: int = 0  # +1 / -1 when a sign was written, else 0 (a size)
    grounded: bool = False
    fact_id: str | None = None


@dataclass(frozen=True)
class Reference:
    value: float
    unit: str
    fact_id: str
    sign: int = 0  # the sign a signed claim must have; 0 when any sign will do
    model: str = ""  # the fact's model, if it is about one


def citations(text: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, fact ids) of every ``[F3]`` / ``[F1, F4]`` citation in ``text``."""
    found = []
    for match in _CITATION.finditer(text):
        ids = [part.strip() for part in re.split(r"[,;]", match.group(1))]
        found.append((match.start(), match.end(), ids))
    return found


UNVERIFIED = "⚠️unverified"
Edit = tuple[int, int, str]  # replace text[start:end] with the string


def render_edits(text: str, *, facts: Sequence[Fact], citable: Mapping[str, Fact],
                 cite: Callable[[Fact], str]) -> tuple[list[Edit], list[str]]:
    """What rendering the model's ``text`` changes: each citation becomes ``cite(fact)`` (the
    exact value, styled by the caller) and each ungrounded number gets `UNVERIFIED` after it.

    Returns the edits (unsorted) and the ungrounded numbers as written, plus unknown citations.
    """
    edits: list[Edit] = []
    bad: list[str] = []
    for start, end, ids in citations(text):
        pieces = []
        for fid in ids:
            fact = citable.get(fid)
            if fact is None:
                pieces.append(f"[{fid}] {UNVERIFIED}")
                bad.append(f"[{fid}]")
            else:
                pieces.append(f"{cite(fact)} [{fid}]")
        edits.append((start, end, ", ".join(pieces)))
    for claim in ground(text, facts):
        inside = any(s <= claim.start < e for s, e, _ in edits if e > s)
        if not claim.grounded and not inside:
            edits.append((claim.end, claim.end, f" {UNVERIFIED}"))
            bad.append(claim.text)
    return edits, bad


def extract_claims(text: str, *, identifiers: Iterable[str] = ()) -> list[Claim]:
    """Every number in ``text`` that states a quantity (identifiers masked out first)."""
    masked = _mask(text, identifiers)
    claims = []
    for match in _NUMBER.finditer(masked):
        end = match.end()
        rest = masked[end:]
        if re.match(r"-[A-Za-z]|[:_]\w|\.\d", rest):  # "8-bit", "3:8b", "1.2.3"
            continue
        unit, unit_len = _unit_at(rest)
        if not unit and not match.group("k") and re.match(r"[A-Za-z]|_\w", rest):
            continue  # glued letters that are not a unit ("270m", "8b", "4bit"): part of a name
        if not unit and _COUNT_NOUN.match(rest):
            unit = "count"  # the noun stays outside the claim's text
        digits = match.group("int").replace(",", "")
        frac = match.group("frac") or ""
        value = float(digits + frac)
        decimals = len(frac) - 1 if frac else 0
        tolerance = 0.5 * 10.0 ** (-decimals)
        if match.group("exp"):
            scale = 10.0 ** int(match.group("exp")[1:])
            value *= scale
            tolerance *= scale
        if match.group("k"):
            value *= 1000.0
            tolerance *= 1000.0
        sign = {"+": 1, "-": -1, "−": -1}.get(match.group("sign") or "", 0)
        claims.append(
            Claim(
                start=match.start(),
                end=end + unit_len,
                text=text[match.start() : end + unit_len],
                value=value,
                tolerance=tolerance,
                unit=unit,
                sign=sign,
            )
        )
    claims.extend(_word_claims(text, masked))
    return sorted(claims, key=lambda c: c.start)


def _word_claims(text: str, masked: str) -> list[Claim]:
    """Numbers written as words, when a unit follows ("forty-six tok/s", "three times").

    Without a unit a number word is ordinary prose ("one of the models", "two risks").
    """
    claims = []
    for match in _WORD_NUMBER.finditer(masked):
        unit, unit_len = _unit_at(masked[match.end() :])
        if not unit:
            continue
        value = _word_value(match.group(0))
        if value is None:
            continue
        end = match.end() + unit_len
        claims.append(Claim(match.start(), end, text[match.start() : end], value, 0.5, unit))
    return claims


def _word_value(words: str) -> float | None:
    total = current = 0
    for word in re.split(r"[\s-]+", words.lower()):
        if word == "and":
            continue
        if word in _ONES:
            current += _ONES[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _SCALES:
            total += max(current, 1) * _SCALES[word]
            current = 0
        else:
            return None
    return float(total + current)


def _mask(text: str, identifiers: Iterable[str]) -> str:
    """Blank out (keeping offsets) everything whose digits are names, not quantities."""
    chars = list(text)

    def blank(start: int, end: int) -> None:
        for i in range(start, end):
            if not chars[i].isspace():
                chars[i] = "#"

    for start, end, _ids in citations(text):
        blank(start, end)
    # A name part that is itself a number ("70" of "mixtral:70") is no name in prose: masking it
    # would blind the check to every "70" (and "170", "270.9") the model writes. Names are masked
    # only as whole words for the same reason.
    names = {i for i in identifiers if i and any(c.isdigit() for c in i) and not _is_number(i)}
    for ident in sorted(names, key=len, reverse=True):
        whole = rf"(?<![^\W_]){re.escape(ident)}(?![^\W_])"
        for match in re.finditer(whole, text, flags=re.IGNORECASE):
            blank(match.start(), match.end())
    for pattern in _MASKS:
        for match in pattern.finditer(text):
            blank(match.start(), match.end())
    return "".join(chars)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _unit_at(rest: str) -> tuple[str, int]:
    """The unit at the start of ``rest`` (glued or after one space) and its length."""
    offset = 1 if rest[:1] == " " else 0
    lowered = rest[offset:].lower()
    for spelling, unit in _UNIT_SPELLINGS:
        if lowered.startswith(spelling):
            after = lowered[len(spelling) : len(spelling) + 2]
            glued = after[:1].isalnum() or (after[:1] == "_" and after[1:2].isalnum())
            if spelling[-1].isalpha() and glued:
                continue  # "s" of "seconds"-less words like "400 steps"; "_" closing italics is fine
            return unit, offset + len(spelling)
    return "", 0


def references(facts: Sequence[Fact]) -> list[Reference]:
    """Every quantity the facts state: values, row counts, numbers in statements and configs."""
    refs: list[Reference] = []
    for fact in facts:
        # an unsigned number in a statement describes the fact's value, so it carries its sign
        value_sign = _sign(fact.value) if math.isfinite(fact.value) else 0
        model = fact.model
        if math.isfinite(fact.value):
            refs.append(Reference(fact.value, _canonical_unit(fact.unit), fact.id, value_sign, model))
        if fact.rows is not None:
            refs.append(Reference(float(fact.rows), "", fact.id, model=model))
        # numbers in quoted archive text (failure reasons, file paths) are not findings
        for claim in extract_claims(without_quoted(fact.statement), identifiers=identifiers_of([fact])):
            refs.append(Reference(claim.value, claim.unit, fact.id, claim.sign or value_sign, model))
        for _key, raw in Config.parse(fact.config).items:
            if raw is None:
                continue
            with contextlib.suppress(ValueError):
                refs.append(Reference(float(raw), "", fact.id, model=model))
    return refs


def identifiers_of(facts: Sequence[Fact]) -> set[str]:
    """Strings whose digits are names: model names, config strings and their keys, fact ids."""
    names: set[str] = set()
    for fact in facts:
        names.add(fact.id)
        if fact.model:
            names.add(fact.model)
            names.update(part for part in re.split(r"[:/]", fact.model) if part)
        if fact.config:
            names.add(fact.config)
            names.update(Config.parse(fact.config).parts)
    return names


def ground(text: str, facts: Sequence[Fact]) -> list[Claim]:
    """All claims in ``text``, each marked grounded (with the matching fact id) or not.

    When the clause around a number names models by their full names, the number must match a
    fact about one of them (or about no model): "llama3.1:8b reaches 290.1 tok/s" is not grounded
    by gemma3:270m's 290.1 tok/s.
    """
    refs = references(facts)
    claims = extract_claims(text, identifiers=identifiers_of(facts))
    models = sorted({f.model for f in facts if f.model}, key=len, reverse=True)
    return [_match(claim, refs, named=_models_named(text, claim, models)) for claim in claims]


# Clause boundaries for the model check; a comma counts ("gemma3:270m leads at 290.1 tok/s, llama
# at 46.6 tok/s") so that naming one model in full does not bind the numbers of the next clause.
_CLAUSE_END = re.compile(r"[;!?\n]|[.,](?=\s|$)")


def _models_named(text: str, claim: Claim, models: Sequence[str]) -> set[str]:
    """The models named (in full) in the clause that holds ``claim``."""
    if not models:
        return set()
    start = 0
    for match in _CLAUSE_END.finditer(text, 0, claim.start):
        start = match.end()
    after = _CLAUSE_END.search(text, claim.end)
    clause = text[start : after.start() if after else len(text)]
    return {
        m for m in models
        if re.search(rf"(?<![\w.:/\-]){re.escape(m)}(?![\w:/\-])", clause, flags=re.IGNORECASE)
    }


def _match(claim: Claim, refs: Sequence[Reference], *, named: set[str] = frozenset()) -> Claim:  # type: ignore[assignment]
    for ref in refs:
        if named and ref.model and ref.model not in named:
            continue  # a number about another model than the clause names
        if _equal(claim, ref):
            return Claim(**{**claim.__dict__, "grounded": True, "fact_id": ref.fact_id})
    return claim


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _equal(claim: Claim, ref: Reference) -> bool:
    if claim.sign and ref.sign and claim.sign != ref.sign:
        return False  # "+12%" for a -12% change
    value = abs(claim.value)
    target = abs(ref.value)
    if claim.unit == "":
        return _within(value, target, claim.tolerance)  # a bare number compares as written
    if claim.unit == "count":
        return ref.unit in COUNT_UNITS and _within(value, target, claim.tolerance)
    if ref.unit not in _UNIT_DIMENSIONS or claim.unit not in _UNIT_DIMENSIONS:
        # counts and units we cannot convert match only the very same unit
        return claim.unit == ref.unit and _within(value, target, claim.tolerance)
    claim_dim, claim_factor = _UNIT_DIMENSIONS[claim.unit]
    ref_dim, ref_factor = _UNIT_DIMENSIONS[ref.unit]
    if claim_dim != ref_dim:
        return False
    return _within(value * claim_factor, target * ref_factor, claim.tolerance * claim_factor)


def _within(value: float, target: float, tolerance: float) -> bool:
    return abs(value - target) <= tolerance + 1e-9 * max(abs(value), abs(target), 1.0)


def _canonical_unit(unit: str) -> str:
    lowered = unit.strip().lower()
    for spelling, canonical in _UNIT_SPELLINGS:
        if lowered == spelling:
            return canonical
    return lowered

