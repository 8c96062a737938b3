"""What a feed document says about polling it, and Cache-Control max-age."""

from __future__ import annotations

from datetime import UTC, datetime

from feeds.fetch import parse_max_age
from feeds.hints import FeedHints, feed_hints
from feeds.parse import parse_feed

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>Hub feed</title><link>https://news.example/</link><description>d</description>
<atom:link rel="hub" href="https://hub.example/?a=1&amp;b=2"/>
<atom:link rel="self" type="application/rss+xml" href="/rss.xml"/>
<ttl>60</ttl>
<item><title>One</title><link>https://news.example/1</link>
<atom:link rel="self" href="https://elsewhere.example/entry"/></item>
<skipHours><hour>0</hour><hour>24</hour><hour>3</hour><hour>99</hour></skipHours>
<skipDays><day>Saturday</day><day>Sunday</day><day>Someday</day></skipDays>
</channel></rss>"""


def test_rss_hints_hub_and_self_are_read() -> None:
    parsed = parse_feed(RSS, base_url="https://news.example/feed", now=datetime.now(UTC))
    assert [e.title for e in parsed.entries] == ["One"]
    hints = parsed.hints
    assert hints.ttl == 3600
    assert hints.skip_hours == {0, 3}
    assert hints.skip_days == {5, 6}
    assert hints.hub == "https://hub.example/?a=1&b=2"
    assert hints.self_url == "https://news.example/rss.xml"  # relative, resolved; not the entry's


def test_atom_hub_and_self() -> None:
    atom = """<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
    <link href="https://news.example/atom" rel="self"/>
    <link rel='hub' href='https://pubsubhubbub.appspot.com/'/>
    <entry><title>x</title></entry></feed>"""
    hints = feed_hints(atom, "https://news.example/")
    assert hints.hub == "https://pubsubhubbub.appspot.com/"
    assert hints.self_url == "https://news.example/atom"
    assert hints.ttl is None and not hints.skip_hours


def test_odd_hints_are_ignored_not_guessed() -> None:
    hints = feed_hints(
        '<rss><channel><ttl>soon</ttl><link rel="hub" href="javascript:alert(1)"/></channel></rss>',
        "https://news.example/",
    )
    assert hints == FeedHints()
    round_trip = FeedHints(ttl=600, skip_hours=frozenset({1}), skip_days=frozenset({6}))
    assert FeedHints.from_json(round_trip.to_json()) == round_trip
    assert FeedHints.from_json("not json") == FeedHints()


def test_cache_control_max_age() -> None:
    assert parse_max_age("public, max-age=600") == 600
    assert parse_max_age("max-age=600, no-cache") is None
    assert parse_max_age("s-maxage=100") is None
    assert parse_max_age(None) is None
