"""Groups (admins vs members, @botname, migration) and the operator commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.telegram_app.context import SERVICES_KEY
from bot.telegram_app.errors import ErrorAlarm
from rules import DEFAULT_RULES_PATH
from tests.bot.service_harness import ADMIN, REGULATION, Harness, running_service

GROUP, SUPERGROUP = -555, -1000000000555
OWNER, MEMBER = 7, 8


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A rules file the admin test may break (for /reload)."""
    rules = tmp_path / "rules.yaml"
    rules.write_bytes(Path(DEFAULT_RULES_PATH).read_bytes())
    return rules


@pytest.fixture
async def h(tmp_path: Path, rules_copy: Path) -> AsyncIterator[Harness]:
    rules = rules_copy
    async with running_service(tmp_path, rules_file=rules, group_interval=0.1) as harness:
        yield harness


def group_says(h: Harness, user: int, text: str) -> dict[str, object]:
    return h.tg.send_message(GROUP, text, user_id=user, chat_type="group", chat_title="EV Grubu")


async def test_only_group_admins_change_settings(h: Harness) -> None:
    h.tg.set_admins(GROUP, [], creator=OWNER)
    h.tg.add_bot_to_group(GROUP, by_user_id=OWNER, title="EV Grubu", language_code="tr")
    await h.tg.wait_until(lambda: len(h.messages(GROUP)) == 1)
    assert "Merhaba" in h.messages(GROUP)[0].plain_text
    assert len(await h.storage.subscriptions(GROUP)) == 8

    kw = {"user_id": MEMBER, "chat_type": "group", "language_code": "tr"}
    [refused] = await h.command(GROUP, "/unsubscribe all", **kw)
    assert "yalnızca yöneticileri" in refused.plain_text
    [refused] = await h.command(GROUP, "/quiet 22:00-07:00", **kw)
    assert "yalnızca yöneticileri" in refused.plain_text
    assert len(await h.storage.subscriptions(GROUP)) == 8
    # Reading is open to everyone, with the @botname suffix too.
    [shown] = await h.command(GROUP, "/settings@evbot_test_bot", **kw)
    assert "Ayarlar" in shown.plain_text

    owner = {"user_id": OWNER, "chat_type": "group", "language_code": "tr"}
    await h.command(GROUP, "/unsubscribe@evbot_test_bot mevzuat", **owner)
    assert len(await h.storage.subscriptions(GROUP)) == 7
    _, picker = await h.command(GROUP, "/start@evbot_test_bot", replies=2, **owner)
    assert len(await h.storage.subscriptions(GROUP)) == 7  # a known group keeps its choices

    # Picker presses: a member is refused, the owner may.
    answer = await h.press(GROUP, picker.message_id, "cat:*none", user_id=MEMBER)
    assert "yöneticileri" in answer  # the group speaks Turkish
    assert len(await h.storage.subscriptions(GROUP)) == 7
    await h.toggle(GROUP, picker.message_id, "cat:*none", user_id=OWNER)
    assert await h.storage.subscriptions(GROUP) == set()


async def test_a_group_added_by_a_start_link_gets_what_the_link_names(h: Harness) -> None:
    # t.me/<bot>?startgroup=regulation: Telegram adds the bot, then the adder's
    # client sends "/start regulation" in the group.
    h.tg.set_admins(GROUP, [], creator=OWNER)
    h.tg.add_bot_to_group(GROUP, by_user_id=OWNER, title="EV Grubu", language_code="en")
    await h.tg.wait_until(lambda: len(h.messages(GROUP)) == 1)
    assert len(await h.storage.subscriptions(GROUP)) == 8  # the default while nobody chose
    owner = {"user_id": OWNER, "chat_type": "group", "chat_title": "EV Grubu"}
    welcome, _ = await h.command(GROUP, "/start@evbot_test_bot regulation", replies=2, **owner)
    assert "subscribed to Regulation" in welcome.plain_text
    assert await h.storage.subscriptions(GROUP) == {"regulation"}
    # Started now: a later /start (any admin's "Restart") keeps the choice.
    back, _ = await h.command(GROUP, "/start@evbot_test_bot", replies=2, **owner)
    assert "Welcome back" in back.plain_text
    assert await h.storage.subscriptions(GROUP) == {"regulation"}


