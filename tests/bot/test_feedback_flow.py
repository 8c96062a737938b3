"""The editor's loop through the fake Bot API: an admin corrects an alert's categories."""

from __future__ import annotations

from pathlib import Path

from tests.bot.service_harness import ADMIN, BATTERY, running_service
from tests.fakes.telegram_server import SentMessage

USER = 1


def _data(message: SentMessage, label: str) -> str:
    """The callback data of the button labelled exactly `label`."""
    [button] = [b for b in message.buttons if b.get("text") == label]
    return str(button["callback_data"])


async def test_admin_relabels_an_alert_and_the_correction_is_stored(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        await h.command(ADMIN, "/start", replies=2)
        await h.command(USER, "/start", replies=2)
        await h.publish(BATTERY)
        [alert] = await h.wait_alerts(ADMIN, 1)
        [user_alert] = await h.wait_alerts(USER, 1)
        # Only the admin's alerts offer the editor.
        assert [b["text"] for b in alert.buttons] == ["Why?", "Wrong category?"]
        assert [b["text"] for b in user_alert.buttons] == ["Why?"]
        mid = alert.message_id

        await h.toggle(ADMIN, mid, _data(alert, "Wrong category?"))
        editor = h.tg.message(ADMIN, mid)
        # Pre-set to what the rules gave.
        assert "✅ Battery Manufacturing" in [b["text"] for b in editor.buttons]
        await h.toggle(ADMIN, mid, _data(editor, "⬜ Regulation"))
        editor = h.tg.message(ADMIN, mid)
        await h.toggle(ADMIN, mid, _data(editor, "✅ Battery Manufacturing"))
        editor = h.tg.message(ADMIN, mid)
        labels = [b["text"] for b in editor.buttons]
        assert "✅ Regulation" in labels and "⬜ Battery Manufacturing" in labels

        answer = await h.press(ADMIN, mid, _data(editor, "💾 Save"))
        assert answer == "Saved as a labelled example: Regulation"
        [row] = await h.storage.feedback()
        assert row.categories == ("regulation",)
        assert row.rule_categories == ("battery-manufacturing",)
        assert row.title == BATTERY.title and row.language == "tr" and row.user_id == ADMIN
        assert row.created_at == h.clock.now()
        # The alert gets its buttons back.
        await h.tg.wait_until(
            lambda: (
                [b["text"] for b in h.tg.message(ADMIN, mid).buttons] == ["Why?", "Wrong category?"]
            )
        )


async def test_not_relevant_cancel_and_strangers(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        await h.command(ADMIN, "/start", replies=2)
        await h.command(USER, "/start", replies=2)
        await h.publish(BATTERY)
        [alert] = await h.wait_alerts(ADMIN, 1)
        [user_alert] = await h.wait_alerts(USER, 1)
        mid = alert.message_id
        open_data = _data(alert, "Wrong category?")

        # A user who is not an admin cannot label, even with forged button data.
        answer = await h.press(USER, user_alert.message_id, open_data)
        assert "no longer valid" in answer

        await h.toggle(ADMIN, mid, open_data)
        editor = h.tg.message(ADMIN, mid)
        # "Not relevant" clears the categories; Cancel stores nothing.
        await h.toggle(ADMIN, mid, _data(editor, "⬜ Not relevant"))
        editor = h.tg.message(ADMIN, mid)
        labels = [b["text"] for b in editor.buttons]
        assert "✅ Not relevant" in labels and "⬜ Battery Manufacturing" in labels
        await h.toggle(ADMIN, mid, _data(editor, "Cancel"))
        assert await h.storage.feedback() == []

        await h.toggle(ADMIN, mid, open_data)
        editor = h.tg.message(ADMIN, mid)
        await h.toggle(ADMIN, mid, _data(editor, "✅ Battery Manufacturing"))
        editor = h.tg.message(ADMIN, mid)
        # Nothing chosen: Save asks for a choice.
        answer = await h.press(ADMIN, mid, _data(editor, "💾 Save"))
        assert "Pick at least one" in answer
        await h.toggle(ADMIN, mid, _data(editor, "⬜ Not relevant"))
        editor = h.tg.message(ADMIN, mid)
        answer = await h.press(ADMIN, mid, _data(editor, "💾 Save"))
        assert answer == "Saved as a labelled example: Not relevant"
        [row] = await h.storage.feedback()
        assert row.categories == ()
