"""One connection pool per host: kept alive per host, bounded, never closed under a reader."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

from feeds.fetch import FetchStatus, Validators, build_client, fetch
from feeds.transport import PerHostTransport
from tests.fakes.feed_server import FeedItem, FeedServer


@contextlib.asynccontextmanager
async def _hosts(count: int) -> AsyncIterator[list[FeedServer]]:
    """``count`` local feed servers, each serving /feed.xml (a separate host each)."""
    async with contextlib.AsyncExitStack() as stack:
        servers = [await stack.enter_async_context(FeedServer()) for _ in range(count)]
        for server in servers:
            server.set_raw("/feed.xml", body=b"<rss/>")
        yield servers


async def test_each_host_keeps_its_connection_alive_between_polls() -> None:
    transport = PerHostTransport(per_host=2, max_hosts=10)
    async with _hosts(3) as hosts, httpx.AsyncClient(transport=transport) as client:
        for _ in range(3):
            for host in hosts:
                assert (await client.get(host.url("/feed.xml"))).status_code == 200
        # Three polls of each host on one connection each: nothing reconnected.
        assert [h.connections() for h in hosts] == [1, 1, 1]
        assert transport.hosts == 3


async def test_pools_beyond_max_hosts_are_closed_least_recently_used_first() -> None:
    transport = PerHostTransport(per_host=2, max_hosts=2)
    async with _hosts(5) as hosts, httpx.AsyncClient(transport=transport) as client:
        for host in hosts:
            assert (await client.get(host.url("/feed.xml"))).status_code == 200
        assert transport.hosts == 2
        # The most recent host still has its connection; the first one reconnects.
        await client.get(hosts[-1].url("/feed.xml"))
        await client.get(hosts[0].url("/feed.xml"))
        assert hosts[-1].connections() == 1
        assert hosts[0].connections() == 2
        assert transport.hosts == 2


async def test_a_pool_with_a_body_still_being_read_is_not_closed() -> None:
    gate = asyncio.Event()

    async def half_now_half_later() -> AsyncIterator[bytes]:
        yield b"first half,"
        await gate.wait()
        yield b"second half"

    transport = PerHostTransport(per_host=2, max_hosts=1)
    async with (
        FeedServer() as slow,
        _hosts(3) as others,
        httpx.AsyncClient(transport=transport) as client,
    ):
        slow.set_raw("/feed.xml", body=half_now_half_later)
        async with client.stream("GET", slow.url("/feed.xml")) as streaming:
            # Other hosts come and go while the slow body is half read.
            for host in others:
                assert (await client.get(host.url("/feed.xml"))).status_code == 200
            gate.set()
            assert await streaming.aread() == b"first half,second half"


async def test_closing_the_client_closes_every_pool() -> None:
    transport = PerHostTransport(per_host=2, max_hosts=10)
    async with _hosts(3) as hosts:
        async with httpx.AsyncClient(transport=transport) as client:
            for host in hosts:
                await client.get(host.url("/feed.xml"))
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
