"""The quality gate between the model and Slack (pure).

A narrative is used only when it passes every rule; otherwise Slack gets the data-only summary with
one line saying why, and the report keeps the rejected text in an appendix marked as not used.

The rules (``Problem.rule``; `RULES` says each in words):

- the answer is the JSON shape asked for and was not cut off at ``num_predict`` (``off_format``,
  ``cut_off``);
- every sentence of the summary (of four words or more), every recommendation and every risk cites
  a fact by id (``no_citation``, ``uncited_recommendation``), only ids it was given
  (``unknown_citation``), and facts about the models it names (``citation_mismatch``);
- every number is grounded in a fact it can belong to (`bot.core.grounding`: ``ungrounded_number``,
  ``misattributed_number``, ``wrong_kind``, ``non_llm_metric``, ``wrong_claim``, ``miscited``), and
  every ratio or share word agrees with what the facts compute (``ratio``, ``share``);
- what the words say agrees with the cited facts: "significantly" for a difference the facts put
  within the noise (or the reverse) is ``noise_contradiction``; "A is faster than B" or "A is the
  fastest" against the models' median throughput is ``wrong_direction``; TTFT "including the
  network" where the facts define it server-side is ``definition_contradiction``;
- no sentence is repeated (``repeated``), nothing loops (a run of one character, a phrase over and
  over: ``looping``), no section is empty or a fragment (``too_short``: a recommendation of fewer
  than four words, a risk or mitigation of fewer than three);
- the whole answer stays within the requested length (``length``: between half the lower and 1.2×
  the upper word count asked for).

`judge` checks a narrative; `judge_answer` checks a follow-up answer in the thread (the same number,
citation, repetition and length rules, without the citation-per-sentence and section rules: an
answer may say which data is missing without citing anything); `judge_summary` checks the summary
written from the data alone by rules (the summary's rules and a word limit), so it is provably
grounded too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core import grounding
from bot.core.narrative import Answer, OffFormat, parse_answer
from bot.core.types import Fact

RULES: dict[str, str] = {
    "off_format": "the answer is not the JSON asked for",
    "cut_off": "the answer was cut off at the token limit (it looped or ran long)",
    "no_citation": "a sentence cites no fact",
    "uncited_recommendation": "a recommendation or risk rests on no cited fact",
    "unknown_citation": "it cites a fact id it was not given",
    "citation_mismatch": "it cites a fact about another model than the one it names",
    "ungrounded_number": "a number matches no fact",
    "misattributed_number": "a number belongs to another model, or is a total given as one model's (or the reverse)",
    "wrong_kind": "a number counts other things (or is a setting) than the text says",
    "non_llm_metric": "a non-LLM benchmark's figure is given as an LLM metric",
    "wrong_claim": "it repeats a number the archive states and its raw rows contradict",
    "miscited": "a number is not the value of the fact cited next to it",
    "ratio": "a ratio or change is not what the figures it compares give",
    "share": "a share word ('half', 'most') is not what the counts give",
    "noise_contradiction": "it calls a difference significant that the facts put within the noise, or the reverse",
    "wrong_direction": "it ranks models against their median throughput",
    "definition_contradiction": "it contradicts how the facts define TTFT",
    "repeated": "a sentence is repeated",
    "looping": "the text loops (one character or phrase over and over)",
    "too_short": "a section is empty or a fragment",
    "length": "it is outside the requested length",
}
# grounding's problem code -> the gate's rule
_NUMBER_RULES = {"ungrounded": "ungrounded_number", "misattributed": "misattributed_number",
                 "wrong_kind": "wrong_kind", "non_llm": "non_llm_metric", "wrong_claim": "wrong_claim",
                 "miscited": "miscited", "ratio": "ratio", "share": "share"}

MIN_CITED_WORDS = 4  # a summary sentence this long must cite a fact (shorter: a heading or a fragment)
MIN_RECOMMENDATION_WORDS = 4
MIN_RISK_WORDS = 3
LENGTH_SLACK = (0.5, 1.2)  # of the requested (min, max) words
ANSWER_LENGTH_SLACK = 1.5  # a follow-up answer: of its word limit
SNIPPET_CHARS = 120

_WORD = re.compile(r"[^\W_][\w'’-]*")
_SIGNIFICANT = re.compile(
    r"\b(?:significant(?:ly)?|statistically|substantial(?:ly)?|marked(?:ly)?|meaningful(?:ly)?|exceeds?\s+the\s+noise"
    r"|real\s+(?:difference|gain|effect|improvement)|clearly\s+(?:better|faster|slower|worse))\b", re.IGNORECASE)
_NOT_SIGNIFICANT = re.compile(
    r"\b(?:not\s+(?:statistically\s+)?significant(?:ly)?|no\s+significant|insignificant|within\s+(?:the\s+)?noise"
    r"|not\s+separable|negligible|indistinguishable)\b", re.IGNORECASE)
_FACT_WITHIN_NOISE = re.compile(r"within the noise|not separable from noise", re.IGNORECASE)
_FACT_EXCEEDS_NOISE = re.compile(r"exceeds the noise", re.IGNORECASE)
_COMPARATIVE = re.compile(r"\b(?P<up>faster|quicker|ahead\s+of|outperforms?|beats?)\b|\b(?P<down>slower|behind)\b",
                          re.IGNORECASE)
_SUPERLATIVE = re.compile(r"\b(?:is|was|as)\s+(?:the\s+)?(?:(?P<up>fastest|quickest)|(?P<down>slowest))\b",
                          re.IGNORECASE)
_LATENCY_WORDS = re.compile(r"\b(?:ttft|first\s+token|latenc(?:y|ies)|load)\b", re.IGNORECASE)
_NETWORK_IN_TTFT = re.compile(r"\binclud\w*\s+(?:the\s+)?network|network\s+(?:round[\s-]trip|time|latency|delay)",
                              re.IGNORECASE)
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|vs|etc|approx|cf|incl|excl|resp|no)\.(?=\s)", re.IGNORECASE)
_CHAR_RUN = re.compile(r"([^\s])\1{19,}")
_PHRASE_LOOP = re.compile(r"(?<!\S)((?:\S+\s+){1,8}?)\1{3,}")


@dataclass(frozen=True)
class Problem:
    rule: str  # a key of RULES
    where: str  # "summary", "recommendation 2", "risk 1", "mitigation 1", "answer"
    text: str  # what it is about: the sentence or the number, shortened

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "where": self.where, "text": self.text}


@dataclass
class GateVerdict:
    """Whether the model's text may be posted, and why not."""

    passed: bool
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # what was looked at: sentences, citations, numbers…

    @property
    def reasons(self) -> list[str]:
        """One line per rule broken, in the order first met, with how often and an example."""
        out: list[str] = []
        for rule in dict.fromkeys(p.rule for p in self.problems):
            hits = [p for p in self.problems if p.rule == rule]
            example = f"{hits[0].where}: «{hits[0].text}»" if hits[0].text else hits[0].where
            count = f"{len(hits)}×, " if len(hits) > 1 else ""
            out.append(f"{RULES[rule]} ({count}{example})")
        return out

    @property
    def rules_broken(self) -> list[str]:
        """The rules broken in words, without quoting the model (for Slack: no unverified number shown)."""
        return [RULES[rule] for rule in dict.fromkeys(p.rule for p in self.problems)]

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": self.reasons, "checked": dict(self.checked),
                "problems": [p.to_json() for p in self.problems]}


