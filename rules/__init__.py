"""Turkish-aware keyword classification of electric-mobility news.

Pure: text in, categories + explanation out. The only I/O is reading the
rules file in :func:`load_rules`. See rules/README.md for the rule language.
:mod:`rules.yamlfile` is the line-numbered YAML reader the rules file shares
with the feed catalog (``feeds.catalog``), which is why it lives at the bottom.
"""

from rules.evaluate import EvalReport, evaluate
from rules.keywords import KeywordMatcher
from rules.loader import DEFAULT_RULES_PATH, check_rules, load_rules, parse_rules
from rules.model import CATEGORY_IDS, CategoryInfo, Classification, Hit, RulesError, TagInfo
from rules.ruleset import RuleSet
from rules.text import MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, clean_text, clip, fold, match_key

__all__ = [
    "CATEGORY_IDS",
    "DEFAULT_RULES_PATH",
    "MAX_SUMMARY_CHARS",
    "MAX_TITLE_CHARS",
    "CategoryInfo",
    "Classification",
    "EvalReport",
    "Hit",
    "KeywordMatcher",
    "RuleSet",
    "RulesError",
    "TagInfo",
    "check_rules",
    "clean_text",
    "clip",
    "evaluate",
    "fold",
    "load_rules",
    "match_key",
    "parse_rules",
]
