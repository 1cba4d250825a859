"""Ranking claims in an archive's prose: "best configuration", "fastest model", "X is N% faster than Y".

Read from Markdown and text files as `RankingClaim`s (names and numbers as written); they are
checked against the computed ranking, with its noise, in `bot.core.analysis.rankings`.
"""

from __future__ import annotations

import re

from bot.core.ingest.readers import NAME_TAG
from bot.core.types import RankingClaim

_BEST = re.compile(r"\bbest\s+(?:overall\s+)?config(?:uration)?s?\b", re.IGNORECASE)
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*)$")
_SETTING = re.compile(r"`?\b([A-Za-z][A-Za-z0-9_]*_[A-Za-z0-9_]+|temperature|temp|ctx|batch|concurrency)`?"
                      r"\s*[:=]\s*`?([-+]?\d+(?:\.\d+)?|[A-Za-z][A-Za-z0-9_.\-]*)`?", re.IGNORECASE)
_RATE = re.compile(r"([-+]?\d[\d,]*(?:\.\d+)?)\s*(?:tokens/s(?:ec)?|tok/s|t/s|tokens per second|tps)\b",
                   re.IGNORECASE)
_PERCENT = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*%\s*(faster|slower)\b", re.IGNORECASE)
_PAIR = re.compile(r"\(\s*([\d,]+(?:\.\d+)?)\s*(?:vs\.?|versus)\s*([\d,]+(?:\.\d+)?)\s*(?:tokens/s|tok/s|t/s)",
                   re.IGNORECASE)
_THAN = re.compile(r"\bthan\s+\**((?:[A-Za-z][\w.:\-]*\d[\w.:\-]*|[A-Za-z][\w.:\-]*)"
                   r"(?:\s+(?:q\d[\w]*|\d+(?:\.\d+)?[bm]\b|fp16|f16|bf16|int[48]))*)", re.IGNORECASE)
_VS_HEADING = re.compile(r"\bvs\.?\s+\**([A-Za-z][\w.:\-]*)", re.IGNORECASE)
# A name with a digit after its first letter ('llama3.1:8b'), up to where its characters end: the
# lookahead finds the digit, and the run is possessive. (Written `[A-Za-z][\w.:\-]*\d[\w.:\-]*`,
# a failed match went back over every split of the run around each digit: a line of 800 characters
# took a second and twice that eight times as long. Every match ends where the run ends either way
# (what follows is no character of it), so the names found are the same; a test compares.)
_NAME = r"[A-Za-z](?=[\w.:\-]*?\d)[\w.:\-]*+"
_SUBJECT = re.compile(rf"^\W*\**({_NAME})\**\s+is\s+[-+]?\d", re.IGNORECASE)
_FASTEST = re.compile(rf"\bfastest(?:\s+model)?\s*(?:is|:)\s*\**`?({_NAME})"
                      rf"|\**`?({_NAME})`?\**\s+is\s+the\s+fastest", re.IGNORECASE)
_MODEL = re.compile(rf"\b({NAME_TAG}[a-z0-9][a-z0-9._\-]*"  # (`readers.NAME_TAG`: read without going back)
                    r"|[a-z][a-z0-9.\-]*:(?:\d+(?:\.\d+)?[bm]|latest)[a-z0-9._\-]*)", re.IGNORECASE)
_WINDOW = 15  # lines after a "best configuration" mention that may hold its settings and figure


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


_CUES = re.compile(r"best\s|%|fastest", re.IGNORECASE)
_COLON_WORD = re.compile(r":[A-Za-z0-9]")


