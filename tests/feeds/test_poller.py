"""The batch poller: hostile feeds fail as values, healthy ones still come through."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from feeds.fetch import FetchStatus, Validators, build_client
from feeds.poller import PollOutcome, PollRequest, poll_batch
from tests.fakes.feed_server import FeedItem, FeedServer, endless_body, sized_body
from tests.fakes.feed_xml import rss_xml

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;">]>'
    b'<rss version="2.0"><channel><title>&c;</title></channel></rss>'
)


def now() -> datetime:
    return NOW


def healthy_items(tag: str) -> list[FeedItem]:
    return [
        FeedItem(
            f"{tag} haber {i}",
            link=f"http://news.test/{tag}/{i}",
            guid=f"{tag}-{i}",
            published=datetime(2025, 3, 10, i, tzinfo=UTC),
        )
        for i in range(3)
    ]


# path -> (expected fetch status, expected error_kind or parse error fragment)
async def test_hostile_feeds_fail_as_values_and_healthy_ones_come_through() -> None:
    async with FeedServer() as server:
        s = server
        s.add_feed("/ok1.xml", entries=healthy_items("a"))
        s.add_feed("/ok2.xml", kind="atom", entries=healthy_items("b"))
        s.set_raw("/malformed.xml", body=b"<?xml version='1.0'?><rss><channel><item><title>x")
        s.set_raw(
            "/html", body=b"<!DOCTYPE html><html><body>hi</body></html>", content_type="text/html"
        )
        s.set_raw("/empty", body=b"")
        s.set_raw("/huge", body=sized_body(50 * 1024 * 1024))
        s.set_raw("/endless", body=endless_body(0.02))
        s.set_redirect("/loop1", "/loop2")
        s.set_redirect("/loop2", "/loop1")
        s.set_raw("/e404", status=404)
        s.set_raw("/e410", status=410)
        s.set_raw("/e500", status=500)
        s.set_raw("/e429", status=429, headers={"Retry-After": "60"})
        s.set_raw(
            "/cp1254",
            body=rss_xml([FeedItem("Şarj ağı İzmir'de büyüyor", link="/x")]).encode("windows-1254"),
        )
        s.set_raw("/nolink", body=rss_xml([FeedItem("Bağlantısız haber")]).encode())
        dupes = [FeedItem("a", guid="g"), FeedItem("b", guid="g")]
        s.set_raw("/dupes", body=rss_xml(dupes).encode())
        s.set_raw("/relative", body=rss_xml([FeedItem("r", link="../haber/1")]).encode())
        s.set_raw("/laughs", body=BILLION_LAUGHS)

        expected: dict[str, tuple[FetchStatus, str | None, str | None]] = {
            "/ok1.xml": (FetchStatus.OK, None, None),
            "/ok2.xml": (FetchStatus.OK, None, None),
            "/malformed.xml": (FetchStatus.OK, None, "malformed XML"),
            "/html": (FetchStatus.OK, None, "HTML page"),
            "/empty": (FetchStatus.OK, None, "empty body"),
            "/huge": (FetchStatus.ERROR, "too_large", None),
            "/endless": (FetchStatus.ERROR, "timeout", None),
            "/loop1": (FetchStatus.ERROR, "redirect_loop", None),
            "/e404": (FetchStatus.ERROR, "http_404", None),
            "/e410": (FetchStatus.GONE, "http_410", None),
            "/e500": (FetchStatus.ERROR, "http_500", None),
            "/e429": (FetchStatus.ERROR, "http_429", None),
            "/cp1254": (FetchStatus.OK, None, None),
            "/nolink": (FetchStatus.OK, None, None),
            "/dupes": (FetchStatus.OK, None, None),
            "/relative": (FetchStatus.OK, None, None),
            "/laughs": (FetchStatus.OK, None, "entity expansion refused"),
        }
        requests = [PollRequest(p.strip("/"), s.url(p), Validators()) for p in expected]
        async with build_client(max_redirects=4) as client:
            outcomes = await asyncio.wait_for(
                poll_batch(
                    client,
                    requests,
                    concurrency=8,
                    per_host=8,
                    now=now,
                    max_bytes=512 * 1024,
                    total_timeout=1.0,
                ),
                timeout=20,
            )
        by_path = {o.request.url.removeprefix(f"http://127.0.0.1:{s.port}"): o for o in outcomes}
        for path, (status, kind, parse_error) in expected.items():
            o = by_path[path]
            assert o.fetch.status is status, path
            assert o.fetch.error_kind == kind, path
            if parse_error is None:
                assert o.parse_error is None, (path, o.parse_error)
            else:
                assert o.parse_error is not None and parse_error in o.parse_error, path

        assert [e.title for e in by_path["/ok1.xml"].parsed.entries] == [  # type: ignore[union-attr]
            "a haber 2",
            "a haber 1",
            "a haber 0",
        ]
        assert len(by_path["/ok2.xml"].parsed.entries) == 3  # type: ignore[union-attr]
        assert by_path["/e429"].fetch.retry_after == 60
        assert by_path["/cp1254"].parsed.entries[0].title == "Şarj ağı İzmir'de büyüyor"  # type: ignore[union-attr]
        assert by_path["/nolink"].parsed.entries[0].identity.startswith("hash:")  # type: ignore[union-attr]
        assert len(by_path["/dupes"].parsed.entries) == 1  # type: ignore[union-attr]
        assert by_path["/relative"].parsed.entries[0].link == s.url("/haber/1")  # type: ignore[union-attr]
        assert [o.request.feed_id for o in outcomes] == [r.feed_id for r in requests]


async def test_second_poll_uses_conditional_get() -> None:
    async with FeedServer() as server, build_client() as client:
        server.add_feed("/f.xml", entries=healthy_items("c"))
        [first] = await poll_batch(
            client, [PollRequest("f", server.url("/f.xml"), Validators())], now=now
        )
        assert first.parsed is not None and len(first.parsed.entries) == 3
        [second] = await poll_batch(
            client, [PollRequest("f", server.url("/f.xml"), first.fetch.validators)], now=now
        )
        assert second.fetch.status is FetchStatus.NOT_MODIFIED
        assert second.parsed is None and second.ok


async def test_a_slow_host_does_not_hold_the_others() -> None:
    async with FeedServer() as slow, FeedServer() as fast, build_client() as client:
        gate = asyncio.Event()
        for i in range(6):
            slow.set_raw(f"/s{i}", body=rss_xml([]).encode(), gate=gate)
            fast.add_feed(f"/f{i}", entries=healthy_items(f"f{i}"))
        requests = [PollRequest(f"s{i}", slow.url(f"/s{i}"), Validators()) for i in range(6)]
        requests += [PollRequest(f"f{i}", fast.url(f"/f{i}"), Validators()) for i in range(6)]
        fast_done = asyncio.Event()
        finished: list[str] = []

        def record(outcome: PollOutcome) -> None:
            finished.append(outcome.request.feed_id)
            if sum(f.startswith("f") for f in finished) == 6:
                fast_done.set()

        task = asyncio.create_task(
            poll_batch(client, requests, concurrency=3, per_host=2, now=now, on_outcome=record)
        )
        # All fast feeds complete while the slow host still holds its two slots.
        await asyncio.wait_for(fast_done.wait(), timeout=10)
        assert not any(f.startswith("s") for f in finished)
        assert max(slow.request_count(f"/s{i}") for i in range(6)) <= 1
        assert sum(slow.request_count(f"/s{i}") for i in range(6)) == 2
        gate.set()
        outcomes = await asyncio.wait_for(task, timeout=10)
        assert all(o.ok for o in outcomes)


async def test_parsing_runs_off_the_event_loop() -> None:
    items = [
        FeedItem(
            f"Uzun haber başlığı numara {i}",
            link=f"http://n.test/{i}",
            summary="<p>" + "metin " * 200 + "</p>",
        )
        for i in range(400)
    ]
    async with FeedServer() as server, build_client() as client:
        server.add_feed("/big.xml", entries=items)
        loop = asyncio.get_running_loop()
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        t = asyncio.create_task(ticker())
        started = loop.time()
        [outcome] = await poll_batch(
            client, [PollRequest("big", server.url("/big.xml"), Validators())], now=now
        )
        stop.set()
        await t
        assert outcome.parsed is not None and len(outcome.parsed.entries) == 400
        assert outcome.parse_seconds > 0
        # The loop kept turning while the parse ran in a thread.
        assert ticks > 10, (ticks, loop.time() - started)
