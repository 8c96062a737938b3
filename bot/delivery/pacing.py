"""Telegram's sending limits as plain bookkeeping: who may receive a message when.

Telegram allows about 30 messages a second overall, one a second to a
private chat and 20 a minute to a group. Bursts are what trigger 429s, so
every limit is kept as an even spacing (a private chat every 1 s, a group
every 3 s, overall every 1/30 s, each with a small margin) rather than a bucket that allows bursts.

A 429 names no scope. One chat's 429 holds only that chat; when several chats
are refused within a short span the limit was the global one, and everything
pauses for the longest `retry_after` seen. Times are monotonic seconds from an
injected source, so tests can drive it without waiting.

Paid broadcasts (`allow_paid_broadcast`) have their own global lane at
Telegram's 1,000 messages a second; per-chat spacing and flood pauses apply to
both lanes.

`SendGate` hands out the `Pacer`'s slots to concurrent senders by `Rank`: the
first answer to what a person just did, then that person's further answers
(the picker after a welcome), then alerts; first come first served within a
rank, and never two messages in flight to one chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import IntEnum

# Two per cent under each chat's limit: Telegram (and our fake of it) counts
# over sliding windows, and a send exactly on a window's edge counts twice.
SAFETY = 0.98
# The global lane keeps more margin. Its slots are granted evenly, but sends
# reach Telegram with jitter (16 in flight, a busy loop): at 0.98 thirty slots
# span 986 ms and a 31st arriving 20 ms early in the window is refused, which
# the benchmark saw once or twice per 2,000 messages. 0.965 absorbs ~36 ms.
GLOBAL_SAFETY = 0.965
PRIVATE_INTERVAL = 1.0 / SAFETY
GROUP_INTERVAL = 3.0 / SAFETY
GLOBAL_FLOOD_CHATS = 3
GLOBAL_FLOOD_SPAN = 2.0
# Telegram's global limit for messages sent with allow_paid_broadcast.
PAID_BROADCAST_RATE = 1000.0
# A slot taken up to this late still counts from the schedule, not from "now":
# otherwise every wake-up's lateness (a millisecond or two on a busy machine)
# would add to every interval and the rate would sag well under the limit.
CATCH_UP = 0.008


@dataclass
class Pacer:
    """Per-chat and global send readiness."""

    rate_per_second: float = 30.0
    paid_rate_per_second: float = PAID_BROADCAST_RATE
    private_interval: float = PRIVATE_INTERVAL
    group_interval: float = GROUP_INTERVAL
    clock: Callable[[], float] = field(default=lambda: 0.0)
    _chat_ready: dict[int, float] = field(default_factory=dict)
    _global_ready: float = 0.0
    _paid_ready: float = 0.0
    _paused_until: float = 0.0
    _recent_floods: deque[tuple[float, int]] = field(default_factory=deque)
    floods: int = 0

    def chat_interval(self, chat_type: str) -> float:
        """Spacing between two messages to one chat of this type."""
        return self.private_interval if chat_type in {"private", "console"} else self.group_interval

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until this chat may receive again (0 when it may now)."""
        return max(0.0, self._chat_ready.get(chat_id, 0.0) - self.clock())

    def busy_chats(self) -> set[int]:
        """Chats that may not receive yet (and forgets those that may)."""
        now = self.clock()
        for chat_id in [c for c, t in self._chat_ready.items() if t <= now]:
            del self._chat_ready[chat_id]
        return set(self._chat_ready)

    def next_chat_ready(self) -> float | None:
        """Seconds until the first paced chat is free again, if any is paced."""
        if not self._chat_ready:
            return None
        return max(0.0, min(self._chat_ready.values()) - self.clock())

    def global_wait(self) -> float:
        """Seconds until the next message may go out at all."""
        now = self.clock()
        return max(0.0, self._global_ready - now, self._paused_until - now)

    def lane_ready(self, *, paid: bool = False) -> float:
        """When (monotonic) the next message of this lane may go out."""
        return max(self._paid_ready if paid else self._global_ready, self._paused_until)

    def chat_ready(self, chat_id: int) -> float:
        """When (monotonic) this chat may receive again."""
        return self._chat_ready.get(chat_id, 0.0)

    def reserve(
        self, chat_id: int | None, chat_type: str = "private", *, paid: bool = False
    ) -> float:
        """Book the next global slot for a send to this chat; returns how long to wait for it.

        `chat_id` None books only a global slot (a callback answer is no message in a chat).
        """
        now = self.clock()
        ready = self._paid_ready if paid else self._global_ready
        # Keep to the schedule when only a little late; start afresh after a pause.
        slot = max(ready if ready >= now - CATCH_UP else now, self._paused_until)
        rate = self.paid_rate_per_second if paid else self.rate_per_second
        if paid:
            self._paid_ready = slot + 1.0 / (rate * GLOBAL_SAFETY)
        else:
            self._global_ready = slot + 1.0 / (rate * GLOBAL_SAFETY)
        if chat_id is not None:
            self._chat_ready[chat_id] = max(now, slot) + self.chat_interval(chat_type)
        return max(0.0, slot - now)

    def answered(self, chat_id: int, chat_type: str) -> None:
        """A send to this chat was answered: its next one waits a full interval from now.

        Telegram counts a message when it arrives, somewhere between our send and
        its answer; counting the interval from the answer is the safe side when
        sends overlap and a busy machine delays one of them on its way.
        """
        ready = self.clock() + self.chat_interval(chat_type)
        self._chat_ready[chat_id] = max(self._chat_ready.get(chat_id, 0.0), ready)

    def flood(self, chat_id: int, retry_after: float) -> bool:
        """Record a 429; returns True when it is judged global (everything pauses)."""
        now = self.clock()
        self.floods += 1
        self._chat_ready[chat_id] = max(self._chat_ready.get(chat_id, 0.0), now + retry_after)
        self._recent_floods.append((now, chat_id))
        while self._recent_floods and self._recent_floods[0][0] < now - GLOBAL_FLOOD_SPAN:
            self._recent_floods.popleft()
        if len({c for _, c in self._recent_floods}) >= GLOBAL_FLOOD_CHATS:
            self._paused_until = max(self._paused_until, now + retry_after)
            return True
        return False


