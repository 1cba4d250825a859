"""Alembic revisions, one module each (Alembic ignores this ``__init__``)."""
