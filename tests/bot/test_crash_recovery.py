"""kill -9 in the middle of a burst loses nothing; SIGTERM stops cleanly within 10 s.

Runs `evbot run` as a real child process against a fake Bot API in another
process that enforces Telegram's rate limits (the delivery benchmark's rig).
"""

from __future__ import annotations

from bench.delivery_bench import run


async def test_kill_9_mid_burst_then_restart_delivers_everything_once() -> None:
    report = await run(chats=40, stories=2, rate=60, crash_after=25, within=120)
    assert report.crashed
    assert report.lost == 0
    # What was in flight at the kill may repeat: at most one message per chat in flight.
    assert report.duplicates <= report.max_in_flight
    assert report.floods == 0
    assert report.clean_stop_seconds is not None and report.clean_stop_seconds < 10
