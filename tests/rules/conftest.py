"""Helpers for rules tests: small rule files written on the fly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rules import CATEGORY_IDS


def filler(*skip: str) -> str:
    """YAML list items for every category not in ``skip`` (a rules file needs all of them)."""
    return "".join(
        f"  - id: {cat}\n    name: {{tr: {cat}, en: {cat}}}\n    terms: [zzz{n}]\n"
        for n, cat in enumerate(CATEGORY_IDS)
        if cat not in skip
    )


@pytest.fixture
def rules_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text to a file and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "rules.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
