"""Editing the rules file while the service runs: good edits apply, bad ones are reported."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from rules import DEFAULT_RULES_PATH, RuleSet
from tests.bot.service_harness import ADMIN, REGULATION, running_service


async def test_invalid_rules_edit_keeps_old_rules_and_tells_admins(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    original = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    rules_file.write_text(original, encoding="utf-8")
    async with running_service(tmp_path, rules_file=rules_file) as h:
        await h.command(ADMIN, "/start", replies=2)
        await h.command(1, "/start", replies=2)

        rules_file.write_text(original + "\ncategories: [oops\n", encoding="utf-8")
        await h.service.reload_files()
        await h.tg.wait_until(lambda: any("invalid" in m.plain_text for m in h.messages(ADMIN)))
        [notice] = [m for m in h.messages(ADMIN) if "invalid" in m.plain_text]
        assert str(rules_file) in notice.plain_text
        assert "rules.yaml:" in notice.plain_text  # the problem, with its line
        # Only admins are told.
        assert not any("invalid" in m.plain_text for m in h.messages(1))

        # The old rules still classify: a regulation story still reaches chat 1.
        await h.publish(REGULATION)
        [alert] = await h.wait_alerts(1, 1)
        assert "Mevzuat" in alert.plain_text or "Regulation" in alert.plain_text
        await h.wait_alerts(ADMIN, 1)  # the admin follows everything too

        # Fixing the file applies it, and nobody is told anything more.
        before = len(h.messages(ADMIN))
        rules_file.write_text(original + "\n# fixed\n", encoding="utf-8")
        await h.service.reload_files()
        assert h.service.rules.last_error is None
        assert len(h.messages(ADMIN)) == before


async def test_catalog_edits_add_and_remove_feeds_without_restart(tmp_path: Path) -> None:
    async with running_service(tmp_path) as h:
        catalog = tmp_path / "catalog.yaml"
        data = yaml.safe_load(catalog.read_text())
        h.feeds.add_feed("/second.xml", entries=[REGULATION])
        data["feeds"].append(
            {"id": "second", "name": "İkinci", "url": h.feeds.url("/second.xml"), "language": "tr"}
        )
        catalog.write_text(yaml.safe_dump(data, allow_unicode=True))
        await h.service.reload_files()
        await h.feeds.wait_for_requests("/second.xml", 1)

        data["feeds"] = [f for f in data["feeds"] if f["id"] != "second"]
        catalog.write_text(yaml.safe_dump(data, allow_unicode=True))
        await h.service.reload_files()
        feeds = {f.id: f for f in await h.storage.feeds()}
        assert feeds["second"].in_catalog is False
        assert [f.id for f in await h.storage.due_feeds(h.clock.now() + timedelta(days=1))] == [
            "test-haber"
        ]


@pytest.mark.parametrize("trigger", ["file edit", "/reload"])
async def test_a_slow_rules_load_holds_up_no_other_chat(tmp_path: Path, trigger: str) -> None:
    """A rules file of 600 terms × aliases took 9.2 s to load, on the event loop: all froze."""
    rules_file = tmp_path / "rules.yaml"
    original = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    rules_file.write_text(original, encoding="utf-8")
    async with running_service(tmp_path, rules_file=rules_file) as h:
        await h.command(ADMIN, "/start", replies=2, language_code="en")
        source = h.service.rules
        real_load = source._load
        entered, release = threading.Event(), threading.Event()
        inside = False

        def slow_load(path: Path) -> RuleSet:
            nonlocal inside
            inside = True
            entered.set()
            try:
                # The wait lets go of the GIL, as slow pure-Python work does now and
                # then; its cap makes old code (loading on the loop) fail, not hang.
                release.wait(timeout=5)
            finally:
                inside = False
            return real_load(path)

        source._load = slow_load
        rules_file.write_text(original + "\n# edited\n", encoding="utf-8")
        reloading: asyncio.Task[None] | None = None
        if trigger == "/reload":
            h.tg.send_message(ADMIN, "/reload", language_code="en")
        else:
            reloading = asyncio.create_task(h.service.reload_files())
        try:
            assert await asyncio.to_thread(entered.wait, 10)
            [reply] = await h.command(2, "/help", language_code="en")
            assert "/subscribe" in reply.plain_text
            assert inside, "the reply had to wait for the rules to load"
        finally:
            release.set()
            if reloading is not None:
                await reloading
        if trigger == "/reload":
            await h.tg.wait_until(
                lambda: any("Reloaded: rules" in m.plain_text for m in h.messages(ADMIN))
            )
        assert source.last_error is None
