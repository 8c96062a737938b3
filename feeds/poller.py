"""Poll a batch of feeds: bounded concurrency, parsing off the event loop.

:class:`Limiter` is that rule on its own, for callers that poll each feed
as its own task (``bot.ingest.poll``): a feed waits for its host's slot, then
for a global one, and holds them only while it is fetched and parsed.

``poll_batch`` fetches every request with at most ``concurrency`` requests in
flight overall and ``per_host`` per host (``host:port``). A task first takes
its host's slot and only then a global one, so feeds queued behind a slow
host never occupy global slots: a slow host delays its own feeds only.

``OK`` bodies are parsed by :func:`feeds.parse.parse_feed` in a worker
thread (or the ``executor`` given, e.g. a process pool), so the event loop
keeps serving Telegram updates while a large feed parses. Every failure —
network, HTTP, parse, even an unexpected bug — is a value in the returned
:class:`PollOutcome`; one feed never stops the batch. Outcomes come back in
request order; ``on_outcome`` is also called as each one completes, so the
caller can store results without waiting for the slowest feed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from feeds.fetch import DEFAULT_MAX_BYTES, FetchResult, FetchStatus, Validators, fetch
from feeds.parse import FeedParseError, ParsedFeed, parse_feed
from feeds.text import clean_text

__all__ = [
    "Limiter",
    "PollOutcome",
    "PollRequest",
    "host_key",
    "poll_batch",
    "poll_one",
    "timed_parse",
]


@dataclass(frozen=True)
class PollRequest:
    """One feed to poll, with its stored conditional-GET state.

    ``url`` is where to fetch (a stored permanent-redirect target, if any);
    ``catalog_url`` is the feed's URL in the catalog, whose kind of address
    redirects may lead into (see :mod:`feeds.netguard`; default ``url``).
    """

    feed_id: str
    url: str
    validators: Validators
    catalog_url: str | None = None


@dataclass(frozen=True)
class PollOutcome:
    """Fetch result plus, for ``OK`` bodies, the parse (or why it failed)."""

    request: PollRequest
    fetch: FetchResult
    parsed: ParsedFeed | None
    parse_error: str | None
    parse_seconds: float

    @property
    def ok(self) -> bool:
        """True when the feed was reached and nothing needs recording as an error."""
        return (
            self.fetch.status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED, FetchStatus.UNCHANGED)
            and self.parse_error is None
        )


def host_key(url: str) -> str:
    """The per-host concurrency key of a URL: lower-case ``host:port``."""
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return url


class Limiter:
    """At most ``concurrency`` slots overall and ``per_host`` per ``host:port``."""

    def __init__(self, concurrency: int = 20, per_host: int = 2) -> None:
        self.concurrency = max(1, concurrency)
        self.per_host = max(1, per_host)
        self._overall = asyncio.Semaphore(self.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Hold the host's slot, then a global one (so a slow host queues only its own feeds)."""
        key = host_key(url)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = asyncio.Semaphore(self.per_host)
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with host, self._overall:
                yield
        finally:
            # Forget idle hosts: the map stays as small as what is in flight.
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._hosts[key]

    @property
    def busy(self) -> int:
        """Global slots in use."""
        return self.concurrency - self._overall._value


def timed_parse(
    body: bytes, base_url: str, now: datetime, content_type: str | None
) -> tuple[ParsedFeed | None, str | None, float]:
    """``parse_feed`` returning (parsed, error, seconds); picklable for process pools."""
    started = time.perf_counter()
    try:
        parsed = parse_feed(body, base_url=base_url, now=now, content_type=content_type)
    except FeedParseError as exc:
        return None, clean_text(str(exc), keep_whitespace=False), time.perf_counter() - started
    except Exception as exc:  # a parser bug must not take the batch down
        # The message is stored: it must not carry a NUL from the document.
        error = clean_text(f"parser crashed: {type(exc).__name__}: {exc}", keep_whitespace=False)
        return None, error, time.perf_counter() - started
    return parsed, None, time.perf_counter() - started


async def poll_one(
    client: httpx.AsyncClient,
    request: PollRequest,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    total_timeout: float = 60.0,
    now: Callable[[], datetime],
    executor: Executor | None = None,
    parse_off_loop: bool = True,
) -> PollOutcome:
    """Fetch and, if there is a new body, parse one feed (no concurrency limits)."""
    result = await fetch(
        client,
        request.url,
        request.validators,
        max_bytes=max_bytes,
        total_timeout=total_timeout,
        origin=request.catalog_url,
    )
    if result.status is not FetchStatus.OK or result.body is None:
        return PollOutcome(request, result, None, None, 0.0)
    args = (result.body, result.final_url, now(), result.content_type)
    if parse_off_loop:
        loop = asyncio.get_running_loop()
        parsed, error, seconds = await loop.run_in_executor(executor, timed_parse, *args)
    else:
        parsed, error, seconds = timed_parse(*args)
    return PollOutcome(request, result, parsed, error, seconds)


def crashed(request: PollRequest, exc: BaseException) -> PollOutcome:
    result = FetchResult(
        status=FetchStatus.ERROR,
        url=request.url,
        final_url=request.url,
        body=None,
        validators=request.validators,
        moved_to=None,
        retry_after=None,
        http_status=None,
        error_kind="internal",
        error=f"{type(exc).__name__}: {exc}",
        elapsed=0.0,
    )
    return PollOutcome(request, result, None, None, 0.0)


async def poll_batch(
    client: httpx.AsyncClient,
    requests: Sequence[PollRequest],
    *,
    concurrency: int = 20,
    per_host: int = 2,
    max_bytes: int = DEFAULT_MAX_BYTES,
    total_timeout: float = 60.0,
    now: Callable[[], datetime],
    executor: Executor | None = None,
    parse_off_loop: bool = True,
    on_outcome: Callable[[PollOutcome], None] | None = None,
) -> list[PollOutcome]:
    """Poll all ``requests``; outcomes in request order. Never raises for one feed.

    ``now`` is called once per parsed feed (future dates clamp to it).
    ``parse_off_loop=False`` parses on the event loop (for benchmarks only).
    """
    limiter = Limiter(concurrency, per_host)

    async def run(request: PollRequest) -> PollOutcome:
        try:
            async with limiter.slot(request.url):
                outcome = await poll_one(
                    client,
                    request,
                    max_bytes=max_bytes,
                    total_timeout=total_timeout,
                    now=now,
                    executor=executor,
                    parse_off_loop=parse_off_loop,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # defensive: fetch/parse already turn errors into values
            outcome = crashed(request, exc)
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    return list(await asyncio.gather(*(run(r) for r in requests)))
