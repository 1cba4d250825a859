"""Alembic environment and revisions for the bot's database (shipped inside the package).

Applied by `bot.adapters.db.engine.upgrade_to_head`; see `bot.adapters.db.engine.alembic_config` for how to
create a new revision.
"""
