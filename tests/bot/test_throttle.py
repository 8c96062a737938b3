"""Per-chat command throttling, as a pure decision on an injected clock."""

from __future__ import annotations

from bot.telegram_app.throttle import CommandThrottle, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_answers_up_to_the_limit_warns_once_then_ignores_until_the_window_passes() -> None:
    clock = Clock()
    throttle = CommandThrottle(limit=3, window=10.0, clock=clock)
    assert [throttle.check(1) for _ in range(3)] == [Verdict.ANSWER] * 3
    assert throttle.check(1) is Verdict.WARN
    assert [throttle.check(1) for _ in range(50)] == [Verdict.IGNORE] * 50
    assert throttle.wait_seconds(1) == 10.0
    assert throttle.check(2) is Verdict.ANSWER  # other chats are not affected
    clock.now += 9.9
    assert throttle.check(1) is Verdict.IGNORE
    clock.now += 0.1
    assert throttle.check(1) is Verdict.ANSWER
    assert throttle.wait_seconds(1) == 0.0


def test_a_steady_pace_under_the_limit_is_never_throttled() -> None:
    clock = Clock()
    throttle = CommandThrottle(limit=3, window=10.0, clock=clock)
    for _ in range(100):
        assert throttle.check(7) is Verdict.ANSWER
        clock.now += 3.4


def test_idle_chats_are_forgotten_when_many_are_tracked(monkeypatch: object) -> None:
    import bot.telegram_app.throttle as module

    clock = Clock()
    throttle = CommandThrottle(limit=2, window=1.0, clock=clock)
    setattr(module, "_SWEEP_AT", 5)  # noqa: B010 - a small table for the test
    try:
        for chat in range(5):
            throttle.check(chat)
        clock.now += 2
        throttle.check(99)
        assert set(throttle._chats) == {99}
    finally:
        setattr(module, "_SWEEP_AT", 10_000)  # noqa: B010
