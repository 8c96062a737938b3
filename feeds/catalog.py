"""The feed catalog: a YAML file listing the feeds to poll.

Format (see /CONTRACT): a mapping with one key ``feeds``, a list of mappings
with ``id`` (slug: lower-case letters, digits and ``-``; unique), ``name``,
``url`` (http or https), ``language`` (``tr`` or ``en``), optional
``interval`` (whole seconds, 1 to 604,800 = 7 days: the starting interval),
optional ``min_interval``/``max_interval`` (the same kind of seconds: the range
the adaptive scheduler keeps the feed in), optional ``adaptive`` (boolean,
default true; ``false`` with an ``interval`` pins the feed to it) and optional
``enabled`` (boolean). ``load_catalog`` reports *every* problem, each as
``FILE:LINE: message``, and never raises anything else.

YAML 1.1 reads ``017`` as octal 15, ``1:30`` as sexagesimal 90 and ``0x1e``
as hex; an interval is meant as plain seconds, so those forms are refused
with a message saying what to write instead rather than silently read as
another number.
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
    "parse_catalog",
    "slugify",
]

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
Language = Literal["tr", "en"]

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REQUIRED = ("id", "name", "url", "language")
_SECONDS = ("interval", "min_interval", "max_interval")
_FLAGS = ("enabled", "adaptive")
_KNOWN = frozenset({*_REQUIRED, *_SECONDS, *_FLAGS})
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_STR = "tag:yaml.org,2002:str"
MIN_INTERVAL = 1
MAX_INTERVAL = 7 * 24 * 3600
_DECIMAL = re.compile(r"^\+?[1-9][0-9_]*$|^0$")
_BOOL_WORDS = {
    "true": True,
    "yes": True,
    "on": True,
    "y": True,
    "false": False,
    "no": False,
    "off": False,
    "n": False,
}
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
    min_interval: int | None = None
    max_interval: int | None = None
    adaptive: bool = True


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


def _interval(raw: str, tag: str, name: str = "interval") -> int | str:
    """Seconds from an ``interval`` scalar, or the problem with it."""
    text = raw.strip()
    hint = f"must be a whole number of seconds from {MIN_INTERVAL} to {MAX_INTERVAL} (7 days)"
    if tag != _INT:
        return f"{name} {raw!r} {hint}"
    if ":" in text:
        return (
            f"{name} {raw!r} looks like a time of day (YAML reads it as base 60); "
            f"write plain seconds, e.g. 90 for a minute and a half"
        )
    if not _DECIMAL.match(text):
        if re.fullmatch(r"[+-]?0[0-7_]+", text):
            return (
                f"{name} {raw!r} has a leading zero (YAML reads it as octal); "
                f"write {text.lstrip('+-0') or '0'} without the zero"
            )
        return f"{name} {raw!r} {hint}; write plain decimal digits"
    value = int(text.replace("_", ""))
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        return f"{name} {raw!r} {hint}"
    return value


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
            elif name in _SECONDS:
                seconds = _interval(raw, node.tag, name)
                if isinstance(seconds, str):
                    problem(nline, seconds)
                else:
                    values[name] = seconds
            elif name in _FLAGS:
                # An explicit ``!!bool maybe`` is tagged bool too: check the word.
                flag = _BOOL_WORDS.get(raw.strip().lower()) if node.tag == _BOOL else None
                if flag is None:
                    problem(nline, f"{name} {raw!r} must be true or false")
                else:
                    values[name] = flag
        low, high = values.get("min_interval"), values.get("max_interval")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problem(
                _line(fields["min_interval"]), f"min_interval {low} is above max_interval {high}"
            )
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
        for name in _SECONDS:
            if (seconds := getattr(spec, name)) is not None:
                lines.append(f"    {name}: {seconds}")
        if not spec.adaptive:
            lines.append("    adaptive: false")
        if not spec.enabled:
            lines.append("    enabled: false")
    if not specs:
        lines = ["feeds: []"]
    return "\n".join(lines) + "\n"
