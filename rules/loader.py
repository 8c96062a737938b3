"""Reading and validating a rules file (YAML) into a :class:`RuleSet`.

The YAML is read as nodes through :mod:`rules.yamlfile` (shared with the feed
catalog), so every problem names its line, duplicate keys are caught, and
scalars keep their written form (``NO`` stays the string "NO", not False).
This module adds what is particular to rules: terms, vocabularies, the
category list, and the caps on how far aliases may expand the file.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from rules.model import CATEGORY_IDS, CategoryInfo, RulesError, TagInfo
from rules.ruleset import Rule, RuleSet, Target
from rules.terms import TermError, TermSpec, parse_term
from rules.yamlfile import YamlFile, YamlSyntaxError, compose, line_of

__all__ = ["DEFAULT_RULES_PATH", "check_rules", "load_rules", "parse_rules"]

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.yaml")

_TOP_KEYS = {"version", "vocabularies", "categories", "topics", "entities"}
_CATEGORY_KEYS = {"id", "name", "description", "rules", "terms"}
_TAG_KEYS = {"id", "label", "label_tr", "description", "rules", "terms"}
_RULE_KEYS = {"any", "all", "none", "none_anywhere", "where"}
_WHERE = {"title": True, "title+summary": False}

# A rules file can name a long list once and use it many times (YAML aliases,
# $vocabularies): n rules that each use an n-term list are n² references from
# 2n lines. Every reference costs work (a rule's term set, its decision mask),
# so the total is capped; the bundled rules make about 1,300.
MAX_REFERENCES = 100_000
# The decision tests each rule part against a bitmask as wide as the highest
# term number in it; the widths add up to (rules × distinct terms) at worst.
MAX_MASK_BITS = 20_000_000


class _TooLarge(Exception):
    """The file expands beyond MAX_REFERENCES; carries the node where that happened."""

    def __init__(self, node: yaml.Node) -> None:
        super().__init__()
        self.node = node


class _Builder(YamlFile):
    """Collects problems and terms while walking the YAML nodes."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self.terms: list[TermSpec] = []
        self.term_ids: dict[str, int] = {}
        self.vocabularies: dict[str, list[int]] = {}
        self.references = 0  # term, rule and group references walked so far (aliases expanded)
        self.mask_bits = 0  # total width of the decision masks the rules will need
        # Each distinct term text is parsed once, and each list node (an alias is the
        # same node) read once per kind: load work follows the distinct terms and lists.
        self.parsed: dict[str, TermSpec | str] = {}
        self.lists: dict[tuple[int, bool], list[int]] = {}

    def count(self, node: yaml.Node, amount: int) -> None:
        """Add ``amount`` references; stop the whole parse when there are too many."""
        self.references += amount
        if self.references > MAX_REFERENCES:
            raise _TooLarge(node)

    def term(self, node: yaml.Node, what: str) -> int | None:
        raw = self.text(node, what, required=False) if isinstance(node, yaml.ScalarNode) else None
        if raw is None:
            self.problem(node, f"{what}: a term must be a text")
            return None
        spec = self.parsed.get(raw)
        if spec is None:
            try:
                spec = parse_term(raw)
            except TermError as exc:
                spec = str(exc)
            self.parsed[raw] = spec
        if isinstance(spec, str):
            self.problem(node, f"{what}: {spec}")
            return None
        number = self.term_ids.get(spec.key)
        if number is None:
            number = self.term_ids[spec.key] = len(self.terms)
            self.terms.append(spec)
        return number

    def term_list(self, node: yaml.Node, what: str, vocab_refs: bool = True) -> list[int]:
        """Terms of a list (``$name`` items expand a vocabulary); reports duplicates.

        A list node met again (a YAML alias) gives the same terms without
        being read again; its problems were reported the first time.
        """
        known = self.lists.get((id(node), vocab_refs))
        if known is None:
            known = self.lists[(id(node), vocab_refs)] = self._read_list(node, what, vocab_refs)
        self.count(node, len(known))
        return known

    def _read_list(self, node: yaml.Node, what: str, vocab_refs: bool) -> list[int]:
        items = [node] if isinstance(node, yaml.ScalarNode) else self.sequence(node, what)
        out: list[int] = []
        seen: dict[object, int] = {}
        for item in items:
            raw = item.value if isinstance(item, yaml.ScalarNode) else None
            if isinstance(raw, str) and raw.strip().startswith("$"):
                name = raw.strip()[1:]
                if not vocab_refs:
                    self.problem(item, f"{what}: vocabularies cannot refer to other vocabularies")
                elif name not in self.vocabularies:
                    self.problem(item, f"{what}: unknown vocabulary {raw.strip()!r}")
                elif ("$", name) in seen:
                    self.problem(item, f"{what}: duplicate vocabulary {raw.strip()!r}")
                else:
                    seen[("$", name)] = line_of(item)
                    out.extend(self.vocabularies[name])
                continue
            number = self.term(item, what)
            if number is None:
                continue
            if number in seen:
                self.problem(
                    item,
                    f"{what}: duplicate term {raw!r} (same as line {seen[number]}: "
                    f"{self.terms[number].source!r})",
                )
                continue
            seen[number] = line_of(item)
            out.append(number)
        if not items:
            self.problem(node, f"{what}: empty list")
        return out

    def rule(self, node: yaml.Node, what: str) -> Rule | None:
        try:
            return self._rule(node, what)
        except _TooLarge as exc:
            raise _TooLarge(node) from exc  # name the rule, not the list it uses

    def _rule(self, node: yaml.Node, what: str) -> Rule | None:
        self.count(node, 1)
        keys = self.mapping(node, what, _RULE_KEYS)
        if not keys:
            return None
        if "any" not in keys:
            self.problem(node, f"{what}: a rule needs 'any' terms")
            return None
        any_terms = self.term_list(keys["any"], f"{what}.any")
        groups: list[frozenset[int]] = []
        if "all" in keys:
            for n, group in enumerate(self.sequence(keys["all"], f"{what}.all"), 1):
                self.count(group, 1)
                groups.append(frozenset(self.term_list(group, f"{what}.all[{n}]")))
        none_terms = self.term_list(keys["none"], f"{what}.none") if "none" in keys else []
        anywhere_terms = (
            self.term_list(keys["none_anywhere"], f"{what}.none_anywhere")
            if "none_anywhere" in keys
            else []
        )
        title_only = False
        if "where" in keys:
            where = self.text(keys["where"], f"{what}.where")
            if where not in _WHERE:
                self.problem(keys["where"], f"{what}.where must be 'title' or 'title+summary'")
            title_only = _WHERE.get(where, False)
        for key, excluded in (("none", none_terms), ("none_anywhere", anywhere_terms)):
            clash = set(any_terms) & set(excluded)
            if clash:
                names = ", ".join(repr(self.terms[t].source) for t in sorted(clash))
                self.problem(
                    keys[key], f"{what}: rule can never match, {names} in both any and {key}"
                )
        if not any_terms:
            return None
        rule = Rule(
            frozenset(any_terms),
            tuple(groups),
            frozenset(none_terms),
            title_only,
            frozenset(anywhere_terms),
        )
        self.add_masks(node, rule)
        return rule

    def add_masks(self, node: yaml.Node, rule: Rule) -> None:
        """Count the width of the masks that test ``rule``; too wide stops the parse."""
        parts = (rule.any, *rule.all, rule.none, rule.none_anywhere)
        self.mask_bits += sum(max(part) + 1 for part in parts if part)
        if self.mask_bits > MAX_MASK_BITS:
            raise _TooLarge(node)

    def rules_of(self, keys: dict[str, yaml.Node], node: yaml.Node, what: str) -> list[Rule]:
        rules: list[Rule] = []
        if "terms" in keys:
            terms = self.term_list(keys["terms"], f"{what}.terms")
            if terms:
                rules.append(Rule(frozenset(terms)))
                self.add_masks(keys["terms"], rules[-1])
        if "rules" in keys:
            for n, rule_node in enumerate(self.sequence(keys["rules"], f"{what}.rules"), 1):
                rule = self.rule(rule_node, f"{what} rule {n}")
                if rule is not None:
                    rules.append(rule)
        if "terms" not in keys and "rules" not in keys:
            self.problem(node, f"{what}: needs 'rules' or 'terms'")
        return rules