def judge(content: str, *, facts: Sequence[Fact], citable: Collection[str], done_reason: str | None = None,
          words: tuple[int, int] = (150, 250)) -> tuple[Answer | None, GateVerdict]:
    """The model's raw narrative ``content`` -> (its answer when it parses, the verdict).

    ``citable`` are the fact ids the prompt held; ``words`` the length the prompt asked for.
    """
    problems: list[Problem] = []
    if done_reason == "length":
        problems.append(Problem("cut_off", "answer", _snippet(content[-SNIPPET_CHARS:])))
    try:
        answer = parse_answer(content, done_reason=done_reason)
    except OffFormat as exc:
        problems.append(Problem("off_format", "answer", str(exc)))
        return None, GateVerdict(False, problems, {"words": _count_words(content)})
    sections: list[tuple[str, str, str]] = [("summary", "summary", answer.summary)]
    sections += [(f"recommendation {i}", "recommendation", r) for i, r in enumerate(answer.recommendations, 1)]
    for i, (risk, mitigation) in enumerate(answer.risks, 1):
        sections += [(f"risk {i}", "risk", risk), (f"mitigation {i}", "mitigation", mitigation)]
    checked = {"sentences": 0, "citations": 0, "numbers": 0, "recommendations": len(answer.recommendations),
               "risks": len(answer.risks)}
    seen: dict[str, str] = {}
    for where, role, text in sections:
        problems += _section_problems(where, role, text)
        for sentence in _sentences(text):
            checked["sentences"] += 1
            problems += _sentence_problems(sentence, where=where, role=role, facts=facts, citable=citable,
                                           checked=checked)
            problems += _repeats(sentence, where, seen)
    total = sum(_count_words(text) for _, _, text in sections)
    checked["words"] = total
    low, high = round(words[0] * LENGTH_SLACK[0]), round(words[1] * LENGTH_SLACK[1])
    if not low <= total <= high:
        problems.append(Problem("length", "answer", f"{total} words; {words[0]}-{words[1]} were asked for"))
    return answer, GateVerdict(not problems, problems, checked)


