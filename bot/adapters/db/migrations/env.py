"""Alembic environment. Runs on the connection the bot hands over (``config.attributes``).

Without one (a developer using the Alembic API with ``sqlalchemy.url`` set), it builds an engine
the same way the bot does. No logging set-up here: the application owns logging.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.adapters.db.schema import Base, include_name

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from bot.adapters.db.engine import make_engine, migration_lock

    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes")
    engine = make_engine(url)
    try:
        with migration_lock(engine) as conn:  # the same lock the bot takes at start-up
            _configure(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
