"""Engine construction and schema migration (Alembic, run in-process, no alembic.ini needed).

PostgreSQL: every ``postgres://`` / ``postgresql://`` URL is read as psycopg 3
(``postgresql+psycopg://``; SQLAlchemy 2.0 would pick psycopg2 for the bare form, 2.1 psycopg 3,
and neither accepts ``postgres://``). The driver comes with the ``postgres`` extra; without it the
bot stops with one line naming the extra. Connections are checked before use (``pool_pre_ping``), so
a database restart costs one failed check, not a failed request.

SQLite notes (the default backend, shared by every bot process on the host):
- WAL journal mode lets readers work while one process writes; ``busy_timeout`` makes a writer
  wait for the lock instead of failing at once with "database is locked".
- pysqlite's own transaction handling is switched off and we emit ``BEGIN`` ourselves (the recipe
  from SQLAlchemy's SQLite dialect docs), so DDL is transactional and a write transaction can ask
  for ``BEGIN IMMEDIATE``: it takes the write lock up front, so two processes racing for the same
  unique key queue behind each other instead of one failing on a stale read snapshot.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from bot.errors import DatabaseConfigError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Connection execution option: begin the SQLite transaction with BEGIN IMMEDIATE.
IMMEDIATE = "chimera_sqlite_immediate"
# Connection execution option: how long (ms) this transaction waits for SQLite's write lock, when
# it must wait less than DATABASE_BUSY_TIMEOUT_S (a listener answering within Slack's 3 s).
BUSY_MS = "chimera_sqlite_busy_ms"

# Any constant works; it names the advisory lock that serialises migrations on PostgreSQL.
_PG_MIGRATION_LOCK = 0x43484D52  # "CHMR"
MIGRATION_WAIT_MS = 120_000  # SQLite: how long start-up waits for another process's migration


POSTGRES_EXTRA = "pip install 'chimera-insight[postgres]'"
KNOWN_OTHER_BACKENDS = ("mysql", "mariadb", "oracle", "mssql")


def parse_url(database_url: str) -> URL:
    """`database_url` as SQLAlchemy reads it, PostgreSQL normalised to psycopg 3; raises
    `DatabaseConfigError` (one line, no password) when it is not a database URL."""
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError) as err:
        raise DatabaseConfigError("DATABASE_URL is not a database URL (e.g. sqlite:///./chimera.sqlite3 "
                                  "or postgresql://user:password@host/chimera).") from err
    if url.host and "@" in url.host:  # the password (or user) holds an unescaped '@': part of it reads as the host
        raise DatabaseConfigError("DATABASE_URL has an '@' in its user name or password: percent-encode it as %40 "
                                  "(postgresql://user:pass%40word@host/chimera).")
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    backend = url.get_backend_name()
    if backend in KNOWN_OTHER_BACKENDS:  # a real kind of database we do not speak: not "install a driver"
        raise DatabaseConfigError(f"DATABASE_URL names a {backend} database; the bot stores its data in "
                                  "SQLite (sqlite:///./chimera.sqlite3) or PostgreSQL (postgresql://…) only.")
    return url


def normalise_url(database_url: str) -> str:
    """``postgres://`` and bare ``postgresql://`` become ``postgresql+psycopg://``; an explicit
    ``+driver`` and other backends are kept. The password is kept (and its %-escapes)."""
    return parse_url(database_url).render_as_string(hide_password=False)


def is_memory_sqlite(database_url: str) -> bool:
    """``sqlite://``, ``sqlite:///``, ``sqlite:///:memory:`` or a ``mode=memory`` URI: a database
    that lives and dies with one process."""
    url = parse_url(database_url)
    if url.get_backend_name() != "sqlite":
        return False
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def make_engine(database_url: str, *, busy_timeout_s: float = 10.0, connect_timeout_s: float = 5.0,
                pool_size: int = 5, max_overflow: int = 10, pool_timeout_s: float = 10.0) -> Engine:
    """Create the engine for `database_url`, with the SQLite connection set-up described above.

    An in-memory SQLite URL gets one shared connection (StaticPool): otherwise every pooled
    connection would see its own empty database. It is meant for quick experiments only.
    Raises `DatabaseConfigError` for a URL whose backend or driver is not available.
    """
    url = parse_url(database_url)
    if url.get_backend_name() != "sqlite":
        server: dict[str, Any] = {"pool_pre_ping": True, "pool_size": pool_size, "max_overflow": max_overflow,
                                  "pool_timeout": pool_timeout_s}
        if url.get_backend_name() == "postgresql":
            # libpq counts whole seconds and treats anything below 2 as 2
            server["connect_args"] = {"connect_timeout": max(2, round(connect_timeout_s))}
        try:
            return create_engine(url, **server)
        except ImportError as err:  # ModuleNotFoundError: psycopg; or psycopg without its libpq
            raise DatabaseConfigError(f"DATABASE_URL is a {url.get_backend_name()} database but its driver is "
                                      f"not installed: {POSTGRES_EXTRA}") from err
        except NoSuchModuleError as err:
            raise DatabaseConfigError(f"DATABASE_URL names an unknown database kind "
                                      f"{url.drivername!r}; use sqlite:/// or postgresql://.") from err

    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    memory = is_memory_sqlite(database_url)
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    timeout_ms = max(0, int(busy_timeout_s * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event below opens transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL itself may have to wait for another process.
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                # NORMAL is durable across application crashes in WAL mode (only an OS crash can
                # lose the last commits) and much faster than FULL.
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        wanted = int(options.get(BUSY_MS, timeout_ms))
        info = conn.connection.info  # this pooled connection's own: its current busy_timeout
        if info.get(BUSY_MS, timeout_ms) != wanted:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {wanted}")
            info[BUSY_MS] = wanted
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(IMMEDIATE, False) else "BEGIN")

    return engine


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic `Config` built in code, pointing at the migrations shipped in the package.

    Developers can create a revision with it, e.g.::

        from alembic import command
        from bot.adapters.db.engine import alembic_config
        command.revision(alembic_config("sqlite:///dev.sqlite3"), "add x", autogenerate=True)
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if database_url is not None:
        # ConfigParser interpolates '%': escape it (URL-encoded passwords contain it).
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the schema lock, committed on success: BEGIN IMMEDIATE on SQLite
    (the database's write lock), ``pg_advisory_xact_lock`` on PostgreSQL (released at commit).

    READ COMMITTED on PostgreSQL (its default; never REPEATABLE READ here): a process that waited
    for the lock must see the tables the winner just created when its own statements run.
    """
    with engine.connect().execution_options(**{IMMEDIATE: True}) as connection:
        sqlite_wait = None
        if connection.dialect.name == "sqlite":
            # Another process may be migrating: wait for it however short BUSY_TIMEOUT is. (On the
            # driver's connection: it is in autocommit mode, so no transaction is opened here.)
            sqlite_wait = _sqlite_pragma(connection, "busy_timeout")
            _sqlite_pragma(connection, f"busy_timeout = {max(int(sqlite_wait or 0), MIGRATION_WAIT_MS)}")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
                yield connection
        finally:
            if sqlite_wait is not None:
                _sqlite_pragma(connection, f"busy_timeout = {int(sqlite_wait)}")


def _sqlite_pragma(connection: Connection, pragma: str) -> Any:
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        row = cursor.execute(f"PRAGMA {pragma}").fetchone()
        return row[0] if row else None
    finally:
        cursor.close()


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database to the newest schema revision; a no-op when it is already there.

    Every table, the scheduler's included, comes from here, inside `migration_lock`: replicas
    starting together on an empty database migrate once, one after the other, and all come up.
    """
    config = alembic_config()
    with migration_lock(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
