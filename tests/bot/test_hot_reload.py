"""Editing the rules file while the service runs: good edits apply, bad ones are reported."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import yaml

from rules import DEFAULT_RULES_PATH
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
        await h.wait_alerts(ADMIN, 1)  # the admin follows everything too: count it below

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
