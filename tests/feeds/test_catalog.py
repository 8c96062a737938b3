"""The catalog file, OPML import/export and the `evbot feeds` commands."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import httpx
import pytest

from bot.cli.feeds import check_feed, register
from feeds.catalog import (
    CatalogError,
    FeedSpec,
    dump_catalog,
    load_catalog,
    parse_catalog,
)
from feeds.opml import OpmlError, opml_to_specs, specs_to_opml
from tests.fakes.feed_xml import FeedItem, rss_xml


def test_bundled_catalog_is_valid_and_bilingual() -> None:
    specs = load_catalog()
    assert len(specs) >= 20
    assert {s.language for s in specs} == {"tr", "en"}
    assert len({s.id for s in specs}) == len(specs)
    assert all(s.url.startswith("https://") for s in specs)
    assert not next(s for s in specs if s.id == "resmigazete").enabled


def test_every_problem_is_reported_with_its_line() -> None:
    text = (
        "feeds:\n"
        "  - id: Bad_Id\n"
        "    name: x\n"
        "    url: ftp://x\n"
        "    language: de\n"
        "    interval: 0\n"
        "    enabled: maybe\n"
        "    colour: red\n"
        "  - id: ok\n"
        "    name: ok\n"
        "    url: https://a.test/\n"
        "    language: tr\n"
        "  - id: ok\n"
        "    name: again\n"
    )
    with pytest.raises(CatalogError) as info:
        parse_catalog(text, source="c.yaml")
    lines = str(info.value).splitlines()
    assert lines == info.value.problems
    for fragment in (
        "c.yaml:2: id 'Bad_Id'",
        "c.yaml:4: url",
        "c.yaml:5: language",
        "c.yaml:6: interval",
        "c.yaml:7: enabled",
        "c.yaml:8: feed: unknown key 'colour'",
        "c.yaml:13: duplicate id 'ok'",
        "c.yaml:13: feed is missing required key 'url'",
    ):
        assert any(line.startswith(fragment) for line in lines), fragment


def test_shape_problems_are_reported_like_the_rules_files() -> None:
    text = (
        "feeds:\n"
        "  - id: a\n"
        "    id: b\n"
        "    name: 12\n"
        "    url: [https://a.test/]\n"
        "    language: tr\n"
        "    interval: [60]\n"
        "  - just a name\n"
        "sources: []\n"
    )
    with pytest.raises(CatalogError) as info:
        parse_catalog(text, source="c.yaml")
    assert info.value.problems == [
        "c.yaml:9: catalog: unknown key 'sources' (known: feeds)",
        "c.yaml:3: feed: duplicate key 'id' (first on line 2)",
        "c.yaml:4: name must be a non-empty text, not '12'",
        "c.yaml:5: url must be a text, not a list or mapping",
        "c.yaml:7: interval must be a single value, not a list or mapping",
        "c.yaml:8: feed must be a mapping (keys: adaptive, enabled, id, interval, language, "
        "max_interval, min_interval, name, url)",
    ]


def _one_feed(extra: str) -> str:
    return (
        "feeds:\n  - id: a\n    name: A\n    url: https://a.test/rss\n"
        f"    language: tr\n    {extra}\n"
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("017", "leading zero (YAML reads it as octal); write 17"),
        ("1:30", "looks like a time of day"),
        ("!!int 1:2:3", "looks like a time of day"),
        ("0x1e", "write plain decimal digits"),
        ("!!int abc", "write plain decimal digits"),
        ("0", "from 1 to 604800"),
        ("604801", "from 1 to 604800"),
        ("6.5", "whole number of seconds"),
    ],
)
def test_odd_interval_is_a_catalog_problem_with_file_and_line(
    tmp_path: Path, value: str, says: str
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(_one_feed(f"interval: {value}"))
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    [line] = info.value.problems
    assert line.startswith(f"{path}:6: interval ")
    assert says in line


def test_interval_bounds_and_plain_forms_are_accepted() -> None:
    for text, seconds in (("1", 1), ("604800", 604800), ("1_800", 1800), ("+60", 60)):
        [spec] = parse_catalog(_one_feed(f"interval: {text}"))
        assert spec.interval == seconds


def test_explicit_bool_tag_with_a_non_bool_word_is_refused() -> None:
    with pytest.raises(CatalogError, match=r"<catalog>:6: enabled 'maybe' must be true or false"):
        parse_catalog(_one_feed("enabled: !!bool maybe"))
    [spec] = parse_catalog(_one_feed("enabled: off"))
    assert spec.enabled is False


def test_opml_interval_out_of_range_or_odd_digits_is_dropped() -> None:
    opml = """<?xml version="1.0"?><opml version="2.0"><head/><body>
      <outline text="A" type="rss" xmlUrl="https://a.test/" evbotInterval="²"/>
      <outline text="B" type="rss" xmlUrl="https://b.test/" evbotInterval="999999999"/>
      <outline text="C" type="rss" xmlUrl="https://c.test/" evbotInterval="900"/>
    </body></opml>"""
    assert [s.interval for s in opml_to_specs(opml)] == [None, None, 900]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - id: a\n    name: [broken\n")
    with pytest.raises(CatalogError, match=rf"{path}:\d+: YAML syntax error"):
        load_catalog(path)
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.yaml")


def test_dump_and_opml_round_trip() -> None:
    specs = [
        FeedSpec(
            "aa-ekonomi",
            "Anadolu Ajansı · Ekonomi",
            "https://www.aa.com.tr/tr/rss/default?cat=ekonomi",
            "tr",
            600,
        ),
        FeedSpec("electrek", 'Electrek "EV" news', "https://electrek.co/feed/", "en", None, False),
    ]
    assert parse_catalog(dump_catalog(specs)) == specs
    assert opml_to_specs(specs_to_opml(specs)) == specs


def test_foreign_opml_import() -> None:
    opml = """<?xml version="1.0"?>
    <opml version="2.0"><head><title>x</title></head><body>
      <outline text="Haber">
        <outline text="Şarj Dünyası" type="rss" xmlUrl="https://sarj.test/feed" language="tr-TR"/>
        <outline text="Şarj Dünyası" type="rss" xmlUrl="https://sarj2.test/feed"/>
        <outline text="EV Weekly" type="rss" xmlUrl="https://ev.test/rss" language="en-us"/>
        <outline text="no url"/>
      </outline></body></opml>"""
    specs = opml_to_specs(opml, default_language="en")
    assert [(s.id, s.language) for s in specs] == [
        ("sarj-dunyasi", "tr"),
        ("sarj-dunyasi-2", "en"),
        ("ev-weekly", "en"),
    ]


def test_opml_with_entities_is_refused() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaa">]><opml><body/></opml>'
    with pytest.raises(OpmlError, match="unsafe"):
        opml_to_specs(bomb)
    with pytest.raises(OpmlError, match="not OPML"):
        opml_to_specs("<rss/>")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evbot")
    register(parser.add_subparsers(dest="command"))
    return parser


def test_cli_import_then_export_opml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opml = tmp_path / "in.opml"
    opml.write_text(specs_to_opml([FeedSpec("ev", "EV", "https://ev.test/rss", "en")]))
    catalog = tmp_path / "feeds.yaml"
    catalog.write_text(dump_catalog([FeedSpec("ev", "Old", "https://old.test/rss", "tr")]))
    args = _parser().parse_args(["feeds", "import-opml", str(opml), "--catalog", str(catalog)])
    assert args.func(args) == 0
    assert [s.id for s in load_catalog(catalog)] == ["ev", "ev-2"]
    args = _parser().parse_args(["feeds", "export-opml", "--catalog", str(catalog)])
    assert args.func(args) == 0
    assert [s.url for s in opml_to_specs(capsys.readouterr().out)] == [
        "https://old.test/rss",
        "https://ev.test/rss",
    ]


async def test_feeds_check_shows_entries_and_classification() -> None:
    xml = rss_xml([FeedItem("Togg yeni modelini tanıttı", link="/haber/1", guid="1")])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=xml, headers={"ETag": '"x"'})

    out = io.StringIO()
    status = await check_feed(
        "http://feeds.test/rss",
        out=out,
        transport=httpx.MockTransport(handler),
        classify=lambda title, summary: f"categories: ev-manufacturing ({title[:4]})",
    )
    text = out.getvalue()
    assert status == 0
    assert "Togg yeni modelini tanıttı" in text
    assert "http://feeds.test/haber/1" in text
    assert "categories: ev-manufacturing (Togg)" in text
    assert "ETag" in text


async def test_feeds_check_reports_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html><body>x</body></html>")

    out = io.StringIO()
    status = await check_feed(
        "http://feeds.test/rss", out=out, transport=httpx.MockTransport(handler)
    )
    assert status == 1
    assert "looks like an HTML page" in out.getvalue()
