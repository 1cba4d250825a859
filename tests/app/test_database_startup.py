"""`chimera serve` and the database it is given (issue 12): every bad DATABASE_URL, a read-only
database and an in-memory one end start-up with one line naming the problem — no traceback, no
password, and never a bot that starts and then loses what it records.

`chimera analyze` needs no database and is unaffected (tests/app/test_cli.py). Tests that want an
in-memory store build their services themselves (`serve(settings, services=…)`, `open_store`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.adapters.db import open_store
from bot.adapters.db.engine import make_engine
from bot.cli import main
from tests.pgserver import TestDatabase

SERVE_ENV = {"SLACK_MODE": "http", "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
             "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0", "DATABASE_STARTUP_WAIT_S": "0",
             "SLACK_API_URL": "http://127.0.0.1:9/"}
IN_MEMORY = ("chimera: DATABASE_URL is an in-memory SQLite database, which `chimera serve` refuses (everything "
             "would be lost at exit); use a file, e.g. sqlite:///./chimera.sqlite3, or postgresql://….")


def serve_with(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str]:
    for name, value in {**SERVE_ENV, "DATABASE_URL": url}.items():
        monkeypatch.setenv(name, value)
    code = main(["serve"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "secret" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("chimera:")]
    assert len(lines) == 1, err
    return code, lines[0]


@pytest.mark.parametrize(("url", "says"), [
    ("garbage", "chimera: DATABASE_URL is not a database URL"),
    ("foo://x", "chimera: DATABASE_URL names an unknown database kind 'foo'"),
    ("postgresql+nosuch://h/db", "chimera: DATABASE_URL names an unknown database kind 'postgresql+nosuch'"),
    ("mysql://u:secret@h/db", "chimera: DATABASE_URL names a mysql database; the bot stores its data in SQLite"),
    ("postgresql://u:secret@127.0.0.1:1/db", "chimera: The bot's database could not be opened or migrated: "
                                             "connection failed"),
    ("postgresql://u:secret@nonexistent.invalid/db", "chimera: The bot's database could not be opened or "
                                                      "migrated: failed to resolve host"),
    ("sqlite:////nonexistent/dir/x.sqlite3", "chimera: The bot's database could not be opened or migrated: "
                                             "unable to open database file"),
    ("sqlite://", IN_MEMORY),
    ("sqlite:///", IN_MEMORY),
    ("sqlite:///:memory:", IN_MEMORY),
    ("sqlite:///file:chimera?mode=memory&uri=true", IN_MEMORY),
])
def test_every_bad_database_url_stops_serve_with_one_line(monkeypatch, capsys, url, says):
    code, line = serve_with(monkeypatch, capsys, url)
    assert code == 2 and line.startswith(says), line


@pytest.mark.parametrize("url", ["postgresql://user:s3cret@PW@127.0.0.1:1/db",
                                 "postgres://user:s3cret@x@PW@127.0.0.1:1/db",
                                 "postgresql+psycopg://user:s3cret@PW@nonexistent.invalid/db"])
def test_an_unescaped_at_sign_in_the_password_is_refused_without_showing_any_of_it(monkeypatch, capsys, url):
    # SQLAlchemy splits at the first '@': the rest of the password would be the host, and the
    # driver's "failed to resolve host 'PW@127.0.0.1'" would show it.
    for name, value in {**SERVE_ENV, "DATABASE_URL": url}.items():
        monkeypatch.setenv(name, value)
    code = main(["serve"])
    out = capsys.readouterr()
    assert code == 2
    assert out.err.strip() == ("chimera: DATABASE_URL has an '@' in its user name or password: percent-encode it as "
                               "%40 (postgresql://user:pass%40word@host/chimera).")
    assert "PW" not in out.out + out.err and "s3cret" not in out.out + out.err


def test_a_read_only_database_is_refused_at_start_up(monkeypatch, capsys, database: TestDatabase, tmp_path: Path):
    with open_store(database.url):
        pass  # migrated: the read-only one below needs no migration, only its writes fail
    if database.backend == "sqlite":
        url = f"sqlite:///file:{database.url.removeprefix('sqlite:///')}?mode=ro&uri=true"
        refusal = "attempt to write a readonly database"
    else:
        engine = make_engine(database.url)
        try:
            with engine.begin() as conn:
                name = conn.execute(text("SELECT current_database()")).scalar_one()
                conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        finally:
            engine.dispose()
        url = database.url
        refusal = "cannot execute UPDATE in a read-only transaction"
    code, line = serve_with(monkeypatch, capsys, url)
    assert code == 2
    assert line == (f"chimera: DATABASE_URL is a read-only database ({refusal}); the bot records runs, digests "
                    "and its work queue there: give it a writable one.")


def test_a_writable_database_passes_the_start_up_write_check(database: TestDatabase):
    with open_store(database.url) as store:
        assert store.read_only_reason() is None
        assert store.read_only_reason() is None  # and changed nothing


# --- Slack at start-up ------------------------------------------------------------------------------
def test_serve_with_slack_unreachable_stops_with_one_line(monkeypatch, capsys, tmp_path: Path):
    code, line = serve_with(monkeypatch, capsys, f"sqlite:///{tmp_path / 'bot.sqlite3'}")  # SLACK_API_URL: port 9
    assert code == 2
    assert line.startswith("chimera: Slack's API at http://127.0.0.1:9/ could not be reached at start-up (")
    assert "Connection refused" in line and line.endswith("check the network or SLACK_API_URL, then start again.")


def test_serve_with_a_token_slack_refuses_stops_with_one_line(monkeypatch, capsys, tmp_path: Path, standin):
    standin.fail("auth.test", "invalid_auth")
    monkeypatch.setenv("SLACK_API_URL", standin.api_url)
    for name, value in SERVE_ENV.items():
        if name != "SLACK_API_URL":
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "xoxb-test" not in err, err
    assert [line for line in err.splitlines() if line.startswith("chimera:")] == [
        "chimera: Slack refused SLACK_BOT_TOKEN at start-up (invalid_auth): check the token and that the app "
        "is installed in the workspace."]


def test_a_sqlite_file_another_process_holds_locked_is_waited_for_at_start_up(tmp_path: Path):
    # Replicas starting together on one new SQLite file: one may find it locked before its busy
    # timeout has any say (seen as "database is locked" at start-up). That is retried within
    # DATABASE_STARTUP_WAIT_S; an unreadable file still is not.
    import sqlite3
    import threading

    from bot.app import open_database
    from bot.errors import DatabaseBusy
    from tests.factories import make_settings

    path = tmp_path / "bot.sqlite3"
    open_store(f"sqlite:///{path}").close()  # migrated, WAL
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE alembic_version SET version_num = version_num")
    holder.execute("COMMIT")  # in exclusive locking mode the lock stays after the commit
    settings = make_settings(database_url=f"sqlite:///{path}", database_busy_timeout_s=0.1)
    with pytest.raises(DatabaseBusy):
        open_database(settings, wait_s=0.0)
    release = threading.Timer(1.0, holder.close)  # closing the connection releases the lock
    release.start()
    try:
        store = open_database(settings, wait_s=30.0)
    finally:
        release.join()
    assert store.ping()["reachable"]
    store.close()
