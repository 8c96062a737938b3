"""What a feed document says about polling it: RSS ``<ttl>``, ``<skipHours>``, ``<skipDays>``,
and its WebSub hub and ``self`` topic (``<link rel="hub">``/``<atom:link rel="hub">``).

Pure and cheap: a few regular expressions over the feed-level parts of the
decoded text (before the first entry and after the last one), never a second
XML parse; the document was already checked by :func:`feeds.parse.parse_feed`.
Anything odd is ignored rather than guessed: a hint is advice, never needed.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

__all__ = ["FeedHints", "feed_hints"]

# A ttl beyond a week is a typo, not a wish (as for Retry-After in feeds.fetch).
MAX_TTL = 7 * 24 * 3600.0
_HEAD_LIMIT = 256 * 1024
_FIRST_ENTRY = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)[\s>/]", re.I)
_LAST_ENTRY_END = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.I)
_LINK = re.compile(r"<(?:[\w.-]+:)?link\b([^<>]*)>", re.I)
_ATTR = re.compile(r"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_TTL = re.compile(r"<ttl>\s*(\d{1,7})\s*</ttl>", re.I)
_SKIP_HOURS = re.compile(r"<skipHours>(.*?)</skipHours>", re.I | re.S)
_SKIP_DAYS = re.compile(r"<skipDays>(.*?)</skipDays>", re.I | re.S)
_HOUR = re.compile(r"<hour>\s*(\d{1,2})\s*</hour>", re.I)
_DAY = re.compile(r"<day>\s*([A-Za-z]+)\s*</day>", re.I)
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class FeedHints:
    """Publisher hints of one document; ``skip_days`` are 0 (Monday) to 6, hours in UTC."""

    ttl: float | None = None  # seconds
    skip_hours: frozenset[int] = field(default_factory=frozenset)
    skip_days: frozenset[int] = field(default_factory=frozenset)
    hub: str | None = None
    self_url: str | None = None

    def to_json(self) -> str:
        """Compact JSON (the scheduling part only) for one text column."""
        data: dict[str, object] = {}
        if self.ttl is not None:
            data["ttl"] = self.ttl
        if self.skip_hours:
            data["skip_hours"] = sorted(self.skip_hours)
        if self.skip_days:
            data["skip_days"] = sorted(self.skip_days)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> FeedHints:
        """Inverse of :meth:`to_json`; anything unreadable gives no hints."""
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        ttl = data.get("ttl")

        def ints(key: str) -> frozenset[int]:
            values = data.get(key)
            if not isinstance(values, list):
                return frozenset()
            return frozenset(v for v in values if isinstance(v, int))

        return cls(
            ttl=float(ttl) if isinstance(ttl, int | float) and ttl > 0 else None,
            skip_hours=ints("skip_hours"),
            skip_days=ints("skip_days"),
        )


def _feed_level(text: str) -> str:
    first = _FIRST_ENTRY.search(text, 0, _HEAD_LIMIT)
    head = text[: first.start()] if first else text[:_HEAD_LIMIT]
    tail = ""
    if first:
        ends = list(_LAST_ENTRY_END.finditer(text, max(first.start(), len(text) - _HEAD_LIMIT)))
        if ends:
            tail = text[ends[-1].end() :]
    return head + tail


def _http_url(value: str, base_url: str) -> str | None:
    url = urljoin(base_url, html.unescape(value.strip()))
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def feed_hints(text: str, base_url: str) -> FeedHints:
    """The hints in a decoded feed document (see the module docstring)."""
    level = _feed_level(text)
    hub = self_url = None
    for match in _LINK.finditer(level):
        attrs = {k.lower(): a or b for k, a, b in _ATTR.findall(match.group(1))}
        rels = set(attrs.get("rel", "").lower().split())
        href = attrs.get("href")
        if not href:
            continue
        if "hub" in rels and hub is None:
            hub = _http_url(href, base_url)
        if "self" in rels and self_url is None:
            self_url = _http_url(href, base_url)
    ttl = None
    if (found := _TTL.search(level)) is not None and int(found.group(1)) > 0:
        ttl = min(int(found.group(1)) * 60.0, MAX_TTL)
    hours: set[int] = set()
    if (block := _SKIP_HOURS.search(level)) is not None:
        # RSS 0.91 counts 1–24, RSS 2.0 0–23: 24 is midnight either way.
        hours = {int(h) % 24 for h in _HOUR.findall(block.group(1)) if int(h) <= 24}
    days: set[int] = set()
    if (block := _SKIP_DAYS.search(level)) is not None:
        days = {_DAYS.index(d.lower()) for d in _DAY.findall(block.group(1)) if d.lower() in _DAYS}
    return FeedHints(ttl, frozenset(hours), frozenset(days), hub, self_url)
