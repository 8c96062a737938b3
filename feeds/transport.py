"""One small connection pool per host, for a client that talks to hundreds of hosts.

httpcore's pool looks through every connection it holds each time a request
is queued or a connection is released. Shared by a catalog of 200 news sites,
each kept alive, that scan was more than half the CPU of polling them (the
ingest benchmark's profile: 16 million idle checks in 20 seconds). Here each
host has its own pool of a few connections, so a request only ever looks at
its own host's.

The pools of hosts not asked for lately are closed once there are more than
`max_hosts`, so the sockets kept alive stay bounded (never a pool with a
request or a response body still in flight). All pools share one TLS context.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

__all__ = ["PerHostTransport"]

Origin = tuple[bytes, bytes, int | None]


@dataclass(eq=False)
class _Pool:
    transport: httpx.AsyncBaseTransport
    in_use: int = 0


class _TrackedStream(httpx.AsyncByteStream):
    """A response body that tells its pool when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._stream = stream
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._done is not None:
                done, self._done = self._done, None
                done()


def _default_pool(
    per_host: int, keepalive_expiry: float, ssl_context: ssl.SSLContext
) -> httpx.AsyncBaseTransport:
    return httpx.AsyncHTTPTransport(
        verify=ssl_context,
        limits=httpx.Limits(
            max_connections=per_host,
            max_keepalive_connections=per_host,
            keepalive_expiry=keepalive_expiry,
        ),
    )


class PerHostTransport(httpx.AsyncBaseTransport):
    """Routes each request to its host's own small pool; at most `max_hosts` pools kept."""

    def __init__(
        self,
        *,
        per_host: int = 4,
        max_hosts: int = 100,
        keepalive_expiry: float = 5.0,
        pool_factory: Callable[[], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        if per_host < 1 or max_hosts < 1:
            raise ValueError("per_host and max_hosts must be at least 1")
        self.max_hosts = max_hosts
        if pool_factory is None:
            # One TLS context for every pool: loading the CA store takes ~40 ms.
            context = httpx.create_ssl_context()

            def pool_factory() -> httpx.AsyncBaseTransport:
                return _default_pool(per_host, keepalive_expiry, context)

        self._factory = pool_factory
        self._pools: OrderedDict[Origin, _Pool] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def hosts(self) -> int:
        """How many host pools are open now."""
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send on the pool of the request's scheme, host and port."""
        url = request.url
        origin: Origin = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = _Pool(self._factory())
        self._pools.move_to_end(origin)
        pool.in_use += 1
        self._trim()
        try:
            response = await pool.transport.handle_async_request(request)
        except BaseException:
            pool.in_use -= 1
            raise

        def released() -> None:
            pool.in_use -= 1

        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_TrackedStream(response.stream, released),
            extensions=response.extensions,
        )

    def _trim(self) -> None:
        """Close the least recently asked-for idle pools beyond `max_hosts`."""
        excess = len(self._pools) - self.max_hosts
        if excess <= 0:
            return
        for origin in [o for o, p in self._pools.items() if p.in_use == 0][:excess]:
            pool = self._pools.pop(origin)
            # Closing a pool only shuts idle sockets; nobody waits for it.
            task = asyncio.get_running_loop().create_task(pool.transport.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Close every pool (and wait for those being closed already)."""
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.transport.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
