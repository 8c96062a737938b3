"""Scoring: true/false positives with gold and also_ok, false alarms on negatives."""

from __future__ import annotations

import pytest

from rules import evaluate, load_rules


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    items = [
        # predicted ev-manufacturing (Togg): tp
        {"id": "1", "title": "Togg T10F üretimi", "gold": ["ev-manufacturing"]},
        # predicted ev-manufacturing but gold is market: fn market, fp manufacturing
        {"id": "2", "title": "Togg T10F üretimi", "gold": ["ev-market"]},
        # also_ok keeps a prediction from being a false positive
        {"id": "3", "title": "Togg T10F üretimi", "gold": [], "also_ok": ["ev-manufacturing"]},
        # a negative with a prediction: false alarm
        {"id": "4", "title": "Togg T10F üretimi", "gold": []},
        # a clean negative
        {"id": "5", "title": "Hava durumu", "gold": []},
        # no gold key: skipped
        {"id": "6", "title": "Togg"},
    ]
    return evaluate(load_rules(), items)


def test_counts(report) -> None:  # type: ignore[no-untyped-def]
    manufacturing = report.score("ev-manufacturing")
    assert (manufacturing.tp, manufacturing.fp, manufacturing.fn) == (1, 2, 0)
    market = report.score("ev-market")
    assert (market.tp, market.fp, market.fn) == (0, 0, 1)
    assert report.items == 5
    assert (report.negatives, report.false_alarms) == (3, 1)
    assert report.false_alarm_rate == pytest.approx(1 / 3)


def test_misclassified_items_are_listed_with_explanations(report) -> None:  # type: ignore[no-untyped-def]
    text = report.format()
    assert "- 2: Togg T10F üretimi" in text
    assert "missing: ev-market" in text
    assert "EV Manufacturing: 'Togg'" in text
    assert "- 1:" not in text


def test_an_item_without_headline_is_named_by_its_first_words() -> None:
    summary = "Togg T10F üretimi Gemlik'te başladı. " + "Ayrıntılar geliyor. " * 20
    report = evaluate(load_rules(), [{"id": "n1", "title": "", "summary": summary, "gold": []}])
    text = report.format()
    assert "- n1: (no title) Togg T10F üretimi Gemlik'te başladı." in text
    # the name is cut short, not the whole summary
    assert summary.strip() not in text


def test_a_category_nobody_labelled_or_predicted_shows_no_figures(report) -> None:  # type: ignore[no-untyped-def]
    competition = next(
        line for line in report.format().splitlines() if line.startswith("competition")
    )
    assert competition.split()[1:] == ["-", "-", "-", "0", "0", "0"]
    market = next(line for line in report.format().splitlines() if line.startswith("ev-market "))
    # labelled but never found: figures, and a recall of zero
    assert market.split()[2:4] == ["0.000", "0.000"]
