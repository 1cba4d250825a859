"""Number check: every number the model writes must match a fact it can belong to (pure; no I/O).

A *claim* is a number in free text together with the unit written after it ("0.87 s", "870ms",
"1,234.5 tok/s", "12%"). It is grounded when some reference quantity — a fact's value, its row
count, a number in its statement or a value of its configuration — equals it after unit
conversion, within the precision the text shows (``118`` matches 118.43, ``118.4`` does not match
118.49). An unsigned number states a size ("a drop of 12%" is the size of a -12 % change); an
explicit sign ("+12%", "-12%") must agree with the fact's. Scientific notation ("4.66e5"),
``k``/``K``, range ends ("45-47") and number words before a unit ("forty-six tok/s", "three
times") are claims too.

A number is only grounded by a fact it can belong to:

- **attribution**: when the clause names models (by full name whatever the punctuation after it,
  ``llama3.1:8b-instruct-q8_0: 290.0 tok/s``, or by a distinctive part, "the q8_0 model",
  "llama3.1"), only facts about those models ground it — never a total over all models; a count
  in a clause naming no model is a total, grounded by a fact about no model or a fact the sentence
  cites, never by one model's count presented as the whole;
- **kind**: a count is matched with counts of the same things ("76 files" is not 76 requests;
  "290 failed requests" is no throughput); a number right after a configuration key ("num_ctx
  4096") only by that key's values, and a configuration value never grounds any other number;
- **LLM or not**: a figure of a non-LLM benchmark (compile times, kernels) never grounds a
  number in a clause about latency, TTFT, throughput or requests;
- **data, not the archive's word**: a number the archive states and the raw rows contradict
  (``Fact.origin == "claim"``) never grounds; repeating it is flagged, unless the sentence cites
  that fact and says it is the archive's claim ("165 ms claimed, 567 ms in the raw rows [F42]");
- **next to a citation**: a number written right before ``[F6]`` must be F6's.

Ratio and share words are claims too, checked against what the facts compute: multiples ("1.6
times", "2.3x", "twice", "doubled", "half as", "10-fold") and percentage changes ("58% faster")
against the ratio of two figures of the same metric in the sentence (written, cited, or the
metric's facts for the models it names); shares ("half of all requests failed", "most requests")
against the counts (81 of 294 failed is 27.6%: not half, not most).

Numbers that are parts of identifiers are not claims: fact ids (``[F3]``), model names
(``gemma3:270m``, ``llama3.1:8b-instruct-q8_0``, ``q8_0``), config keys (``num_ctx=4096``),
percentile names (``p95``), dates and list enumerators.

How values are written is `bot.core.numbers` (all four precisions are matched).
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from bot.core.config import Config
from bot.core.numbers import COUNT_UNITS
from bot.core.types import QUOTE_CLOSE, QUOTE_OPEN, Fact, without_quoted

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
        ("fold", "x"),
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

# The spellings (longest first) by their first character; how much text after a number can hold one
_SPELLINGS_BY_FIRST: dict[str, list[tuple[str, str]]] = {}
for _spelling, _unit in _UNIT_SPELLINGS:
    _SPELLINGS_BY_FIRST.setdefault(_spelling[0], []).append((_spelling, _unit))
_UNIT_WINDOW = 1 + max(len(spelling) for spelling, _ in _UNIT_SPELLINGS) + 8

# Each pattern that scans whole texts starts with a lookahead that its first characters imply (a
# prefix of one of its alternatives, matched with the same flags, so the matches are the same:
# tests/core/test_grounding.py): it fails at most positions at once, where the pattern itself would
# try every alternative first (two character classes: the first two characters of an alternative).
# Extracting the claims of a report's fact statements (221 on the real archive) took ~40 ms.
_NUMBER_START = r"(?=[-−+\d])"
_NUMBER = re.compile(
    _NUMBER_START +
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
_COUNT_NOUN_START = r"(?=\s?[aceflrstw][aeilortu])"  # fa(iled) su(ccessful) … ca(lls)
_COUNT_NOUN = re.compile(
    _COUNT_NOUN_START +
    r"(?:\s?(?:(?P<adj>failed|successful|warm|total|llm)\s+)?"
    r"(?P<noun>requests?|failures?|errors?|runs?|rows|files?|samples?|cold[\s-]starts?|retries|attempts?|calls?)\b"
    r"|\s(?P<verb>failed)\b)",
    re.IGNORECASE,
)
_FOLD = re.compile(r"-fold\b", re.IGNORECASE)
_NAME_GLUE = re.compile(r"-[A-Za-z]|[:_]\w|\.\d")
_LETTER_GLUE = re.compile(r"[A-Za-z]|_\w")
# A number of the same things as the one after "of" ("81 of 294 requests", "1024 (85%) of 101 files").
_OF = re.compile(r"\s*(?:\([^()]{0,20}\)\s*)?of\s+(?:the\s+|all\s+)?", re.IGNORECASE)
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
_WORD_NUMBER_START = r"(?=[efhmnostz][ehilnouw])"  # ze(ro) on(e) tw(o) … mi(llion)
_WORD_NUMBER = re.compile(
    _WORD_NUMBER_START + rf"\b(?:{_NUMBER_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_NUMBER_WORD}))*\b", re.IGNORECASE
)
# Multiples written as words: (pattern, multiple). "half as fast" is 0.5x.
_RATIO_WORDS: list[tuple[re.Pattern[str], float]] = [
    (re.compile(r"\btwice\b", re.IGNORECASE), 2.0),
    (re.compile(r"\bdoubl(?:e|ed|es|ing)\b", re.IGNORECASE), 2.0),
    (re.compile(r"\btwofold\b", re.IGNORECASE), 2.0),
    (re.compile(r"\btripl(?:e|ed|es|ing)\b|\bthreefold\b", re.IGNORECASE), 3.0),
    (re.compile(r"\bquadrupl(?:e|ed|es|ing)\b|\bfourfold\b", re.IGNORECASE), 4.0),
    (re.compile(r"\btenfold\b", re.IGNORECASE), 10.0),
    (re.compile(r"\bhalf\s+as\b|\bhalv(?:e|ed|es|ing)\b", re.IGNORECASE), 0.5),
]
# What every match of `_RATIO_WORDS` and of `_COUNT_NOUN` holds (lower-case)
_RATIO_STEMS = ("twice", "doubl", "twofold", "tripl", "threefold", "quadrupl", "fourfold", "tenfold", "half", "halv")
_COUNT_WORDS = ("request", "fail", "error", "run", "rows", "file", "sample", "cold", "retries", "attempt", "call")
RATIO_WORD_TOLERANCE = 0.10  # "twice" is 1.8-2.2x
# Shares of a set of things: (pattern, low %, high %).
_SHARE_WORDS: list[tuple[str, float, float]] = [
    (r"most|the\s+majority|a\s+majority|majority", 50.000001, 100.0),
    (r"(?:nearly|almost|virtually)\s+all", 90.0, 100.0),
    (r"half", 45.0, 55.0),
    (r"(?:a|one)\s+third", 30.0, 37.0),
    (r"(?:a|one)\s+quarter", 22.0, 28.0),
    (r"a\s+minority", 0.000001, 49.999999),
]
_SHARE_START = r"(?=[ahmnotv][aehilno\s])"  # mo(st) th(e majority) … a (minority)
_SHARE = re.compile(
    _SHARE_START
    + r"\b(?P<word>" + "|".join(p for p, _, _ in _SHARE_WORDS) + r")\s+(?:of\s+)?(?:the\s+|all\s+|its\s+|their\s+"
    r"|these\s+|this\s+model's\s+)?(?P<noun>requests?|runs?|calls?|files?|samples?|queries|prompts)\b",
    re.IGNORECASE,
)
# F: the report's facts; Q: facts a follow-up question computed
_CITATION = re.compile(r"\[\s*([FQ]\d+(?:\s*[,;]\s*[FQ]\d+)*)\s*\]")
# (the lookaheads: see `_NUMBER_START`)
_MASKS = [
    re.compile(r"\b[A-Za-z_][\w.\-]*=[^\s,;)\]]+"),  # config keys: num_ctx=4096, temperature=0.2
    re.compile(r"(?=\d)\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?"),  # dates, timestamps
    re.compile(r"(?=\d)\b\d{1,2}:\d{2}(?::\d{2})?\b"),  # clock times
    re.compile(r"(?m)^\s*(?:\d+[.)]|[-*]\s*\d+[.)])\s"),  # list enumerators "1. " / "2) "
    re.compile(r"(?m)(?=\()(?:^|(?<=[\s>:]))\(\d{1,2}\)(?=\s)"),  # enumerators "(1) "
    re.compile(r"(?<=[.:!?])\s+\d{1,2}[.)](?=\s)"),  # enumerators mid-text: "Risks: 1. … slow. 2. …"
]
# Clause boundaries for the model check; a comma counts ("gemma3:270m leads at 290.1 tok/s, llama
# at 46.6 tok/s") so that naming one model in full does not bind the numbers of the next clause.
_CLAUSE_END = re.compile(r"[;!?\n]|[.,](?=\s|$)")
_SENTENCE_END = re.compile(r"[!?\n]|\.(?=\s|$)")
_LLM_WORDS = re.compile(
    r"\b(?:latency|latencies|ttft|time\s+to\s+first\s+token|first\s+token|throughput|tok/s|tokens?\s+per\s+second"
    r"|requests?|llms?)\b", re.IGNORECASE)
# Words that say what a bare number measures; without one (or a model, or a citation) it states nothing.
_WHAT_WORDS = re.compile(
    r"\b(?:latenc(?:y|ies)|ttft|first\s+token|throughput|tok|tokens?|speed|fast\w*|slow\w*|median|mean|average"
    r"|p\d{2}|percentile|requests?|fail\w*|errors?|cold|warm|load\w*|eval\w*|prompt|files?|time|duration|gap"
    r"|configurations?|runs?|samples?|cases?|backend)\b", re.IGNORECASE)
_CLAIM_WORDS = re.compile(
    r"\b(?:claim(?:s|ed)?|stated?|states|says?|said|misstates?|misreports?|reports|reported|according\s+to)\b",
    re.IGNORECASE)
_COMPARATIVE = re.compile(
    r"\b(?:faster|slower|quicker|higher|lower|more|less|better|worse|larger|smaller|greater|ahead|behind|above"
    r"|below|improvement|improves?|improved|increase[sd]?|decrease[sd]?|drops?|dropped|gains?|speed-?up|slowdown"
    r"|up|down)\b", re.IGNORECASE)
_NEAR = re.compile(r"\b(?:about|around|roughly|approximately|approx\.?|nearly|almost|close\s+to|some)\s*$|~\s*$",
                   re.IGNORECASE)
# What a clause's metric words say: the metric a ratio of figures compares.
_METRIC_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:ttft|time\s+to\s+first\s+token|first\s+token)\b", re.IGNORECASE), "ttft_ms"),
    (re.compile(r"\blatenc(?:y|ies)\b", re.IGNORECASE), "latency_ms"),
    (re.compile(r"\b(?:throughput|tok/s|tokens?\s+per\s+second|fast(?:er|est)?|slow(?:er|est)?|quick(?:er|est)?"
                r"|speed)\b", re.IGNORECASE), "throughput_tok_s"),
]
# What a share's clause says happened to the things: the facts it is checked against.
_SHARE_SUBJECTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:succeed(?:ed|s)?|successful(?:ly)?|completed?|worked)\b", re.IGNORECASE), "success"),
    (re.compile(r"\b(?:fail(?:ed|s|ing|ures?)?|errored|errors?)\b", re.IGNORECASE), "failed"),
    (re.compile(r"\bcold\b", re.IGNORECASE), "cold"),
    (re.compile(r"\bskip(?:ped|s)?\b", re.IGNORECASE), "skipped"),
]
_SHARE_METRICS = {"failed_requests": "failed", "cold_starts": "cold", "skipped_files": "skipped"}
# Counts of what a fact counts, by its metric (a fact's value); other counts are of requests.
_METRIC_NOUNS = {"failed_requests": "failed", "cold_starts": "cold", "requests": "requests",
                 "skipped_files": "files", "duplicate_files": "files", "claim_mismatches": "claims"}
NON_LLM_METRICS = frozenset({"time_ms"})  # generic (non-LLM) benchmark timings

# Why a claim is not grounded (``Claim.problem``).
PROBLEMS = {
    "ungrounded": "matches no fact",
    "misattributed": "belongs to another model, or is a total presented as one model's figure (or the reverse)",
    "wrong_kind": "is a count of other things, or a setting, than the text says",
    "non_llm": "is a non-LLM benchmark's figure presented as an LLM metric",
    "wrong_claim": "repeats a number the archive states and its raw rows contradict",
    "miscited": "is not the value of the fact cited next to it",
    "ratio": "is a ratio or change the figures it compares do not give",
    "share": "is a share the counts do not give",
}


@dataclass(frozen=True)
class Claim:
    """A number (or a ratio or share word) written in text; ``start``/``end`` cover it and its unit."""

    start: int
    end: int
    text: str
    value: float
    tolerance: float  # half a unit of the last digit shown, in the claim's unit
    unit: str  # canonical spelling ('' none; 'count' before a count noun; 'x' a multiple; 'share' a share word)
    sign: int = 0  # +1 / -1 when a sign was written, else 0 (a size)
    grounded: bool = False
    fact_id: str | None = None
    noun: str = ""  # counts: what is counted (requests, failed, cold, files)
    key: str = ""  # a configuration key written right before the number ("num_ctx 4096")
    word: bool = False  # a ratio or share written in words ("twice", "most requests")
    problem: str = ""  # why it is not grounded: a key of PROBLEMS


class Reference(NamedTuple):
    """A quantity a fact states (see `references`). A named tuple, not a frozen dataclass: a report's
    facts give ~1,800 of them, built in a third of the time (~1 ms, not ~3.5 ms, on the real archive)."""

    value: float
    unit: str
    fact_id: str
    sign: int = 0  # the sign a signed claim must have; 0 when any sign will do
    model: str = ""  # the fact's model, if it is about one
    models: frozenset[str] = frozenset()  # every model the fact is about (its model, names in its statement)
    noun: str = ""  # counts: what is counted
    key: str = ""  # a configuration value: its key
    metric: str = ""
    claimed: bool = False  # the archive's word that the raw rows contradict: never grounds
    llm: bool = True  # False for a non-LLM benchmark's figure


def citations(text: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, fact ids) of every ``[F3]`` / ``[F1, F4]`` citation in ``text``."""
    found = []
    for match in _CITATION.finditer(text):
        ids = [part.strip() for part in re.split(r"[,;]", match.group(1))]
        found.append((match.start(), match.end(), ids))
    return found


