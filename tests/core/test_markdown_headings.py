"""`readers._pattern_headings` reads the titles `readers._HEADING` finds, in one pass.

The pattern's lazy title re-tried its lookahead at every character: a line with a long run of spaces
took time growing with the square of its length ('x #' + 2,000 spaces + '##x': over a minute)."""

from __future__ import annotations

import random
import time

from bot.core.ingest.readers import _HEADING, _headings, _pattern_headings

# '#', '|' and spaces of several kinds (a tab, an ideographic space, an information separator and a
# newline are all `\s`), with letters between them
_ALPHABET = ["#", "#", "#", "|", " ", " ", "\t", "a", "b", "\u3000", "\x1c", "\n", ":", "."]


def _by_pattern(line: str) -> list[str]:
    return [match.group(2).strip() for match in _HEADING.finditer(line)]


def test_the_titles_are_the_patterns_on_random_lines() -> None:
    rng = random.Random(15)
    matched = 0
    for _ in range(40_000):
        line = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 24)))
        expected = _by_pattern(line)
        assert _pattern_headings(line) == expected, repr(line)
        assert _headings(line) == expected, repr(line)
        matched += bool(expected)
    assert matched > 5_000  # the lines exercise matches, not only misses


def test_the_titles_are_the_patterns_on_the_shapes_that_decide() -> None:
    lines = [
        "# Title", "  ## Title  ", "####### seven", "x ## a ## b", "x ## a ##b", "a|# b", "# a | b",
        "#  ", "# \t ## x", "#\t\t", "# a #", "# a # ", "# a ####### b", "text # Results for m:1b",
        "x#y # z", "# a\n", "#\u3000a\u3000#\u3000b", "## a ### b #### c", "#|", "# |a",
    ]
    for line in lines:
        assert _pattern_headings(line) == _by_pattern(line), repr(line)


def test_long_runs_of_spaces_take_linear_time() -> None:
    # each of these took the pattern time growing with the square of the spaces (the second, at
    # 2,000 spaces, over a minute); read here they take milliseconds (the bound is 100x that)
    for line in ("x # a" + " " * 200_000 + "b", "x #" + " " * 200_000 + "##x", "#" + " " * 200_000 + "|"):
        started = time.process_time()
        _headings(line)
        assert time.process_time() - started < 2.0
