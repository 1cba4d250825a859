"""The twin search skips a file with no successful request through one archive-wide mask
(`ColumnStore.kept_any`): on random files, some of whose rows are dropped, it skips exactly the files
whose signature is None (`_signature`'s own test)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot.core.ingest import _signature, successful_requests
from bot.core.ingest.frame import ColumnStore
from tests.core.test_ingest_passes import _file


@pytest.mark.parametrize("seed", range(100))
def test_kept_any_successful_request_is_a_signature(seed: int) -> None:
    rng = random.Random(seed)
    store = ColumnStore()
    files = [_file(rng, f"f{i}.json") for i in range(6)]
    for rows in files:
        if rng.random() < 0.3:  # a file of failed requests only
            rows.failed[:] = [True] * len(rows)
    chunks = [store.add(rows.packed()) for rows in files]
    store.seal()
    for chunk in chunks:
        if rng.random() < 0.4:
            store.keep(chunk, sorted(rng.sample(range(len(chunk)), rng.randint(0, len(chunk)))))
    successful = successful_requests(store)  # the mask `_find_twins` uses
    for chunk in chunks:
        assert store.kept_any(chunk, successful) == (_signature(chunk, store) is not None)
    with pytest.raises(ValueError):
        store.column("row")[0] = 1  # the store's own column: read only
    assert isinstance(store.column("row"), np.ndarray)