def parse_rules(text: str, filename: str) -> tuple[RuleSet | None, list[str]]:
    """Parse rules text; return the rule set (None if there are problems) and the problems."""
    b = _Builder(filename)
    try:
        return _parse(b, text, filename)
    except _TooLarge as exc:
        b.problem(
            exc.node,
            f"the rules expand to more than {MAX_REFERENCES:,} term references or "
            f"{MAX_MASK_BITS:,} mask bits (a long list used in too many places through "
            "YAML aliases or $vocabularies?); stopped reading here",
        )
        return None, b.problems


def _parse(b: _Builder, text: str, filename: str) -> tuple[RuleSet | None, list[str]]:
    try:
        root = compose(text, filename)
    except YamlSyntaxError as exc:
        return None, [exc.problem]
    if root is None:
        return None, [f"{filename}:1: the file is empty"]
    top = b.mapping(root, "rules file", _TOP_KEYS)
    if "version" in top and b.text(top["version"], "version") not in ("", "1"):
        b.problem(top["version"], "version must be 1")
    if "vocabularies" in top:
        for name, list_node in b.mapping(top["vocabularies"], "vocabularies").items():
            b.vocabularies[name] = b.term_list(list_node, f"vocabulary {name!r}", vocab_refs=False)
    categories: list[CategoryInfo] = []
    targets: list[Target] = []
    seen_ids: dict[str, int] = {}

    def claim(id_node: yaml.Node | None, node: yaml.Node, what: str) -> str:
        target_id = b.text(id_node, f"{what} id") if id_node is not None else ""
        if id_node is None:
            b.problem(node, f"{what} needs an 'id'")
        elif target_id in seen_ids:
            b.problem(id_node, f"duplicate id {target_id!r} (first on line {seen_ids[target_id]})")
        elif target_id:
            seen_ids[target_id] = line_of(id_node)
        return target_id

    if "categories" not in top:
        b.problem(root, "missing 'categories'")
    for node in b.sequence(top["categories"], "categories") if "categories" in top else []:
        keys = b.mapping(node, "category", _CATEGORY_KEYS)
        if not keys:
            continue
        cat_id = claim(keys.get("id"), node, "category")
        if cat_id and cat_id not in CATEGORY_IDS:
            known = ", ".join(CATEGORY_IDS)
            b.problem(keys["id"], f"unknown category id {cat_id!r} (known: {known})")
        names = b.mapping(keys["name"], "name", {"tr", "en"}) if "name" in keys else {}
        if "name" not in keys:
            b.problem(node, f"category {cat_id!r} needs 'name' with 'tr' and 'en'")
        for lang in ("tr", "en"):
            if "name" in keys and lang not in names:
                b.problem(keys["name"], f"category {cat_id!r}: name needs {lang!r}")
        what = f"category {cat_id!r}"
        rules = b.rules_of(keys, node, what)
        categories.append(
            CategoryInfo(
                cat_id,
                b.text(names.get("tr"), "name.tr"),
                b.text(names.get("en"), "name.en"),
                b.text(keys.get("description"), "description", required=False),
            )
        )
        targets.append(Target(cat_id, "category", tuple(rules)))
    missing = [c for c in CATEGORY_IDS if c not in {cat.id for cat in categories}]
    if "categories" in top and missing:
        b.problem(top["categories"], f"missing categories: {', '.join(missing)}")
    tags: dict[str, list[TagInfo]] = {"topics": [], "entities": []}
    for section, kind in (("topics", "topic"), ("entities", "entity")):
        for node in b.sequence(top[section], section) if section in top else []:
            keys = b.mapping(node, kind, _TAG_KEYS)
            if not keys:
                continue
            tag_id = claim(keys.get("id"), node, kind)
            label = b.text(keys.get("label"), f"{kind} label") if "label" in keys else tag_id
            tag = TagInfo(tag_id, label, b.text(keys.get("label_tr"), "label_tr", required=False))
            tags[section].append(tag)
            rules = b.rules_of(keys, node, f"{kind} {tag_id!r}")
            targets.append(Target(tag_id, kind, tuple(rules)))  # type: ignore[arg-type]
    if b.problems:
        return None, b.problems
    ruleset = RuleSet(
        categories=categories,
        topics=tags["topics"],
        entities=tags["entities"],
        terms=b.terms,
        targets=targets,
        source=filename,
    )
    return ruleset, []


def _read(path: str | Path) -> tuple[str | None, list[str]]:
    try:
        return Path(path).read_text(encoding="utf-8"), []
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{path}:1: cannot read rules file: {exc}"]


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Load and compile a rules file (the bundled one by default); raise RulesError."""
    source = Path(path) if path is not None else DEFAULT_RULES_PATH
    text, problems = _read(source)
    if text is None:
        raise RulesError(problems)
    ruleset, problems = parse_rules(text, str(source))
    if ruleset is None:
        raise RulesError(problems)
    return ruleset


def check_rules(path: str | Path) -> list[str]:
    """Every problem in a rules file as "FILE:LINE: message"; [] when it is valid."""
    text, problems = _read(path)
    if text is None:
        return problems
    return parse_rules(text, str(path))[1]
