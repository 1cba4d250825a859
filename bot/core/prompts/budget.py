"""The context budget: counting a prompt's tokens, writing a fact as one prompt line, the one
routine that decides which facts fit, and reading Ollama's reply for a prompt it cut (pure).

Ollama cuts a prompt that does not fit ``num_ctx`` silently, so every prompt is fitted before it is
sent (facts are kept in priority order while they fit, the rest are named as left out) and every
reply is checked for a cut (`truncation`).

**The estimate** counts tokens the way gemma3's tokenizer splits text, by character class, and errs
high (measured against the real gemma3 tokenizer, a 262,144-token SentencePiece BPE shared by the
whole gemma3 family; the measurements are in the issue 11 notes):

- every ASCII digit is a token of its own ("290.0" is 5 tokens, "[F12]" is 5), and so is a space
  in front of a digit;
- an ASCII letter run is one token plus 0.05 per letter beyond four (common words are one token);
  identifier-like runs (camelCase inside, ALLCAPS of 4+, no vowel in 4+) cost 0.75 per letter;
- a single space before a letter, ``(`` or ``[`` is glued to it (free); any other whitespace run
  is one token per 31 characters;
- ASCII punctuation and other BMP symbols are one token each; CJK, kana and Hangul one per
  character; a word with non-ASCII letters 1 + 0.35 per letter; emoji 2; everything else (rare
  astral characters, private use, controls) its UTF-8 byte count, a hard upper bound;
- the sum times 1.05, rounded up.

Error bounds (on the product's own prompts for the shared archives, follow-up prompts and hold-out
prompts from other archives, 346 samples): never under the true count; whole prompts +7% … +14%
(about +10% typical); single fact lines up to +22%; hand-written multilingual, emoji and code
texts +0% … +123% (CJK and Cyrillic prose are over-counted most). Only random character soup
(uniformly random code points, letter salad) is under-counted; the reply check is the safety net.

**The chat template** (Ollama's gemma3 template) adds exactly ``4 + 5 × messages`` tokens: BOS,
``<start_of_turn>role\\n … <end_of_turn>\\n`` per message and ``<start_of_turn>model\\n``.

**No calibration from Ollama's counts is needed** (the old chars-per-token ratio learnt the tokenizer
from ``prompt_eval_count``, including counts of prompts Ollama had already cut). The one thing a
count still teaches: an *untruncated* call that counted more than the estimate means unusual text,
and `TokenEstimator.observe` raises the process's safety factor (never lowers it).
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from bot.core.grounding import ground
from bot.core.numbers import format_number
from bot.core.types import Fact

# --- the estimate -----------------------------------------------------------------------------

WORD_TOKENS = 1.0  # an ASCII letter run ...
WORD_LETTER_TOKENS = 0.05  # ... plus this per letter beyond WORD_FREE_LETTERS
WORD_FREE_LETTERS = 4
ODD_LETTER_TOKENS = 0.75  # per letter of an identifier-like run
INTL_WORD_TOKENS = 1.0  # a letter run holding non-ASCII letters ...
INTL_LETTER_TOKENS = 0.35  # ... plus this per letter
WHITESPACE_RUN = 31  # one token covers up to this many whitespace characters of one kind
EMOJI_TOKENS = 2.0
SAFETY = 1.05  # on each text's total

# Ollama's gemma3 chat template: BOS + per message "<start_of_turn>role\n … <end_of_turn>\n" + the
# "<start_of_turn>model\n" that opens the answer.
TEMPLATE_BASE_TOKENS = 4
TEMPLATE_MESSAGE_TOKENS = 5

MAX_FACTOR = 3.0  # `TokenEstimator.observe` never raises the safety factor beyond this

_VOWELS = frozenset("aeiouyAEIOUY")
_GLUE_AFTER_SPACE = frozenset("([")
_WHITESPACE = frozenset("\n\t\r\f\v")


def estimate_tokens(text: str) -> int:
    """Conservative gemma3 token count of ``text`` (one message's content, no template)."""
    return math.ceil(_raw_count(text) * SAFETY)


def template_tokens(n_messages: int) -> int:
    """Tokens Ollama's gemma3 chat template adds around ``n_messages`` messages (exact)."""
    return TEMPLATE_BASE_TOKENS + TEMPLATE_MESSAGE_TOKENS * n_messages


def _raw_count(text: str) -> float:
    total = 0.0
    for kind, piece in _pieces(text):
        if kind == "word":
            if _is_identifier_like(piece):
                total += max(WORD_TOKENS, ODD_LETTER_TOKENS * len(piece))
            else:
                total += WORD_TOKENS + WORD_LETTER_TOKENS * max(0, len(piece) - WORD_FREE_LETTERS)
        elif kind == "intl_word":
            total += INTL_WORD_TOKENS + INTL_LETTER_TOKENS * len(piece)
        elif kind == "ws":
            total += math.ceil(len(piece) / WHITESPACE_RUN)
        elif kind == "emoji":
            total += EMOJI_TOKENS
        elif kind == "byte":
            total += len(piece.encode("utf-8"))
        elif kind != "glued_space":
            total += 1.0  # digit, punctuation, a lone space before a non-letter, CJK, symbol, joiner
    return total


def _is_identifier_like(word: str) -> bool:
    """camelCase inside, ALLCAPS longer than 3, or 4+ letters without a vowel: ~0.6-0.75 token/letter."""
    n = len(word)
    if n <= 2:
        return False
    if any(a.islower() and b.isupper() for a, b in itertools.pairwise(word)):
        return True
    return (n > 3 and word.isupper()) or (n >= 4 and not any(c in _VOWELS for c in word))


def _char_class(ch: str) -> str:
    cp = ord(ch)
    if cp < 128:
        if ch.isdigit():
            return "digit"
        if ch.isalpha():
            return "ascii"
        if ch == " ":
            return "space"
        if ch in _WHITESPACE:
            return "ws"
        return "punct" if 33 <= cp <= 126 else "byte"
    if cp in (0x200C, 0x200D) or 0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF \
            or 0x1F1E6 <= cp <= 0x1F1FF or 0xE0020 <= cp <= 0xE007F:
        return "joiner"  # ZWJ, variation selectors, skin tones, regional indicators, tags
    if 0x1F000 <= cp <= 0x1FAFF:
        return "emoji"
    if cp > 0xFFFF or 0xE000 <= cp <= 0xF8FF or 0xD800 <= cp <= 0xDFFF:
        return "byte"  # mostly outside the vocabulary: byte fallback
    if (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x3040 <= cp <= 0x30FF
            or 0xAC00 <= cp <= 0xD7A3 or 0xFF00 <= cp <= 0xFFEF or 0xF900 <= cp <= 0xFAFF):
        return "cjk"
    category = unicodedata.category(ch)
    if category[0] in "LM":
        return "intl"
    return "symbol" if category[0] in "PSZN" else "byte"


def _pieces(text: str) -> Iterator[tuple[str, str]]:
    """``text`` as (kind, piece) by character class; `_raw_count` charges each kind."""
    classes = [_char_class(ch) for ch in text]
    i, n = 0, len(text)
    while i < n:
        kind = classes[i]
        j = i + 1
        if kind in ("ascii", "intl"):
            while j < n and classes[j] in ("ascii", "intl"):
                j += 1
            yield ("intl_word" if "intl" in classes[i:j] else "word"), text[i:j]
        elif kind == "space":
            while j < n and classes[j] == "space":
                j += 1
            if j - i > 1:
                yield "ws", text[i:j]
            elif j < n and (classes[j] in ("ascii", "intl", "cjk") or text[j] in _GLUE_AFTER_SPACE):
                yield "glued_space", " "
            else:
                yield "space", " "
        elif kind == "ws":
            while j < n and text[j] == text[i]:
                j += 1
            yield "ws", text[i:j]
        else:
            yield kind, text[i]
        i = j


@dataclass
class TokenEstimator:
    """`estimate_tokens` times a safety ``factor`` that only grows (see the module docstring).

    Keep one per process and call `observe` after each untruncated call.
    """

    factor: float = 1.0

    def estimate(self, text: str) -> int:
        """Conservative tokens of one text (no template)."""
        return math.ceil(estimate_tokens(text) * self.factor)

    def prompt(self, messages: Sequence[Mapping[str, str]]) -> int:
        """What Ollama will report as ``prompt_eval_count`` for ``messages``, erring high."""
        return template_tokens(len(messages)) + sum(self.estimate(m.get("content") or "") for m in messages)

    def observe(self, *, estimated: int, counted: int | None) -> bool:
        """Learn from an untruncated call whose prompt was ``estimated`` and Ollama ``counted``.

        A count above the estimate means text the estimate does not know (or another tokenizer):
        the factor grows so the estimate is 5% above that count. Returns whether it changed.
        Never call it with the count of a truncated prompt (`truncation`), and never lowers.
        """
        if not counted or estimated <= 0 or counted <= estimated:
            return False
        self.factor = min(MAX_FACTOR, self.factor * counted / estimated * SAFETY)
        return True


# --- a cut prompt, read from the reply ----------------------------------------------------------

# Ollama <= 0.2x reports prompt_eval_count == num_ctx for a cut prompt, 0.30.0-0.30.10 num_ctx - 1;
# a few tokens of slack for versions that keep a little more room.
TRUNCATION_MARGIN = 8
# Ollama >= 0.30.11 cuts a too-long prompt to about half the window (num_ctx - (num_ctx - 5) // 2), so
# its count is far below a large estimate. The estimate is at most ~15% above the truth on real
# prompts: a count below estimate / 1.25 did not see the whole prompt.
HALF_WINDOW_RATIO = 1.25


def truncation(*, counted: int | None, estimated: int, num_ctx: int) -> str:
    """Why Ollama's ``prompt_eval_count`` shows it cut the prompt, or ``""`` when it did not.

    ``estimated`` is `estimate_tokens`-based, without a raised safety factor.
    """
    if counted is None or counted <= 0:
        return ""
    if counted >= num_ctx - TRUNCATION_MARGIN:
        return (f"Ollama evaluated {counted:,} prompt tokens, the whole num_ctx={num_ctx:,} window: "
                "it cut the prompt to fit")
    # the guard keeps text the estimate over-counts (CJK prose) from looking cut when no cut was needed
    if estimated >= num_ctx / 2 and counted * HALF_WINDOW_RATIO < estimated:
        return (f"Ollama evaluated only {counted:,} prompt tokens of about {estimated:,} sent "
                f"(num_ctx={num_ctx:,}): it cut the prompt to half the window")
    return ""


# --- fact lines and trimming --------------------------------------------------------------------


def fact_line(fact: Fact) -> str:
    """``[F3] <statement> = <value> (n=<rows>)``; parts the statement already says are not repeated."""
    # one fact, one line: a newline inside archive text (a failure reason, a model name) must not
    # start a line of its own that reads like another fact or like our instructions
    statement = " ".join(fact.statement.split())
    line = f"[{fact.id}] {statement}"
    # ground() against this fact alone: does the statement already state its value?
    if not any(claim.grounded for claim in ground(statement, [_value_only(fact)])):
        line += f" = {format_number(fact.value, fact.unit, style='value')}"
    if fact.rows is not None and f"n={fact.rows}" not in statement:
        line += f" (n={fact.rows})"
    return line


def _value_only(fact: Fact) -> Fact:
    return Fact(fact.id, "", fact.value, fact.unit, (), model=fact.model, config="", metric=fact.metric)


def keep_fitting(costs: Sequence[int], fits: Callable[[int], bool]) -> int:
    """How many of ``costs`` (in priority order) to keep: the longest prefix whose total ``fits``.

    The one trimming rule of every prompt: what matters most is kept, and nothing after the first
    item that does not fit (so a small, less important fact never overtakes a larger one).
    A message's tokens are at most the sum of its lines' tokens plus one per newline, so costing
    lines one by one (``estimate(line) + 1``) stays an upper bound.
    """
    used = 0
    for kept, cost in enumerate(costs):
        if not fits(used + cost):
            return kept
        used += cost
    return len(costs)