def _text_problems(text: str, *, where: str, facts: Sequence[Fact], citable: Collection[str]
                   ) -> tuple[list[Problem], dict[str, int]]:
    """Loops, then each sentence's rules and repeats (``where`` is also the sentence's role), and
    what was checked: sentences, citations, numbers, words."""
    checked = {"sentences": 0, "citations": 0, "numbers": 0}
    problems = _loops(where, text)
    seen: dict[str, str] = {}
    for sentence in _sentences(text):
        checked["sentences"] += 1
        problems += _sentence_problems(sentence, where=where, role=where, facts=facts, citable=citable,
                                       checked=checked)
        problems += _repeats(sentence, where, seen)
    checked["words"] = _count_words(text)
    return problems, checked


def judge_answer(text: str, *, facts: Sequence[Fact], citable: Collection[str], done_reason: str | None = None,
                 max_words: int = 120) -> GateVerdict:
    """A follow-up answer in a thread: numbers, citations, repetition, loops and length."""
    problems: list[Problem] = []
    if done_reason == "length":
        problems.append(Problem("cut_off", "answer", _snippet(text[-SNIPPET_CHARS:])))
    if not text.strip():
        problems.append(Problem("too_short", "answer", ""))
    found, checked = _text_problems(text, where="answer", facts=facts, citable=citable)
    problems += found
    if checked["words"] > max_words * ANSWER_LENGTH_SLACK:
        problems.append(Problem("length", "answer", f"{checked['words']} words; at most {max_words} were asked for"))
    return GateVerdict(not problems, problems, checked)


def judge_summary(text: str, *, facts: Sequence[Fact], citable: Collection[str], max_words: int) -> GateVerdict:
    """Text that stands as the executive summary without a model (`bot.render.summary`): the rules of
    the model's summary — every sentence of four words or more cites a fact it may cite, every number,
    ratio and share is grounded, the noise, direction and TTFT-definition rules, nothing repeated or
    looping — and at most ``max_words`` words (citations not counted)."""
    problems: list[Problem] = []
    if not text.strip():
        problems.append(Problem("too_short", "summary", ""))
    found, checked = _text_problems(text, where="summary", facts=facts, citable=citable)
    problems += found
    if checked["words"] > max_words:
        problems.append(Problem("length", "summary", f"{checked['words']} words; at most {max_words}"))
    return GateVerdict(not problems, problems, checked)


# --- per section and per sentence ---------------------------------------------------------------


def _section_problems(where: str, role: str, text: str) -> list[Problem]:
    problems = _loops(where, text)
    least = {"recommendation": MIN_RECOMMENDATION_WORDS, "risk": MIN_RISK_WORDS, "mitigation": MIN_RISK_WORDS,
             "summary": MIN_RISK_WORDS}[role]
    if _count_words(text) < least:
        problems.append(Problem("too_short", where, _snippet(text)))
    if role in ("recommendation", "risk") and not grounding.citations(text):
        problems.append(Problem("uncited_recommendation", where, _snippet(text)))
    return problems


def _loops(where: str, text: str) -> list[Problem]:
    flat = grounding.without_citations(" ".join(text.split()), "[F]")
    if _CHAR_RUN.search(flat) or _PHRASE_LOOP.search(flat + " "):
        match = _CHAR_RUN.search(flat) or _PHRASE_LOOP.search(flat + " ")
        assert match is not None
        return [Problem("looping", where, _snippet(flat[match.start():]))]
    return []


def _sentence_problems(sentence: str, *, where: str, role: str, facts: Sequence[Fact], citable: Collection[str],
                       checked: dict[str, int]) -> list[Problem]:
    problems: list[Problem] = []
    snippet = _snippet(sentence)
    cited = [fid for _, _, ids in grounding.citations(sentence) for fid in ids]
    checked["citations"] += len(cited)
    unknown = [fid for fid in cited if fid not in citable]
    problems += [Problem("unknown_citation", where, f"[{fid}]") for fid in dict.fromkeys(unknown)]
    if role == "summary" and not cited and _count_words(sentence) >= MIN_CITED_WORDS:
        problems.append(Problem("no_citation", where, snippet))
    claims = grounding.ground(sentence, facts)
    checked["numbers"] += len(claims)
    problems += [Problem(_NUMBER_RULES[c.problem or "ungrounded"], where, c.text) for c in claims if not c.grounded]
    by_id = {f.id: f for f in facts}
    known = [by_id[fid] for fid in cited if fid in by_id and fid in citable]
    named = grounding.models_named(grounding.without_citations(sentence), facts)
    if named and any((about := grounding.fact_models(f, facts)) and not (about & named) for f in known):
        problems.append(Problem("citation_mismatch", where, snippet))
    problems += _noise(sentence, known, where, snippet)
    problems += _direction(sentence, facts, where, snippet)
    if re.search(r"\bttft\b|first token", sentence, re.IGNORECASE) and _NETWORK_IN_TTFT.search(sentence) and any(
            "excludes network" in f.statement for f in facts):
        problems.append(Problem("definition_contradiction", where, snippet))
    return problems


