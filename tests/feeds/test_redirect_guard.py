"""Redirects into internal address space are refused (server-side request forgery)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import httpx
import pytest

from feeds.fetch import FetchStatus, Validators, build_client, fetch
from feeds.netguard import address_class
from feeds.poller import PollRequest, poll_batch
from tests.fakes.feed_server import FeedItem, FeedServer
from tests.fakes.feed_xml import rss_xml

PUBLIC = "http://93.184.216.34/feed.xml"  # an IP literal: no DNS needed in tests
XML = rss_xml([FeedItem("Haber", link="http://news.test/1")])


class Publisher:
    """A MockTransport world: every URL in ``redirects`` answers 302, others 200 with a feed."""

    def __init__(self, redirects: dict[str, str], status: int = 302) -> None:
        self.redirects = redirects
        self.status = status
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.seen.append(url)
        if url in self.redirects:
            return httpx.Response(self.status, headers={"Location": self.redirects[url]})
        return httpx.Response(200, text=XML, headers={"Content-Type": "application/rss+xml"})


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://127.0.0.1:6379/", "loopback"),
        ("http://localhost:8080/admin", "loopback"),  # a name: its resolved addresses count
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local"),
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "private"),
    ],
)
async def test_redirect_into_internal_space_is_refused(target: str, kind: str) -> None:
    world = Publisher({PUBLIC: target})
    async with build_client(transport=httpx.MockTransport(world)) as client:
        result = await fetch(client, PUBLIC, Validators())
    assert result.status is FetchStatus.ERROR
    assert result.error_kind == "redirect_refused"
    assert result.error is not None
    assert result.error.startswith("redirect to a private address refused: ")
    assert kind in result.error
    assert world.seen == [PUBLIC]  # the internal URL was never requested


async def test_refused_at_any_hop_and_public_redirects_still_work() -> None:
    hop1, hop2 = "http://93.184.216.35/a", "http://93.184.216.36/b"
    world = Publisher({PUBLIC: hop1, hop1: hop2, hop2: "http://169.254.169.254/"})
    async with build_client(transport=httpx.MockTransport(world)) as client:
        refused = await fetch(client, PUBLIC, Validators())
        assert refused.error_kind == "redirect_refused"
        assert world.seen == [PUBLIC, hop1, hop2]
        world.redirects[hop2] = "http://93.184.216.37/feed"
        fine = await fetch(client, PUBLIC, Validators())
    assert fine.status is FetchStatus.OK
    assert fine.final_url == "http://93.184.216.37/feed"


async def test_permanent_redirect_target_stays_reported() -> None:
    world = Publisher({PUBLIC: "http://93.184.216.35/new.xml"}, status=301)
    async with build_client(transport=httpx.MockTransport(world)) as client:
        result = await fetch(client, PUBLIC, Validators())
    assert result.moved_to == "http://93.184.216.35/new.xml"


async def test_catalog_url_on_loopback_may_redirect_within_loopback_only() -> None:
    origin = "http://127.0.0.1/feed.xml"
    world = Publisher({origin: "http://127.0.0.2:8080/real.xml"})
    async with build_client(transport=httpx.MockTransport(world)) as client:
        within = await fetch(client, origin, Validators())
        assert within.status is FetchStatus.OK
        world.redirects[origin] = "http://169.254.169.254/"
        out = await fetch(client, origin, Validators())
    assert out.error_kind == "redirect_refused"
    assert "link-local" in (out.error or "")


async def test_real_loopback_feed_server_redirects_are_followed() -> None:
    async with FeedServer() as server, build_client() as client:
        server.add_feed("/new.xml", entries=[FeedItem("Haber", link="http://news.test/1")])
        server.set_redirect("/old.xml", server.url("/new.xml"))
        result = await fetch(client, server.url("/old.xml"), Validators())
    assert result.status is FetchStatus.OK


async def test_stored_redirect_target_is_checked_against_the_catalog_url() -> None:
    # A permanent redirect stored before this guard existed: fetching it
    # directly is as much a redirect as the hop was.
    world = Publisher({})
    async with build_client(transport=httpx.MockTransport(world)) as client:
        outcomes = await poll_batch(
            client,
            [
                PollRequest(
                    "f", "http://169.254.169.254/latest/", Validators(), catalog_url=PUBLIC
                ),
                PollRequest(
                    "g", "http://93.184.216.35/moved.xml", Validators(), catalog_url=PUBLIC
                ),
            ],
            now=lambda: datetime(2025, 3, 10, tzinfo=UTC),
        )
    refused, moved = outcomes
    assert refused.fetch.error_kind == "redirect_refused"
    assert moved.fetch.status is FetchStatus.OK
    assert world.seen == ["http://93.184.216.35/moved.xml"]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),
        ("fec0::1", "private"),
        ("100.64.0.1", "reserved"),
        ("::", "unspecified"),
        ("ff02::1", "multicast"),
    ],
)
def test_address_classes(address: str, kind: str | None) -> None:
    assert address_class(ipaddress.ip_address(address)) == kind
