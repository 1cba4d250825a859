"""The context budget: counting a prompt's tokens, writing a fact as one prompt line, and the one
routine that decides which facts fit (pure).

Ollama cuts a prompt that does not fit ``num_ctx`` silently, so every prompt is fitted before it is
sent: facts are kept in priority order while they fit, and the rest are named as left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.grounding import ground
from bot.core.numbers import format_number
from bot.core.types import Fact

# Chat-template tokens around each message (<start_of_turn>user ... <end_of_turn>) and slack for
# the estimate being a little off before it is calibrated.
MESSAGE_OVERHEAD_TOKENS = 16
SAFETY = 1.10
MAX_CHARS_PER_TOKEN = 4.5


@dataclass
class TokenEstimator:
    """chars/4 until a real ``prompt_eval_count`` tells us the tokenizer's ratio for our prompts.

    Keep one per process (or per run) and call `calibrate` after each call.
    """

    chars_per_token: float = 4.0

    def estimate(self, text: str) -> int:
        return self.estimate_chars(weighted_chars(text))

    def estimate_chars(self, chars: int) -> int:
        return math.ceil(chars / self.chars_per_token * SAFETY)

    def calibrate(self, prompt_chars: int, prompt_eval_count: int | None) -> None:
        """Adopt the chars-per-token ratio Ollama observed for a prompt of ``prompt_chars``.

        Bounded above: a prompt partly served from Ollama's cache reports fewer evaluated tokens,
        which must not make the next estimate optimistic.
        """
        if not prompt_eval_count or prompt_eval_count <= 0 or prompt_chars <= 0:
            return
        self.chars_per_token = min(max(prompt_chars / prompt_eval_count, 1.5), MAX_CHARS_PER_TOKEN)


def weighted_chars(text: str) -> int:
    """``len(text)`` with every non-ASCII character counted as four.

    The chars-per-token ratio holds for ASCII prose; CJK, emoji and most accented text cost about
    a token per character, so counting them as ``chars_per_token``-ish characters keeps the
    estimate from being a quarter of the truth (and Ollama from cutting the prompt silently).
    """
    return len(text) + 3 * sum(1 for c in text if ord(c) > 127)


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
    return Fact(fact.id, "", fact.value, fact.unit, (), model=fact.model, config="")


def keep_fitting(costs: Sequence[int], fits: Callable[[int], bool]) -> int:
    """How many of ``costs`` (in priority order) to keep: the longest prefix whose total ``fits``.

    The one trimming rule of every prompt: what matters most is kept, and nothing after the first
    item that does not fit (so a small, less important fact never overtakes a larger one).
    """
    used = 0
    for kept, cost in enumerate(costs):
        if not fits(used + cost):
            return kept
        used += cost
    return len(costs)
