"""`_Partition.all_named` (whether every context records one of some dimensions) against its
definition, on random columns with gaps (None: a context that does not record the dimension)."""

from __future__ import annotations

import random

import pytest

from bot.core.dimensions import _Partition


def _all_named_by_definition(values: dict[str, list[str | None]], names: list[str], size: int) -> bool:
    if not names:
        return not size
    return all(any(values[n][at] is not None for n in names) for at in range(size))


@pytest.mark.parametrize("seed", range(300))
def test_all_named_is_its_definition(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.randint(1, 12)
    names = [f"d{i}" for i in range(rng.randint(1, 4))]
    gaps = rng.random()
    values = {n: [None if rng.random() < gaps else rng.choice(["a", "b", ""]) for _ in range(size)] for n in names}
    part = _Partition(names, values)
    for chosen in ([], names[:1], names[1:], names):
        assert part.all_named(chosen) == _all_named_by_definition(values, chosen, size)


@pytest.mark.parametrize("fields", [40, 100])
def test_records_each_naming_their_own_field_get_the_key_the_drop_pass_gives(
        fields: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table whose every record names its own field (found in review, round 8: its key's drop pass
    was cubic, 1,000 records 17 s): past `_MOST_DROPPED` dimensions the pass is not run, and the key
    is the one it gives (dropping a field would leave its record without a value to be named by)."""
    from bot.core import dimensions

    names = [f"k{i:03d}" for i in range(fields)]
    values: dict[str, list[str | None]] = {name: [str(i) if j == i else None for j in range(fields)]
                                           for i, name in enumerate(names)}
    distinct = {name: set(column) for name, column in values.items()}
    assert (fields > dimensions._MOST_DROPPED) == (fields == 100)
    key = dimensions._key_dimensions(names, values, distinct)
    monkeypatch.setattr(dimensions, "_MOST_DROPPED", 10**9)  # the pass run at any size
    assert key == dimensions._key_dimensions(names, values, distinct)
    assert len(key) == fields - 1  # (the greedy pick stops one short: the last record already stands apart)
