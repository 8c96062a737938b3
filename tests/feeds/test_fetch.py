"""Fetching: conditional GET, redirects, limits and failures as values."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from feeds.fetch import (
    DEFAULT_USER_AGENT,
    FetchStatus,
    Validators,
    build_client,
    fetch,
    parse_retry_after,
)
from tests.fakes.feed_server import FeedItem, FeedServer, endless_body, sized_body
from tests.fakes.feed_xml import rss_xml

ITEM = FeedItem("Togg yeni modelini tanıttı", link="http://news.test/1", guid="g1")


async def test_conditional_get_and_304_end_the_work() -> None:
    async with FeedServer() as server, build_client() as client:
        server.add_feed("/f.xml", entries=[ITEM])
        first = await fetch(client, server.url("/f.xml"), Validators())
        assert first.status is FetchStatus.OK
        assert first.body is not None and b"Togg" in first.body
        assert first.validators.etag and first.validators.last_modified
        assert first.validators.body_hash

        second = await fetch(client, server.url("/f.xml"), first.validators)
        assert second.status is FetchStatus.NOT_MODIFIED
        assert second.body is None
        sent = server.requests_for("/f.xml")[-1].headers
        assert sent["if-none-match"] == first.validators.etag
        assert sent["if-modified-since"] == first.validators.last_modified
        assert sent["user-agent"] == DEFAULT_USER_AGENT

        server.add_entry("/f.xml", FeedItem("İkinci haber", link="http://news.test/2"))
        third = await fetch(client, server.url("/f.xml"), first.validators)
        assert third.status is FetchStatus.OK
        assert third.validators.etag != first.validators.etag


async def test_identical_body_skips_parsing_when_server_ignores_validators() -> None:
    async with FeedServer() as server, build_client() as client:
        server.add_feed("/f.xml", entries=[ITEM], conditional=False)
        first = await fetch(client, server.url("/f.xml"), Validators())
        again = await fetch(client, server.url("/f.xml"), first.validators)
        assert again.status is FetchStatus.UNCHANGED
        assert again.body is None


def test_validators_round_trip_through_one_text_column() -> None:
    v = Validators(etag='"abc"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT", body_hash="ff")
    assert Validators.from_json(v.to_json()) == v
    assert Validators.from_json(None) == Validators()
    assert Validators.from_json("not json") == Validators()
    assert Validators.from_json(Validators().to_json()) == Validators()


async def test_permanent_redirect_reports_new_url_temporary_does_not() -> None:
    async with FeedServer() as server, build_client() as client:
        server.add_feed("/new.xml", entries=[ITEM])
        server.set_redirect("/old.xml", "/new.xml", status=301)
        server.set_redirect("/tmp.xml", "/new.xml", status=302)
        server.set_redirect("/chain.xml", "/old.xml", status=308)
        moved = await fetch(client, server.url("/old.xml"), Validators())
        assert moved.status is FetchStatus.OK
        assert moved.moved_to == server.url("/new.xml")
        assert moved.final_url == server.url("/new.xml")
        chained = await fetch(client, server.url("/chain.xml"), Validators())
        assert chained.moved_to == server.url("/new.xml")
        temporary = await fetch(client, server.url("/tmp.xml"), Validators())
        assert temporary.status is FetchStatus.OK
        assert temporary.moved_to is None


async def test_redirect_loop_is_an_error_value() -> None:
    async with FeedServer() as server, build_client(max_redirects=3) as client:
        server.set_redirect("/a", "/b")
        server.set_redirect("/b", "/a")
        result = await fetch(client, server.url("/a"), Validators())
        assert result.status is FetchStatus.ERROR
        assert result.error_kind == "redirect_loop"


async def test_http_failures() -> None:
    async with FeedServer() as server, build_client() as client:
        server.set_raw("/gone", status=410)
        server.set_raw("/boom", status=500, body=b"oops")
        server.set_raw("/slowdown", status=429, headers={"Retry-After": "120"})
        gone = await fetch(client, server.url("/gone"), Validators())
        assert gone.status is FetchStatus.GONE
        missing = await fetch(client, server.url("/nothing"), Validators())
        assert (missing.status, missing.error_kind, missing.http_status) == (
            FetchStatus.ERROR,
            "http_404",
            404,
        )
        boom = await fetch(client, server.url("/boom"), Validators())
        assert boom.error_kind == "http_500"
        limited = await fetch(client, server.url("/slowdown"), Validators())
        assert limited.error_kind == "http_429"
        assert limited.retry_after == 120.0


async def test_503_with_http_date_retry_after() -> None:
    later = datetime.now(UTC) + timedelta(minutes=10)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": format_datetime(later, usegmt=True)})

    async with build_client(transport=httpx.MockTransport(handler)) as client:
        result = await fetch(client, "http://feeds.test/x", Validators())
    assert result.error_kind == "http_503"
    assert result.retry_after is not None and 560 < result.retry_after <= 600


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 12:05:00 GMT", now) == 300.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


async def test_huge_body_is_cut_off_at_the_size_limit() -> None:
    async with FeedServer() as server, build_client() as client:
        server.set_raw("/big", body=sized_body(50 * 1024 * 1024))
        result = await fetch(client, server.url("/big"), Validators(), max_bytes=256 * 1024)
        assert result.error_kind == "too_large"
        assert result.elapsed < 5


async def test_size_limit_applies_after_decompression() -> None:
    bomb = gzip.compress(b"\0" * (5 * 1024 * 1024))
    assert len(bomb) < 64 * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})

    async with build_client(transport=httpx.MockTransport(handler)) as client:
        result = await fetch(client, "http://feeds.test/x", Validators(), max_bytes=1024 * 1024)
    assert result.error_kind == "too_large"


BOMBS = Path(__file__).with_name("fixtures") / "bombs"


@pytest.mark.parametrize(
    ("fixture", "encoding"),
    [
        # 1,827 bytes; inflates to 1 GiB of zeros (gzip of a gzip).
        ("zeros-1gib.gz.gz", "gzip, gzip"),
        # 265 bytes; three layers to the same 1 GiB.
        ("zeros-1gib.gz.gz.gz", "gzip, gzip, gzip"),
        ("zeros-1gib.gz.gz.gz", "x-gzip, gzip, GZIP"),
    ],
)
async def test_stacked_gzip_bomb_stays_within_the_size_cap_in_memory(
    fixture: str, encoding: str
) -> None:
    # Before: httpx inflated each whole network chunk in one call, so the
    # 1,827-byte body took the process from 93 MB to 2.19 GB before the size
    # check ran.
    cap = 1024 * 1024
    margin = 1024 * 1024
    bomb = (BOMBS / fixture).read_bytes()
    async with FeedServer() as server, build_client() as client:
        server.set_raw("/bomb", body=bomb, headers={"Content-Encoding": encoding})
        # Warm up (lazy imports, first connection) so the peak is the body's.
        small = gzip.compress(b"<rss/>")
        server.set_raw("/small", body=small, headers={"Content-Encoding": "gzip"})
        assert (await fetch(client, server.url("/small"), Validators())).body == b"<rss/>"
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            result = await fetch(client, server.url("/bomb"), Validators(), max_bytes=cap)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.status is FetchStatus.ERROR
    assert result.error_kind == "too_large"
    assert result.error == (
        f"body exceeds {cap} bytes after decoding Content-Encoding {encoding.lower()}"
    )
    assert peak < cap + margin, f"peak {peak / 2**20:.1f} MiB"


async def test_deflate_raw_or_wrapped_and_stacked_encodings_decode() -> None:
    xml = rss_xml([ITEM]).encode()
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw_deflate = raw.compress(xml) + raw.flush()
    bodies = {
        "/wrapped": (zlib.compress(xml), "deflate"),
        "/raw": (raw_deflate, "deflate"),
        "/stacked": (gzip.compress(zlib.compress(xml)), "deflate, gzip"),
        "/identity": (xml, "identity"),
        "/unknown-token": (xml, "utf-8"),  # a misconfigured server: ignored, as httpx does
    }
    async with FeedServer() as server, build_client() as client:
        for path, (body, encoding) in bodies.items():
            server.set_raw(path, body=body, headers={"Content-Encoding": encoding})
        for path in bodies:
            result = await fetch(client, server.url(path), Validators())
            assert (path, result.status, result.body) == (path, FetchStatus.OK, xml)
        sent = server.requests_for("/raw")[-1].headers
        assert sent["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("body", "encoding", "message"),
    [
        (b"not gzip at all", "gzip", "bad content encoding: gzip: "),
        (b"\x8b\x00 anything", "br", "bad content encoding: unsupported Content-Encoding 'br'"),
        (
            gzip.compress(b"x"),
            ", ".join(["gzip"] * 5),
            "bad content encoding: 5 content encodings stacked (at most 4 accepted)",
        ),
    ],
    ids=["corrupt", "brotli-unasked", "too-many-layers"],
)
async def test_undecodable_body_is_a_decode_error(body: bytes, encoding: str, message: str) -> None:
    async with FeedServer() as server, build_client() as client:
        server.set_raw("/x", body=body, headers={"Content-Encoding": encoding})
        result = await fetch(client, server.url("/x"), Validators())
    assert result.error_kind == "decode"
    assert result.error is not None and result.error.startswith(message)


async def test_gzip_feed_within_limit_is_decoded() -> None:
    xml = rss_xml([ITEM]).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=gzip.compress(xml), headers={"Content-Encoding": "gzip"})

    async with build_client(transport=httpx.MockTransport(handler)) as client:
        result = await fetch(client, "http://feeds.test/x", Validators())
    assert result.status is FetchStatus.OK and result.body == xml


async def test_endless_slow_body_hits_the_total_timeout() -> None:
    async with FeedServer() as server, build_client(read_timeout=5) as client:
        server.set_raw("/slow", body=endless_body(0.02))
        result = await fetch(client, server.url("/slow"), Validators(), total_timeout=0.5)
        assert result.error_kind == "timeout"
        assert result.elapsed < 3


async def test_connection_refused_is_an_error_value() -> None:
    server = FeedServer()
    await server.start()
    url = server.url("/x")
    await server.stop()
    async with build_client() as client:
        result = await fetch(client, url, Validators())
    assert result.status is FetchStatus.ERROR
    assert result.error_kind == "connect"
    assert result.error


async def test_bad_url_is_an_error_value() -> None:
    async with build_client() as client:
        result = await fetch(client, "ftp://example.test/feed", Validators())
    assert result.error_kind == "bad_url"