async def test_migrated_group_keeps_its_subscriptions_and_keywords(h: Harness) -> None:
    h.tg.set_admins(GROUP, [OWNER])
    owner = {"user_id": OWNER, "chat_type": "group"}
    await h.command(GROUP, "/start", replies=2, **owner)
    await h.command(GROUP, "/unsubscribe all", **owner)
    await h.command(GROUP, "/subscribe regulation", **owner)
    await h.command(GROUP, "/keywords add togg", **owner)
    h.tg.migrate_group(GROUP, SUPERGROUP)
    await h.tg.wait_until(lambda: h.tg.pending_updates() == [])

    async def moved() -> bool:
        return await h.storage.subscriptions(SUPERGROUP) == {"regulation"}

    for _ in range(100):  # each check is one database read; the update is in flight
        if await moved():
            break
        await h.tg.wait_for("getUpdates", count=len(h.tg.calls_of("getUpdates")) + 1)
    assert await moved()
    assert await h.storage.keywords(SUPERGROUP) == ["togg"]
    await h.publish(REGULATION)
    [alert] = await h.wait_alerts(SUPERGROUP, 1)
    assert "EPDK" in alert.plain_text
    assert h.alerts(GROUP) == []


async def test_admin_commands_are_silent_for_others(h: Harness) -> None:
    await h.command(1, "/start", replies=2)
    for command in ("/stats", "/feeds", "/reload", "/broadcast hi"):
        h.tg.send_message(1, command)
    # Updates are handled in order: once /help is answered, the others were ignored.
    [reply] = await h.command(1, "/help")
    assert "evbot" in reply.plain_text
    assert len(h.messages(1)) == 3
    assert (await h.storage.outbox_counts()).get("pending") is None


async def test_admin_stats_feeds_reload_and_broadcast(h: Harness, tmp_path: Path) -> None:
    await h.command(1, "/start", replies=2, language_code="tr")
    await h.command(2, "/start", replies=2)
    await h.command(2, "/stop")
    await h.publish(REGULATION)
    await h.wait_alerts(1, 1)

    [stats] = await h.command(ADMIN, "/stats")
    text = stats.plain_text
    assert "Chats: 3 (receiving: 2)" in text  # the admin's own chat counts too
    assert "Alerts sent today: 1" in text and "Queue: 0 pending" in text
    assert "• Regulation: 1" in text

    [feeds] = await h.command(ADMIN, "/feeds")
    assert "test-haber" in feeds.plain_text and "✅" in feeds.plain_text

    [ok] = await h.command(ADMIN, "/reload")
    assert "Reloaded: rules, feed catalog" in ok.plain_text
    (tmp_path / "rules.yaml").write_text("categories: [oops\n")
    replies = await h.command(ADMIN, "/reload", replies=2)
    assert any("rules: invalid, the previous version stays" in r.plain_text for r in replies)

    [queued] = await h.command(ADMIN, "/broadcast Bakım <b>bu gece</b> & yarın")
    assert "Broadcast queued for 2 chats." in queued.plain_text  # not the paused one
    await h.tg.wait_until(lambda: any("Bakım" in m.plain_text for m in h.messages(1)))
    shown = next(m for m in h.messages(1) if "Bakım" in m.plain_text)
    assert shown.plain_text == "Bakım <b>bu gece</b> & yarın"  # escaped, shown as typed


async def test_admin_commands_are_in_the_admins_menu_only(h: Harness) -> None:
    public = {c["command"] for c in h.tg.my_commands()}
    admin_scope = {"type": "chat", "chat_id": ADMIN}
    admin = {c["command"] for c in h.tg.my_commands(scope=admin_scope)}
    admin_tr = {c["command"] for c in h.tg.my_commands(scope=admin_scope, language_code="tr")}
    assert {"stats", "feeds", "reload", "broadcast"}.isdisjoint(public)
    assert {"stats", "feeds", "reload", "broadcast"} <= admin
    assert admin == admin_tr == public | {"stats", "feeds", "reload", "broadcast"}


async def test_a_failing_command_tells_the_user_and_the_admins_once(h: Harness) -> None:
    await h.command(ADMIN, "/start", replies=2)
    app = h.service.application
    assert app is not None
    svc = app.bot_data[SERVICES_KEY]

    async def broken_reload() -> list[tuple[str, str | None]]:
        raise RuntimeError("catalog store unreachable")

    svc.reload = broken_reload
    [sorry] = await h.command(ADMIN, "/reload")
    assert "Something went wrong" in sorry.plain_text
    # The admins hear of it through the outbox, once per kind of error in ten minutes.
    await h.tg.wait_until(lambda: any("RuntimeError" in m.plain_text for m in h.messages(ADMIN)))
    [again] = await h.command(ADMIN, "/reload")
    assert "Something went wrong" in again.plain_text
    notices = [m for m in h.messages(ADMIN) if "A command failed" in m.plain_text]
    assert len(notices) == 1
    assert "catalog store unreachable" in notices[0].plain_text
    assert svc.error_alarm.suppressed == 1


def test_the_error_alarm_speaks_once_per_kind_and_window() -> None:
    alarm = ErrorAlarm(window=timedelta(minutes=10))
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert alarm.should_tell("RuntimeError", start)
    assert not alarm.should_tell("RuntimeError", start + timedelta(minutes=9))
    assert alarm.should_tell("KeyError", start + timedelta(minutes=9))
    assert alarm.should_tell("RuntimeError", start + timedelta(minutes=10))
