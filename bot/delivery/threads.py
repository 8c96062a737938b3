"""Forum topics in delivery: which topic (`message_thread_id`) a chat's message goes to.

A chat with topics on (bot.telegram_app.topics) has one topic per category. An
alert goes to the topic of the first of its story's categories (in the order
the rules list them, which is the order the classifier stores them) that the
chat follows and has a topic for; a story with no such category, a keyword-only
alert, a held (digest) row, a broadcast or a notice goes to General (no thread).
Rows of different topics are never combined into one message: the worker sends
the rows of the first row's topic now and the rest on its next pass.

A topic deleted in Telegram answers "message thread not found": the worker
sends the message again to General, and `forget_gone_topic` forgets the topic
and queues one notice for the chat (the forget is conditional, so a second
failure, here or on another replica, queues no second notice).

A closed topic answers "TOPIC_CLOSED" when the bot may not manage topics (an
admin took that right away): the message goes to General too, but the topic is
kept, since an admin may reopen it and its alerts then go there again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from bot.i18n import t
from bot.models import Delivery, OutboxKind
from bot.storage import Storage

log = logging.getLogger(__name__)

# What Telegram answers for a message to a topic that no longer exists.
GONE_MARKERS = ("message thread not found", "topic_deleted", "topic_id_invalid")
# ... and to a topic that is closed to the bot.
CLOSED_MARKER = "topic_closed"


def thread_for(row: Delivery) -> int | None:
    """The topic a row is posted to, or None for General."""
    if not row.chat_threads or row.kind is not OutboxKind.ALERT or row.item is None:
        return None
    if row.reason.held:
        return None  # a digest is one message for the whole chat
    threads = dict(row.chat_threads)
    for category in row.item.categories:
        if category in row.chat_categories and category in threads:
            return threads[category]
    return None


def same_thread(rows: Sequence[Delivery]) -> list[Delivery]:
    """The rows that go to the first row's topic, in order (one message never spans topics)."""
    if not rows:
        return []
    first = thread_for(rows[0])
    return [row for row in rows if thread_for(row) == first]


def is_thread_gone(description: str) -> bool:
    """Whether Telegram's error says the message's topic is gone."""
    lowered = description.lower()
    return any(marker in lowered for marker in GONE_MARKERS)


def is_thread_closed(description: str) -> bool:
    """Whether Telegram's error says the message's topic is closed to the bot."""
    return CLOSED_MARKER in description.lower()


async def forget_gone_topic(storage: Storage, row: Delivery, thread_id: int, now: datetime) -> bool:
    """Forget a deleted topic and tell the chat's admins once; True if this call forgot it."""
    name = await storage.forget_topic(row.chat_id, thread_id)
    if name is None:
        return False
    log.warning(
        "chat %s: topic %s (%s) is gone; its alerts go to General", row.chat_id, thread_id, name
    )
    await storage.enqueue_notice([row.chat_id], t(row.chat_language, "topic_gone", name=name), now)
    return True
