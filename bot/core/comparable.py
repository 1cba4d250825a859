"""Which series of two archives are the same thing, and what changed between them (pure).

A series is (model, configuration, metric); its values carry a unit. Two archives' series are the
same when their *comparable* configurations are: the configuration without repetition markers.
A ``seed``, ``run`` or ``iteration`` tells repetitions of one configuration apart; it is an
identifier, not a dimension (DESIGN.md, "A measurement keeps its whole context"), so a new seed
never makes a new configuration and never makes a comparison disappear.

When a model's configurations differ between the baseline and the newest archive, `match_configs`
says how, so the digest can name the dimension instead of reporting "gone" and "new":

- a dimension added or removed (``flash_attn=1`` now recorded, every other value the same): the
  configurations still pair one to one on the shared dimensions; they are compared as the same
  series, and the change is news;
- a value changed (``num_ctx`` 2048 → 4096): a different configuration, paired only to say so,
  never compared;
- anything else: configurations gone and new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from bot.core.config import Config

# Keys (compared case-insensitively) that mark a repetition of a configuration, not a dimension.
REPETITION_MARKERS = frozenset({
    "seed", "random_seed", "run", "run_id", "run_index", "rep", "reps", "repeat", "repetition",
    "iteration", "iter", "trial", "attempt", "round", "sample", "sample_id", "request_id", "timestamp",
})


def is_repetition_marker(key: str) -> bool:
    return key.strip().lower() in REPETITION_MARKERS


def comparable_config(text: str) -> str:
    """The configuration text without its repetition markers (parts kept in their order)."""
    config = Config.parse(text)
    if not any(value is not None and is_repetition_marker(key) for key, value in config.items):
        return text
    kept = [key if value is None else f"{key}={value}" for key, value in config.items
            if value is None or not is_repetition_marker(key)]
    return ",".join(kept)


def parse_selector(text: str) -> Config:
    """A configuration selector as a user writes it (``num_ctx=2048``, ``temperature=0.70,num_gpu=99``),
    in canonical form (sorted keys, ``0.70`` -> ``0.7``). Raises ValueError for a part without ``=``."""
    pairs: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{part.strip() or text!r} is not key=value")
        pairs[key.strip()] = value.strip()
    return Config.from_items(pairs)


def select_config(frame: pd.DataFrame, selector: Config) -> pd.DataFrame:
    """The rows whose configuration has every part of ``selector``, with those parts removed from
    their ``config`` (a new frame): two selections of one archive then pair up on the dimensions
    that remain, so ``num_ctx=2048`` vs ``num_ctx=4096`` compares each model's otherwise equal runs."""
    wanted = set(selector.parts)

    def rest(text: str) -> str | None:
        parts = Config.parse(text).parts
        if not wanted <= set(parts):
            return None
        return ",".join(p for p in parts if p not in wanted)

    mapping = {text: rest(text) for text in frame["config"].fillna("").astype(str).unique()}
    configs = frame["config"].fillna("").astype(str).map(mapping)
    keep = configs.notna()
    return frame[keep].assign(config=configs[keep].astype(str)).reset_index(drop=True)


@dataclass(frozen=True)
class ConfigDiff:
    """How the newest configuration differs from the baseline one, dimension by dimension."""

    added: tuple[tuple[str, str], ...] = ()  # (key, new value)
    removed: tuple[tuple[str, str], ...] = ()  # (key, old value)
    changed: tuple[tuple[str, str, str], ...] = ()  # (key, old value, new value)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(k for k, *_ in (*self.added, *self.removed, *self.changed))

    @staticmethod
    def between(old: str, new: str) -> ConfigDiff:
        a, b = _values(old), _values(new)
        return ConfigDiff(
            added=tuple((k, b[k]) for k in b if k not in a),
            removed=tuple((k, a[k]) for k in a if k not in b),
            changed=tuple((k, a[k], b[k]) for k in a if k in b and a[k] != b[k]),
        )


@dataclass(frozen=True)
class ConfigMatch:
    """One model's configurations in the baseline vs the newest archive (comparable texts)."""

    same_series: Mapping[str, str] = field(default_factory=dict)  # baseline config -> newest config
    key_changes: Mapping[str, ConfigDiff] = field(default_factory=dict)  # newest config -> its diff
    value_changes: tuple[tuple[str, str, ConfigDiff], ...] = ()  # (baseline, newest, diff), not compared
    gone: tuple[str, ...] = ()
    new: tuple[str, ...] = ()


def match_configs(baseline: Iterable[str], newest: Iterable[str], *, seen: Iterable[str] = ()) -> ConfigMatch:
    """Pair one model's configurations that are no longer / not yet present (see the module
    docstring). ``seen``: the model's configurations in any earlier archive; a newest one among them
    is back, not new (it is compared with its own history)."""
    old_set, new_set = set(baseline), set(newest)
    gone = sorted(old_set - new_set)
    fresh = sorted(new_set - old_set - set(seen))
    if not gone or not fresh:
        return ConfigMatch(gone=tuple(gone), new=tuple(fresh))
    renamed = _dimension_added_or_removed(gone, fresh)
    if renamed is not None:
        return ConfigMatch(same_series=renamed,
                           key_changes={new: ConfigDiff.between(old, new) for old, new in renamed.items()})
    pairs = _value_changes(gone, fresh)
    paired_old = {old for old, _new, _diff in pairs}
    paired_new = {new for _old, new, _diff in pairs}
    return ConfigMatch(value_changes=tuple(pairs),
                       gone=tuple(c for c in gone if c not in paired_old),
                       new=tuple(c for c in fresh if c not in paired_new))


def _values(text: str) -> dict[str, str]:
    return {key: value for key, value in Config.parse(text).items if value is not None}


def _dimension_added_or_removed(gone: list[str], fresh: list[str]) -> dict[str, str] | None:
    """old -> new when every gone configuration equals exactly one new one on the dimensions both
    sides have, and the two sides record different dimensions (one to one, nothing left over)."""
    old_keys = set().union(*(_values(c) for c in gone))
    new_keys = set().union(*(_values(c) for c in fresh))
    if old_keys == new_keys or len(gone) != len(fresh):
        return None
    shared = old_keys & new_keys

    def projection(text: str) -> tuple[tuple[str, str], ...]:
        values = _values(text)
        return tuple(sorted((k, v) for k, v in values.items() if k in shared))

    old_by = {projection(c): c for c in gone}
    new_by = {projection(c): c for c in fresh}
    if len(old_by) != len(gone) or len(new_by) != len(fresh) or set(old_by) != set(new_by):
        return None
    return {old_by[p]: new_by[p] for p in old_by}


def _value_changes(gone: list[str], fresh: list[str]) -> list[tuple[str, str, ConfigDiff]]:
    """Pairs with the same dimensions whose values differ in the fewest places, where that nearest
    partner is unique from both sides."""
    def nearest(text: str, others: list[str]) -> list[str]:
        keys = set(_values(text))
        same = [o for o in others if set(_values(o)) == keys]
        if not same:
            return []
        dist = {o: len(ConfigDiff.between(text, o).changed) for o in same}
        best = min(dist.values())
        return [o for o in same if dist[o] == best]

    pairs = []
    for old in gone:
        candidates = nearest(old, fresh)
        if len(candidates) == 1 and nearest(candidates[0], gone) == [old]:
            pairs.append((old, candidates[0], ConfigDiff.between(old, candidates[0])))
    return pairs
