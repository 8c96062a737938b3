"""Rendered archive pages and feeds, kept while the database has not changed.

Every request first reads the archive's version (`ArchiveStore.archive_version`:
three index probes in the shared database, well under a millisecond) and
drops the whole cache when it differs from the version the entries were made
under. Because the version lives in the database rather than in a signal
from the ingest path, a story stored by any process or replica shows on the
next request to every replica; nothing has to be told.

Entries are few and small (a page is ~20-40 KB), bounded by count with
least-recently-used eviction, so arbitrary query strings cannot grow memory.
Concurrent misses for one key share one render instead of each doing the
same SQL and templating.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")

#: Entries kept: the list pages, feeds and popular searches of both languages.
DEFAULT_SIZE = 512


class PageCache(Generic[V]):
    """A version-checked LRU of rendered responses; `size` 0 turns it off."""

    def __init__(
        self, version: Callable[[], Awaitable[Hashable]], *, size: int = DEFAULT_SIZE
    ) -> None:
        self._read_version = version
        self.size = size
        self._version: Hashable = None
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._rendering: dict[Hashable, asyncio.Future[V]] = {}
        self._reading: asyncio.Future[Hashable] | None = None
        self.hits = 0
        self.misses = 0

    async def get(
        self, key: Hashable, render: Callable[[], Awaitable[V]], *, context: Hashable = None
    ) -> V:
        """The cached value for `key`, or `render()`'s, stored under the current version.

        `context` is whatever else the output depends on outside the database
        (the loaded rules, the bot's name): a change of it empties the cache too.
        """
        if self.size <= 0:
            return await render()
        version = (await self._current_version(), context)
        if version != self._version:
            # Renders still running were made under the old version: they finish
            # for their own callers but are not stored (see _render).
            self._entries.clear()
            self._rendering.clear()
            self._version = version
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += 1
            return self._entries[key]
        self.misses += 1
        pending = self._rendering.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._render(key, render, version))
            self._rendering[key] = pending
        # Shielded: a reader who hangs up must not cancel the render others wait on.
        return await asyncio.shield(pending)

    async def _current_version(self) -> Hashable:
        # Requests arriving while a read is under way share it: under load that
        # is one query per round trip instead of one per request. A page is then
        # at most that read's few milliseconds older than its request.
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read_version())
            self._reading.add_done_callback(self._read_done)
        return await asyncio.shield(self._reading)

    def _read_done(self, reading: asyncio.Future[Hashable]) -> None:
        if self._reading is reading:
            self._reading = None

    async def _render(self, key: Hashable, render: Callable[[], Awaitable[V]], version: Any) -> V:
        try:
            value = await render()
        finally:
            if self._version == version:
                self._rendering.pop(key, None)
        # The data read is at least as new as `version` (read before it), so
        # storing it under that version can only make the next check re-render.
        if self._version == version:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value
