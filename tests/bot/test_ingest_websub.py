"""WebSub with a fake hub on loopback: subscribe, verify, signed pushes poll the feed, renew."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.ingest.websub import WebSubManager
from bot.ops.http_server import HttpServer
from bot.ops.metrics import Metrics
from tests.bot.test_ingest import REGULATION, Rig, make_rig
from tests.fakes.feed_xml import FeedItem, rss_xml
from tests.support import FakeClock


class FakeHub:
    """A hub: records subscription requests and lets the test verify and push."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakeHub:
        app = web.Application()
        app.router.add_post("/hub", self._subscribe)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hub"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _subscribe(self, request: web.Request) -> web.Response:
        self.requests.append(dict(await request.post()))  # type: ignore[arg-type]
        self.arrived.set()
        return web.Response(status=202)

    async def next_request(self, count: int) -> dict[str, str]:
        async with asyncio.timeout(10):
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.requests[count - 1]


def hub_feed(hub: str, topic: str, items: list[FeedItem]) -> bytes:
    links = f'<atom:link rel="hub" href="{hub}"/><atom:link rel="self" href="{topic}"/>'
    text = rss_xml(items).replace(
        '<rss version="2.0">', '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
    )
    return text.replace(
        "<description>test</description>", "<description>test</description>" + links
    ).encode()


@dataclass
class WebSubRig:
    rig: Rig
    hub: FakeHub
    manager: WebSubManager
    http: httpx.AsyncClient
    topic: str
    polled: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def ws(tmp_path: Path, clock: FakeClock) -> AsyncIterator[WebSubRig]:
    async with make_rig("sqlite", tmp_path, clock) as rig, FakeHub() as hub:
        topic = rig.feeds.url("/a.xml")
        rig.feeds.set_raw("/a.xml", body=hub_feed(hub.url, topic, []))
        manager = WebSubManager(
            rig.storage,
            rig.ingestor.client,
            clock,
            public_url="http://placeholder",
            poll_soon=rig.ingestor.poll_soon,
            lease_seconds=3600,
        )
        rig.ingestor.on_parsed = manager.on_parsed
        server = HttpServer(
            health=lambda: None,  # type: ignore[arg-type, return-value]
            metrics=Metrics(),
            port=0,
            routes=manager.routes(),
        )
        await server.start()
        manager.public_url = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient() as http:
            yield WebSubRig(rig, hub, manager, http, topic)
        await manager.close()
        await server.stop()


async def verify(ws: WebSubRig, form: dict[str, str], **changes: str) -> httpx.Response:
    query = {
        "hub.mode": "subscribe",
        "hub.topic": form["hub.topic"],
        "hub.challenge": "challenge-42",
        "hub.lease_seconds": "3600",
        **changes,
    }
    return await ws.http.get(form["hub.callback"], params=query)


def signed(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature": f"sha256={digest}"}


async def test_a_feed_with_a_hub_is_subscribed_and_a_signed_push_polls_it_now(
    ws: WebSubRig,
) -> None:
    rig = ws.rig
    await rig.ingestor.poll_due()  # the first poll reads the hub link
    form = await ws.hub.next_request(1)
    assert form["hub.mode"] == "subscribe"
    assert form["hub.topic"] == ws.topic
    assert form["hub.callback"] == f"{ws.manager.public_url}/websub/a"
    assert form["hub.lease_seconds"] == "3600" and len(form["hub.secret"]) >= 32

    # Only the topic we asked for is confirmed; then the challenge is echoed once.
    assert (await verify(ws, form, **{"hub.topic": "http://evil.example/"})).status_code == 404
    answer = await verify(ws, form)
    assert (answer.status_code, answer.text) == (200, "challenge-42")
    sub = await rig.storage.websub_subscription("a")
    assert sub is not None and sub.state == "active"
    assert sub.expires_at == rig.clock.now() + timedelta(seconds=3600)
    assert (await verify(ws, form)).status_code == 404  # no longer pending

    # A story appears; the hub pushes. A forged push changes nothing, a signed one polls now.
    rig.feeds.set_raw("/a.xml", body=hub_feed(ws.hub.url, ws.topic, [REGULATION]))
    before = await rig.storage.feed("a")
    assert before is not None and before.next_poll_at is not None
    assert before.next_poll_at > rig.clock.now()
    body = b"<rss>whatever the hub sends</rss>"
    forged = await ws.http.post(form["hub.callback"], content=body, headers=signed("x", body))
    assert forged.status_code == 202
    unchanged = await rig.storage.feed("a")
    assert unchanged is not None and unchanged.next_poll_at == before.next_poll_at
    push = await ws.http.post(
        form["hub.callback"], content=body, headers=signed(form["hub.secret"], body)
    )
    assert push.status_code == 202
    due = await rig.storage.feed("a")
    assert due is not None and due.next_poll_at == rig.clock.now()
    await rig.ingestor.poll_due()
    assert await rig.queued() == [REGULATION.title]


async def test_subscriptions_are_renewed_before_the_lease_ends_with_the_same_secret(
    ws: WebSubRig,
) -> None:
    rig = ws.rig
    await rig.poll()
    form = await ws.hub.next_request(1)
    assert (await verify(ws, form)).status_code == 200
    assert await ws.manager.renew_due() == 0
    rig.clock.advance(3600 - 15 * 60)  # within the last quarter hour of the lease
    assert await ws.manager.renew_due() == 1
    again = await ws.hub.next_request(2)
    assert again["hub.secret"] == form["hub.secret"]
    assert (await verify(ws, again)).status_code == 200


async def test_without_a_hub_or_an_unknown_feed_nothing_happens(ws: WebSubRig) -> None:
    rig = ws.rig
    rig.feeds.set_raw("/a.xml", body=rss_xml([]).encode())
    await rig.poll()
    await ws.manager.idle()
    assert ws.hub.requests == []
    response = await ws.http.post(f"{ws.manager.public_url}/websub/a", content=b"x")
    assert response.status_code == 410
    query = {"hub.mode": "subscribe", "hub.topic": ws.topic, "hub.challenge": "c"}
    response = await ws.http.get(f"{ws.manager.public_url}/websub/a", params=query)
    assert response.status_code == 404
