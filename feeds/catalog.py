"""The feed catalog: a YAML file listing the feeds to poll.

Format (see /CONTRACT): a mapping with one key ``feeds``, a list of mappings
with ``id`` (slug: lower-case letters, digits and ``-``; unique), ``name``,
``url`` (http or https), ``language`` (``tr`` or ``en``), optional
``interval`` (whole seconds, 1 to 604,800 = 7 days: the starting interval),
optional ``min_interval``/``max_interval`` (the same kind of seconds: the range
the adaptive scheduler keeps the feed in), optional ``adaptive`` (boolean,
default true; ``false`` with an ``interval`` pins the feed to it) and optional
``enabled`` (boolean). ``load_catalog`` reports *every* problem, each as
``FILE:LINE: message``, and never raises anything else. The YAML is read
and its shape checked by :mod:`rules.yamlfile`, the same reader as the rules
file's (pure, so ``feeds`` depending on it still points down).

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

from rules.yamlfile import YamlFile, YamlSyntaxError, compose, is_null, line_of

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


def parse_catalog(text: str, *, source: str = "<catalog>") -> list[FeedSpec]:
    """Validate catalog YAML ``text``; raises :class:`CatalogError` listing all problems."""
    file = YamlFile(source)
    try:
        root = compose(text, source)
    except YamlSyntaxError as exc:
        raise CatalogError([exc.problem]) from None
    if root is None:
        raise CatalogError([f"{source}:1: empty catalog: expected a mapping with a `feeds` list"])
    top = file.mapping(root, "catalog", {"feeds"}, required=("feeds",))
    feeds_node = top.get("feeds")
    if feeds_node is None or is_null(feeds_node):
        if file.problems:
            raise CatalogError(file.problems)
        return []
    specs: list[FeedSpec] = []
    ids: dict[str, int] = {}
    for item in file.sequence(feeds_node, "feeds"):
        before = len(file.problems)
        fields = file.mapping(item, "feed", _KNOWN, required=_REQUIRED)
        values = _values(file, fields)
        low, high = values.get("min_interval"), values.get("max_interval")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            file.problem(fields["min_interval"], f"min_interval {low} is above max_interval {high}")
        feed_id = values.get("id")
        if isinstance(feed_id, str):
            if feed_id in ids:
                first = ids[feed_id]
                file.problem(fields["id"], f"duplicate id {feed_id!r} (first on line {first})")
            else:
                ids[feed_id] = line_of(fields["id"])
        if len(file.problems) == before:
            specs.append(FeedSpec(**values))  # type: ignore[arg-type]
    if file.problems:
        raise CatalogError(file.problems)
    return specs


def _values(file: YamlFile, fields: dict[str, yaml.Node]) -> dict[str, object]:
    """The valid values of one feed's fields by name; each invalid one is reported."""
    values: dict[str, object] = {}
    for name, node in fields.items():
        if name in _REQUIRED:
            raw = file.text(node, name, strict=True)
            if not raw:
                continue
            if name == "id" and not _SLUG.match(raw):
                file.problem(node, f"id {raw!r} is not a slug (a-z, 0-9 and '-')")
            elif name == "url" and not _is_http_url(raw):
                file.problem(node, f"url {raw!r} is not an http(s) URL")
            elif name == "language" and raw not in ("tr", "en"):
                file.problem(node, f"language {raw!r} must be 'tr' or 'en'")
            else:
                values[name] = raw
            continue
        scalar = file.scalar(node, name)
        if scalar is None:
            continue
        if name in _SECONDS:
            seconds = _interval(scalar.value, scalar.tag, name)
            if isinstance(seconds, str):
                file.problem(node, seconds)
            else:
                values[name] = seconds
        else:
            # An explicit ``!!bool maybe`` is tagged bool too: check the word.
            word = scalar.value.strip().lower()
            flag = _BOOL_WORDS.get(word) if scalar.tag == _BOOL else None
            if flag is None:
                file.problem(node, f"{name} {scalar.value!r} must be true or false")
            else:
                values[name] = flag
    return values


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
