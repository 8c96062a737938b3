"""The shared YAML reader: every shape problem as FILE:LINE: message, in one pass."""

from __future__ import annotations

import pytest
import yaml

from rules.yamlfile import YamlFile, YamlSyntaxError, compose


def _root(text: str) -> yaml.Node:
    node = compose(text, "f.yaml")
    assert node is not None
    return node


def test_keys_are_checked_with_their_lines() -> None:
    file = YamlFile("f.yaml")
    root = _root("a: 1\nb: 2\na: 3\ncolour: red\n[x]: 4\n")
    keys = file.mapping(root, "thing", {"a", "b", "c"}, required=("a", "c"))
    assert file.problems == [
        "f.yaml:3: thing: duplicate key 'a' (first on line 1)",
        "f.yaml:4: thing: unknown key 'colour' (known: a, b, c)",
        "f.yaml:5: thing: keys must be plain words",
        "f.yaml:1: thing is missing required key 'c'",
    ]
    # The first of duplicate keys counts, as a reader of the file expects.
    assert keys["a"].value == "1"


def test_wrong_types_name_the_value_line() -> None:
    file = YamlFile("f.yaml")
    keys = file.mapping(_root("list: x\nmap: [1]\nname: [a]\nid: 12\nempty: ''\n"), "top")
    assert file.sequence(keys["list"], "list") == []
    assert file.mapping(keys["map"], "map", {"k"}) == {}
    assert file.text(keys["name"], "name") == ""
    assert file.text(keys["id"], "id", strict=True) == ""
    assert file.text(keys["id"], "id") == "12"  # not strict: a number is written text
    assert file.text(keys["empty"], "empty") == ""
    assert file.problems == [
        "f.yaml:1: list must be a list",
        "f.yaml:2: map must be a mapping (keys: k)",
        "f.yaml:3: name must be a text, not a list or mapping",
        "f.yaml:4: id must be a non-empty text, not '12'",
        "f.yaml:5: empty must be a non-empty text",
    ]


def test_scalars_keep_their_written_form() -> None:
    file = YamlFile("f.yaml")
    keys = file.mapping(_root("country: NO\ninterval: 017\n"), "top")
    assert file.text(keys["country"], "country") == "NO"
    assert (keys["interval"].value, keys["interval"].tag) == ("017", "tag:yaml.org,2002:int")
    assert file.problems == []


def test_an_alias_is_the_same_node() -> None:
    # The rules loader reads an aliased list once however often it is used
    # (issue 11's expansion cap relies on it): the reader must not copy it.
    keys = YamlFile("f.yaml").mapping(_root("a: &l [x, y]\nb: *l\n"), "top")
    assert keys["a"] is keys["b"]


@pytest.mark.parametrize(
    ("text", "line"), [("a: [1,\n", 2), ("a: 1\n b: 2\n", 2), ("a: 1\n---\nb: 2\n", 2)]
)
def test_syntax_errors_name_their_line(text: str, line: int) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        compose(text, "f.yaml")
    assert caught.value.problem.startswith(f"f.yaml:{line}: YAML syntax error: ")


def test_an_empty_text_is_no_document() -> None:
    assert compose("# only a comment\n", "f.yaml") is None