# The wire window's span is this much longer than the limit's own window: what
# leaves here within 1.03 s reaches Telegram spread over at least ~1 s.
WIRE_MARGIN = 1.03


@dataclass
class WireWindow:
    """The global limit counted where it is counted: when a send actually leaves.

    The pacer grants slots evenly, but a granted send leaves only when its task
    next runs; a busy event loop (a crowd's handlers) can hold several granted
    sends and let them go together. Telegram counts over a sliding window, so
    such a bunch is refused even though the grants were spaced. Here at most
    `capacity` sends may leave within any `period`; one that would be the
    next waits until the oldest of them has left the window. Spaced sends never
    wait here.
    """

    capacity: int
    period: float
    _left: deque[float] = field(default_factory=deque)

    @classmethod
    def for_rate(cls, rate_per_second: float, margin: float = WIRE_MARGIN) -> WireWindow:
        """The window of a global limit of `rate_per_second` (below 1/s: one per 1/rate s)."""
        capacity = max(1, math.floor(rate_per_second))
        return cls(capacity=capacity, period=capacity / rate_per_second * margin)

    def delay(self, now: float) -> float:
        """Seconds a send must wait before it may leave at `now` (0: it may leave now)."""
        while self._left and self._left[0] <= now - self.period:
            self._left.popleft()
        if len(self._left) < self.capacity:
            return 0.0
        return self._left[-self.capacity] + self.period - now

    def leave(self, now: float) -> None:
        """A send left at `now`."""
        self._left.append(now)

    async def enter(self, clock: Callable[[], float]) -> None:
        """Wait until a send may leave, and count it as leaving."""
        # Waiting for time to pass, not for an event: others may take the room
        # first, so the delay is computed again after each sleep.
        while (wait := self.delay(clock())) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)
        self.leave(clock())


class Rank(IntEnum):
    """Who goes first when sends wait for a slot (lower first)."""

    # In a crowd of new users every welcome goes before anyone's second reply:
    # the welcome is what tells a person the bot heard them.
    FIRST_REPLY = 0
    REPLY = 1
    ALERT = 2


@dataclass(eq=False)
class _Waiter:
    rank: Rank
    seq: int
    chat_id: int | None
    chat_type: str
    paid: bool
    spaced: bool
    granted: asyncio.Future[None]

    @property
    def order(self) -> tuple[int, int]:
        return (self.rank, self.seq)


