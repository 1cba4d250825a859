"""`Config`: the one maker and reader of ``k=v,k=v`` configuration texts."""

from __future__ import annotations

import contextlib
import math

import pytest

from bot.core.config import Config, format_config_value

# Texts as files really produce them, and the odd ones a file's own names can produce.
TEXTS = [
    "",
    "num_ctx=1024",
    "num_ctx=1024,num_gpu=999,temperature=0.2",
    "backend=cuda,n_prompt=512,case=tg128",  # joined, not re-sorted (generic tables)
    "config=a,b",  # a configuration name holding a comma: 'b' is a bare part
    "config=k=v",  # '=' inside a value: split at the first '=' only
    "tag=",  # empty value
    "tag=q8_0",
    "case=results/run 1",
    "config=x, y=3",  # a space after the comma
    " num_ctx = 4096 ,temperature=0.2",
    "a=1,,b=2",  # empty part
    ",",
    "=5",
    "a=1,a=2",  # the first part of a key wins
]


# --- the readings the code used before `Config`, kept here as the reference ---------------------
def old_parameters(configs: list[str]) -> set[str]:  # analysis._parameters
    names: set[str] = set()
    for config in configs:
        for part in config.split(","):
            if "=" in part:
                names.add(part.split("=", 1)[0])
    return names


def old_param_value(config: str, param: str) -> str:  # analysis._param_value
    for part in config.split(","):
        name, _, value = part.partition("=")
        if name == param:
            return value
    return ""


def old_config_covers(row_config: str, claim_config: str) -> bool:  # claims._config_covers
    if not claim_config:
        return True
    have = set(row_config.split(",")) if row_config else set()
    return set(claim_config.split(",")) <= have


def old_followup_param(config: str, key: str) -> str:  # followup._param
    for part in str(config).split(","):
        name, _, value = part.partition("=")
        if name.strip() == key:
            return value.strip()
    return ""


def old_config_levels(configs: list[str]) -> dict[str, set[str]]:  # followup.config_levels, unsorted
    levels: dict[str, set[str]] = {}
    for config in configs:
        for part in str(config).split(","):
            key, sep, value = part.partition("=")
            if sep and key.strip():
                levels.setdefault(key.strip(), set()).add(value.strip())
    return levels


def old_config_key(items: dict) -> str:  # ingest.values.config_key
    from bot.core.values import is_missing

    return ",".join(f"{name}={format_config_value(items[name])}" for name in sorted(items)
                    if not is_missing(items[name]))


# --- making ---------------------------------------------------------------------------------------
def test_from_items_is_sorted_canonical_and_drops_empty_values() -> None:
    config = Config.from_items({"temperature": "0.20", "num_gpu": 999.0, "num_ctx": "1,024", "seed": None,
                                "top_k": "", "backend": " cuda ", "min_p": float("nan"), "quant": "n/a"})
    assert config.key == "backend=cuda,num_ctx=1024,num_gpu=999,temperature=0.2"
    assert str(config) == config.key
    assert config.items == (("backend", "cuda"), ("num_ctx", "1024"), ("num_gpu", "999"),
                            ("temperature", "0.2"))


@pytest.mark.parametrize("raw, text", [
    (999.00, "999"), ("0.40", "0.4"), (4096, "4096"), ("1e3", "1000"), (1e20, "1e+20"),
    (2.5e-7, "2.5e-07"), (" q8_0 ", "q8_0"), ("870 ms", "870"), (True, "True"), (-3, "-3"),
])
def test_value_canonical_form(raw: object, text: str) -> None:
    assert format_config_value(raw) == text


@pytest.mark.parametrize("items", [
    {}, {"num_ctx": 2048}, {"b": 1, "c": None}, {"options": "k=v"}, {"n": 1e15, "m": 10 ** 20},
])
def test_from_items_gives_the_text_config_key_gave(items: dict) -> None:
    assert Config.from_items(items).key == old_config_key(items)


def test_a_comma_inside_a_value_is_escaped_and_reads_back_as_one_part() -> None:
    # Before escaping, {"a": "x,y"} was written 'a=x,y' and read back as a=x plus a bare 'y'.
    config = Config.from_items({"b": 1, "a": "x,y"})
    assert config.key == "a=x\\,y,b=1"
    assert Config.parse(config.key).items == (("a", "x,y"), ("b", "1"))
    assert Config.parse(config.key).as_dict() == {"a": "x,y", "b": "1"}