def without_citations(text: str, replacement: str = " ") -> str:
    """``text`` with every citation replaced."""
    return _CITATION.sub(replacement, text)


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


# --- claims -----------------------------------------------------------------------------------


def _power_of_ten(exponent: str) -> float:
    """10 ** ``exponent`` (digits with an optional sign), inf when that is beyond the float range:
    the text is untrusted (a model wrote "1e400 ms"), and `10.0 ** 400` raises OverflowError."""
    try:
        return 10.0 ** int(exponent)
    except (OverflowError, ValueError):  # ValueError: more digits than int() reads
        return 0.0 if exponent.startswith("-") else math.inf


def extract_claims(text: str, *, identifiers: Iterable[str] = (), keys: Iterable[str] = (),
                   quotations: Iterable[str] = ()) -> list[Claim]:
    """Every number in ``text`` that states a quantity (identifiers masked out first), and every
    ratio or share word. ``keys`` are configuration keys: a number right after one is its value.
    ``quotations`` are the archive texts the facts quote: a «quote» of (a part of) one is the
    archive's words, not a quantity ("«error_code 429»")."""
    masked = _mask(text, identifiers, quotations)
    key_before = _key_pattern(frozenset(keys))
    claims = []
    for match in _NUMBER.finditer(masked):
        end = match.end()  # what follows is matched in place (none of these patterns looks back)
        fold = _FOLD.match(masked, end)
        if not fold and _NAME_GLUE.match(masked, end):  # "8-bit", "3:8b", "1.2.3"
            continue
        unit, unit_len = ("x", fold.end() - end) if fold else _unit_at(masked[end:end + _UNIT_WINDOW])
        if not unit and not match.group("k") and _LETTER_GLUE.match(masked, end):
            continue  # glued letters that are not a unit ("270m", "8b", "4bit"): part of a name
        noun = ""
        if not unit:
            counted = _COUNT_NOUN.match(masked, end)
            if counted:
                unit, noun = "count", _noun_kind(counted)  # the noun stays outside the claim's text
        digits = match.group("int").replace(",", "")
        frac = match.group("frac") or ""
        value = float(digits + frac)
        decimals = len(frac) - 1 if frac else 0
        tolerance = 0.5 * 10.0 ** (-decimals)
        if match.group("exp"):
            scale = _power_of_ten(match.group("exp")[1:])
            if math.isinf(scale):  # "1e400 ms": beyond any float, so it equals no fact's figure
                value, tolerance = (math.inf if value else 0.0), 0.0
            else:
                value *= scale
                tolerance *= scale
        if match.group("k"):
            value *= 1000.0
            tolerance *= 1000.0
        sign = {"+": 1, "-": -1, "−": -1}.get(match.group("sign") or "", 0)
        key = ""
        if not unit and key_before is not None:
            found = key_before.search(masked[max(0, match.start() - 40):match.start()])
            key = found.group("key").lower() if found else ""
        claims.append(
            Claim(
                start=match.start(),
                end=end + unit_len,
                text=text[match.start() : end + unit_len],
                value=value,
                tolerance=tolerance,
                unit=unit,
                sign=sign,
                noun=noun,
                key=key,
            )
        )
    claims.extend(_word_claims(text, masked))
    claims.extend(_ratio_word_claims(text, masked))
    claims.extend(_share_claims(text, masked))
    return _inherit_nouns(masked, sorted(claims, key=lambda c: c.start))


