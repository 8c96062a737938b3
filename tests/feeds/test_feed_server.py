"""The local feed server behaves like a well-mannered feed host."""

from __future__ import annotations

import asyncio

import httpx

from tests.fakes.feed_server import FeedItem, FeedServer, endless_body


async def test_serves_feed_with_validators_and_answers_304() -> None:
    async with FeedServer() as server, httpx.AsyncClient() as client:
        server.add_feed("/a.xml", entries=[FeedItem("One", link="http://x.test/1")])
        first = await client.get(server.url("/a.xml"))
        assert first.status_code == 200
        assert b"<title>One</title>" in first.content
        etag = first.headers["etag"]
        again = await client.get(server.url("/a.xml"), headers={"If-None-Match": etag})
        assert again.status_code == 304
        by_date = await client.get(
            server.url("/a.xml"), headers={"If-Modified-Since": first.headers["last-modified"]}
        )
        assert by_date.status_code == 304

        server.add_entry("/a.xml", FeedItem("Two", link="http://x.test/2"))
        changed = await client.get(server.url("/a.xml"), headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.content.index(b"Two") < changed.content.index(b"One")
        assert server.request_count("/a.xml") == 4
        assert server.requests[1].headers["if-none-match"] == etag


async def test_raw_responses_redirects_and_gates() -> None:
    async with FeedServer() as server, httpx.AsyncClient() as client:
        server.set_raw("/gone", status=410)
        server.set_redirect("/old", "/gone", status=301)
        assert (await client.get(server.url("/missing"))).status_code == 404
        assert (await client.get(server.url("/old"))).status_code == 301
        gate = asyncio.Event()
        server.set_raw("/held", body=b"ok", gate=gate)
        task = asyncio.create_task(client.get(server.url("/held")))
        done, _ = await asyncio.wait({task}, timeout=0.2)
        assert not done
        gate.set()
        assert (await asyncio.wait_for(task, 5)).content == b"ok"


async def test_endless_body_can_be_abandoned() -> None:
    async with FeedServer() as server, httpx.AsyncClient() as client:
        server.set_raw("/slow", body=endless_body(0.01))
        async with client.stream("GET", server.url("/slow")) as response:
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > 100:
                    break
        assert received > 100
