"""The JSON walk's shortcut for leaf objects (every value a JSON scalar) finds the blocks the general
walk finds, on random and hostile documents."""

from __future__ import annotations

import itertools
import json
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


# ------------------------------------------------------------------ the walk as it was (reference)
# The walk before the leaf shortcut (commit 3c02d0c), verbatim but for its names: `_general` above
# shares `_walk_array`'s new lines (which items are walked into), so it cannot hold them to the old walk.
def _old_walk(node: Any, *, source: str, path: list[str], model: str, config: dict[str, Any],
              blocks: list[readers.TableBlock], depth: int) -> None:
    if depth > readers.MAX_JSON_DEPTH or len(blocks) >= readers.MAX_BLOCKS_PER_FILE:
        return
    if isinstance(node, dict):
        _old_walk_object(node, source=source, path=path, model=model, config=config, blocks=blocks, depth=depth)
    elif isinstance(node, list):
        _old_walk_array(node, source=source, path=path, model=model, config=config, blocks=blocks, depth=depth)


def _old_walk_object(node: dict[str, Any], *, source: str, path: list[str], model: str, config: dict[str, Any],
                     blocks: list[readers.TableBlock], depth: int) -> None:
    model = readers._model_of(node) or model
    scalars: dict[str, Any] = {}
    children: list[tuple[str, Any]] = []
    for key, value in node.items():
        if not isinstance(value, (dict, list)):
            scalars[key] = value
        elif key not in readers._SAMPLE_KEYS:
            children.append((key, value))
    if children:
        context = {k: v for k, v in scalars.items() if readers.classify_column(k) is None}
        is_record = len(context) < len(scalars)
    else:
        context = {}
        is_record = any(readers.classify_column(k) is not None for k in scalars)
    if is_record:
        columns, records = readers.records_of([readers._scalar_record(node, scalars)])
        blocks.append(readers.TableBlock(columns=columns, records=records, source=source,
                                         label=readers._label(path), model=model, config=dict(config)))
    if not children:
        return
    inherited = dict(config)
    inherited.update(context)
    for key, child in children:
        _old_walk(child, source=source, path=[*path, str(key)], model=model, config=inherited,
                  blocks=blocks, depth=depth + 1)


def _old_walk_array(node: list[Any], *, source: str, path: list[str], model: str, config: dict[str, Any],
                    blocks: list[readers.TableBlock], depth: int) -> None:
    dicts = [item for item in node if isinstance(item, dict)]
    if not dicts or len(dicts) != len(node):
        return
    flat = [readers._flatten(item) for item in dicts]
    if not any(readers.classify_column(c) is not None for c in dict.fromkeys(itertools.chain.from_iterable(flat))):
        for index, item in enumerate(dicts):
            _old_walk(item, source=source, path=[*path, str(index)], model=model, config=config,
                      blocks=blocks, depth=depth + 1)
        return
    columns, records = readers.records_of(flat)
    blocks.append(readers.TableBlock(columns=columns, records=records, source=source, label=readers._label(path),
                                     model=model, config=dict(config)))
    for index, item in enumerate(dicts):
        for key, child in item.items():
            if isinstance(child, list) and child and isinstance(child[0], dict):
                _old_walk(child, source=source, path=[*path, str(index), key],
                          model=readers._model_of(item) or model, config=config, blocks=blocks, depth=depth + 1)


def _old_blocks(data: Any) -> list[readers.TableBlock]:
    blocks: list[readers.TableBlock] = []
    _old_walk(data, source="f.json", path=[], model="", config={}, blocks=blocks, depth=0)
    return blocks


# keys naming no metric, so an array of objects holding them is walked into item by item
_PLAIN_KEYS = ["name", "cpu", "id", "backend", "model", "gpu", "0", "é", "results"]


def _walked_node(rng: random.Random, depth: int) -> Any:
    """A document whose arrays of objects often name no metric at their level but do deeper down (so
    their items are walked into), with leaf objects among non-leaf ones."""
    kind = rng.random()
    if depth <= 0 or kind < 0.25:
        if rng.random() < 0.7:
            return _scalar(rng)
        return {rng.choice(_KEYS): _scalar(rng) for _ in range(rng.randint(0, 3))}
    if kind < 0.55:
        return {rng.choice(_PLAIN_KEYS + _KEYS[:4]): _walked_node(rng, depth - 1) for _ in range(rng.randint(0, 4))}
    items: list[Any] = []
    for _ in range(rng.randint(1, 5)):
        item = {rng.choice(_PLAIN_KEYS): _scalar(rng) for _ in range(rng.randint(0, 3))}
        if rng.random() < 0.6:  # a metric two levels down, or in a list of objects: not a column of the array
            deeper = _walked_node(rng, depth - 1)
            item[rng.choice(_PLAIN_KEYS)] = {"inner": deeper} if rng.random() < 0.5 else [deeper]
        items.append(item)
    return items


@pytest.mark.parametrize("seed", range(300))
def test_json_blocks_are_those_of_the_walk_before_the_leaf_shortcut(seed: int) -> None:
    rng = random.Random(seed)
    for data in (_node(rng, rng.randint(1, 7)), _walked_node(rng, rng.randint(1, 6))):
        _same_blocks(readers.json_blocks(data, "f.json"), _old_blocks(data))


def test_json_texts_give_the_blocks_of_the_walk_before_the_leaf_shortcut() -> None:
    # what json.loads makes of hostile texts: NaN and Infinity, huge ints, repeated keys (the last wins,
    # in the first one's place), -0.0, a lone surrogate escaped
    texts = ['{"ttft_ms": NaN, "x": Infinity, "y": -Infinity, "n": 123456789012345678901234567890}',
             '[{"ttft_ms": 1, "ttft_ms": 2.5, "a": -0.0}, {"a": true, "ttft_ms": null}]',
             '[{"name": "a", "sub": {"deep": {"ttft_ms": 1}}}, {"name": "b", "cpu": 1}]',
             '[{"name": "a", "runs": [{"tokens_per_second": 3}]}, {"name": "\\ud800"}]',
             '{"model": "m", "results": [{"id": 1, "x": [{"mean_ttft_ms": 2}]}, {"id": 2}, {"id": 3, "z": {}}]}',
             '[{"cpu": 1}, [{"ttft_ms": 1}]]', '[[{"ttft_ms": 1}], {"cpu": 1}]', '[]', '{}', '[{}]']
    for text in texts:
        data = json.loads(text)
        _same_blocks(readers.json_blocks(data, "f.json"), _old_blocks(data))