def find_rankings(text: str, source: str, *, folded: bytes | None = None,
                  lines: list[str] | None = None) -> list[RankingClaim]:
    """The ranking claims of a Markdown or text file (``folded``: its UTF-8 bytes with ASCII letters
    lowered, `SourceFile.folded`, and ``lines``: its lines, when at hand)."""
    folded = text.encode("utf-8", "surrogatepass").lower() if folded is None else folded
    # (the words below, ASCII without a 'k', are in the lowered text exactly when in its folded bytes)
    if b"%" not in folded and b"best" not in folded and b"fastest" not in folded:
        return []  # no line can be a cue (`_is_cue`)
    lines = text.splitlines() if lines is None else lines
    # Only a cue line ('%', 'best' or 'fastest' in it, about one line in ten) can make a claim, and
    # only when one of the patterns below can match it: 'best', 'fast' (faster, fastest) or 'slower'
    # in it (or a 'ſ', which the patterns read as an 's'; `_may_match`). Those lines (a few: most cues
    # are a '%' in a table) are found with `bytes.find` (`_pattern_lines`), the others never read. What
    # a claim needs from the lines before it (the section's heading, the nearest model name) is
    # looked up from its line backwards, only as far as the previous claim's (`_Before`). Only those
    # lines are lowered (the text lowered, line by line: no character lowers to or from a line break).
    out: list[RankingClaim] = []
    before = _Before(lines)
    for index, low in _pattern_lines(text, folded, lines):
        if "%" not in low and "best" not in low and "fastest" not in low:
            continue  # not a cue
        line = lines[index]
        if not _is_cue(line, low):
            continue
        best = _BEST.search(line) if _may_match(low, "best") else None
        percent = (_PERCENT.search(line) if "%" in line and (_may_match(low, "faster") or _may_match(low, "slower"))
                   else None)
        fastest = _FASTEST.search(line) if "fastest" in low else None
        if best is None and percent is None and fastest is None:
            continue
        heading, model = before.at(index)
        if best is not None:
            claim = _best_config(lines, index, source, model)
            if claim is not None:
                out.append(claim)
        if percent is not None:
            out.append(_faster_by(line, percent, heading, source, model))
        if fastest is not None:
            out.append(RankingClaim(source=source, kind="fastest_model", text=" ".join(line.split())[:300],
                                    model=model, subject=_name(fastest.group(1) or fastest.group(2))))
    return _distinct(out)


# The line breaks `str.splitlines` honours besides '\n' and '\r'
_OTHER_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_PATTERN_WORDS = ("best", "fast", "slower", "ſ")
# ('ſ': no other character lowers to it; it is looked for in the text first, one character found ~50x
# faster than its two bytes, and in most texts never)
_FOLDED_WORDS = tuple(word.encode() for word in _PATTERN_WORDS)


def _pattern_lines(text: str, folded: bytes, lines: list[str]) -> list[tuple[int, str]]:
    """(index, lowered line) of the text's ``lines`` (as `str.splitlines` gives them) whose lowered
    line holds one of `_PATTERN_WORDS`, in order (``folded``: the text's `SourceFile.folded` bytes,
    where the words are found as in the lowered text). A report has a few: each word is looked for
    with `bytes.find` over the text (C) and only its lines are lowered (lowering the text and testing
    each line took most of the time here). A text with line breaks other than '\n' and '\r\n' (rare),
    or where the words are in many lines (more than one in 200 bytes: each costs more than a line
    tested), has each line lowered and tested. (The breaks are looked for in the text: one character
    each, found faster than their UTF-8 bytes.)"""
    limit = len(folded) // 200 + 64
    starts: set[int] = set()  # where the lines holding a word start
    if (not any(brk in text for brk in _OTHER_BREAKS)
            and ("\r" not in text or text.count("\r") == text.count("\r\n"))):
        # each line ends at a '\n': line i starts after the i-th
        for word in _FOLDED_WORDS if "ſ" in text else _FOLDED_WORDS[:-1]:
            at = folded.find(word)
            while at >= 0 and len(starts) <= limit:
                starts.add(folded.rfind(b"\n", 0, at) + 1)
                end = folded.find(b"\n", at)
                at = -1 if end < 0 else folded.find(word, end)  # in the lines after this one
        if len(starts) <= limit:
            out: list[tuple[int, str]] = []
            index = counted_to = 0  # the index of the line starting at `counted_to`
            for start in sorted(starts):
                index += folded.count(b"\n", counted_to, start)
                counted_to = start
                out.append((index, lines[index].lower()))
            return out
    return [(index, low) for index, low in enumerate(map(str.lower, lines))
            if "best" in low or "fast" in low or "slower" in low or "ſ" in low]