def _noun_kind(match: re.Match[str]) -> str:
    if match.group("verb"):
        return "failed"
    noun = match.group("noun").lower()
    adj = (match.group("adj") or "").lower()
    if adj == "failed" or noun.startswith(("failure", "error")):
        return "failed"
    if noun.startswith("cold"):
        return "cold"
    if noun.startswith("file"):
        return "files"
    return "requests"


def _inherit_nouns(masked: str, claims: list[Claim]) -> list[Claim]:
    """"81 of 294 requests": 81 counts requests too; "Cold starts are rare: only 2 happened": a bare
    whole number in a clause that counts one kind of thing counts that."""
    out = list(claims)
    starts = {c.start: c for c in out}
    for i, claim in enumerate(out):
        if claim.unit or claim.key or claim.word or claim.tolerance != 0.5:
            continue
        of = _OF.match(masked, claim.end)
        after = starts.get(of.end()) if of else None
        if after is not None and after.unit == "count":
            out[i] = replace(claim, unit="count", noun=after.noun)
    clause_kinds: dict[tuple[int, int], set[str]] = {}  # per clause: a clause often holds several numbers
    for i, claim in enumerate(out):
        if claim.unit or claim.key or claim.word or claim.tolerance != 0.5:
            continue
        clause = _span(masked, claim.start, claim.end, _CLAUSE_END)
        if clause not in clause_kinds:
            # "3 failed requests out of 63": the clause's other numbers count requests in general
            clause_kinds[clause] = {"files" if _noun_kind(m) == "files" else "requests"
                                    for m in _count_nouns(masked[clause[0]:clause[1]]) if m.group("noun")}
        kinds = clause_kinds[clause]
        if len(kinds) == 1:
            out[i] = replace(claim, unit="count", noun=next(iter(kinds)))
    return out


@functools.lru_cache(maxsize=256)
def _key_pattern(keys: frozenset[str]) -> re.Pattern[str] | None:
    names = sorted({k for k in keys if k}, key=len, reverse=True)
    if not names:
        return None
    alternatives = "|".join(re.escape(k).replace(r"\_", "[_ ]?").replace("_", "[_ ]?") for k in names)
    return re.compile(rf"(?<![\w.])(?P<key>{alternatives})\s*(?:=|:|of|to|at|is|from|set\s+to)?\s*$",
                      re.IGNORECASE)


def _word_claims(text: str, masked: str) -> list[Claim]:
    """Numbers written as words, when a unit follows ("forty-six tok/s", "three times").

    Without a unit a number word is ordinary prose ("one of the models", "two risks").
    """
    claims = []
    for match in _WORD_NUMBER.finditer(masked):
        unit, unit_len = _unit_at(masked[match.end() : match.end() + _UNIT_WINDOW])
        if not unit:
            continue
        value = _word_value(match.group(0))
        if value is None:
            continue
        end = match.end() + unit_len
        claims.append(Claim(match.start(), end, text[match.start() : end], value, 0.5, unit))
    return claims


