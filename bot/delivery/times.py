"""When a chat's alert may go out: instant, hourly or daily digests, quiet hours.

Pure functions of a chat's preferences and the current time; storage calls
`release_time` when it queues an alert and writes the answer into the outbox
row's `next_attempt_at`.

Semantics (all clock times are wall-clock times in the chat's time zone, so
they follow daylight-saving changes; arithmetic is done on aware datetimes
converted through `zoneinfo`):

- digest `off` (the default): an alert goes out at once.
- digest `hourly`: alerts are held until the next full hour of local time.
- digest `daily HH:MM`: alerts are held until the next local HH:MM (an alert
  queued at exactly HH:MM goes out at once, with that day's digest).
- quiet hours `HH:MM-HH:MM`: a window of local time, over midnight when the
  start is later than the end (22:00-07:00). Inside it every alert is held
  until the window ends; a digest that falls due inside it waits for the end
  too. The start is inside the window, the end is not.
- A time that does not exist locally (skipped by a spring-forward change) is
  taken with the offset in force before the change, i.e. it lands just after
  the gap; an ambiguous one (autumn) is the first of the two.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.models import ChatRow
from rules import match_key

DEFAULT_TIMEZONE = "Europe/Istanbul"

DigestMode = Literal["off", "hourly", "daily"]
DIGEST_MODES: tuple[DigestMode, ...] = ("off", "hourly", "daily")

_HHMM = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


@dataclass(frozen=True)
class DeliveryPrefs:
    """A chat's delivery preferences, parsed."""

    timezone: ZoneInfo
    digest_mode: DigestMode = "off"
    digest_time: time | None = None  # for daily digests
    quiet_start: time | None = None
    quiet_end: time | None = None

    @property
    def has_quiet_hours(self) -> bool:
        """Whether a quiet window is set."""
        return self.quiet_start is not None and self.quiet_end is not None


def parse_hhmm(text: str | None) -> time | None:
    """`"07:30"` (or `7.30`) as a time; None if empty or not a valid clock time."""
    if not text:
        return None
    match = _HHMM.match(text.strip())
    if match is None:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def format_hhmm(value: time) -> str:
    """A time as `HH:MM`."""
    return f"{value.hour:02d}:{value.minute:02d}"


def parse_quiet_range(text: str) -> tuple[time, time] | None:
    """`"22:00-07:00"` as (start, end); None if malformed or empty (start == end)."""
    parts = text.replace("–", "-").replace(" ", "").split("-")
    if len(parts) != 2:
        return None
    start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if start is None or end is None or start == end:
        return None
    return start, end


def zone(name: str | None, default: str = DEFAULT_TIMEZONE) -> ZoneInfo:
    """The named time zone, or `default` when the name is empty or unknown."""
    for candidate in (name, default, DEFAULT_TIMEZONE):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


