"""``/chimera digest`` over real HTTP: correctly signed slash commands into the bot (Bolt on
waitress), every Slack call recorded by the Web API stand-in, subscriptions in a SQLite file."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from handlers.digest import digest_command
from tests.digest_support import message_text, write_synth
from tests.slack_support import http_bot


def _bot(standin, tmp_path, **overrides):
    (tmp_path / "storage").mkdir(exist_ok=True)
    return http_bot(standin, None, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                    storage_roots=[str(tmp_path / "storage")], digest_use_llm=False, **overrides)


def _next_times(body: str) -> list[str]:
    return re.findall(r"\w{3} \d\d \w{3} \d{4} \d\d:\d\d \w+ \(UTC[+-]\d\d:\d\d\)", body)


def test_add_shows_the_next_fires_across_the_dst_change_in_the_subscriptions_timezone(standin, tmp_path):
    # Saturday 29 March 2025, 07:00 UTC = 08:00 in Berlin; clocks go forward on Sunday night
    with freeze_time("2025-03-29 07:00:00", tick=True), _bot(standin, tmp_path) as bot_:
        status, body, _ = bot_.command('digest add "daily 09:00" nightly/ Europe/Berlin')
        assert status == 200  # with the answer in the body: acked within Bolt's (and Slack's) 3 s
        assert "Digest *#1* set up: `daily 09:00` (Europe/Berlin) for `nightly`" in body
        assert _next_times(body) == [
            "Sat 29 Mar 2025 09:00 CET (UTC+01:00)",
            "Sun 30 Mar 2025 09:00 CEST (UTC+02:00)",
            "Mon 31 Mar 2025 09:00 CEST (UTC+02:00)",
        ]


def test_weekdays_skip_the_weekend_and_other_timezones_show_their_own_clock(standin, tmp_path):
    with freeze_time("2025-11-14 15:00:00", tick=True), _bot(standin, tmp_path) as bot_:  # Friday
        _, body, _ = bot_.command("digest add weekdays 09:00 nightly America/New_York --quiet")
        assert "Nothing new → no message (`--quiet`)" in body
        assert _next_times(body) == [
            "Mon 17 Nov 2025 09:00 EST (UTC-05:00)",
            "Tue 18 Nov 2025 09:00 EST (UTC-05:00)",
            "Wed 19 Nov 2025 09:00 EST (UTC-05:00)",
        ]
        _, body, _ = bot_.command('digest add "0 9 * * 1-5" nightly Asia/Kolkata')
        assert _next_times(body)[0] == "Mon 17 Nov 2025 09:00 IST (UTC+05:30)"
        _, body, _ = bot_.command("digest add weekly sun 18:00 nightly")
        assert _next_times(body)[0] == "Sun 16 Nov 2025 18:00 UTC (UTC+00:00)"


def test_the_autumn_repeated_hour_fires_once(standin, tmp_path):
    # Called without freezegun: its FakeDatetime drops `fold` in astimezone(), so the second 02:30
    # of 26 October would look like the first one. The listener passes no `now`; we pass one.
    with _bot(standin, tmp_path) as bot_:
        body = digest_command(bot_.services, text="digest add daily 02:30 nightly Europe/Berlin",
                              channel="C0001", user="U0001",
                              now=datetime(2025, 10, 25, 12, 0, tzinfo=UTC))
        assert _next_times(body) == [
            "Sun 26 Oct 2025 02:30 CEST (UTC+02:00)",  # 02:30 happens twice that night: once here
            "Mon 27 Oct 2025 02:30 CET (UTC+01:00)",
            "Tue 28 Oct 2025 02:30 CET (UTC+01:00)",
        ]


def test_list_and_remove_are_per_channel(standin, tmp_path):
    with _bot(standin, tmp_path) as bot_:
        bot_.command("digest add daily 09:00 nightly", channel="C0001")
        bot_.command("digest add weekdays 07:30 perf/gpu Europe/Paris --quiet", channel="C0002")
        _, body, _ = bot_.command("digest list", channel="C0002")
        assert "*#2* `weekdays 07:30` (Europe/Paris) for `perf/gpu` · quiet — next: " in body
        assert "#1" not in body
        _, body, _ = bot_.command("digest remove 1", channel="C0002")  # not this channel's
        assert body == "There is no digest #1 in this channel (see `/chimera digest list`)."
        _, body, _ = bot_.command("digest remove #1", channel="C0001")
        assert "Digest #1 removed" in body
        _, body, _ = bot_.command("digest list", channel="C0001")
        assert body.startswith("No digests in this channel yet.")
        assert [s.id for s in bot_.services.store.subscriptions.list_subscriptions()] == [2]


@pytest.mark.parametrize(("text", "says"), [
    ("digest add daily 09:00 nightly Mars/Olympus", "is not an IANA timezone"),
    ("digest add daily 25:00 nightly", "is not a 24-hour time"),
    ('digest add "*/5 * * * *" nightly', "more than once an hour"),
    ("digest add daily 09:00 ../etc", "may not contain"),
    ("digest add daily 09:00 s3://bucket/x", "not a valid archive name"),
    ("digest add daily 09:00 <!channel>/x UTC extra", "Unexpected extra words"),
    ("digest remove seven", "Give the digest's number"),
    ("digest frobnicate", "I don't know that digest command"),
])
def test_bad_digest_commands_get_a_short_answer_and_store_nothing(standin, tmp_path, text, says):
    with _bot(standin, tmp_path) as bot_:
        status, body, _ = bot_.command(text)
        assert status == 200 and says in body
        assert "<!channel>" not in body
        assert bot_.services.store.subscriptions.list_subscriptions() == []


def test_help_lists_the_digest_commands(standin, tmp_path):
    with _bot(standin, tmp_path) as bot_:
        assert "/chimera digest add" in bot_.command("help")[1]
        assert "`--quiet`" in bot_.command("digest")[1]


def test_a_subscription_added_in_slack_fires_once_and_survives_a_restart(standin, tmp_path):
    with freeze_time("2025-11-14 08:59:00", tick=True) as clock:
        with _bot(standin, tmp_path) as bot_:
            bot_.services.scheduler.start()
            try:
                _, body, _ = bot_.command("digest add daily 09:00 nightly", channel="C0009")
                assert "Digest *#1* set up" in body
                assert bot_.services.scheduler.job_ids() == ["digest-1"]
            finally:
                bot_.services.scheduler.shutdown()
                bot_.services.store.close()

        # the bot restarts: new services, new scheduler, same database file
        write_synth(tmp_path / "storage", "nightly/2025-11-14")
        with _bot(standin, tmp_path) as bot_:
            _, body, _ = bot_.command("digest list", channel="C0009")
            assert "*#1* `daily 09:00` (UTC) for `nightly` — next: Fri 14 Nov 2025 09:00 UTC" in body
            scheduler = bot_.services.scheduler
            scheduler.start()
            try:
                assert scheduler.job_ids() == ["digest-1"]
                assert scheduler.next_run_time(1) == datetime(2025, 11, 14, 9, 0, tzinfo=UTC)
                clock.move_to("2025-11-14 09:00:01")
                scheduler.wakeup()
                standin.wait_for(lambda calls: any(c.method == "files.completeUploadExternal" for c in calls))
            finally:
                bot_.services.scheduler.shutdown()
                bot_.services.store.close()
        posts = [c for c in standin.of("chat.postMessage") if c.params.get("channel") == "C0009"]
        assert len(posts) == 1
        assert message_text(posts[0]).startswith("Digest of nightly/2025-11-14: first digest")
