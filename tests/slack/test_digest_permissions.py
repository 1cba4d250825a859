"""Digests: only their creator or a workspace admin removes them, and the per-channel limit holds
under parallel adds (issue 12, item 6).

Attacks: another channel member removes someone's digest; parallel `digest add`s race past the
limit of 20 per channel. Expected: the removal is refused (naming who may remove it) unless the
user is the creator or Slack's users.info says admin/owner; `/chimera digest help` says so; the
limit is enforced by the database in the insert's transaction, so no interleaving exceeds it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.adapters.db import open_store
from bot.errors import LimitReached
from handlers.digest import MAX_PER_CHANNEL
from tests.slack_support import http_bot


@pytest.fixture
def bot(standin, tmp_path):
    (tmp_path / "storage").mkdir()
    with http_bot(standin, None, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                  storage_roots=[str(tmp_path / "storage")], digest_use_llm=False) as running:
        yield running


def active(bot) -> list[int]:
    return [s.id for s in bot.services.store.subscriptions.list_subscriptions("C0001")]


def test_another_member_cannot_remove_someone_elses_digest(bot, standin):
    assert "set up" in bot.command("digest add daily 09:00 nightly", user="U0001")[1]
    status, body, _ = bot.command("digest remove 1", user="U0002")
    assert status == 200
    assert body == ":no_entry: Only <@U0001> (who added it) or a workspace admin can remove digest #1."
    assert active(bot) == [1]
    assert [c.params["user"] for c in standin.of("users.info")] == ["U0002"]


@pytest.mark.parametrize("role", ["admins", "owners"])
def test_a_workspace_admin_or_owner_can_remove_it(bot, standin, role):
    getattr(standin, role).add("U0ADMIN")
    bot.command("digest add daily 09:00 nightly", user="U0001")
    assert "removed" in bot.command("digest remove 1", user="U0ADMIN")[1]
    assert active(bot) == []


def test_the_creator_removes_it_without_asking_slack(bot, standin):
    bot.command("digest add daily 09:00 nightly", user="U0001")
    assert "removed" in bot.command("digest remove 1", user="U0001")[1]
    assert standin.of("users.info") == []


def test_when_slack_cannot_say_who_is_admin_the_digest_stays(bot, standin):
    bot.command("digest add daily 09:00 nightly", user="U0001")
    standin.fail("users.info", "internal_error")
    body = bot.command("digest remove 1", user="U0002")[1]
    assert "couldn't check with Slack whether you are a workspace admin (internal_error)" in body
    assert active(bot) == [1]


def test_help_says_who_may_remove_a_digest(bot):
    body = bot.command("digest help")[1]
    assert "only whoever added the digest, or a workspace admin or owner, can remove it" in body


def test_parallel_adds_cannot_pass_the_channel_limit(bot):
    for _ in range(MAX_PER_CHANNEL - 2):
        assert "set up" in bot.command("digest add daily 09:00 nightly")[1]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: bot.command("digest add daily 09:00 nightly", user=f"U00{i:02d}")[1],
                                range(8)))
    assert sum("set up" in a for a in answers) == 2
    assert sum(f"already has {MAX_PER_CHANNEL} digests" in a for a in answers) == 6
    assert len(active(bot)) == MAX_PER_CHANNEL


def test_the_store_enforces_the_limit_atomically(database_url):
    store = open_store(database_url)
    start = threading.Barrier(12)
    outcomes: list[str] = []

    def add(i: int) -> None:
        start.wait(10)
        try:
            store.subscriptions.add_subscription(channel="C1", schedule="daily 09:00", trigger={}, timezone="UTC",
                                                 prefix="n", created_by=f"U{i}", max_per_channel=5)
            outcomes.append("added")
        except LimitReached:
            outcomes.append("refused")

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["added"] * 5 + ["refused"] * 7
    assert len(store.subscriptions.list_subscriptions("C1")) == 5
    # other channels have their own count
    store.subscriptions.add_subscription(channel="C2", schedule="daily 09:00", trigger={}, timezone="UTC",
                                         prefix="n", max_per_channel=5)
