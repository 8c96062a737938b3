"""A local feed server for tests: real sockets on 127.0.0.1, no internet.

Use it in-process from async tests::

    async with FeedServer() as server:
        server.add_feed("/a.xml", entries=[FeedItem("Hello", link="http://x.test/1")])
        url = server.url("/a.xml")

Feeds added with :meth:`FeedServer.add_feed` are rendered as RSS or Atom and
served with an ``ETag`` and a ``Last-Modified``; a request whose
``If-None-Match`` (or, without it, ``If-Modified-Since``) matches gets 304.
:meth:`FeedServer.set_raw` serves anything else — any status, headers and
body, including a body produced chunk by chunk (slow, endless or huge) and a
response held back until the test releases an :class:`asyncio.Event`.
Unknown paths answer 404. Every request is recorded in ``requests``.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

from aiohttp import web

from tests.fakes.feed_xml import FeedItem, feed_xml

__all__ = ["FeedItem", "FeedServer", "RecordedRequest", "endless_body", "sized_body"]

BodyFactory = Callable[[], AsyncIterator[bytes]]

# Last-Modified moves on a synthetic clock (one minute per change) so that two
# changes within the same wall-clock second still get different dates.
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    # The client's (address, port): which connection the request came on.
    peer: tuple[str, int] | None = None


@dataclass
class _Feed:
    title: str
    kind: Literal["rss", "atom"]
    entries: list[FeedItem]
    conditional: bool
    content_type: str
    version: int = 0
    _cache: tuple[int, bytes, str] | None = None

    def render(self) -> tuple[bytes, str]:
        """Body and ETag of the current version (cached until the next change)."""
        if self._cache is None or self._cache[0] != self.version:
            # Newest first, as real feeds are.
            body = feed_xml(self.kind, list(reversed(self.entries)), title=self.title).encode()
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            self._cache = (self.version, body, etag)
        return self._cache[1], self._cache[2]

    @property
    def last_modified(self) -> datetime:
        return _EPOCH + timedelta(minutes=self.version)


@dataclass
class _Raw:
    status: int
    body: bytes | BodyFactory
    headers: dict[str, str]
    gate: asyncio.Event | None = None


def sized_body(total: int, chunk: int = 64 * 1024, fill: bytes = b"x") -> BodyFactory:
    """A body factory producing ``total`` bytes in ``chunk``-sized pieces."""

    async def gen() -> AsyncIterator[bytes]:
        piece = fill * chunk
        left = total
        while left > 0:
            n = min(left, chunk)
            yield piece[:n]
            left -= n

    return gen


def endless_body(delay: float = 0.05, piece: bytes = b"<rss><channel>") -> BodyFactory:
    """A body factory that never ends: ``piece`` every ``delay`` seconds."""

    async def gen() -> AsyncIterator[bytes]:
        while True:
            yield piece
            await asyncio.sleep(delay)

    return gen


class FeedServer:
    """aiohttp app on 127.0.0.1 and a random free port; see module docstring."""

    def __init__(self) -> None:
        self._feeds: dict[str, _Feed] = {}
        self._raw: dict[str, _Raw] = {}
        self.requests: list[RecordedRequest] = []
        self._record = True
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._served = asyncio.Condition()

    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        """Bind to a free port on 127.0.0.1 and start serving."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop serving and close all connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FeedServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- configuration -------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FeedServer is not started")
        return self._port

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        if not path.startswith("/"):
            path = "/" + path
        return f"http://127.0.0.1:{self.port}{path}"

    def add_feed(
        self,
        path: str,
        *,
        title: str = "Test feed",
        kind: Literal["rss", "atom"] = "rss",
        entries: Sequence[FeedItem] = (),
        conditional: bool = True,
        content_type: str | None = None,
    ) -> None:
        """Serve a feed at ``path``. ``entries`` are oldest first.

        ``conditional=False`` makes the server ignore validators (always 200),
        like many real servers; the body is still byte-identical while the
        entries do not change.
        """
        ctype = content_type or (
            "application/atom+xml" if kind == "atom" else "application/rss+xml"
        )
        self._raw.pop(path, None)
        self._feeds[path] = _Feed(title, kind, list(entries), conditional, ctype)

    def add_entry(self, path: str, item: FeedItem) -> None:
        """Append an entry (it appears first in the output); changes the ETag."""
        feed = self._feeds[path]
        feed.entries.append(item)
        feed.version += 1

    def set_entries(self, path: str, entries: Sequence[FeedItem]) -> None:
        """Replace all entries of a feed (e.g. one disappears); changes the ETag."""
        feed = self._feeds[path]
        feed.entries = list(entries)
        feed.version += 1

    def set_raw(
        self,
        path: str,
        *,
        status: int = 200,
        body: bytes | BodyFactory = b"",
        headers: Mapping[str, str] | None = None,
        content_type: str | None = "application/rss+xml",
        gate: asyncio.Event | None = None,
    ) -> None:
        """Serve exactly this response at ``path``.

        ``body`` is bytes or a factory of an async iterator of chunks (see
        :func:`sized_body`, :func:`endless_body`). With ``gate`` the response
        is held until the event is set.
        """
        hdrs = dict(headers or {})
        if content_type is not None and not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = content_type
        self._feeds.pop(path, None)
        self._raw[path] = _Raw(status, body, hdrs, gate)

    def set_redirect(self, path: str, location: str, *, status: int = 302) -> None:
        """Redirect ``path`` to ``location`` (absolute or relative)."""
        self.set_raw(path, status=status, headers={"Location": location}, content_type=None)

    def remove(self, path: str) -> None:
        """Forget ``path`` (it answers 404 again)."""
        self._feeds.pop(path, None)
        self._raw.pop(path, None)

    def request_count(self, path: str) -> int:
        """How many requests reached ``path`` so far."""
        return sum(1 for r in self.requests if r.path == path)

    async def wait_for_requests(self, path: str, count: int, within: float = 10.0) -> None:
        """Wait until ``path`` has been requested ``count`` times (woken per request)."""
        async with asyncio.timeout(within), self._served:
            await self._served.wait_for(lambda: self.request_count(path) >= count)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """The recorded requests for ``path``, oldest first."""
        return [r for r in self.requests if r.path == path]

    def connections(self) -> int:
        """How many client connections the recorded requests came on."""
        return len({r.peer for r in self.requests})

    def set_recording(self, enabled: bool) -> None:
        """Turn request recording off for benchmarks (it grows without bound)."""
        self._record = enabled

    # -- serving -------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if self._record:
            self.requests.append(
                RecordedRequest(
                    request.method,
                    path,
                    request.query_string,
                    {k.lower(): v for k, v in request.headers.items()},
                    request.transport.get_extra_info("peername") if request.transport else None,
                )
            )
            async with self._served:
                self._served.notify_all()
        feed = self._feeds.get(path)
        if feed is not None:
            return self._serve_feed(request, feed)
        raw = self._raw.get(path)
        if raw is not None:
            return await self._serve_raw(request, raw)
        return web.Response(status=404, text="not found")

    def _serve_feed(self, request: web.Request, feed: _Feed) -> web.Response:
        body, etag = feed.render()
        last_modified = format_datetime(feed.last_modified, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": last_modified}
        if feed.conditional and _not_modified(request, etag, feed.last_modified):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = feed.content_type
        return web.Response(status=200, body=body, headers=headers)

    async def _serve_raw(self, request: web.Request, raw: _Raw) -> web.StreamResponse:
        if raw.gate is not None:
            await raw.gate.wait()
        if isinstance(raw.body, bytes):
            return web.Response(status=raw.status, body=raw.body, headers=raw.headers)
        response = web.StreamResponse(status=raw.status, headers=raw.headers)
        await response.prepare(request)
        try:
            async for chunk in raw.body():
                await response.write(chunk)
        except (ConnectionResetError, asyncio.CancelledError):
            # The client hung up (size limit or timeout hit): that is the point.
            return response
        await response.write_eof()
        return response


def _not_modified(request: web.Request, etag: str, last_modified: datetime) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        tags = {t.strip() for t in inm.split(",")}
        return "*" in tags or etag in tags or ("W/" + etag) in tags
    ims = request.headers.get("If-Modified-Since")
    if ims is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified <= since
    return False