def _count_nouns(text: str) -> Iterator[re.Match[str]]:
    """`_COUNT_NOUN`'s matches in ``text``: none when it holds none of their words (looked for first
    in lower-cased text where that is what ignoring case means, see `_plain_case`: the same matches,
    faster)."""
    if _plain_case(text) and not _any_word(text.lower(), _COUNT_WORDS):
        return iter(())
    return _COUNT_NOUN.finditer(text)


def _any_word(lowered: str, words: tuple[str, ...]) -> bool:
    return any(word in lowered for word in words)


def _plain_case(text: str) -> bool:
    """Whether an ASCII word matches ``text`` under re.IGNORECASE exactly where it is in
    ``text.lower()``: ASCII text, or text without İ ı ſ K (see `_folded`)."""
    return text.isascii() or _FOLDS_TO_ASCII.isdisjoint(text)


def _ratio_word_claims(text: str, masked: str) -> list[Claim]:
    if _plain_case(masked) and not _any_word(masked.lower(), _RATIO_STEMS):
        return []  # none of the words (the same check as `_count_nouns`)
    claims = []
    for pattern, multiple in _RATIO_WORDS:
        for match in pattern.finditer(masked):
            claims.append(Claim(match.start(), match.end(), text[match.start():match.end()], multiple,
                                multiple * RATIO_WORD_TOLERANCE, "x", word=True))
    return claims


def _share_claims(text: str, masked: str) -> list[Claim]:
    claims = []
    for match in _SHARE.finditer(masked):
        word = re.sub(r"\s+", " ", match.group("word").lower())
        if word == "most" and re.search(r"\bthe\s+$", masked[:match.start()], re.IGNORECASE):
            continue  # "served the most requests" is a superlative, not a share
        low, high = next((lo, hi) for p, lo, hi in _SHARE_WORDS if re.fullmatch(p, word))
        claims.append(Claim(match.start(), match.end(), text[match.start():match.end()], (low + high) / 2,
                            (high - low) / 2, "share", word=True))
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


_NOT_SPACE = re.compile(r"\S")


def _mask(text: str, identifiers: Iterable[str], quotations: Iterable[str] = ()) -> str:
    """Blank out (keeping offsets) everything whose digits are names, not quantities."""
    chars = list(text)

    def blank(start: int, end: int) -> None:  # every character but whitespace (\s is str.isspace)
        piece = text[start:end]
        # the usual span, a name or a citation, holds no whitespace: every whitespace character but
        # " " is unprintable, so a printable span without " " has none (and needs no pattern)
        if piece.isprintable() and " " not in piece:
            chars[start:end] = "#" * (end - start)
        else:
            chars[start:end] = _NOT_SPACE.sub("#", piece)

    for start, end, _ids in citations(text):
        blank(start, end)
    quoted = [q for q in quotations if q]
    for match in _QUOTATION.finditer(text) if quoted else ():
        inner = match.group(1).rstrip("…").strip()
        if len(inner) >= 3 and any(inner in q for q in quoted):  # the archive's words, quoted by a fact
            blank(match.start(), match.end())
    lowered = text.lower()
    for ident, ascii_lowered in _digit_names(frozenset(identifiers)):
        if ascii_lowered is not None and ascii_lowered not in lowered:
            continue  # not in the text (the whole-word search below would find nothing)
        for start, end in _whole_words(ident, text, lowered):
            blank(start, end)
    for pattern in _MASKS:
        for match in pattern.finditer(text):
            blank(match.start(), match.end())
    return "".join(chars)


def _whole_words(name: str, text: str, lowered: str | None = None) -> Iterator[tuple[int, int]]:
    r"""Where ``name`` stands in ``text`` as a whole word, in any case (no letter or digit right
    before or after it): what ``(?<![^\W_])name(?![^\W_])`` finds, without compiling a pattern for
    every name (a report checks a hundred names or more, and compiling is most of a first check).
    ``lowered`` is ``text.lower()`` if the caller has it (not lower-cased again for every name)."""
    taken = 0  # the end of the last whole word: a match found is not searched into again
    for start, end in _spans_ignoring_case(name, text, lowered):
        if start >= taken and (start == 0 or not text[start - 1].isalnum()) and (
                end == len(text) or not text[end].isalnum()):
            yield start, end
            taken = end


def _spans_ignoring_case(name: str, text: str, lowered: str | None = None) -> Iterator[tuple[int, int]]:
    """Every (start, end) where ``name`` matches ``text`` ignoring case, overlapping ones too, in
    order: what ``re.compile(re.escape(name), re.IGNORECASE)`` finds searching from each start + 1."""
    folded = _folded(name, text, lowered)
    if folded is not None:
        wanted, lowered = folded
        start = lowered.find(wanted)
        while start != -1:
            yield start, start + len(wanted)
            start = lowered.find(wanted, start + 1)
        return
    literal = re.compile(re.escape(name), re.IGNORECASE)
    pos = 0
    while (match := literal.search(text, pos)) is not None:
        yield match.span()
        pos = match.start() + 1


# The only characters besides ASCII letters that an ASCII letter matches under re.IGNORECASE (İ ı ſ K),
# and the only ones whose lower case is not one non-ASCII character (İ K): both checked over every
# code point by tests/core/test_grounding.py.
_FOLDS_TO_ASCII = frozenset("\u0130\u0131\u017f\u212a")


def _folded(name: str, text: str, lowered: str | None = None) -> tuple[str, str] | None:
    """``name`` and ``text`` lower-cased (offsets kept), where comparing them is what re.IGNORECASE
    compares: an ASCII name in text without İ ı ſ K (its other characters lower-case to one non-ASCII
    character each, which no character of the name equals). None otherwise (use a pattern).

    Why not a pattern per name: a report checks a hundred names or more, and compiling them was most
    of the first check's time."""
    if not name.isascii() or not _plain_case(text):
        return None
    return name.lower(), text.lower() if lowered is None else lowered


@functools.lru_cache(maxsize=256)
def _digit_names(identifiers: frozenset[str]) -> tuple[tuple[str, str | None], ...]:
    """The identifiers whose digits are part of a name, longest first, each with its lower case if it
    is ASCII (a sentence is checked against every name of a report: ~330 on the real archive). A
    name part that is itself a number ("70" of "mixtral:70") is no name in prose: masking it would
    blind the check to every "70" (and "170", "270.9") the model writes. Names are masked only as
    whole words for the same reason."""
    names = sorted((i for i in identifiers if _is_digit_name(i)), key=lambda name: (-len(name), name))
    return tuple((name, name.lower() if name.isascii() else None) for name in names)


