"""Line-numbered YAML reading: the one way the rules file and the feed catalog are checked.

``compose`` turns YAML text into PyYAML's node graph rather than into dicts:
every mapping, sequence and scalar node keeps the line it starts on, duplicate
keys stay visible (a dict would keep the last one silently), and a scalar keeps
its written form and resolved tag (``NO`` can stay the text "NO", ``017`` can
be refused as octal instead of read as 15). :class:`YamlFile` then walks the
nodes for a loader and collects every problem as ``FILE:LINE: message``:
wrong types, unknown, duplicate and missing keys.

Why nodes and not pydantic models over plain data: the rules file's security
limits (issue 11) count references while the node graph is walked, and a YAML
alias is the *same* node, so a list used n times is read once; plain data
handed to a validator would be validated once per reference, the n² work the
cap exists to stop. YAML 1.1 scalar resolution must also be judged on the
written text and its tag, which a validator sees only after construction, and
each of its generic messages would need translating back into one as clear as
these. The semantic checks (terms, intervals, ids) stay with each loader.

Pure: text in, nodes and problem lines out; reading files is the loaders' job.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import yaml

__all__ = ["NULL_TAG", "STR_TAG", "YamlFile", "YamlSyntaxError", "compose", "is_null", "line_of"]

NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"


class YamlSyntaxError(Exception):
    """The text is not YAML; ``problem`` is one ``FILE:LINE: YAML syntax error: …`` line."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def line_of(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def compose(text: str, filename: str) -> yaml.Node | None:
    """The root node of one YAML document (None when the text holds none).

    Raises :class:`YamlSyntaxError` naming the line of the first syntax error.
    Only the safe loader's tags are resolved: nothing is constructed here.
    """
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlSyntaxError(f"{filename}:{line}: YAML syntax error: {reason}") from None


def is_null(node: yaml.Node) -> bool:
    """Whether a node is YAML's null (``~``, ``null`` or nothing at all)."""
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


class YamlFile:
    """The problems found in one YAML file so far, and the checks that find them.

    Each check reports what is wrong with a node at that node's line and
    returns something harmless (an empty dict, list or text), so a loader
    walks on and reports *every* problem in one pass.
    """

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[str] = []

    def problem(self, where: yaml.Node | int | None, message: str) -> None:
        """Record ``FILE:LINE: message``; ``where`` is a node, a line number or None (line 1)."""
        line = where if isinstance(where, int) else line_of(where) if where is not None else 1
        self.problems.append(f"{self.filename}:{line}: {message}")

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        allowed: Collection[str] | None = None,
        required: Iterable[str] = (),
    ) -> dict[str, yaml.Node]:
        """The value nodes of a mapping node by key.

        Reports a node that is not a mapping, keys that are not plain words,
        keys not in ``allowed`` (None allows any word), duplicate keys (the
        first one is kept) and keys of ``required`` that are missing.
        """
        known = ", ".join(sorted(allowed)) if allowed is not None else ""
        if not isinstance(node, yaml.MappingNode):
            shape = f" (keys: {known})" if known else ""
            self.problem(node, f"{what} must be a mapping{shape}")
            return {}
        out: dict[str, yaml.Node] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or is_null(key_node):
                self.problem(key_node, f"{what}: keys must be plain words")
            elif allowed is not None and key not in allowed:
                self.problem(key_node, f"{what}: unknown key {key!r} (known: {known})")
            elif key in out:
                first = first_line[key]
                self.problem(key_node, f"{what}: duplicate key {key!r} (first on line {first})")
            else:
                out[key] = value_node
                first_line[key] = line_of(key_node)
        for key in required:
            if key not in out:
                self.problem(node, f"{what} is missing required key {key!r}")
        return out

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        """The item nodes of a sequence node; reports any other node."""
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what} must be a list")
            return []
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> yaml.ScalarNode | None:
        """A scalar node as it is; reports a list or mapping where one value belongs."""
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"{what} must be a single value, not a list or mapping")
            return None
        return node

    def text(
        self, node: yaml.Node | None, what: str, required: bool = True, strict: bool = False
    ) -> str:
        """A scalar's written text, stripped ("" when absent or wrong, with the problem reported).

        ``required`` refuses an empty or null value; ``strict`` also refuses a
        scalar YAML resolves to anything but a string (``123``, ``true``), for
        fields where such a value is surely a mistake rather than a name.
        """
        if node is None:
            return ""
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"{what} must be a text, not a list or mapping")
            return ""
        if is_null(node) and required:
            self.problem(node, f"{what} must be a non-empty text")
            return ""
        if is_null(node):
            return ""
        if strict and node.tag != STR_TAG:
            self.problem(node, f"{what} must be a non-empty text, not {node.value!r}")
            return ""
        value = str(node.value).strip()
        if required and not value:
            self.problem(node, f"{what} must be a non-empty text")
        return value
