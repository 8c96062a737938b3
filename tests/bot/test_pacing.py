"""Pacing bookkeeping: even spacing per chat and overall, 429 scope."""

from __future__ import annotations

from itertools import pairwise

import pytest

from bot.delivery.pacing import GROUP_INTERVAL, PRIVATE_INTERVAL, Pacer


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
