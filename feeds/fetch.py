"""Fetch one feed over HTTP: conditional GET, size and time limits, no raising.

``fetch`` turns every network or HTTP outcome into a :class:`FetchResult`:

* ``NOT_MODIFIED`` — 304 to our ``If-None-Match``/``If-Modified-Since``;
* ``UNCHANGED`` — 200 but the body is byte-identical (SHA-256) to the last
  successfully processed one: skip parsing too (its ``validators`` carry the
  server's fresh ETag/Last-Modified and may be stored right away);
* ``OK`` — a new body to parse. Its ``validators`` are to be stored only
  after the update that uses the body succeeded, so a failed update is
  retried with a full fetch;
* ``GONE`` — 410: disable the feed;
* ``ERROR`` — everything else, with a short ``error_kind`` slug and a human
  line. 429 and 503 carry ``retry_after`` in seconds (from a number or an
  HTTP date).

Redirects are followed here, hop by hop, up to the client's
``max_redirects``; if the chain starts with permanent redirects (301/308),
``moved_to`` is where the last of them pointed, so the caller can update the
stored URL. A redirect into loopback, link-local, private or reserved
address space is refused (``error_kind`` ``redirect_refused``) unless the
feed's own catalog URL is in that space (see :mod:`feeds.netguard`).

The body is streamed raw and decoded here in bounded steps
(:mod:`feeds.decode`): it is cut off once it exceeds ``max_bytes`` *after*
decompression, and no single step inflates more than 64 KiB, so a gzip bomb
— stacked ``gzip, gzip`` included — is stopped like a plain 50 MB body,
within ``max_bytes`` plus a small margin of memory. The whole request, body
included, must finish within ``total_timeout`` seconds (an endless slow body
is cut off even though each chunk arrives within the read timeout).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

import httpx

from feeds.decode import ACCEPT_ENCODING, BodyTooLarge, BoundedDecoder, ContentDecodingError
from feeds.netguard import RedirectRefused, check_redirect, host_classes
from feeds.transport import PerHostTransport

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_USER_AGENT",
    "FetchResult",
    "FetchStatus",
    "Validators",
    "build_client",
    "fetch",
    "parse_max_age",
    "parse_retry_after",
]

DEFAULT_USER_AGENT = "evbot/0.1 (Turkish e-mobility news alerts; +https://github.com/evbot/evbot)"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# Retry-After values beyond this are treated as this (a typo of a server
# should not silence a feed for a year).
MAX_RETRY_AFTER = 7 * 24 * 3600.0
_PERMANENT = (301, 308)


@dataclass(frozen=True)
class Validators:
    """Opaque conditional-GET state of one feed; store it as ``to_json()``."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None

    def to_json(self) -> str:
        """Compact JSON for one text column."""
        data = {
            k: v
            for k, v in (
                ("etag", self.etag),
                ("last_modified", self.last_modified),
                ("body_hash", self.body_hash),
            )
            if v
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Validators:
        """Inverse of :meth:`to_json`; empty or unreadable input gives no validators."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()

        def get(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        return cls(get("etag"), get("last_modified"), get("body_hash"))


class FetchStatus(StrEnum):
    """What a fetch achieved; see the module docstring."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    UNCHANGED = "unchanged"
    GONE = "gone"
    ERROR = "error"


@dataclass(frozen=True)
class FetchResult:
    """Outcome of one fetch. ``body`` is set only for ``OK``."""

    status: FetchStatus
    url: str
    final_url: str
    body: bytes | None
    validators: Validators
    moved_to: str | None
    retry_after: float | None
    http_status: int | None
    error_kind: str | None
    error: str | None
    elapsed: float
    content_type: str | None = None
    # Cache-Control max-age of a 200/304, seconds (the scheduler's floor for the interval).
    max_age: float | None = None


def build_client(
    *,
    user_agent: str = DEFAULT_USER_AGENT,
    connect_timeout: float = 10.0,
    read_timeout: float = 20.0,
    max_redirects: int = 5,
    max_hosts: int = 256,
    per_host: int = 4,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The one shared client for all feeds (close it on shutdown).

    `max_hosts` bounds the hosts whose connections are kept open, `per_host`
    the connections to one host (above the poller's own per-host limit); how
    many fetches run at once is the caller's `feeds.poller.Limiter`.
    """
    return httpx.AsyncClient(
        headers={
            "User-Agent": user_agent,
            "Accept": "application/rss+xml, application/atom+xml, application/rdf+xml, "
            "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
            # Only what feeds.decode decodes in bounded steps.
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        timeout=httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=None
        ),
        follow_redirects=True,
        max_redirects=max_redirects,
        # Each host its own small pool (feeds.transport: a shared pool's scan of
        # every kept-alive connection per request cost more than the polling).
        transport=transport or PerHostTransport(per_host=per_host, max_hosts=max_hosts),
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.I)


def parse_max_age(value: str | None) -> float | None:
    """Seconds of ``Cache-Control: max-age`` (None with no-cache/no-store or none given)."""
    if not value:
        return None
    lowered = value.lower()
    if "no-cache" in lowered or "no-store" in lowered:
        return None
    found = _MAX_AGE.search(value)
    if found is None:
        return None
    return min(float(found.group(1)), MAX_RETRY_AFTER)


def _moved_to(hops: list[tuple[int, str]]) -> str | None:
    """Target of the leading run of permanent redirects, if any (hops: status, next URL)."""
    moved: str | None = None
    for status, target in hops:
        if status not in _PERMANENT:
            break
        moved = target
    return moved


async def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    encodings = response.headers.get_list("content-encoding", split_commas=True)
    if declared is not None and declared.isdigit() and int(declared) > max_bytes and not encodings:
        raise BodyTooLarge(f"Content-Length {declared} exceeds {max_bytes} bytes")
    if response.is_stream_consumed:
        # An in-memory response (httpx.MockTransport) was read and decoded
        # when it was built; no network stream is left to bound.
        if len(response.content) > max_bytes:
            raise BodyTooLarge(f"body exceeds {max_bytes} bytes")
        return response.content
    decoder = BoundedDecoder(encodings, max_bytes)
    async for chunk in response.aiter_raw():  # still compressed: decoded in bounded steps
        decoder.feed(chunk)
    return decoder.finish()


async def _send(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], origin: str
) -> tuple[httpx.Response, list[tuple[int, str]]]:
    """GET ``url`` following redirects one by one; every target is checked first."""
    allowed: frozenset[str] | None = None  # resolved only when a redirect needs it

    async def check(target: str) -> None:
        nonlocal allowed
        if allowed is None:
            allowed = await host_classes(origin)
        await check_redirect(target, allowed)

    request = client.build_request("GET", url, headers=headers)
    if url != origin:
        # A stored permanent-redirect target: as much a redirect as the hop was.
        await check(url)
    hops: list[tuple[int, str]] = []
    while True:
        response = await client.send(request, stream=True, follow_redirects=False)
        following = response.next_request
        if following is None:
            return response, hops
        await response.aclose()
        if len(hops) >= client.max_redirects:
            raise httpx.TooManyRedirects("too many redirects", request=following)
        target = str(following.url)
        await check(target)
        hops.append((response.status_code, target))
        request = following


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    validators: Validators,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    total_timeout: float = 60.0,
    origin: str | None = None,
) -> FetchResult:
    """Fetch ``url`` once; never raises for network or HTTP problems.

    ``origin`` is the feed's URL as the catalog gives it (default ``url``):
    redirects may lead into the kinds of non-public address it names, no
    others; a ``url`` other than ``origin`` (a stored redirect target) is
    checked like a redirect.
    """
    started = time.perf_counter()
    base = FetchResult(
        status=FetchStatus.ERROR,
        url=url,
        final_url=url,
        body=None,
        validators=validators,
        moved_to=None,
        retry_after=None,
        http_status=None,
        error_kind=None,
        error=None,
        elapsed=0.0,
    )

    def done(**changes: object) -> FetchResult:
        return replace(base, elapsed=time.perf_counter() - started, **changes)  # type: ignore[arg-type]

    headers: dict[str, str] = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified

    try:
        async with asyncio.timeout(total_timeout):
            response, hops = await _send(client, url, headers, origin or url)
            try:
                status = response.status_code
                common: dict[str, object] = {
                    "final_url": str(response.url),
                    "moved_to": _moved_to(hops),
                    "http_status": status,
                    "content_type": response.headers.get("content-type"),
                    "max_age": parse_max_age(response.headers.get("cache-control")),
                }
                if status == 304:
                    return done(status=FetchStatus.NOT_MODIFIED, **common)
                if status == 410:
                    return done(
                        status=FetchStatus.GONE,
                        error_kind="http_410",
                        error="410 Gone: the feed was removed",
                        **common,
                    )
                if not 200 <= status < 300:
                    retry = None
                    if status in (429, 503):
                        retry = parse_retry_after(
                            response.headers.get("retry-after"), datetime.now(UTC)
                        )
                    phrase = response.reason_phrase or "error"
                    return done(
                        error_kind=f"http_{status}",
                        error=f"HTTP {status} {phrase}",
                        retry_after=retry,
                        **common,
                    )
                body = await _read_limited(response, max_bytes)
            finally:
                await response.aclose()
    except BodyTooLarge as exc:
        return done(error_kind="too_large", error=str(exc))
    except RedirectRefused as exc:
        return done(error_kind="redirect_refused", error=str(exc))
    except ContentDecodingError as exc:
        return done(error_kind="decode", error=f"bad content encoding: {exc}")
    except TimeoutError:
        return done(error_kind="timeout", error=f"no complete response within {total_timeout:g} s")
    except httpx.TooManyRedirects:
        return done(error_kind="redirect_loop", error="too many redirects (loop?)")
    except httpx.ConnectTimeout:
        return done(error_kind="connect_timeout", error="timed out connecting")
    except httpx.TimeoutException as exc:
        return done(error_kind="timeout", error=f"timed out: {type(exc).__name__}")
    except httpx.ConnectError as exc:
        return done(error_kind="connect", error=f"cannot connect: {exc or type(exc).__name__}")
    except httpx.DecodingError as exc:
        return done(error_kind="decode", error=f"bad content encoding: {exc}")
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        return done(error_kind="bad_url", error=f"bad URL: {exc}")
    except httpx.HTTPError as exc:
        return done(error_kind="network", error=f"{type(exc).__name__}: {exc}")

    body_hash = hashlib.sha256(body).hexdigest()
    new_validators = Validators(
        etag=response.headers.get("etag") or None,
        last_modified=response.headers.get("last-modified") or None,
        body_hash=body_hash,
    )
    if validators.body_hash == body_hash:
        return done(status=FetchStatus.UNCHANGED, validators=new_validators, **common)
    return done(status=FetchStatus.OK, body=body, validators=new_validators, **common)
