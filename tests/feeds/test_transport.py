"""One connection pool per host: kept alive per host, bounded, never closed under a reader."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from aiohttp import web

from feeds.fetch import FetchStatus, Validators, build_client, fetch
from feeds.transport import PerHostTransport
from tests.fakes.feed_server import FeedItem, FeedServer


class _Host:
    """A local HTTP server that remembers which client connection each request came on."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.peers: list[tuple[str, int]] = []
        self.gate = gate
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        self.peers.append(request.transport.get_extra_info("peername"))
        if self.gate is None:
            return web.Response(body=b"<rss/>")
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first half,")
        await self.gate.wait()
        await response.write(b"second half")
        await response.write_eof()
        return response

    async def __aenter__(self) -> _Host:
        app = web.Application()
        app.router.add_get("/feed.xml", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/feed.xml"


@contextlib.asynccontextmanager
async def _hosts(count: int) -> AsyncIterator[list[_Host]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(_Host()) for _ in range(count)]


async def test_each_host_keeps_its_connection_alive_between_polls() -> None:
    transport = PerHostTransport(per_host=2, max_hosts=10)
    async with _hosts(3) as hosts, httpx.AsyncClient(transport=transport) as client:
        for _ in range(3):
            for host in hosts:
                assert (await client.get(host.url)).status_code == 200
        # Three polls of each host on one connection each: nothing reconnected.
        assert [len(set(h.peers)) for h in hosts] == [1, 1, 1]
        assert transport.hosts == 3


async def test_pools_beyond_max_hosts_are_closed_least_recently_used_first() -> None:
    transport = PerHostTransport(per_host=2, max_hosts=2)
    async with _hosts(5) as hosts, httpx.AsyncClient(transport=transport) as client:
        for host in hosts:
            assert (await client.get(host.url)).status_code == 200
        assert transport.hosts == 2
        # The most recent host still has its connection; the first one reconnects.
        await client.get(hosts[-1].url)
        await client.get(hosts[0].url)
        assert len(set(hosts[-1].peers)) == 1
        assert len(set(hosts[0].peers)) == 2
        assert transport.hosts == 2


async def test_a_pool_with_a_body_still_being_read_is_not_closed() -> None:
    gate = asyncio.Event()
    transport = PerHostTransport(per_host=2, max_hosts=1)
    async with (
        _Host(gate) as slow,
        _hosts(3) as others,
        httpx.AsyncClient(transport=transport) as client,
        client.stream("GET", slow.url) as streaming,
    ):
        # Other hosts come and go while the slow body is half read.
        for host in others:
            assert (await client.get(host.url)).status_code == 200
        gate.set()
        assert await streaming.aread() == b"first half,second half"


async def test_closing_the_client_closes_every_pool() -> None:
    transport = PerHostTransport(per_host=2, max_hosts=10)
    async with _hosts(3) as hosts:
        async with httpx.AsyncClient(transport=transport) as client:
            for host in hosts:
                await client.get(host.url)
            assert transport.hosts == 3
        assert transport.hosts == 0


async def test_the_feed_client_fetches_from_many_hosts_through_small_pools() -> None:
    servers = [FeedServer() for _ in range(4)]
    async with contextlib.AsyncExitStack() as stack:
        for server in servers:
            await stack.enter_async_context(server)
            server.add_feed("/a.xml", entries=[FeedItem("Togg", link="http://n.test/1")])
        client = await stack.enter_async_context(build_client(max_hosts=2))
        results = await asyncio.gather(
            *(fetch(client, s.url("/a.xml"), Validators()) for s in servers)
        )
    assert [r.status for r in results] == [FetchStatus.OK] * 4
