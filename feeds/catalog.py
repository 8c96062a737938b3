"""The feed catalog: a YAML file listing the feeds to poll.

Format (see /CONTRACT): a mapping with one key ``feeds``, a list of mappings
with ``id`` (slug: lower-case letters, digits and ``-``; unique), ``name``,
``url`` (http or https), ``language`` (``tr`` or ``en``), optional
``interval`` (integer seconds ≥ 1) and optional ``enabled`` (boolean).
``load_catalog`` reports *every* problem, each as ``FILE:LINE: message``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml

__all__ = [
    "DEFAULT_CATALOG_PATH",
    "CatalogError",
    "FeedSpec",
    "dump_catalog",
    "load_catalog",
    "opml_to_specs",
    "parse_catalog",
    "slugify",
    "specs_to_opml",
]

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
Language = Literal["tr", "en"]

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REQUIRED = ("id", "name", "url", "language")
_KNOWN = frozenset({*_REQUIRED, "interval", "enabled"})
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_STR = "tag:yaml.org,2002:str"
_TR_ASCII = str.maketrans("çğıöşüâîûÇĞİIÖŞÜ", "cgiosuaiucgiiosu")


@dataclass(frozen=True)
class FeedSpec:
    """One catalog entry."""

    id: str
    name: str
    url: str
    language: Language
    interval: int | None = None
    enabled: bool = True


class CatalogError(Exception):
    """The catalog is invalid; ``problems`` holds ``FILE:LINE: message`` lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def slugify(text: str) -> str:
    """A catalog id from free text (Turkish letters folded to ASCII)."""
    folded = text.translate(_TR_ASCII).lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-") or "feed"


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def parse_catalog(text: str, *, source: str = "<catalog>") -> list[FeedSpec]:
    """Validate catalog YAML ``text``; raises :class:`CatalogError` listing all problems."""
    problems: list[str] = []

    def problem(line: int, message: str) -> None:
        problems.append(f"{source}:{line}: {message}")

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise CatalogError([f"{source}:{line}: YAML syntax error: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise CatalogError([f"{source}:1: YAML error: {exc}"]) from None
    if root is None:
        raise CatalogError([f"{source}:1: empty catalog: expected a mapping with a `feeds` list"])
    if not isinstance(root, yaml.MappingNode):
        raise CatalogError([f"{source}:{_line(root)}: expected a mapping with a `feeds` list"])
    feeds_node: yaml.Node | None = None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "feeds":
            feeds_node = value
        else:
            problem(_line(key), f"unknown top-level key {getattr(key, 'value', '?')!r}")
    if feeds_node is None:
        problem(_line(root), "missing `feeds` list")
        raise CatalogError(problems)
    if isinstance(feeds_node, yaml.ScalarNode) and feeds_node.tag == "tag:yaml.org,2002:null":
        if problems:
            raise CatalogError(problems)
        return []
    if not isinstance(feeds_node, yaml.SequenceNode):
        problem(_line(feeds_node), "`feeds` must be a list")
        raise CatalogError(problems)

    specs: list[FeedSpec] = []
    ids: dict[str, int] = {}
    for item in feeds_node.value:
        line = _line(item)
        if not isinstance(item, yaml.MappingNode):
            problem(line, "each feed must be a mapping (id, name, url, language, ...)")
            continue
        fields: dict[str, yaml.Node] = {}
        for key, value in item.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in _KNOWN:
                problem(_line(key), f"unknown key {name!r} (allowed: {', '.join(sorted(_KNOWN))})")
            elif name in fields:
                problem(_line(key), f"duplicate key {name!r}")
            else:
                fields[name] = value
        before = len(problems)
        for req in _REQUIRED:
            if req not in fields:
                problem(line, f"feed is missing required key {req!r}")
        values: dict[str, object] = {}
        for name, node in fields.items():
            nline = _line(node)
            if not isinstance(node, yaml.ScalarNode):
                problem(nline, f"{name!r} must be a single value")
                continue
            raw = node.value
            if name in ("id", "name", "url", "language"):
                if node.tag != _STR or not raw.strip():
                    problem(nline, f"{name!r} must be a non-empty string")
                    continue
                raw = raw.strip()
                if name == "id" and not _SLUG.match(raw):
                    problem(nline, f"id {raw!r} is not a slug (a-z, 0-9 and '-')")
                elif name == "url" and not _is_http_url(raw):
                    problem(nline, f"url {raw!r} is not an http(s) URL")
                elif name == "language" and raw not in ("tr", "en"):
                    problem(nline, f"language {raw!r} must be 'tr' or 'en'")
                else:
                    values[name] = raw
            elif name == "interval":
                if node.tag != _INT or int(raw, 0) < 1:
                    problem(nline, f"interval {raw!r} must be an integer number of seconds >= 1")
                else:
                    values[name] = int(raw, 0)
            elif name == "enabled":
                if node.tag != _BOOL:
                    problem(nline, f"enabled {raw!r} must be true or false")
                else:
                    values[name] = raw.lower() in ("true", "yes", "on", "y")
        feed_id = values.get("id")
        if isinstance(feed_id, str):
            if feed_id in ids:
                first = ids[feed_id]
                problem(_line(fields["id"]), f"duplicate id {feed_id!r} (first on line {first})")
            else:
                ids[feed_id] = _line(fields["id"])
        if len(problems) == before:
            specs.append(FeedSpec(**values))  # type: ignore[arg-type]
    if problems:
        raise CatalogError(problems)
    return specs


def load_catalog(path: str | Path | None = None) -> list[FeedSpec]:
    """Read and validate a catalog file (the bundled one by default)."""
    file = Path(path) if path is not None else DEFAULT_CATALOG_PATH
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError([f"{file}:1: cannot read catalog: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise CatalogError([f"{file}:1: catalog is not UTF-8: {exc.reason}"]) from None
    return parse_catalog(text, source=str(file))


def _quote(value: str) -> str:
    # JSON strings are valid YAML flow scalars and need no further thought.
    return json.dumps(value, ensure_ascii=False)


def dump_catalog(specs: Sequence[FeedSpec]) -> str:
    """Catalog YAML for ``specs`` (round-trips through :func:`parse_catalog`)."""
    lines = ["feeds:"]
    for spec in specs:
        lines.append(f"  - id: {spec.id}")
        lines.append(f"    name: {_quote(spec.name)}")
        lines.append(f"    url: {_quote(spec.url)}")
        lines.append(f"    language: {spec.language}")
        if spec.interval is not None:
            lines.append(f"    interval: {spec.interval}")
        if not spec.enabled:
            lines.append("    enabled: false")
    if not specs:
        lines = ["feeds: []"]
    return "\n".join(lines) + "\n"


# Re-exported so the lead's code can import everything catalog-related here.
from feeds.opml import opml_to_specs, specs_to_opml  # noqa: E402
