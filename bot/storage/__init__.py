"""Storage: every SQL statement of evbot, on SQLite and PostgreSQL.

`Storage` is the one gateway to the database, composed of one class per
aggregate over a shared base (the connection): `feeds` (catalog, fetch state,
leases, seen identities), `stories` (a poll's batch in one transaction,
sources, retention), `chats` (subscriptions, preferences, keywords, the
audience of new stories), `outbox` (queued messages until they end) and
`feedback` (editors' corrections of stories' categories) and `archive` (the
public web archive's pages and full-text search) and `topics` (forum chats'
topic per category). `schema` defines the tables,
`db` makes engines and runs the Alembic migrations in `migrations/`, `leader`
holds the lease SQL behind leader election, and `probes` answers the health
endpoint. Row types live in `bot.models`.

The database decides what is new: seen entries have a unique key per feed, and
a story, its sources, its seen entries and its outbox rows are written in one
transaction, so a crash leaves either all of them or none.
"""

from bot.storage.archive import ArchiveStore
from bot.storage.base import StorageBase
from bot.storage.chats import MAX_KEYWORDS, PREF_COLUMNS, ChatsStore
from bot.storage.feedback import FeedbackStore
from bot.storage.feeds import FeedsStore
from bot.storage.outbox import OutboxStore
from bot.storage.probes import ProbesStore
from bot.storage.stories import StoriesStore
from bot.storage.topics import TopicsStore

__all__ = ["MAX_KEYWORDS", "PREF_COLUMNS", "Storage"]


class Storage(
    FeedsStore,
    StoriesStore,
    ChatsStore,
    OutboxStore,
    ProbesStore,
    FeedbackStore,
    ArchiveStore,
    TopicsStore,
    StorageBase,
):
    """The one gateway to the database."""
