"""Editors' corrections: storage (SQLite and PostgreSQL), callback data, eval-rules --feedback."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from bot.cli import rules as cli_rules
from bot.storage import Storage
from bot.telegram_app.callbacks import (
    FEEDBACK_CANCEL,
    FEEDBACK_OPEN,
    FEEDBACK_SAVE,
    feedback_data,
    parse_feedback,
)
from bot.telegram_app.feedback import NOT_RELEVANT_BIT, categories_of, mask_of, toggle
from tests.bot.test_storage import feed, item, ok
from tests.support import FakeClock, store

BATTERY_TITLE = "Kayseri'de lityum iyon batarya hücresi fabrikası temeli atıldı"


async def _stored_story(storage: Storage, clock: FakeClock, **fields: object) -> int:
    await storage.sync_catalog([feed()])
    await store(
        storage,
        "f1",
        new=[item("a", ("ev-market",), **fields)],
        again=[],
        seen=[],
        record=ok(clock),
        now=clock.now(),
    )
    [row] = await storage.latest_items()
    return row.id


async def test_a_correction_keeps_the_story_text_and_both_label_sets(
    storage: Storage, clock: FakeClock
) -> None:
    item_id = await _stored_story(storage, clock, title="Başlık", summary="Özet metni")
    saved = await storage.add_feedback(
        item_id, ["regulation", "battery-manufacturing"], 4242, clock.now()
    )
    assert saved is not None
    [row] = await storage.feedback()
    assert row == saved
    assert (row.item_id, row.title, row.summary, row.language) == (
        item_id,
        "Başlık",
        "Özet metni",
        "tr",  # the feed's language
    )
    assert row.categories == ("battery-manufacturing", "regulation")
    assert row.rule_categories == ("ev-market",)
    assert (row.user_id, row.created_at) == (4242, clock.now())
    # "Not relevant" is an empty choice; a story that is gone cannot be labelled.
    await storage.add_feedback(item_id, [], 4242, clock.now())
    assert [r.categories for r in await storage.feedback()] == [saved.categories, ()]
    assert await storage.add_feedback(item_id + 1000, ["regulation"], 4242, clock.now()) is None


def test_feedback_callback_data_round_trips_and_rejects_forgeries() -> None:
    assert parse_feedback(feedback_data(7)) == (7, None, FEEDBACK_OPEN)
    assert parse_feedback(feedback_data(7, 5, "3")) == (7, 5, "3")
    assert parse_feedback(feedback_data(7, 5, FEEDBACK_SAVE)) == (7, 5, FEEDBACK_SAVE)
    assert parse_feedback(feedback_data(7, 0, FEEDBACK_CANCEL)) == (7, 0, FEEDBACK_CANCEL)
    worst = feedback_data(10**18 - 1, 2**16 - 1, FEEDBACK_CANCEL)
    assert len(worst.encode()) <= 64
    for forged in ["fb:", "fb:x", "fb:1:2", "fb:1:a:3", "fb:1:2:zz", "fb:1:99999999:3", "why:1"]:
        assert parse_feedback(forged) is None, forged


def test_mask_toggles_categories_and_not_relevant_exclusively() -> None:
    mask = mask_of(["regulation", "ev-market", "unknown"])
    assert categories_of(mask) == ("regulation", "ev-market")
    mask = toggle(mask, NOT_RELEVANT_BIT)
    assert categories_of(mask) == () and mask
    mask = toggle(mask, 0)
    assert categories_of(mask) == ("battery-manufacturing",)
    assert not mask >> NOT_RELEVANT_BIT & 1


def _eval(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="evbot")
    cli_rules.register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_eval_rules_scores_the_stored_corrections(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path}/evbot.sqlite3"
    clock = FakeClock()

    async def prepare() -> None:
        storage = await Storage.open(url)
        try:
            item_id = await _stored_story(
                storage, clock, title=BATTERY_TITLE, summary="Tesis 2027'de açılacak."
            )
            # First a slip, then the editor's final word: only the last one counts.
            await storage.add_feedback(item_id, ["ev-market"], 1, clock.now())
            await storage.add_feedback(item_id, ["battery-manufacturing"], 1, clock.now())
        finally:
            await storage.close()

    asyncio.run(prepare())
    monkeypatch.setenv("EVBOT_DATABASE_URL", url)
    assert _eval(["eval-rules", "--feedback", "--min-macro-f1", "0.99"]) == 0
    out = capsys.readouterr().out
    assert "items: 1\n" in out
    assert "battery-manufacturing           1.000  1.000  1.000    1    0    0" in out

    # With a corpus too, both are reported, each under its name.
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "x", "title": "Hava durumu", "gold": []}\n', "utf-8")
    assert _eval(["eval-rules", str(corpus), "--feedback"]) == 0
    out = capsys.readouterr().out
    assert f"== {corpus} ==" in out and "== stored corrections (1) ==" in out


def test_eval_rules_feedback_without_the_table_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVBOT_DATABASE_URL", f"sqlite:///{tmp_path}/empty.sqlite3")
    assert _eval(["eval-rules", "--feedback"]) == 2
    assert "evbot db upgrade" in capsys.readouterr().err
    assert _eval(["eval-rules"]) == 2
