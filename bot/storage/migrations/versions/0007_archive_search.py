"""Full-text search for the public archive (bot.web), on both databases.

SQLite: an FTS5 table `items_fts` (unicode61 with remove_diacritics 2, so
ş/ç/ğ/ö/ü/â match their plain letters) kept in step with `items` by triggers.
The triggers fold the dotted and dotless Turkish i (İ, ı → i), the one
Turkish letter unicode61 keeps apart; the query is folded the same way in
Python (`rules.match_key`), so "sarj istasyonu" finds "şarj istasyonu" and
"araci" finds "aracı". Plain SQL in the triggers (no Python function) means
every writer of `items` keeps the index, whatever connection it uses.

PostgreSQL: an immutable SQL function `evbot_fold` (Turkish letters and
common accents to ASCII, then lower case), a stored generated column
`search_vector` = `to_tsvector('simple', evbot_fold(title || ' ' || summary))`
and a GIN index on it. The database computes the column, so ingest writes
stories exactly as before; stored rather than an expression index so that a
plan that walks the newest stories checks each one without re-parsing it.

Revision ID: 0007
Revises: 0006
"""

import unicodedata

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# What PostgreSQL's evbot_fold maps to ASCII. lower() under the C collation
# only knows ASCII, so upper-case Turkish letters are listed too.
FOLD_FROM = "İIıÇçĞğÖöŞşÜüÂâÎîÛûÉéÈèÊêËëÁáÀàÄäÓóÒòÍíÌìÏïÚúÙùÑñ"
FOLD_TO = "".join(
    "i" if c in "İIı" else unicodedata.normalize("NFD", c)[0].lower() for c in FOLD_FROM
)

# SQLite: the text as indexed, with İ/ı folded (unicode61 does the rest).
_SQLITE_TEXT = "replace(replace({col}, 'İ', 'i'), 'ı', 'i')"


def _sqlite_fold(column: str) -> str:
    return _SQLITE_TEXT.format(col=column)


def upgrade() -> None:
    """Create the search index and fill it from the stories already stored."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION evbot_fold(text) RETURNS text "
            "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
            f"$$ SELECT lower(translate($1, '{FOLD_FROM}', '{FOLD_TO}')) $$"
        )
        op.execute(
            "ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple'::regconfig, evbot_fold(title || ' ' || summary))) STORED"
        )
        op.execute("CREATE INDEX ix_items_search ON items USING gin (search_vector)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE items_fts USING fts5("
        "title, summary, tokenize = 'unicode61 remove_diacritics 2')"
    )
    op.execute(
        "INSERT INTO items_fts (rowid, title, summary) "
        f"SELECT id, {_sqlite_fold('title')}, {_sqlite_fold('summary')} FROM items"
    )
    op.execute(
        "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
        "INSERT INTO items_fts (rowid, title, summary) VALUES "
        f"(new.id, {_sqlite_fold('new.title')}, {_sqlite_fold('new.summary')}); END"
    )
    op.execute(
        "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
        "DELETE FROM items_fts WHERE rowid = old.id; END"
    )
    op.execute(
        "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items BEGIN "
        "DELETE FROM items_fts WHERE rowid = old.id; "
        "INSERT INTO items_fts (rowid, title, summary) VALUES "
        f"(new.id, {_sqlite_fold('new.title')}, {_sqlite_fold('new.summary')}); END"
    )


def downgrade() -> None:
    """Drop the search index."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_items_search")
        op.execute("ALTER TABLE items DROP COLUMN IF EXISTS search_vector")
        op.execute("DROP FUNCTION IF EXISTS evbot_fold(text)")
        return
    for trigger in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS items_fts")
