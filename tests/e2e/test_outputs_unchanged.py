"""Outputs unchanged: the JSON document and the Markdown report of every fixed archive hash to the
golden digests recorded before the ingest and analysis were optimised (`tests.golden`).

A failure means some figure, fact, ordering or wording changed. If that was not the intent, the
change is a bug; if it was, re-record with ``python -m tests.golden --record`` and say why in the
commit. Archives from ../shared are skipped cleanly when it is absent.
"""

from __future__ import annotations

import pytest

from tests.golden import archives, digests_of, load_golden

GOLDEN = load_golden()
ARCHIVES = archives()


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_output_digests_are_the_recorded_ones(name: str) -> None:
    with ARCHIVES[name]() as path:
        if not path.exists():
            pytest.skip(f"{name} not present at {path}")
        assert name in GOLDEN, f"no golden digest recorded for {name}: run python -m tests.golden --record"
        assert digests_of(path) == GOLDEN[name]


def test_every_fixed_archive_has_a_golden_digest() -> None:
    missing = {name for name in ARCHIVES if not name.startswith("shared/")} - set(GOLDEN)
    assert not missing
