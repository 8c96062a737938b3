"""OPML 2.0 import and export of the feed catalog.

Export writes one ``<outline type="rss">`` per feed with the standard
``text``, ``title``, ``xmlUrl`` and ``language`` attributes, plus
``evbotId``, ``evbotInterval`` and ``evbotEnabled`` (OPML allows extra
attributes; other readers ignore them). Import reads every outline with an
``xmlUrl`` at any depth (folders are flattened), parsed with defusedxml so
entity tricks in a downloaded OPML file are refused. Ids come from
``evbotId`` or a slug of the title, made unique with ``-2``, ``-3``…
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

if TYPE_CHECKING:
    from feeds.catalog import FeedSpec, Language

__all__ = ["OpmlError", "opml_to_specs", "specs_to_opml"]


class OpmlError(ValueError):
    """The OPML text could not be read."""


def specs_to_opml(specs: Sequence[FeedSpec], *, title: str = "evbot feeds") -> str:
    """An OPML 2.0 document listing ``specs``."""
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = title
    body = SubElement(root, "body")
    for spec in specs:
        attrs = {
            "type": "rss",
            "text": spec.name,
            "title": spec.name,
            "xmlUrl": spec.url,
            "language": spec.language,
            "evbotId": spec.id,
        }
        if spec.interval is not None:
            attrs["evbotInterval"] = str(spec.interval)
        if not spec.enabled:
            attrs["evbotEnabled"] = "false"
        SubElement(body, "outline", attrs)
    xml = tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n"


def _language(value: str | None, default: Language) -> Language:
    code = (value or "").strip().lower()[:2]
    if code == "tr":
        return "tr"
    if code == "en":
        return "en"
    return default


def opml_to_specs(text: str, *, default_language: Language = "tr") -> list[FeedSpec]:
    """Feeds listed in an OPML document (see module docstring).

    Raises:
        OpmlError: not XML, not OPML, or forbidden XML constructs.
    """
    from feeds.catalog import MAX_INTERVAL, MIN_INTERVAL, FeedSpec, _is_http_url, slugify

    try:
        root = SafeET.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    except DefusedXmlException as exc:
        raise OpmlError(f"refused unsafe XML: {type(exc).__name__}") from None
    except SafeET.ParseError as exc:
        raise OpmlError(f"not XML: {exc}") from None
    if root.tag != "opml":
        raise OpmlError(f"not OPML: root element is <{root.tag}>")
    specs: list[FeedSpec] = []
    used: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url or not _is_http_url(url):
            continue
        name = (outline.get("title") or outline.get("text") or url).strip()
        base = slugify(outline.get("evbotId") or name)
        feed_id, n = base, 2
        while feed_id in used:
            feed_id, n = f"{base}-{n}", n + 1
        used.add(feed_id)
        interval_text = (outline.get("evbotInterval") or "").strip()
        # isascii: "²" is a digit to str.isdigit but not to int().
        digits = interval_text.isascii() and interval_text.isdigit()
        interval = int(interval_text) if digits else None
        if interval is not None and not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            interval = None
        enabled_text = (outline.get("evbotEnabled") or "true").strip().lower()
        enabled = enabled_text not in ("false", "0", "no")
        specs.append(
            FeedSpec(
                id=feed_id,
                name=name,
                url=url,
                language=_language(outline.get("language"), default_language),
                interval=interval,
                enabled=enabled,
            )
        )
    return specs