_AREAS = ("Europe", "America", "Asia", "Africa", "Australia", "Pacific", "Atlantic", "Indian")


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone name by its lower-case form, plus unique last parts ("istanbul")."""
    names = {name.lower(): name for name in available_timezones()}
    last: dict[str, list[str]] = {}
    for name in names.values():
        last.setdefault(name.rsplit("/", 1)[-1].lower(), []).append(name)
    for part, found in last.items():
        # Some cities have a legacy alias in a second area (Asia/Istanbul): prefer
        # the areas in _AREAS order, and only names of the form Area/City.
        ranked = sorted(
            (n for n in found if n.count("/") == 1 and n.split("/")[0] in _AREAS),
            key=lambda n: _AREAS.index(n.split("/")[0]),
        )
        if ranked:
            names.setdefault(part, ranked[0])
    return names


# "GMT+3", "UTC +03:00", "+3": a whole-hour offset from UTC.
_OFFSET = re.compile(r"^(?:gmt|utc)?([+-])(\d{1,2})(?::?00)?$")


def _offset_zone(key: str) -> str | None:
    """`gmt+3` → `Etc/GMT-3` (the IANA Etc zones count the other way round)."""
    match = _OFFSET.match(key.replace("_", ""))
    if match is None:
        return None
    hours = int(match.group(2))
    if hours == 0:
        return "Etc/UTC"
    if hours > (14 if match.group(1) == "+" else 12):
        return None
    return f"Etc/GMT{'-' if match.group(1) == '+' else '+'}{hours}"


def valid_timezone(name: str) -> str | None:
    """The canonical IANA name for what a user typed, or None.

    `europe/istanbul`, `İstanbul` (Turkish capitals folded like the rules do),
    `GMT+3`, `UTC`.
    """
    cleaned = name.strip().replace(" ", "_")
    if not cleaned or ".." in cleaned or cleaned.startswith("/"):
        return None
    key = match_key(cleaned)
    canonical = _zone_names().get(key) or _offset_zone(key)
    if canonical is None:
        return None
    try:
        ZoneInfo(canonical)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return canonical


def prefs_from_columns(
    *,
    timezone: str | None,
    digest_mode: str | None,
    digest_time: str | None,
    quiet_start: str | None,
    quiet_end: str | None,
    default_timezone: str = DEFAULT_TIMEZONE,
) -> DeliveryPrefs:
    """Build preferences from stored column values, tolerating junk (treated as unset)."""
    mode: DigestMode = "off"
    if digest_mode == "hourly":
        mode = "hourly"
    elif digest_mode == "daily" and parse_hhmm(digest_time) is not None:
        mode = "daily"
    start, end = parse_hhmm(quiet_start), parse_hhmm(quiet_end)
    if start is None or end is None or start == end:
        start = end = None
    return DeliveryPrefs(
        timezone=zone(timezone, default_timezone),
        digest_mode=mode,
        digest_time=parse_hhmm(digest_time) if mode == "daily" else None,
        quiet_start=start,
        quiet_end=end,
    )


def chat_prefs(chat: ChatRow, default_timezone: str = DEFAULT_TIMEZONE) -> DeliveryPrefs:
    """A chat's delivery preferences, parsed (`default_timezone` if it chose none)."""
    return prefs_from_columns(
        timezone=chat.timezone,
        digest_mode=chat.digest_mode,
        digest_time=chat.digest_time,
        quiet_start=chat.quiet_start,
        quiet_end=chat.quiet_end,
        default_timezone=default_timezone,
    )


def _at(day: datetime, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local `clock` on the local date of `day`."""
    return datetime.combine(day.date(), clock, tzinfo=tz).astimezone(UTC)


def in_quiet_hours(prefs: DeliveryPrefs, now: datetime) -> bool:
    """Whether `now` falls inside the chat's quiet window."""
    if prefs.quiet_start is None or prefs.quiet_end is None:
        return False
    local = now.astimezone(prefs.timezone).time().replace(tzinfo=None)
    start, end = prefs.quiet_start, prefs.quiet_end
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_end_after(prefs: DeliveryPrefs, now: datetime) -> datetime:
    """When the quiet window containing `now` ends (`now` itself if not inside one)."""
    if not in_quiet_hours(prefs, now) or prefs.quiet_end is None:
        return now
    local = now.astimezone(prefs.timezone)
    for days in range(3):
        candidate = _at(local + timedelta(days=days), prefs.quiet_end, prefs.timezone)
        if candidate > now:
            return candidate
    return now  # unreachable for a real window; keeps the function total


def next_digest_time(prefs: DeliveryPrefs, now: datetime) -> datetime:
    """When the chat's next digest is due (`now` when digests are off)."""
    if prefs.digest_mode == "hourly":
        local = now.astimezone(prefs.timezone)
        # Offsets change by whole quarter-hours, so counting to the next local
        # :00 in elapsed time is DST-safe.
        return now + timedelta(
            minutes=60 - local.minute, seconds=-local.second, microseconds=-local.microsecond
        )
    if prefs.digest_mode == "daily" and prefs.digest_time is not None:
        local = now.astimezone(prefs.timezone)
        for days in range(3):
            candidate = _at(local + timedelta(days=days), prefs.digest_time, prefs.timezone)
            if candidate >= now:
                return candidate
    return now


def release_time(prefs: DeliveryPrefs, now: datetime) -> datetime:
    """When an alert queued at `now` for this chat goes out (>= now; == now means at once)."""
    due = next_digest_time(prefs, now)
    # A digest (or an instant alert) that falls in quiet hours waits for their end.
    return quiet_end_after(prefs, due)
