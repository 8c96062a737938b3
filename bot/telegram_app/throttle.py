"""Per-chat command throttling: answer a flood once with "slow down", then stay silent.

One user sending 300 /help in two seconds made the bot try ~600 sends, most
refused by Telegram with 429 — time and rate budget taken from every other
chat. Each chat may send `limit` commands (or texts, or button presses) per
`window` seconds; the one after that gets a single polite warning, and the
chat is ignored until the window it overran has passed.

Pure decision logic with an injectable monotonic clock; the Telegram side
(bot.telegram_app.gates) asks `check` for each update and acts on it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

#: Commands one chat may send per window. Setting up a chat by hand takes a
#: dozen; a burst above this is a script or a stuck key.
COMMAND_LIMIT = 20
#: Seconds of the window.
COMMAND_WINDOW = 60.0
#: Chats tracked before idle ones are forgotten (bounds the memory a flood of
#: new chats can take).
_SWEEP_AT = 10_000


class Verdict(StrEnum):
    """What to do with one incoming command."""

    ANSWER = "answer"
    WARN = "warn"  # the first one over the limit: say "slow down", do nothing else
    IGNORE = "ignore"  # silence until the window has passed


@dataclass
class _ChatState:
    recent: deque[float] = field(default_factory=deque)  # when answered commands came in
    quiet_until: float | None = None  # while set, everything is ignored


class CommandThrottle:
    """Decides, per chat, whether a command is answered, warned about or ignored."""

    def __init__(
        self,
        *,
        limit: int = COMMAND_LIMIT,
        window: float = COMMAND_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._chats: dict[int, _ChatState] = {}

    def check(self, chat_id: int) -> Verdict:
        """Record a command from `chat_id` and say what to do with it."""
        now = self.clock()
        state = self._chats.get(chat_id)
        if state is None:
            if len(self._chats) >= _SWEEP_AT:
                self._sweep(now)
            state = self._chats[chat_id] = _ChatState()
        if state.quiet_until is not None:
            if now < state.quiet_until:
                return Verdict.IGNORE
            state.quiet_until = None
            state.recent.clear()
        while state.recent and state.recent[0] <= now - self.window:
            state.recent.popleft()
        if len(state.recent) < self.limit:
            state.recent.append(now)
            return Verdict.ANSWER
        # Silent until the oldest command of the full window has aged out of it.
        state.quiet_until = state.recent[0] + self.window
        return Verdict.WARN

    def wait_seconds(self, chat_id: int) -> float:
        """How long a chat that was warned stays ignored from now (0 if it is not)."""
        state = self._chats.get(chat_id)
        if state is None or state.quiet_until is None:
            return 0.0
        return max(0.0, state.quiet_until - self.clock())

    def _sweep(self, now: float) -> None:
        """Forget chats with nothing in their window and no silence in force."""
        for chat_id in [
            c
            for c, s in self._chats.items()
            if (s.quiet_until is None or s.quiet_until <= now)
            and (not s.recent or s.recent[-1] <= now - self.window)
        ]:
            del self._chats[chat_id]