class _Before:
    """The heading and the model name (name:tag) in force at a line: the last heading at or before
    it, and the last model name written at or before it ('' when none). Asked for lines in
    increasing order, each answer is found by reading back from the line to the one asked before
    (each line is read at most once, and most never):
    a line with a '#' may be a heading; every model name has a ':' followed by a letter or digit."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.done = -1  # the last line answered for
        self.heading = ""
        self.model = ""

    def at(self, index: int) -> tuple[str, str]:
        lines, done = self.lines, self.done
        heading = model = None
        for back in range(index, done, -1):
            line = lines[back]
            if heading is None and "#" in line and (match := _HEADING.match(line)):
                heading = match.group(1)
            if model is None and ":" in line and _COLON_WORD.search(line) and (found := _MODEL.findall(line)):
                model = str(found[-1])
            if heading is not None and model is not None:
                break
        self.done = index
        self.heading = self.heading if heading is None else heading
        self.model = self.model if model is None else model
        return self.heading, self.model


def _is_cue(line: str, lowered: str) -> bool:
    """`_CUES` found in the line (string tests on the lowered line first: they rule out most lines
    10x faster)."""
    if "%" in line:
        return True
    return ("best" in lowered or "fastest" in lowered) and _CUES.search(line) is not None


def _may_match(lowered: str, word: str) -> bool:
    """Whether a case-insensitive pattern of ``word`` can match the line (given lowered): tested
    before the pattern, ten times faster. The pattern's 's' also matches 'ſ' (long s), which stays
    itself when lowered."""
    return word in lowered or ("ſ" in lowered and word in lowered.replace("ſ", "s"))


def _best_config(lines: list[str], index: int, source: str, model: str) -> RankingClaim | None:
    settings: dict[str, str] = {}
    value: float | None = None
    window = [lines[index]]
    for line in lines[index + 1: index + 1 + _WINDOW]:
        if _HEADING.match(line) or _BEST.search(line):
            break
        window.append(line)
    for line in window:
        for key, raw in _SETTING.findall(line):
            settings.setdefault(key, raw)
        rate = _RATE.search(line)
        if rate and value is None:
            value = _number(rate.group(1))
    if not settings:
        return None
    text = " ".join(" ".join(w.split()) for w in window if w.strip())[:300]
    return RankingClaim(source=source, kind="best_config", text=text, model=model,
                        config=tuple(sorted(settings.items())), value=value)


def _faster_by(line: str, percent: re.Match[str], heading: str, source: str, model: str) -> RankingClaim:
    """The claim of a line where `_PERCENT` found 'N% faster' (or slower)."""
    pct = _number(percent.group(1)) or 0.0
    sign = -1.0 if percent.group(2).lower() == "slower" else 1.0
    other = _THAN.search(line) or _VS_HEADING.search(heading)
    subject = _SUBJECT.search(line)
    pair = _PAIR.search(line)
    return RankingClaim(
        source=source, kind="faster_by", text=" ".join(line.split())[:300], model=model,
        subject=_name(subject.group(1)) if subject else model, other=_name(other.group(1)) if other else "",
        percent=abs(pct) * sign, value=_number(pair.group(1)) if pair else None,
        other_value=_number(pair.group(2)) if pair else None, metric=_metric_of(line))


def _name(text: str) -> str:
    """A name as written, without the sentence's punctuation after it."""
    return text.strip().rstrip(".,;:!?*`")


def _metric_of(line: str) -> str:
    lowered = line.lower()
    if "first token" in lowered or "ttft" in lowered:
        return "ttft_ms"
    if "latency" in lowered:
        return "latency_ms"
    return "throughput_tok_s"


def _distinct(claims: list[RankingClaim]) -> list[RankingClaim]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for claim in claims:
        key = (claim.kind, claim.config, claim.subject, claim.other, claim.value, claim.percent)
        if key not in seen:
            seen.add(key)
            out.append(claim)
    return out
