"""Storage: every SQL statement of evbot, on SQLite and PostgreSQL.

`Storage` is the one gateway to the database (feeds and their fetch state,
stories, chats and their preferences, the outbox); `schema` defines the tables,
`db` makes engines and runs the Alembic migrations in `migrations/`, and
`leader` holds the advisory-lock SQL behind leader election. Row types live in
`bot.models`.
"""

from bot.storage.core import MAX_KEYWORDS, PREF_COLUMNS, Storage

__all__ = ["MAX_KEYWORDS", "PREF_COLUMNS", "Storage"]
