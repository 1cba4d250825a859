"""Facts are made without `Fact.__init__` (`bot.core.analysis.facts._fact`, for speed): the instances must be
the ones ``Fact(**fields)`` makes, which holds while `Fact` is a plain dataclass whose fields are all given."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.core.analysis import analyze
from bot.core.analysis.facts import _fact, _Facts
from bot.core.types import Fact
from tests.ingest_support import ingest_files


def test_fact_has_nothing_its_init_would_add() -> None:
    # what `_fact` relies on: no __post_init__, no field made by a factory, no slots (fields live in
    # __dict__), every field given by `_Facts.add` and the id
    assert not hasattr(Fact, "__post_init__")
    assert not hasattr(Fact, "__slots__")
    assert all(field.default_factory is dataclasses.MISSING and field.init for field in dataclasses.fields(Fact))


@pytest.mark.parametrize("rows", [None, 3])
def test_a_fact_made_directly_is_the_one_init_makes(rows: int | None) -> None:
    fields = {"id": "F7", "statement": "s", "value": 1.5, "unit": "ms", "sources": ("a.csv",), "importance": 60,
              "model": "m", "config": "c", "metric": "ttft_ms", "rows": rows, "role": "", "origin": "data"}
    made, expected = _fact(dict(fields)), Fact(**fields)  # type: ignore[arg-type]
    assert type(made) is Fact and made == expected and vars(made) == vars(expected)
    assert list(vars(made)) == [field.name for field in dataclasses.fields(Fact)]  # the same order as __init__'s
    assert hash(made) == hash(expected) and repr(made) == repr(expected) and made.to_json() == expected.to_json()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.value = 2.0  # type: ignore[misc]


def test_every_fact_of_an_analysis_is_as_init_makes_it(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f"runs/r{at}.csv": "model,num_ctx,tokens_s\n" + "".join(
        f"m:{at % 2}b,{1024 << (i % 2)},{30 + at + i}\n" for i in range(4)) for at in range(6)}
    facts = analyze(ingest_files(tmp_path, files)).facts
    assert facts
    for fact in facts:
        again = Fact(**{field.name: getattr(fact, field.name) for field in dataclasses.fields(Fact)})
        assert fact == again and vars(fact) == vars(again)


def test_a_joined_sources_text_gives_the_files_sorted_and_shared() -> None:
    # `_Facts.add` given a group row's "; "-joined sources text: the same sources as its split files,
    # and one tuple for every fact of that text (at 10,000 files ~30,000 facts name a few texts)
    facts = _Facts()
    facts.add("a", 1.0, "ms", "b/x.json; a/y.csv; b/x.json", importance=1)
    facts.add("b", 2.0, "ms", "b/x.json; a/y.csv; b/x.json", importance=1)
    facts.add("c", 3.0, "ms", ["b/x.json", "a/y.csv", "b/x.json"], importance=1)
    (_, _, first), (_, _, second), (_, _, listed) = facts.items
    assert first["sources"] == listed["sources"] == ("a/y.csv", "b/x.json")
    assert first["sources"] is second["sources"]