class SendGate:
    """One budget for every send: grants the `Pacer`'s slots to concurrent senders.

    A person waiting (a command reply, a button answer) goes before an alert,
    and a first answer before a further one (see `Rank`); within a rank,
    first come first served. A chat with a message in flight gets
    no second one until the first is answered, so per-chat order holds even
    when many sends overlap. A waiter whose chat may not receive yet does not
    hold up the others.
    """

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        # Where the global limit is checked once more, as each message leaves
        # (bot.telegram_app.fencing's request).
        self.wire = WireWindow.for_rate(pacer.rate_per_second)
        self._waiting: list[_Waiter] = []  # in grant order: by rank, then by arrival
        self._sending: dict[int, str] = {}  # chat id -> chat type, while a send is in flight
        self._changed = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._seq = itertools.count()

    @property
    def waiting(self) -> int:
        """How many sends wait for a slot."""
        return len(self._waiting)

    def sending(self) -> set[int]:
        """Chats with a message in flight."""
        return set(self._sending)

    @contextlib.asynccontextmanager
    async def slot(
        self,
        chat_id: int | None,
        chat_type: str = "private",
        *,
        rank: Rank = Rank.ALERT,
        paid: bool = False,
        spaced: bool = True,
    ) -> AsyncIterator[None]:
        """Wait for a slot, hold the chat while the body sends, release it after.

        `spaced=False` skips the chat's spacing (a resend after Telegram refused
        the message, which delivered nothing); the global budget still applies.
        """
        await self.acquire(chat_id, chat_type, rank=rank, paid=paid, spaced=spaced)
        try:
            yield
        finally:
            self.release(chat_id)

    async def acquire(
        self,
        chat_id: int | None,
        chat_type: str = "private",
        *,
        rank: Rank = Rank.ALERT,
        paid: bool = False,
        spaced: bool = True,
    ) -> None:
        """Wait until this send may go; pair with `release` (or use `slot`)."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(
            rank, next(self._seq), chat_id, chat_type, paid, spaced, loop.create_future()
        )
        index = len(self._waiting)
        while index > 0 and self._waiting[index - 1].order > waiter.order:
            index -= 1
        self._waiting.insert(index, waiter)
        self._kick()
        try:
            await waiter.granted
        except asyncio.CancelledError:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            elif waiter.granted.done() and not waiter.granted.cancelled():
                self.release(chat_id)  # granted just as it was cancelled: give it back
            raise

    def release(self, chat_id: int | None) -> None:
        """The send to this chat is answered: the chat may have its next one."""
        if chat_id is not None and chat_id in self._sending:
            self.pacer.answered(chat_id, self._sending.pop(chat_id))
            self._kick()

    def kick(self) -> None:
        """Look at the waiters again (the pacer's state changed, e.g. after a 429)."""
        self._kick()

    def _kick(self) -> None:
        self._changed.set()
        if self._waiting and (self._dispatcher is None or self._dispatcher.done()):
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    async def _dispatch(self) -> None:
        while self._waiting:
            self._changed.clear()
            wait = self._grant_ready()
            if not self._waiting:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), None if math.isinf(wait) else wait)

    def _grant_ready(self) -> float:
        """Grant every slot that is free now; returns seconds until one may be."""
        pacer = self.pacer
        now = pacer.clock()
        soonest = math.inf
        lanes = {w.paid for w in self._waiting}
        lane_ready = {paid: pacer.lane_ready(paid=paid) for paid in lanes}
        if all(lane_ready[paid] > now for paid in lanes):
            return min(lane_ready.values()) - now
        for waiter in list(self._waiting):
            if waiter.granted.done():  # cancelled while waiting
                self._waiting.remove(waiter)
                continue
            chat = waiter.chat_id
            if chat is not None and chat in self._sending:
                continue  # released (and so re-checked) when its send is answered
            ready = lane_ready[waiter.paid]
            if chat is not None and waiter.spaced:
                ready = max(ready, pacer.chat_ready(chat))
            if ready > now:
                soonest = min(soonest, ready - now)
                continue
            pacer.reserve(chat, waiter.chat_type, paid=waiter.paid)
            if chat is not None:
                self._sending[chat] = waiter.chat_type
            self._waiting.remove(waiter)
            waiter.granted.set_result(None)
            lane_ready[waiter.paid] = pacer.lane_ready(paid=waiter.paid)
        return soonest