@functools.lru_cache(maxsize=8192)
def _is_digit_name(identifier: str) -> bool:
    """Whether ``identifier`` is a name with digits (`_digit_names`); kept per name, as the same names
    come back in every fact's set."""
    return bool(identifier) and any(c.isdigit() for c in identifier) and not _is_number(identifier)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _unit_at(rest: str) -> tuple[str, int]:
    """The unit at the start of ``rest`` (glued or after one space; its first `_UNIT_WINDOW`
    characters are enough) and its length."""
    offset = 1 if rest[:1] == " " else 0
    lowered = rest[offset:].lower()
    for spelling, unit in _SPELLINGS_BY_FIRST.get(lowered[:1], ()):
        if lowered.startswith(spelling):
            after = lowered[len(spelling) : len(spelling) + 2]
            glued = after[:1].isalnum() or (after[:1] == "_" and after[1:2].isalnum())
            if spelling[-1].isalpha() and glued:
                continue  # "s" of "seconds"-less words like "400 steps"; "_" closing italics is fine
            return unit, offset + len(spelling)
    return "", 0


# --- references -------------------------------------------------------------------------------


def references(facts: Sequence[Fact]) -> list[Reference]:
    """Every quantity the facts state: values, row counts, numbers in statements and configs."""
    return list(_index(tuple(facts)).references.all())


_SETTING = re.compile(r"\b([A-Za-z_][\w.]*)=(-?\d+(?:\.\d+)?)\b")


# The dimensions a statement's number can have (a statement's multiples are no references: see
# `_References._stated_of`), and how each is spelled (lower-case, longest first).
_DIMENSION_SPELLINGS = {
    dimension: tuple(spelling for spelling, unit in _UNIT_SPELLINGS if _UNIT_DIMENSIONS[unit][0] == dimension)
    for dimension in dict.fromkeys(dimension for dimension, _ in _UNIT_DIMENSIONS.values()) if dimension != "multiple"
}


@functools.cache  # compiled when first needed: a pattern of number words costs ~1 ms to compile
def _unit_after(dimension: str, words: bool) -> re.Pattern[str]:
    """One of ``dimension``'s spellings right after a number's last character: a digit or ``k``, or
    (``words``) a number word ("forty-six tok/s"); a spelling ending in a letter not glued to a
    letter or digit ("294 samples" holds no "s"). An underscore may follow: `_unit_at` reads the
    masked text, where "5 ms_q8_0" is "5 ms_#" once the identifier is masked, and finds "ms" there."""
    units = "|".join(re.escape(spelling) + (r"(?![^\W_])" if spelling[-1].isalpha() else "")
                     for spelling in _DIMENSION_SPELLINGS[dimension])
    before = _NUMBER_WORD if words else r"[\dkK]"
    return re.compile(rf"(?:{before}) ?(?:{units})", re.IGNORECASE)


_NUMBER_WORDS = (*_ONES, *_TENS, *_SCALES)


class _References:
    """The references of one list of facts (`references`), worked out fact by fact when a check
    first needs them, in the same order as the whole list.

    Why lazily: a statement's numbers are `extract_claims` again (~0.15 ms a statement, ~35 ms for a
    report's facts: most of the first data summary's check), while a claim is mostly grounded by one
    of the first facts (the summary cites the leading ones), and a claim with a unit needs only the
    statements that write a unit of its dimension after a number (13 of 221 on the real archive
    write a percentage). Threads may fill the same slot at once: they compute the same value."""

    def __init__(self, facts: tuple[Fact, ...], models: tuple[str, ...], keys: frozenset[str]) -> None:
        self._facts = facts
        self._models = models  # longest first
        self._keys = keys
        self._statements = [without_quoted(fact.statement) for fact in facts]  # quoted archive text states nothing
        self._fixed: list[tuple[tuple[Reference, ...], tuple[Reference, ...]] | None] = [None] * len(facts)
        self._stated: list[tuple[Reference, ...] | None] = [None] * len(facts)
        self._states: dict[tuple[int, str], bool] = {}
        self._references: list[Callable[..., Reference] | None] = [None] * len(facts)
        units = {unit: _canonical_unit(unit) for unit in {fact.unit for fact in facts}}
        # the dimension of each fact's value reference (None: it has none, or its unit has none)
        self._value_dimensions = [
            _UNIT_DIMENSIONS[units[fact.unit]][0] if math.isfinite(fact.value) and units[fact.unit] in _UNIT_DIMENSIONS
            else None for fact in facts]

    def all(self) -> tuple[Reference, ...]:
        return tuple(ref for i in range(len(self._facts)) for ref in self._of(i))

    def for_claim(self, claim: Claim) -> Iterator[Reference]:
        """The references, in order, but for some that cannot equal ``claim`` (see `_equal`): a
        claim with a unit of a dimension equals only a quantity of that dimension, so neither a
        row count nor a setting (no unit), nor a value or statement number of another dimension."""
        dimension = _UNIT_DIMENSIONS[claim.unit][0] if claim.unit in _UNIT_DIMENSIONS else None
        if dimension is None:
            for i in range(len(self._facts)):
                yield from self._of(i)
            return
        for i in range(len(self._facts)):
            if self._value_dimensions[i] == dimension:
                yield self._fixed_part(i)[0][0]  # the value (the first reference of its fact)
            if self._may_state(i, dimension):
                yield from self._stated_part(i)

    def _of(self, i: int) -> Iterator[Reference]:
        head, tail = self._fixed_part(i)
        yield from head
        yield from self._stated_part(i)
        yield from tail

    def _fixed_part(self, i: int) -> tuple[tuple[Reference, ...], tuple[Reference, ...]]:
        fixed = self._fixed[i]
        if fixed is None:
            fixed = self._fixed[i] = self._fixed_of(i)
        return fixed

    def _stated_part(self, i: int) -> tuple[Reference, ...]:
        stated = self._stated[i]
        if stated is None:
            stated = self._stated[i] = self._stated_of(i)
        return stated

    def _may_state(self, i: int, dimension: str) -> bool:
        """Whether statement ``i`` may write a quantity of ``dimension``: whether `extract_claims`
        may find a number with a unit of it there.

        Why this finds every such number: the number's last character (a digit, ``k`` or the end of a
        number word) and its unit are characters of the statement that masking left alone (it writes
        "#", which no unit spelling holds), and `_unit_at` compares them lower-cased, which these
        patterns' IGNORECASE accepts too. The substring tests first are exact where lower-casing is
        what ignoring case means (`_plain_case`)."""
        found = self._states.get((i, dimension))
        if found is None:
            spellings = _DIMENSION_SPELLINGS.get(dimension)
            statement = self._statements[i]
            lowered = statement.lower()
            found = spellings is not None and _any_word(lowered, spellings) and (
                _unit_after(dimension, False).search(statement) is not None
                or ((not _plain_case(statement) or _any_word(lowered, _NUMBER_WORDS))
                    and _unit_after(dimension, True).search(statement) is not None))
            self._states[(i, dimension)] = found
        return found

    def _reference(self, i: int) -> Callable[..., Reference]:
        """A reference of fact ``i`` (`_fixed_of` makes it first, `_stated_of` may use it again)."""
        made = self._references[i]
        if made is not None:
            return made
        fact = self._facts[i]
        models = frozenset({fact.model} - {""}) | frozenset(_full_names(self._statements[i], self._models)[0])
        made = self._references[i] = functools.partial(Reference, fact_id=fact.id, model=fact.model, models=models,
                                                       metric=fact.metric, llm=fact.metric not in NON_LLM_METRICS)
        return made

    def _fixed_of(self, i: int) -> tuple[tuple[Reference, ...], tuple[Reference, ...]]:
        """What a fact states whatever its statement's prose: its value and row count (before the
        statement's numbers), and its configuration's values (after them)."""
        fact, reference = self._facts[i], self._reference(i)
        head: list[Reference] = []
        if math.isfinite(fact.value):
            unit = _canonical_unit(fact.unit)
            noun = _METRIC_NOUNS.get(fact.metric, "files" if unit == "files" else "") if unit in COUNT_UNITS else ""
            head.append(reference(value=fact.value, unit=unit, sign=_sign(fact.value), noun=noun))
        if fact.rows is not None:
            head.append(reference(value=float(fact.rows), unit="", noun="requests"))
        settings = [(k, v) for k, v in Config.parse(fact.config).items if v is not None]
        settings += [(m.group(1), m.group(2)) for m in _SETTING.finditer(self._statements[i])]
        tail: list[Reference] = []
        for key, raw in settings:
            with contextlib.suppress(ValueError):
                tail.append(reference(value=float(raw), unit="", key=key.lower()))
        return tuple(head), tuple(tail)

    def _stated_of(self, i: int) -> tuple[Reference, ...]:
        """The numbers a fact's statement writes."""
        fact, reference = self._facts[i], self._reference(i)
        # an unsigned number in a statement describes the fact's value, so it carries its sign
        value_sign = _sign(fact.value) if math.isfinite(fact.value) else 0
        refs = []
        for claim in extract_claims(self._statements[i], identifiers=_identifiers((fact,)), keys=self._keys):
            if claim.word or claim.unit == "x":
                continue  # "(10x)" counts occurrences; ratios are checked against the figures
            refs.append(reference(value=claim.value, unit=claim.unit, sign=claim.sign or value_sign,
                                  noun=claim.noun, claimed=fact.origin == "claim"))
        return tuple(refs)