def _noise(sentence: str, cited: Sequence[Fact], where: str, snippet: str) -> list[Problem]:
    verdicts = [("within" if _FACT_WITHIN_NOISE.search(f.statement) else "exceeds")
                for f in cited if _FACT_WITHIN_NOISE.search(f.statement) or _FACT_EXCEEDS_NOISE.search(f.statement)]
    if not verdicts:
        return []
    says_not = bool(_NOT_SIGNIFICANT.search(sentence))
    says_significant = bool(_SIGNIFICANT.search(_NOT_SIGNIFICANT.sub(" ", sentence)))
    if (says_significant and "exceeds" not in verdicts) or (says_not and not says_significant
                                                             and "within" not in verdicts):
        return [Problem("noise_contradiction", where, snippet)]
    return []


def _direction(sentence: str, facts: Sequence[Fact], where: str, snippet: str) -> list[Problem]:
    """"A is faster than B", "A, ahead of B", "A is the fastest": against the models' median throughput."""
    if _LATENCY_WORDS.search(sentence):
        return []  # "faster TTFT" ranks by another metric
    speed = _median_throughput(facts)
    if len(speed) < 2:
        return []
    mentions = sorted((start, model) for model in speed for start, _end in grounding.name_spans(model, sentence))
    for match in _COMPARATIVE.finditer(sentence):
        before = [model for at, model in mentions if at < match.start()]
        after = [model for at, model in mentions if at > match.end()]
        if before and after and before[-1] != after[0]:
            a, b = speed[before[-1]], speed[after[0]]
            if (match.group("up") and a < b) or (match.group("down") and a > b):
                return [Problem("wrong_direction", where, snippet)]
    for match in _SUPERLATIVE.finditer(sentence):
        before = [model for at, model in mentions if at < match.start()]
        if before:
            value = speed[before[-1]]
            best = max(speed.values()) if match.group("up") else min(speed.values())
            if value != best:
                return [Problem("wrong_direction", where, snippet)]
    return []


def _median_throughput(facts: Iterable[Fact]) -> dict[str, float]:
    """Each model's median throughput over all its requests (its first such fact)."""
    out: dict[str, float] = {}
    for fact in facts:
        if fact.metric == "throughput_tok_s" and fact.model and not fact.config and fact.model not in out:
            out[fact.model] = fact.value
    return out


def _repeats(sentence: str, where: str, seen: dict[str, str]) -> list[Problem]:
    key = _normalised(sentence)
    if len(key.split()) < 3:
        return []
    if key in seen:
        return [Problem("repeated", where, _snippet(sentence))]
    seen[key] = where
    return []


# --- text helpers -------------------------------------------------------------------------------


def split_sentences(text: str) -> list[str]:
    """The sentences the gate checks one by one (see `_sentences`)."""
    return _sentences(text)


def _sentences(text: str) -> list[str]:
    """Sentences of model text: split after . ! ? and a space (not after an abbreviation such as
    "e.g." or "vs."; decimals have no space), and at line breaks; list enumerators are dropped."""
    flat = _ABBREVIATION.sub(lambda m: m.group(0).replace(".", "\0"), text.replace("\r", ""))
    parts = [p.replace("\0", ".") for p in re.split(r"(?<=[.!?])\s+|\n+", flat)]
    out = []
    for part in parts:
        part = re.sub(r"^\s*(?:[-*•]\s*)?(?:\(?\d{1,2}[.)]\s*)*", "", part).strip()
        if part and _WORD.search(part):
            out.append(part)
    return out


def _normalised(sentence: str) -> str:
    text = grounding.without_citations(sentence.lower())
    text = re.sub(r"[^a-z]+", " ", text)
    return " ".join(text.split())


def _count_words(text: str) -> int:
    return len(_WORD.findall(grounding.without_citations(text)))


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"
