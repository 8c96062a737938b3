"""From claimed outbox rows to messages: names and hashtags looked up, then the pure renderers."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import replace
from zoneinfo import ZoneInfo

from bot.delivery.render import (
    AlertView,
    Button,
    RenderedMessage,
    item_view,
    render_alert,
    render_digest,
)
from bot.delivery.times import zone
from bot.i18n import t
from bot.models import Delivery
from bot.telegram_app.callbacks import feedback_data
from rules import RuleSet


class AlertRenderer:
    """Renders rows in their chat's language with the rules in force."""

    def __init__(
        self,
        rules: Callable[[], RuleSet],
        tz: ZoneInfo,
        feedback_chats: frozenset[int] = frozenset(),
    ) -> None:
        self.rules = rules
        self.tz = tz
        # Admins' private chats: their alerts also offer "wrong category?".
        self.feedback_chats = feedback_chats

    def view(self, delivery: Delivery) -> AlertView:
        """What one row's alert shows (with the chat's keyword that matched, if any)."""
        item = delivery.item
        assert item is not None
        return item_view(
            item, self.rules(), delivery.chat_language, keyword=delivery.reason.keyword
        )

    def zone(self, delivery: Delivery) -> ZoneInfo:
        """The chat's time zone, or the service's."""
        return zone(delivery.chat_timezone, self.tz.key)

    def one(self, delivery: Delivery, *, compact: bool = False) -> RenderedMessage:
        """One row's message (a broadcast's text, escaped, or an alert)."""
        if delivery.item is None:
            text = delivery.text or ""
            return RenderedMessage(html=html.escape(text, quote=False), plain=text)
        view = self.view(delivery)
        if compact:
            view = replace(view, summary="", hashtags=())
        message = render_alert(
            view,
            lang=delivery.chat_language,
            tz=self.zone(delivery),
            link_preview=delivery.link_preview,
        )
        if delivery.chat_id in self.feedback_chats:
            label = t(delivery.chat_language, "feedback_button")
            extra = Button(label, feedback_data(view.item_id))
            message = replace(message, buttons=(*message.buttons, extra))
        return message

    def many(self, deliveries: Sequence[Delivery]) -> list[RenderedMessage]:
        """A chat's burst or digest as as few messages as Telegram's limit allows."""
        alerts = [d for d in deliveries if d.item is not None]
        others = [self.one(d) for d in deliveries if d.item is None]
        if not alerts:
            return others
        lang = deliveries[0].chat_language
        tz = self.zone(deliveries[0])
        return others + render_digest([self.view(d) for d in alerts], lang=lang, tz=tz)
