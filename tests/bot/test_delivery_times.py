"""When held alerts go out: digests and quiet hours in the chat's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.delivery.times import (
    DeliveryPrefs,
    in_quiet_hours,
    parse_hhmm,
    parse_quiet_range,
    prefs_from_columns,
    release_time,
    valid_timezone,
    zone,
)

IST = zone("Europe/Istanbul")  # UTC+3 all year
BERLIN = zone("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_instant_by_default() -> None:
    now = utc(2026, 11, 23, 9, 0)
    assert release_time(DeliveryPrefs(IST), now) == now


def test_hourly_digest_waits_for_the_next_local_full_hour() -> None:
    prefs = DeliveryPrefs(IST, digest_mode="hourly")
    assert release_time(prefs, utc(2026, 11, 23, 9, 17, 30)) == utc(2026, 11, 23, 10, 0)
    # Kolkata is UTC+5:30: its full hours fall on UTC half hours.
    kolkata = DeliveryPrefs(zone("Asia/Kolkata"), digest_mode="hourly")
    assert release_time(kolkata, utc(2026, 11, 23, 9, 10)) == utc(2026, 11, 23, 9, 30)


def test_daily_digest_at_local_time_today_or_tomorrow() -> None:
    prefs = DeliveryPrefs(IST, digest_mode="daily", digest_time=time(8, 0))
    # 04:00 UTC is 07:00 in Istanbul: today's 08:00 is 05:00 UTC.
    assert release_time(prefs, utc(2026, 11, 23, 4, 0)) == utc(2026, 11, 23, 5, 0)
    assert release_time(prefs, utc(2026, 11, 23, 5, 0)) == utc(2026, 11, 23, 5, 0)
    assert release_time(prefs, utc(2026, 11, 23, 5, 1)) == utc(2026, 11, 24, 5, 0)


def test_daily_digest_follows_daylight_saving_time() -> None:
    prefs = DeliveryPrefs(BERLIN, digest_mode="daily", digest_time=time(8, 0))
    # Berlin leaves summer time on 25 October 2026: 08:00 is 06:00 UTC before, 07:00 after.
    assert release_time(prefs, utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 7, 0)
    assert release_time(prefs, utc(2026, 10, 23, 12, 0)) == utc(2026, 10, 24, 6, 0)


def test_quiet_hours_over_midnight_hold_until_they_end() -> None:
    prefs = DeliveryPrefs(IST, quiet_start=time(22, 0), quiet_end=time(7, 0))
    late = utc(2026, 11, 23, 20, 30)  # 23:30 local
    early = utc(2026, 11, 24, 2, 0)  # 05:00 local
    day = utc(2026, 11, 24, 9, 0)  # 12:00 local
    assert in_quiet_hours(prefs, late) and in_quiet_hours(prefs, early)
    assert release_time(prefs, late) == utc(2026, 11, 24, 4, 0)  # 07:00 local
    assert release_time(prefs, early) == utc(2026, 11, 24, 4, 0)
    assert release_time(prefs, day) == day
    assert not in_quiet_hours(prefs, utc(2026, 11, 24, 4, 0))  # the end is outside


def test_daytime_quiet_window_and_digest_inside_it() -> None:
    prefs = DeliveryPrefs(
        IST,
        digest_mode="daily",
        digest_time=time(13, 0),
        quiet_start=time(12, 0),
        quiet_end=time(14, 0),
    )
    # The 13:00 digest falls in quiet hours: it waits for 14:00.
    assert release_time(prefs, utc(2026, 11, 23, 6, 0)) == utc(2026, 11, 23, 11, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("22:00-07:00", (time(22), time(7))), ("9.30 - 10:00", (time(9, 30), time(10)))],
)
def test_parse_quiet_range(text: str, expected: tuple[time, time]) -> None:
    assert parse_quiet_range(text) == expected


@pytest.mark.parametrize("text", ["", "22:00", "25:00-07:00", "07:00-07:00", "a-b", "1-2-3"])
def test_parse_quiet_range_rejects(text: str) -> None:
    assert parse_quiet_range(text) is None


def test_parsing_helpers() -> None:
    assert parse_hhmm("7:05") == time(7, 5)
    assert parse_hhmm("24:00") is None
    assert valid_timezone("Europe/Berlin") == "Europe/Berlin"
    assert valid_timezone("europe/istanbul") == "Europe/Istanbul"
    assert valid_timezone("Istanbul") == "Europe/Istanbul"
    assert valid_timezone("new york") == "America/New_York"
    assert valid_timezone("Mars/Olympus") is None
    assert valid_timezone("../etc/passwd") is None
    junk = prefs_from_columns(
        timezone="Nope/Nope", digest_mode="daily", digest_time="xx", quiet_start="1", quiet_end=None
    )
    assert junk == DeliveryPrefs(IST)