_QUOTATION = re.compile(f"{QUOTE_OPEN}([^{QUOTE_OPEN}{QUOTE_CLOSE}]*){QUOTE_CLOSE}")


def quotations_of(facts: Sequence[Fact]) -> tuple[str, ...]:
    """The archive texts the facts quote («…»: failure reasons, file names, claims), without a
    closing ellipsis (a quote cut to length)."""
    return _quotations(tuple(facts))


@functools.lru_cache(maxsize=512)
def _quotations(facts: tuple[Fact, ...]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for fact in facts:
        for match in _QUOTATION.finditer(fact.statement):
            found.setdefault(match.group(1).rstrip("…").strip(), None)
    return tuple(found)


def identifiers_of(facts: Sequence[Fact]) -> set[str]:
    """Strings whose digits are names: model names, config strings and their keys, fact ids."""
    return set(_identifiers(tuple(facts)))


@functools.lru_cache(maxsize=512)
def _identifiers(facts: tuple[Fact, ...]) -> frozenset[str]:
    names = {fact.id for fact in facts}
    for model in {fact.model for fact in facts} - {""}:  # each once: a report's facts share a few
        names.add(model)
        names.update(part for part in re.split(r"[:/]", model) if part)
    for config in {fact.config for fact in facts} - {""}:
        names.add(config)
        names.update(Config.parse(config).parts)
    return frozenset(names)


def config_keys(facts: Sequence[Fact]) -> set[str]:
    """The configuration keys the facts name (``num_ctx``, ``temperature``…)."""
    return set(_config_keys(tuple(facts)))


@functools.lru_cache(maxsize=512)
def _config_keys(facts: tuple[Fact, ...]) -> frozenset[str]:
    # each configuration once (a report's facts share a few dozen), and only statements with a "="
    keys = {k for config in {f.config for f in facts} for k in Config.parse(config).keys()}  # noqa: SIM118
    keys |= {m.group(1) for f in facts if "=" in f.statement for m in _KEY_SETTING.finditer(f.statement)}
    return frozenset(k for k in keys if len(k) > 1)


_KEY_SETTING = re.compile(r"\b([A-Za-z_][\w.]*)=-?\d")


def models_named(text: str, facts: Sequence[Fact]) -> set[str]:
    """The models of ``facts`` that ``text`` names, in full or by a distinctive part of the name."""
    index = _index(tuple(facts))
    return _models_named(text, index.models, index.parts)


def fact_models(fact: Fact, facts: Sequence[Fact]) -> set[str]:
    """The models ``fact`` is about: its own, and those its statement names in full."""
    return ({fact.model} - {""}) | _full_names(without_quoted(fact.statement), _index(tuple(facts)).models)[0]


@dataclass(frozen=True)
class _Index:
    """What checking text against a list of facts needs of the list, worked out once per list."""

    references: _References
    models: tuple[str, ...]  # longest first
    parts: Mapping[str, frozenset[str]]  # `_model_parts`
    identifiers: frozenset[str]
    keys: frozenset[str]
    quotations: tuple[str, ...]
    by_id: Mapping[str, Fact]


_last_index: tuple[tuple[Fact, ...], _Index] | None = None


def _index(facts: tuple[Fact, ...]) -> _Index:
    """`_cached_index`, and first the list asked for last. Why: the gate asks once or twice per
    sentence and once per fact a sentence cites, with the same facts, and comparing them with the
    last list (the same objects: identity, element by element) takes microseconds where hashing
    every field of every fact for the cache took ~0.2 ms a call, ~5 ms in a data summary."""
    global _last_index
    last = _last_index
    if last is not None and last[0] == facts:
        return last[1]
    index = _cached_index(facts)
    _last_index = (facts, index)
    return index


@functools.lru_cache(maxsize=64)
def _cached_index(facts: tuple[Fact, ...]) -> _Index:
    """Why one cache: the gate checks a report's sentences one by one against the same facts, and
    hashing the list (every field of every fact) once per sentence, not once per structure, and not
    splitting the model names again, was a third of a data summary's checking."""
    models = tuple(sorted({f.model for f in facts if f.model}, key=len, reverse=True))
    keys = _config_keys(facts)
    return _Index(references=_References(facts, models, keys), models=models, parts=_model_parts(models),
                  identifiers=_identifiers(facts), keys=keys, quotations=_quotations(facts),
                  by_id={f.id: f for f in facts})


# --- grounding --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What the text around a claim says: who it is about and what it cites."""

    named: frozenset[str]  # models named in the claim's clause
    inherited: frozenset[str]  # none named there: those of the closest earlier clause of its sentence
    sentence_named: frozenset[str]  # models named in its sentence
    cited: frozenset[str]  # fact ids cited in its sentence
    adjacent: frozenset[str]  # fact ids cited right after it ("290.0 tok/s [F6]")
    llm: bool  # the clause speaks of an LLM metric (latency, TTFT, throughput, requests)
    said: bool  # the clause says what its numbers measure (a metric, a count noun…)
    framed: bool  # the sentence presents numbers as the archive's claims ("stated", "claimed")
    clause: str
    sentence: str
    sentence_start: int


def ground(text: str, facts: Sequence[Fact]) -> list[Claim]:
    """All claims in ``text``, each marked grounded (with the matching fact id) or not (with the
    problem: see `PROBLEMS`)."""
    index = _index(tuple(facts))
    claims = extract_claims(text, identifiers=index.identifiers, keys=index.keys, quotations=index.quotations)
    contexts = [_context(text, claim, index.models, index.parts) for claim in claims]
    first = [_match(claim, ctx, index.references.for_claim(claim)) for claim, ctx in zip(claims, contexts, strict=True)]
    by_id = index.by_id
    out = []
    for claim, ctx in zip(first, contexts, strict=True):
        if not claim.grounded and claim.unit == "share":
            claim = _check_share(claim, ctx, facts)
        elif not claim.grounded and (claim.unit == "x" or (claim.unit == "%" and _comparative(text, claim))):
            claim = _check_ratio(claim, ctx, first, by_id, facts)
        out.append(claim)
    return out


def _context(text: str, claim: Claim, models: Sequence[str], parts: Mapping[str, frozenset[str]]) -> _Context:
    c_start, c_end = _span(text, claim.start, claim.end, _CLAUSE_END)
    s_start, s_end = _span(text, claim.start, claim.end, _SENTENCE_END)
    clause, sentence = text[c_start:c_end], text[s_start:s_end]
    cited: set[str] = set()
    adjacent: set[str] = set()
    for start, _end, ids in citations(text):
        if s_start <= start < s_end:
            cited.update(ids)
        if 0 <= start - claim.end <= 3 and not claim.word:
            adjacent.update(ids)
    named = frozenset(_models_named(clause, models, parts))
    inherited: frozenset[str] = frozenset()
    if not named:
        bounds = [s_start] + [m.end() for m in _CLAUSE_END.finditer(text, s_start, c_start)]
        for begin, stop in reversed(list(zip(bounds, [*bounds[1:], c_start], strict=True))):
            inherited = frozenset(_models_named(text[begin:stop], models, parts))
            if inherited:
                break
    return _Context(
        named=named, inherited=inherited,
        sentence_named=frozenset(_models_named(sentence, models, parts)),
        cited=frozenset(cited), adjacent=frozenset(adjacent),
        llm=bool(_LLM_WORDS.search(_CITATION.sub(" ", clause))),
        said=bool(_WHAT_WORDS.search(_CITATION.sub(" ", clause))),
        framed=bool(_CLAIM_WORDS.search(sentence)),
        clause=clause, sentence=sentence, sentence_start=s_start,
    )


def _span(text: str, start: int, end: int, boundary: re.Pattern[str]) -> tuple[int, int]:
    """The clause or sentence (by ``boundary``) holding ``text[start:end]``."""
    begin = 0
    for match in boundary.finditer(text, 0, start):
        begin = match.end()
    after = boundary.search(text, end)
    return begin, after.start() if after else len(text)


def _full_names(text: str, models: Sequence[str]) -> tuple[set[str], str]:
    """Models named in full in ``text`` (whatever punctuation follows), and ``text`` with them blanked."""
    found: set[str] = set()
    lowered = text.lower()
    for model in models:  # longest first, so a name inside a longer one is not found twice
        if model.lower() not in lowered:
            continue
        spans = name_spans(model, text)
        if spans:
            found.add(model)
            pieces, last = [], 0
            for start, end in spans:  # blanked, offsets kept
                pieces += [text[last:start], " " * (end - start)]
                last = end
            text = "".join(pieces) + text[last:]
            lowered = text.lower()
    return found, text


@functools.lru_cache(maxsize=4096)
def name_pattern(name: str) -> re.Pattern[str]:
    """A model name as a whole word, whatever punctuation follows (``name:``, ``name,``, ``name's``)."""
    return re.compile(rf"(?<![\w.:/\-]){re.escape(name)}(?![\w/\-]|[:.]\w)", re.IGNORECASE)


def name_spans(name: str, text: str) -> list[tuple[int, int]]:
    """Where ``name_pattern(name)`` matches ``text`` (``finditer``'s spans), mostly without compiling it:
    see `_folded`. The pattern's lookarounds are checked by hand: ``\\w`` is ``isalnum()`` or ``_``."""
    folded = _folded(name, text)
    if folded is None:
        return [match.span() for match in name_pattern(name).finditer(text)]
    wanted, lowered = folded
    out = []
    start = lowered.find(wanted)
    while start != -1:
        end = start + len(wanted)
        if _name_bounded(text, start, end):
            out.append((start, end))
            start = lowered.find(wanted, end)
        else:
            start = lowered.find(wanted, start + 1)
    return out


def _name_bounded(text: str, start: int, end: int) -> bool:
    """`name_pattern`'s lookarounds: ``(?<![\\w.:/\\-])`` before and ``(?![\\w/\\-]|[:.]\\w)`` after."""
    if start > 0:
        before = text[start - 1]
        if before.isalnum() or before in "_.:/-":
            return False
    if end < len(text):
        after = text[end]
        if after.isalnum() or after in "_/-":
            return False
        if after in ":." and end + 1 < len(text) and (text[end + 1].isalnum() or text[end + 1] == "_"):
            return False
    return True


def _model_parts(models: Sequence[str]) -> dict[str, frozenset[str]]:
    """Distinctive parts of model names ("q8_0", "270m", "llama3.1", "1b-it-qat", "llama") -> the
    models they refer to. Parts without a digit are no reference, except a family name of 4+
    letters before its version ("llama" of "llama3.1:8b")."""
    owners: dict[str, set[str]] = {}
    for model in models:
        pieces = set()
        for token in re.split(r"[:/]", model):
            pieces.add(token)
            pieces.update(token.split("-"))
        family = re.match(r"([A-Za-z]{4,})\d", model)
        if family:
            pieces.add(family.group(1))
        for piece in pieces:
            named_part = any(c.isdigit() for c in piece) or (family is not None and piece == family.group(1))
            if piece and not _is_number(piece) and named_part:
                owners.setdefault(piece.lower(), set()).add(model)
    return {part: frozenset(found) for part, found in owners.items()}


def _models_named(span: str, models: Sequence[str], parts: Mapping[str, frozenset[str]]) -> set[str]:
    """The models a clause or sentence names: in full, or by a distinctive part of their name."""
    if not models:
        return set()
    named, rest = _full_names(span, models)
    lowered = rest.lower()
    for part, owners in parts.items():
        if part in lowered and name_spans(part, lowered):
            named |= owners
    return named


def _match(claim: Claim, ctx: _Context, refs: Iterable[Reference]) -> Claim:
    if claim.word:
        return claim  # ratio and share words are checked against computed figures
    if not claim.unit and not claim.key and not (ctx.named or ctx.inherited or ctx.cited or ctx.said):
        return replace(claim, problem="ungrounded")  # "1.5": nothing says what it is, so no fact can hold it
    problems: list[str] = []
    for ref in refs:
        if not _equal(claim, ref):
            continue
        problem = _scope_problem(claim, ref, ctx)
        if not problem:
            return replace(claim, grounded=True, fact_id=ref.fact_id, problem="")
        problems.append(problem)
    for problem in ("wrong_claim", "misattributed", "miscited", "non_llm", "wrong_kind"):
        if problem in problems:
            return replace(claim, problem=problem)
    return replace(claim, problem="ungrounded")


def _scope_problem(claim: Claim, ref: Reference, ctx: _Context) -> str:
    """Why ``ref`` (equal in value) cannot ground ``claim`` in its context; "" when it can."""
    if ref.claimed and not (ref.fact_id in ctx.cited and ctx.framed):
        return "wrong_claim"
    if ref.key != claim.key:
        return "wrong_kind"  # a setting is no measurement, and "num_ctx 4096" is no count
    if claim.unit == "count" and claim.noun and ref.noun and claim.noun != ref.noun and not (
            claim.noun == "requests" and ref.noun in {"failed", "cold"}):
        return "wrong_kind"
    if ctx.adjacent and ref.fact_id not in ctx.adjacent:
        return "miscited"
    if not ref.llm and ctx.llm:
        return "non_llm"
    if ctx.named:
        if not (ref.models & ctx.named):
            return "misattributed"
    elif ctx.inherited:  # "gemma3:270m, the leader at 290 tok/s, …": not another model's figure
        if ref.models and not (ref.models & ctx.inherited):
            return "misattributed"
    elif claim.unit == "count" and ref.models and ref.fact_id not in ctx.cited:
        return "misattributed"  # one model's count presented as the whole
    return ""


# --- ratios and shares ------------------------------------------------------------------------


def _comparative(text: str, claim: Claim) -> bool:
    """A percentage that states a change between two figures ("58% faster", "a 35% improvement")."""
    around = text[max(0, claim.start - 25):claim.start] + " " + text[claim.end:claim.end + 25]
    return bool(_COMPARATIVE.search(around))


def _figures(ctx: _Context, claims: Sequence[Claim], by_id: Mapping[str, Fact],
             facts: Sequence[Fact]) -> list[tuple[str, float, str]]:
    """(metric, value in the base unit, fact id) of every figure the claim's sentence compares: the
    numbers it writes (grounded), the facts it cites, and for the models it names the facts of the
    metric its words name."""
    figures: list[tuple[str, float, str]] = []
    end = ctx.sentence_start + len(ctx.sentence)
    for other in claims:
        fact = by_id.get(other.fact_id or "")
        inside = other.grounded and fact is not None and ctx.sentence_start <= other.start < end
        if inside and fact is not None and fact.metric and other.unit in _UNIT_DIMENSIONS and other.unit != "%":
            figures.append((fact.metric, other.value * _UNIT_DIMENSIONS[other.unit][1], fact.id))
    wanted = {metric for pattern, metric in _METRIC_HINTS if pattern.search(ctx.sentence)}
    for fact in facts:
        cited = fact.id in ctx.cited
        about = fact.model in ctx.sentence_named and fact.metric in wanted
        if (cited or about) and fact.metric and math.isfinite(fact.value):
            unit = _canonical_unit(fact.unit)
            factor = _UNIT_DIMENSIONS[unit][1] if unit in _UNIT_DIMENSIONS else 1.0
            figures.append((fact.metric, fact.value * factor, fact.id))
    return figures


def _check_ratio(claim: Claim, ctx: _Context, claims: Sequence[Claim], by_id: Mapping[str, Fact],
                 facts: Sequence[Fact]) -> Claim:
    if not math.isfinite(claim.value):
        return replace(claim, problem="ratio")  # its slack would be inf
    figures = _figures(ctx, claims, by_id, facts)
    near = bool(_NEAR.search(ctx.sentence[:max(0, claim.start - ctx.sentence_start)]))
    slack = claim.tolerance + (0.03 * abs(claim.value) if near else 0.0)
    for i, (metric_a, a, id_a) in enumerate(figures):
        for metric_b, b, id_b in figures[i + 1:]:
            if metric_a != metric_b or id_a == id_b or a <= 0 or b <= 0 or a == b:
                continue
            ratio = max(a, b) / min(a, b)
            # a multiple either way round, or a percentage change either way round
            candidates = [ratio, 1 / ratio] if claim.unit == "x" else [100 * (ratio - 1), 100 * (1 - 1 / ratio)]
            if any(abs(abs(claim.value) - c) <= slack + 1e-9 for c in candidates):
                return replace(claim, grounded=True, fact_id=f"{id_a}/{id_b}", problem="")
    return replace(claim, problem="ratio")


def _shares(fact: Fact) -> list[tuple[str, float]]:
    """The shares a count fact gives: (what happened, percent)."""
    kind = _SHARE_METRICS.get(fact.metric)
    if not kind or not math.isfinite(fact.value):
        return []
    if fact.rows:
        share = 100.0 * fact.value / fact.rows
    else:
        found = re.search(r"(\d[\d,]*) of (\d[\d,]*)", without_quoted(fact.statement))
        if not found or float(found.group(2).replace(",", "")) == 0:
            return []
        share = 100.0 * float(found.group(1).replace(",", "")) / float(found.group(2).replace(",", ""))
    out = [(kind, share)]
    if kind == "failed":
        out.append(("success", 100.0 - share))
    return out


def _check_share(claim: Claim, ctx: _Context, facts: Sequence[Fact]) -> Claim:
    subject = next((kind for pattern, kind in _SHARE_SUBJECTS if pattern.search(ctx.clause)), "")
    if not subject:
        return replace(claim, problem="share")  # nothing the facts count: cannot be checked
    named = ctx.named or ctx.inherited
    for fact in facts:
        in_scope = (fact.model in named) if named else (not fact.model or fact.id in ctx.cited)
        if not in_scope:
            continue
        for kind, share in _shares(fact):
            if kind == subject and abs(share - claim.value) <= claim.tolerance + 1e-9:
                return replace(claim, grounded=True, fact_id=fact.id, problem="")
    return replace(claim, problem="share")


# --- comparing values -------------------------------------------------------------------------


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
    if not (math.isfinite(value) and math.isfinite(target) and math.isfinite(tolerance)):
        return False  # "1e400 ms", or "1e308 h" in ms: the slack below would be inf and take anything
    return abs(value - target) <= tolerance + 1e-9 * max(abs(value), abs(target), 1.0)


def _canonical_unit(unit: str) -> str:
    lowered = unit.strip().lower()
    for spelling, canonical in _UNIT_SPELLINGS:
        if lowered == spelling:
            return canonical
    return lowered
