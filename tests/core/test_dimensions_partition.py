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
