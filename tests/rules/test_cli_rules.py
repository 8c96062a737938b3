"""The classify, check-rules and eval-rules commands, through a tiny argparse."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from bot.cli import rules as cli_rules

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "corpus.jsonl"


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    parser = argparse.ArgumentParser(prog="evbot")
    cli_rules.register(parser.add_subparsers(required=True))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_classify_json_lines_with_a_bad_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps({"id": "a", "title": "Togg T10F seri üretime geçti", "language": "tr"}),
        "{not json",
        json.dumps({"id": "b", "title": "Hava durumu", "summary": "Yağmur bekleniyor"}),
    ]
    status = run(["classify"], monkeypatch, "\n".join(lines) + "\n")
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert "ev-manufacturing" in rows[0]["categories"]
    assert rows[0]["matches"]["ev-manufacturing"]
    assert set(rows[0]) == {"id", "categories", "topics", "entities", "matches"}
    assert rows[1]["categories"] == []
    assert "line 2" in err
    assert status == 1


def test_classify_reads_a_title_less_item_by_its_link(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    link = "https://haber.example/karsan-romanyaya-elektrikli-otobus-teslim-etti-h4512.html"
    item = {"id": "a", "title": "", "summary": "Teslimat töreni dün yapıldı.", "link": link}
    lines = [json.dumps(item), json.dumps({**item, "id": "b", "link": None})]
    assert run(["classify"], monkeypatch, "\n".join(lines) + "\n") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["categories"] for r in rows] == [["commercial-ev-manufacturing"], []]


def test_classify_free_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["classify", "--lang", "tr", "İBB'ye 50 elektrikli otobüs"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert '"municipality"' in out
    assert "Belediyeler:" in out


def test_check_rules_valid(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EVBOT_RULES_FILE", raising=False)
    assert run(["check-rules"], monkeypatch) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and "categories" in out and "terms" in out


def test_check_rules_invalid_via_env(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories:\n  - id: nope\n", encoding="utf-8")
    monkeypatch.setenv("EVBOT_RULES_FILE", str(bad))
    assert run(["check-rules"], monkeypatch) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith(f"{bad}:") for line in lines)


@pytest.mark.parametrize(
    ("options", "status"),
    [
        ([], 0),
        (["--min-macro-f1", "0.92", "--max-false-alarms", "0.05"], 0),
        (["--min-macro-f1", "1.01"], 1),
        (["--max-false-alarms", "-1"], 1),
    ],
)
def test_eval_rules(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    status: int,
) -> None:
    assert run(["eval-rules", str(CORPUS), *options], monkeypatch) == status
    out = capsys.readouterr().out
    assert "macro F1:" in out and "micro F1:" in out and "false alarms:" in out
    assert "battery-manufacturing" in out
