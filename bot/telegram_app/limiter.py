"""Every request the bot makes shares one send budget, and updates of different chats overlap.

`PacedRateLimiter` is python-telegram-bot's rate-limiter hook
(`ApplicationBuilder.rate_limiter`): each Bot API call of a handler (a reply,
the welcome, a keyboard edit, a callback answer) takes its slot from the same
`SendGate` as the delivery worker's alerts, ahead of them, and a 429 is waited
out and tried again instead of dropping the reply. Alerts pass through
untouched: the worker already holds their slot and handles their failures.

`PerChatUpdateProcessor` lets updates of different chats run concurrently,
while one chat's updates still run one after another, in order. The first
answer to an update outranks its further answers (`Rank`), and an update
waiting for a send slot gives its place among the running updates to the
next one, so in a crowd every welcome goes out before anyone's second reply.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor

from bot.delivery.pacing import Rank, SendGate

log = logging.getLogger(__name__)

# Marks an alert send: its slot is already taken (see TelegramSender).
PACED: dict[str, Any] = {"paced": True}
# How often a reply is tried when Telegram keeps answering 429.
MAX_TRIES = 5
# Calls that show something new in a chat: the chat's spacing applies, one at a time.
_MESSAGE_PREFIXES = ("send", "copy", "forward")
# Calls that change or answer but add no message: a global slot only.
_LIGHT = frozenset({"sendChatAction", "answerCallbackQuery", "deleteMessage", "deleteMessages"})


@dataclass
class _UpdateInHand:
    """What the rate limiter needs to know of the update whose handler is sending."""

    room: asyncio.Semaphore | None
    answers: int = 0

    def rank(self) -> Rank:
        """FIRST_REPLY for the update's first answer, REPLY after it."""
        rank = Rank.FIRST_REPLY if self.answers == 0 else Rank.REPLY
        self.answers += 1
        return rank

    def leave_room(self) -> None:
        """Give up the place among running updates (waiting for a slot is not work)."""
        if self.room is not None:
            self.room.release()
            self.room = None


# Set by the update processor in each update's own task, read by the rate limiter.
_in_hand: contextvars.ContextVar[_UpdateInHand | None] = contextvars.ContextVar(
    "evbot_update_in_hand", default=None
)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat_id(data: dict[str, Any] | None) -> int | None:
    value = (data or {}).get("chat_id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None  # "@channelname" or no chat at all


def budget_of(endpoint: str) -> str:
    """How a Bot API method is paced: "message", "light" (global slot only) or "free"."""
    if endpoint in _LIGHT or endpoint.startswith("edit"):
        return "light"
    if endpoint.startswith(_MESSAGE_PREFIXES):
        return "message"
    return "free"  # getMe, setMyCommands, getChatMember…: not sending anything


class PacedRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """Takes a slot of the shared `SendGate` for every reply; waits out 429s and tries again."""

    def __init__(self, gate: SendGate, *, max_tries: int = MAX_TRIES) -> None:
        self.gate = gate
        self.max_tries = max_tries
        self.retried = 0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Run the call in its slot; after a 429, wait as told and try again."""
        if rate_limit_args and rate_limit_args.get("paced"):
            return await callback(*args, **kwargs)
        budget = budget_of(endpoint)
        chat_id = _chat_id(data)
        chat_type = "private" if chat_id is not None and chat_id > 0 else "group"
        in_hand = _in_hand.get()
        rank = Rank.FIRST_REPLY
        if budget != "free" and in_hand is not None:
            rank = in_hand.rank()
            in_hand.leave_room()
        for attempt in range(1, self.max_tries + 1):
            try:
                if budget == "free":
                    return await callback(*args, **kwargs)
                held = chat_id if budget == "message" else None
                async with self.gate.slot(held, chat_type, rank=rank):
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                wait = _seconds(error.retry_after)
                if attempt >= self.max_tries:
                    log.error("%s to chat %s: 429 %d times, giving up", endpoint, chat_id, attempt)
                    raise
                self.retried += 1
                log.warning("%s to chat %s: 429, retrying in %.1f s", endpoint, chat_id, wait)
                if chat_id is not None:
                    # The gate holds this chat (or everything, if several chats were
                    # refused) until the wait is over; the retry queues behind it.
                    self.gate.pacer.flood(chat_id, wait)
                    self.gate.kick()
                if budget != "message" or chat_id is None:
                    await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats concurrently; one chat's updates in order, one at a time.

    A chat's later updates wait for its earlier ones before they take one of
    the `max_running` places, so a chat with a backlog never holds up others.
    An update gives its place back when it first waits for a send slot: the
    places bound the work done before a reply (database, rules), and a crowd
    of handlers that only wait for their turn to send holds nothing.
    """

    def __init__(self, max_running: int = 256) -> None:
        # PTB's own bound is applied before we can see the chat; ours is applied after.
        super().__init__(max_concurrent_updates=1_000_000)
        self._room = asyncio.Semaphore(max_running)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def do_process_update(self, update: object, coroutine: Any) -> None:
        """Run the update's handlers once the same chat's earlier updates are done."""
        chat = update.effective_chat if isinstance(update, Update) else None
        self._pending += 1
        self._idle.clear()
        try:
            if chat is None:
                async with self._room:
                    await coroutine
                return
            lock = self._locks.setdefault(chat.id, asyncio.Lock())
            self._users[chat.id] = self._users.get(chat.id, 0) + 1
            try:
                async with lock:
                    await self._room.acquire()
                    in_hand = _UpdateInHand(self._room)
                    token = _in_hand.set(in_hand)
                    try:
                        await coroutine
                    finally:
                        _in_hand.reset(token)
                        in_hand.leave_room()
            finally:
                self._users[chat.id] -= 1
                if not self._users[chat.id]:
                    del self._users[chat.id]
                    del self._locks[chat.id]
        finally:
            self._pending -= 1
            if not self._pending:
                self._idle.set()

    async def wait_idle(self) -> None:
        """Return once every update handed over so far has been handled."""
        await self._idle.wait()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
