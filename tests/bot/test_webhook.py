"""Webhook mode (EVBOT_WEBHOOK_URL): Telegram posts updates to the service's HTTP server.

Updates are made by the fake Bot API (so they look like Telegram's) and posted
with httpx to the service's webhook route, as Telegram would; the replies go
back through the fake Bot API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from bot.service import Service, ServiceOptions
from bot.telegram_app.app import ALLOWED_UPDATES
from bot.telegram_app.webhook import SECRET_HEADER
from tests.bot.service_harness import Harness, running_service
from tests.fakes.telegram_server import JSONDict
from tests.support import database

SECRET = "webhook-secret_0123456789"
# What a reverse proxy exposes; the tests post to the service's own port.
PUBLIC_URL = "https://bot.example.org/telegram/webhook"
WEBHOOK: dict[str, Any] = {
    "webhook_url": PUBLIC_URL,
    "webhook_secret": SECRET,
    "http_port": 8443,  # overridden: the harness serves on a free port
}


async def post(service: Service, update: JSONDict, *, secret: str | None = SECRET) -> int:
    """Post an update to the service's webhook route as Telegram does; the HTTP status."""
    assert service.http is not None and service.http.port is not None
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    url = f"http://127.0.0.1:{service.http.port}/telegram/webhook"
    async with httpx.AsyncClient() as client:
        response = await client.post(url, json=update, headers=headers)
    return response.status_code


async def ask(h: Harness, chat_id: int, text: str, language: str) -> str:
    """A user writes `text`; Telegram posts it to the webhook; the bot's reply text."""
    update = h.tg.send_message(chat_id, text, language_code=language)
    assert await post(h.service, update) == 200
    await h.tg.wait_until(lambda: len(h.messages(chat_id)) >= 1)
    return h.messages(chat_id)[0].plain_text


async def test_the_webhook_is_set_at_start_and_deleted_at_stop(tmp_path: Path) -> None:
    async with running_service(tmp_path, settings=WEBHOOK, http_port=0) as h:
        [call] = h.tg.calls_of("setWebhook")
        assert call.params["url"] == PUBLIC_URL
        assert call.params["secret_token"] == SECRET
        assert call.params["allowed_updates"] == ALLOWED_UPDATES
        assert call.params["drop_pending_updates"] is False
        assert h.tg.webhook is not None
        # No long poll beside the webhook (Telegram would refuse it with 409).
        assert h.tg.calls_of("getUpdates") == []
        tg = h.tg
    assert len(tg.calls_of("deleteWebhook")) == 1
    assert tg.webhook is None


async def test_a_command_posted_to_the_webhook_is_answered_in_both_languages(
    tmp_path: Path,
) -> None:
    async with running_service(tmp_path, settings=WEBHOOK, http_port=0) as h:
        english = await ask(h, 1, "/help", "en")
        turkish = await ask(h, 3, "/help", "tr")
        assert "/start" in english and "/start" in turkish
        assert english != turkish


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_handled(
    tmp_path: Path,
) -> None:
    async with running_service(tmp_path, settings=WEBHOOK, http_port=0) as h:
        forged = h.tg.send_message(7, "/start", language_code="en")
        assert await post(h.service, forged, secret="wrong-secret_0123456789") == 401
        assert await post(h.service, forged, secret=None) == 401
        assert await post(h.service, forged, secret=SECRET[:-1]) == 401
        # A genuine update after them is answered; once every update handed to the
        # bot is handled, the forged chat has still heard nothing.
        assert await ask(h, 8, "/help", "en")
        await h.settled()
        assert h.messages(7) == []
        assert await h.storage.chat(7) is None


async def test_a_body_that_is_not_an_update_is_refused(tmp_path: Path) -> None:
    async with running_service(tmp_path, settings=WEBHOOK, http_port=0) as h:
        assert h.service.http is not None
        url = f"http://127.0.0.1:{h.service.http.port}/telegram/webhook"
        headers = {SECRET_HEADER: SECRET}
        async with httpx.AsyncClient() as client:
            for body in (b"{not json", b"[]", b"{}", b'{"update_id": "x"}', b"\xff"):
                response = await client.post(url, content=body, headers=headers)
                assert response.status_code == 400, body
        # The route still works for real updates afterwards.
        assert await ask(h, 4, "/help", "en")


async def test_only_the_leader_takes_updates_and_a_new_leader_sets_the_webhook_again(
    tmp_path: Path,
) -> None:
    async with (
        database("postgresql", str(tmp_path), own_database=True) as db,
        running_service(tmp_path, database_url=db.url, settings=WEBHOOK, http_port=0) as h,
    ):
        assert h.service.leading
        standby = Service(
            h.service.settings,
            # Leadership is checked when the test says so, not by the heartbeat.
            options=ServiceOptions(tick_seconds=0.05, http_port=0, leader_seconds=3600),
            clock=h.clock,
        )
        await standby.start()
        try:
            assert not standby.leading
            update = h.tg.send_message(5, "/help", language_code="en")
            # The standby refuses (Telegram retries); the leader takes it.
            assert await post(standby, update) == 503
            assert await post(h.service, update) == 200
            await h.tg.wait_until(lambda: len(h.messages(5)) == 1)

            # A leader frozen past its lease (it has not heard yet whether a standby
            # took over) refuses too, rather than answer beside a new leader.
            lease = h.service.leader_lock
            assert lease is not None
            real = lease.monotonic
            lease.monotonic = lambda: real() + 3600
            assert await post(h.service, h.tg.send_message(9, "/help")) == 503
            lease.monotonic = real

            # The leader stops: its webhook goes, the lease is free at once.
            await h.service.stop()
            assert h.tg.webhook is None
            assert len(h.tg.calls_of("setWebhook")) == 1
            await standby.check_leadership()
            assert standby.leading
            # The new leader set the webhook again, with the same secret.
            calls = h.tg.calls_of("setWebhook")
            assert len(calls) == 2 and calls[-1].params["secret_token"] == SECRET
            assert await post(standby, h.tg.send_message(6, "/help", language_code="en")) == 200
            await h.tg.wait_until(lambda: len(h.messages(6)) == 1)
        finally:
            await standby.stop()
