"""Telegram's sending limits as plain bookkeeping: who may receive a message when.

Telegram allows about 30 messages a second overall, one a second to a
private chat and 20 a minute to a group. Bursts are what trigger 429s, so
every limit is kept as an even spacing (a private chat every 1 s, a group
every 3 s, overall every 1/30 s, each with a small margin) rather than a bucket that allows bursts.

A 429 names no scope. One chat's 429 holds only that chat; when several chats
are refused within a short span the limit was the global one, and everything
pauses for the longest `retry_after` seen. Times are monotonic seconds from an
injected source, so tests can drive it without waiting.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Two per cent under each limit: Telegram (and our fake of it) counts over
# sliding windows, and a send exactly on a window's edge counts twice.
SAFETY = 0.98
PRIVATE_INTERVAL = 1.0 / SAFETY
GROUP_INTERVAL = 3.0 / SAFETY
GLOBAL_FLOOD_CHATS = 3
GLOBAL_FLOOD_SPAN = 2.0


@dataclass
class Pacer:
    """Per-chat and global send readiness."""

    rate_per_second: float = 30.0
    private_interval: float = PRIVATE_INTERVAL
    group_interval: float = GROUP_INTERVAL
    clock: Callable[[], float] = field(default=lambda: 0.0)
    _chat_ready: dict[int, float] = field(default_factory=dict)
    _global_ready: float = 0.0
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

    def reserve(self, chat_id: int, chat_type: str) -> float:
        """Book the next global slot for a send to this chat; returns how long to wait for it."""
        now = self.clock()
        slot = max(now, self._global_ready, self._paused_until)
        self._global_ready = slot + 1.0 / (self.rate_per_second * SAFETY)
        self._chat_ready[chat_id] = slot + self.chat_interval(chat_type)
        return slot - now

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
