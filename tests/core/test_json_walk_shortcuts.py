"""The JSON walk's shortcut for leaf objects (every value a JSON scalar) finds the blocks the general
walk finds, on random and hostile documents."""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from typing import Any

import pytest

from bot.core.ingest import readers


class _Text(str):
    pass


class _Number(int):
    pass


_KEYS = ["ttft_ms", "tokens_per_second", "mean_ttft_ms", "avg_ts", "samples_ts", "samples_ns", "model",
         "model_name", "name", "options", "results", "runs", "0", "1", "backend", "cpu_percent", "é", "\ud800",
         "a.b", "", "latency", "eval_count", "prompt_eval_duration", "metadata"]


def _scalar(rng: random.Random) -> Any:
    return rng.choice([None, True, False, 0, 7, -3, 2**70, 1.5, math.nan, math.inf, "", "gemma3:270m", " x ",
                       "\u2028", _Text("t"), _Number(4)])


def _node(rng: random.Random, depth: int) -> Any:
    kind = rng.random()
    if depth <= 0 or kind < 0.3:
        return _scalar(rng)
    if kind < 0.65:
        node = {rng.choice(_KEYS): _node(rng, depth - 1) for _ in range(rng.randint(0, 6))}
        return OrderedDict(node) if rng.random() < 0.05 else node
    if kind < 0.85:  # an array of objects (some with a stray non-object)
        items: list[Any] = [_node(rng, depth - 1) if rng.random() < 0.2 else
                            {rng.choice(_KEYS): _node(rng, depth - 2) for _ in range(rng.randint(0, 5))}
                            for _ in range(rng.randint(0, 5))]
        return items
    return [_node(rng, depth - 1) for _ in range(rng.randint(0, 4))]


def _general(monkeypatch: pytest.MonkeyPatch, data: Any) -> list[readers.TableBlock]:
    with monkeypatch.context() as patch:
        patch.setattr(readers, "_is_leaf", lambda node: False)  # every object walked item by item
        return readers.json_blocks(data, "f.json")


def _same_blocks(got: list[readers.TableBlock], want: list[readers.TableBlock]) -> None:
    # (records compared by their repr: a NaN equals no NaN)
    assert [(b.columns, repr(b.records), b.label, b.model, b.config) for b in got] == \
        [(b.columns, repr(b.records), b.label, b.model, b.config) for b in want]


@pytest.mark.parametrize("seed", range(300))
def test_json_leaf_objects_give_the_blocks_of_the_general_walk(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    data = _node(rng, rng.randint(1, 7))
    _same_blocks(readers.json_blocks(data, "f.json"), _general(monkeypatch, data))


def test_json_leaf_shortcut_keeps_the_depth_and_block_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    deep: Any = {"ttft_ms": 1.0}
    for level in range(readers.MAX_JSON_DEPTH + 5):
        deep = {"ttft_ms": float(level), "child": deep, "list": [{"ttft_ms": 2.0}, {"cpu": 1}]}
    wide = [{"cpu": i, "sub": {"ttft_ms": float(i)}} for i in range(readers.MAX_BLOCKS_PER_FILE + 50)]
    leaves = {"metrics": [{"cpu_percent": i, "name": "x"} for i in range(100)],
              "per_gpu": [[{"ttft_ms": 1.0}], {"ttft_ms": 2.0}], "texts": ["a", {"ttft_ms": 3.0}]}
    for data in (deep, wide, {"a": wide}, leaves):
        got = readers.json_blocks(data, "f.json")
        _same_blocks(got, _general(monkeypatch, data))
        assert len(got) <= readers.MAX_BLOCKS_PER_FILE


def test_a_leaf_has_no_dict_or_list_value() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        node = {str(i): _node(rng, 2) for i in range(rng.randint(0, 4))}
        plain = all(type(v) in (str, int, float, bool, type(None)) for v in node.values())  # as JSON parses them
        assert readers._is_leaf(node) == plain  # (a subclass of a scalar type: walked as the general path does)
        assert not plain or not any(isinstance(v, (dict, list)) for v in node.values())