@pytest.mark.parametrize("dims", [
    {"gpu_info": "Radeon 8060S Graphics, gfx1151"}, {"k=v": "a=b"}, {"path": "C:\\models\\x,y"},
    {"fa": ""}, {"a": "1", "b": "\\,"}, {"note": "ünïcode, ✓"},
])
def test_from_context_round_trips_any_value(dims: dict[str, str]) -> None:
    config = Config.from_context(dims)
    assert Config.parse(config.text).as_dict() == dims
    assert Config.parse(config.text).keys() == tuple(sorted(dims))
    assert ",".join(Config.parse(config.text).parts) == config.text


def test_from_pairs_keeps_order_and_text() -> None:
    assert Config.from_pairs([("num_ctx", "4096"), ("backend", "cpu")]).key == "num_ctx=4096,backend=cpu"
    assert Config.from_pairs([]).key == ""
    assert Config.from_pairs([("case", "a,b")]).key == "case=a\\,b"  # escaped: one part, not two


def test_joining_appends_without_resorting() -> None:
    head = Config.from_items({"num_ctx": 1})
    tail = Config.from_items({"name": "x"})
    assert (head + tail).key == "num_ctx=1,name=x"
    assert (Config() + tail).key == "name=x"
    assert (head + Config()).key == "num_ctx=1"
    assert (Config() + Config()).key == ""


# --- reading --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", TEXTS)
def test_parse_gives_the_text_back_byte_for_byte(text: str) -> None:
    config = Config.parse(text)
    assert str(config) == config.key == text
    assert ",".join(config.parts) == text
    assert Config.parse(text) == Config(text) and hash(Config.parse(text)) == hash(Config(text))


def test_items_split_at_commas_and_first_equals() -> None:
    assert Config.parse("").items == ()
    assert Config.parse("config=a,b").items == (("config", "a"), ("b", None))
    assert Config.parse("config=k=v").items == (("config", "k=v"),)
    assert Config.parse("a=1,,b=2").items == (("a", "1"), ("", None), ("b", "2"))


def test_keys_get_and_bool() -> None:
    config = Config.parse("num_ctx=1024,b,num_ctx=2048,tag=")
    assert config.keys() == ("num_ctx", "tag")
    assert config.get("num_ctx") == "1024"  # first part wins
    assert config.get("tag") == ""
    assert config.get("b") == "" and config.get("missing") == ""
    assert config and not Config.parse("") and not Config()


def test_covers() -> None:
    row = Config.parse("num_ctx=1024,num_gpu=999,temperature=0.2")
    assert row.covers(Config.parse("num_gpu=999"))
    assert row.covers(Config.parse("temperature=0.2,num_ctx=1024"))
    assert row.covers(Config.parse(""))
    assert not row.covers(Config.parse("num_gpu=99"))
    assert not Config.parse("").covers(Config.parse("num_gpu=999"))
    assert Config.parse("").covers(Config.parse(""))


def test_trimmed() -> None:
    config = Config.parse(" num_ctx = 4096 ,temperature=0.2, b")
    assert config.trimmed().items == (("num_ctx", "4096"), ("temperature", "0.2"), ("b", None))
    assert config.trimmed().get("num_ctx") == "4096"
    assert config.get("num_ctx") == ""  # untrimmed keys are read as written


# --- the same answers as every reading it replaced ------------------------------------------------
@pytest.mark.parametrize("text", TEXTS)
def test_readings_match_the_code_they_replaced(text: str) -> None:
    config = Config.parse(text)
    assert set(config.keys()) == old_parameters([text])
    keys = {part.partition("=")[0] for part in text.split(",")} | {"num_ctx", "b", "", " num_ctx ", "y", "a"}
    for key in keys:
        assert config.get(key) == old_param_value(text, key), key
        assert config.trimmed().get(key) == old_followup_param(text, key), key
    levels: dict[str, set[str]] = {}
    for key, value in config.trimmed().items:
        if value is not None and key:
            levels.setdefault(key, set()).add(value)
    assert levels == old_config_levels([text])
    for other in TEXTS:
        assert config.covers(Config.parse(other)) == old_config_covers(text, other), other


@pytest.mark.parametrize("text", TEXTS)
def test_grounding_reads_numbers_and_names_as_before(text: str) -> None:
    def old_numbers(config: str) -> list[float]:
        out = []
        for _key, _sep, raw in (part.partition("=") for part in config.split(",")):
            with contextlib.suppress(ValueError):
                out.append(float(raw))
        return out

    new: list[float] = []
    for _key, raw in Config.parse(text).items:
        if raw is None:
            continue
        with contextlib.suppress(ValueError):
            new.append(float(raw))
    assert [x if not math.isnan(x) else "nan" for x in new] == [
        x if not math.isnan(x) else "nan" for x in old_numbers(text)]
    if text:
        assert set(Config.parse(text).parts) == set(text.split(","))
