"""A sample of feedparser's own test corpus through ``feeds.parse`` (origin: fixtures README).

Each document must parse (no crash, no refusal), the fast path must agree
with feedparser alone, and the reader must see what the document means.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.parse import ParsedFeed
from tests.feeds.test_fast_parse import both

FIXTURES = Path(__file__).with_name("fixtures") / "feedparser"

# file -> (feed title, [(entry title, entry summary), ...])
EXPECTED: dict[str, tuple[str | None, list[tuple[str, str]]]] = {
    "atom10_entry_title_text_plain_brackets.xml": (None, [("History of the <blink> tag", "")]),
    "atom10_feed_title_inline_markup_2.xml": ("History of the <blink> tag", []),
    "encoding_utf-16be-autodetect.xml": (None, []),
    "encoding_utf-16le.xml": (None, []),
    "encoding_utf-32le-autodetect.xml": (None, []),
    "illformed_always_strip_doctype.xml": ("found", []),
    "namespace_atomsvgtitle.xml": (None, [("foo", "foo")]),
    "namespace_rss2.0svgtitle.xml": (None, [("foo", "foo")]),
    # Two entries, same title, no id, link or date: one story.
    "node_precedence_atom10_title.xml": (None, [("Correct Value", "")]),
    "rss_channel_title_lt.xml": ("1 < 2", []),
    "rss_item_description_code_br.xml": (None, [("<br />", "<br />")]),
    "sanitize_feed_title_script.xml": ("safe description", []),
}


def test_every_fixture_is_listed() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_feedparser_corpus_document(name: str) -> None:
    result, _ = both((FIXTURES / name).read_bytes())
    assert isinstance(result, ParsedFeed), result
    title, entries = EXPECTED[name]
    assert result.title == title
    assert [(e.title, e.summary) for e in result.entries] == entries
