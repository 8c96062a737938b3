"""Pacing bookkeeping: even spacing per chat and overall, 429 scope."""

from __future__ import annotations

from itertools import pairwise

import pytest

from bot.delivery.pacing import GROUP_INTERVAL, PRIVATE_INTERVAL, WIRE_MARGIN, Pacer, WireWindow


class Mono:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_global_slots_are_evenly_spaced_under_the_rate() -> None:
    mono = Mono()
    pacer = Pacer(rate_per_second=30, clock=mono)
    waits = [pacer.reserve(chat, "private") for chat in range(31)]
    assert waits[0] == 0
    # 31 sends need a little more than one second: never 31 within one window.
    assert 1.0 < waits[30] < 1.05
    assert all(b > a for a, b in pairwise(waits))


@pytest.mark.parametrize(
    ("kind", "interval"),
    [("private", PRIVATE_INTERVAL), ("group", GROUP_INTERVAL), ("supergroup", GROUP_INTERVAL)],
)
def test_a_chat_waits_its_interval(kind: str, interval: float) -> None:
    mono = Mono()
    pacer = Pacer(rate_per_second=1000, clock=mono)
    pacer.reserve(7, kind)
    assert pacer.chat_wait(7) == pytest.approx(interval)
    assert pacer.busy_chats() == {7}
    mono.t += interval
    assert pacer.chat_wait(7) == 0
    assert pacer.busy_chats() == set()


def test_one_chats_flood_holds_only_that_chat() -> None:
    mono = Mono()
    pacer = Pacer(clock=mono)
    assert pacer.flood(1, 5) is False
    assert pacer.chat_wait(1) == pytest.approx(5)
    assert pacer.chat_wait(2) == 0
    assert pacer.global_wait() == 0


def test_floods_in_several_chats_pause_everything() -> None:
    mono = Mono()
    pacer = Pacer(clock=mono)
    pacer.flood(1, 3)
    mono.t += 0.5
    pacer.flood(2, 3)
    mono.t += 0.5
    assert pacer.flood(3, 4) is True
    assert pacer.global_wait() == pytest.approx(4)
    assert pacer.reserve(9, "private") == pytest.approx(4)
    assert pacer.floods == 3


def test_old_floods_do_not_add_up_to_a_global_one() -> None:
    mono = Mono()
    pacer = Pacer(clock=mono)
    pacer.flood(1, 1)
    mono.t += 10
    pacer.flood(2, 1)
    mono.t += 10
    assert pacer.flood(3, 1) is False


def test_the_wire_window_lets_evenly_spaced_sends_through_without_waiting() -> None:
    wire = WireWindow.for_rate(30)
    spacing = 1 / (30 * 0.965)  # the pacer's global spacing
    for n in range(200):
        now = 100.0 + n * spacing
        assert wire.delay(now) == 0.0
        wire.leave(now)


def test_a_bunch_of_late_sends_leaves_no_more_than_the_limit_in_any_window() -> None:
    wire = WireWindow.for_rate(30)
    left: list[float] = []
    now = 100.0
    # 60 granted sends that all reach the wire at once after a stalled event loop.
    for _ in range(60):
        now += wire.delay(now)
        wire.leave(now)
        left.append(now)
    assert left[:30] == [100.0] * 30
    for first, thirty_first in zip(left, left[30:], strict=False):
        assert thirty_first - first >= 1.0
    assert left[-1] == pytest.approx(100.0 + wire.period)


def test_a_wire_window_below_one_per_second_allows_one_per_interval() -> None:
    wire = WireWindow.for_rate(0.5)
    wire.leave(10.0)
    assert wire.delay(10.0) == pytest.approx(2 * WIRE_MARGIN)
    assert wire.delay(10.0 + 2 * WIRE_MARGIN) == 0.0
