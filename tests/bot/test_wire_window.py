"""Sends that reach the wire together still keep Telegram's global limit."""

from __future__ import annotations

import asyncio

from telegram import Bot

from bot.delivery.pacing import WireWindow
from bot.telegram_app.fencing import FencedRequest
from tests.fakes.telegram_server import ThreadedFakeTelegram


async def _burst(wire: WireWindow | None, chats: int = 45) -> tuple[int, int]:
    """Send one message to each chat all at once; (delivered, refused with 429)."""
    # The fake runs on its own thread's loop, as Telegram runs elsewhere: on the
    # test's loop it would stamp arrivals only when the 45 clients let it run,
    # late by however busy the machine is, and count sends that left a window
    # apart as one burst.
    with ThreadedFakeTelegram() as tg:
        tg.set_limits(global_per_second=30, per_chat_per_second=None, per_group_per_minute=None)
        bot = Bot(tg.token, base_url=tg.base_url, request=FencedRequest(lambda: True, wire=wire))
        async with bot:
            results = await asyncio.gather(
                *(bot.send_message(chat, f"haber {chat}") for chat in range(1, chats + 1)),
                return_exceptions=True,
            )
        delivered = sum(1 for r in results if not isinstance(r, BaseException))
        return delivered, tg.call(lambda: tg.fake.counters["429"])


async def test_a_burst_released_at_once_is_spread_over_the_window() -> None:
    # What a stalled event loop does: granted sends all leave together. The margin
    # covers the time a request takes from leaving here to being counted by the
    # fake on its thread (against Telegram the 1.03 s default stands).
    assert await _burst(WireWindow.for_rate(30, margin=1.5)) == (45, 0)


async def test_the_same_burst_without_the_window_is_refused_by_telegram() -> None:
    # The control: the fake's sliding window refuses what leaves above the limit.
    delivered, refused = await _burst(None)
    assert refused > 0
    assert delivered + refused == 45
