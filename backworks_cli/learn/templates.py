"""Path templating: recorded paths in, templates such as /users/{user_id}/orders/{id} out.

- A path segment becomes a parameter when it looks like an identifier: integers, UUIDs, hex
  hashes (8+ characters with a digit), dates and emails always; slugs with digits (`ord-1234`)
  when at least two different ones were seen at that place; literal siblings that each lead to
  the same literal sub-paths (`/repos/alice/settings`, `/repos/bob/settings`, ...) when there are
  at least MANY_SIBLINGS of them. Other literals stay literal (`/users/me` next to `/users/{id}`).
  `7.png` gives `{id}.png`.
- A parameter in the last segment is named `id`; one further in is named after the collection
  before it: `/users/{user_id}/orders/{id}`.

Segments are cut by core.paths, the rule the router applies to the same paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backworks_cli.core.paths import split
from backworks_cli.learn.values import EXTENSION, HEX, SLUG, TextValues, all_match
from backworks_cli.record.redact_rules import PREFIX

MANY_SIBLINGS = 10  # literal siblings with the same literal sub-paths that make a parameter
LITERAL_CACHE = 10_000  # path segments remembered as literals
MAX_SEGMENTS = 64  # path segments templated; a longer path's tail stays literal


# --- path templates -----------------------------------------------------------------------------

_STRONG = "\x00s"  # placeholder label: surely an identifier
_WEAK = "\x00w"  # placeholder label: an identifier if its values vary


def _id_kind(segment: str) -> str | None:
    """ "strong" for integers, UUIDs, hex hashes, dates, emails; "weak" for slugs with digits."""
    if segment.isdigit() and segment.isascii():
        return "strong"
    if segment.startswith(PREFIX):
        return "strong"  # a secret's placeholder (a token in the path): never a literal
    n = len(segment)
    if n == 36 and all_match("uuid", (segment,)):
        return "strong"
    if n >= 8 and HEX.fullmatch(segment) and any(c.isdigit() for c in segment):
        return "strong"
    if n == 10 and all_match("date", (segment,)):
        return "strong"
    if "@" in segment and all_match("email", (segment,)):
        return "strong"
    if n >= 3 and SLUG.fullmatch(segment):
        digits = sum(c.isdigit() for c in segment)
        if digits >= 2 or (digits and any(c in "-_.~" for c in segment)):
            return "weak"
    return None


def _placeholder(segment: str) -> tuple[str, str] | None:
    """(label, value) when `segment` is an identifier, possibly with a file extension."""
    stem, dot, ext = segment.rpartition(".")
    if dot and stem and EXTENSION.fullmatch(ext):
        kind = _id_kind(stem)
        if kind is not None:
            return (_STRONG if kind == "strong" else _WEAK) + "." + ext, stem
    kind = _id_kind(segment)
    if kind is not None:
        return (_STRONG if kind == "strong" else _WEAK), segment
    return None


class _Trie:
    __slots__ = ("children", "distinct", "terminal", "values")

    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.terminal = False
        self.values: TextValues | None = None  # placeholder nodes: the identifiers seen
        self.distinct: set[str] | None = None  # up to two of them, to tell whether they vary


class _Out:
    """A node of the final template tree."""

    __slots__ = ("children", "label", "params", "parent", "signature", "terminal", "values")

    def __init__(self, parent: _Out | None, label: str, is_param: bool) -> None:
        self.parent = parent
        self.label = label  # literal text, or the suffix after the parameter (".png") when a param
        self.params = is_param
        self.children: dict[str, _Out] = {}  # literal text -> node, or "\x00" + suffix -> param
        self.terminal = False
        self.values: TextValues | None = TextValues(enum=False) if is_param else None
        self.signature: Any = None


@dataclass(frozen=True)
class Template:
    """A path template: `/users/{user_id}/orders/{id}` and the schema of each parameter."""

    path: str
    params: dict[str, dict[str, Any]]


class PathTemplater:
    """Collects recorded paths; `finish()` turns them into templates.

    `add(path)` returns a key (identifiers collapsed) that stays valid for `finish()`'s result,
    so that callers can group evidence while streaming and learn the templates at the end.
    """

    def __init__(self) -> None:
        self._root = _Trie()
        self._cache: dict[str, tuple[str, ...]] = {}
        self._literals: dict[str, str] = {}  # segments known not to be identifiers
        self._keys: dict[tuple[str, ...], tuple[str, ...]] = {}

    def add(self, path: str) -> tuple[str, ...]:
        key = self._cache.get(path)
        if key is not None:
            return key
        node, labels = self._root, []
        segments = split(path)
        if len(segments) > MAX_SEGMENTS:  # the rest is kept as one literal segment
            segments[MAX_SEGMENTS - 1 :] = ["/".join(segments[MAX_SEGMENTS - 1 :])]
        for segment in segments:
            label = self._literals.get(segment)
            found = None
            if label is None:
                found = _placeholder(segment)
                if found is not None:
                    label = found[0]
                else:
                    label = "\x00l" + segment if segment[:1] == "\x00" else segment
                    if len(self._literals) < LITERAL_CACHE:
                        self._literals[segment] = label
            child = node.children.get(label)
            if child is None:
                node.children[label] = child = _Trie()
                if found is not None:
                    child.values, child.distinct = TextValues(enum=False), set()
            if found is not None:
                child.values.add(found[1])
                if len(child.distinct) < 2:
                    child.distinct.add(found[1])
            labels.append(label)
            node = child
        node.terminal = True
        key = tuple(labels)
        key = self._keys.setdefault(key, key)  # one tuple per key, however many paths share it
        self._cache[path] = key
        return key

    def finish(self) -> dict[tuple[str, ...], Template]:
        """The template of every key `add()` returned."""
        placed: dict[int, _Out] = {}
        root = _Out(None, "", False)
        _shape(root, [self._root], placed)
        templates: dict[tuple[str, ...], Template] = {}
        self._collect(self._root, (), placed, templates)
        return templates

    def _collect(self, node: _Trie, key: tuple[str, ...], placed, templates) -> None:
        if node.terminal:
            out = placed[id(node)] if key else None
            templates[key] = _template(out)
        for label, child in node.children.items():
            self._collect(child, (*key, label), placed, templates)


def _shape(out: _Out, sources: list[_Trie], placed: dict[int, _Out]) -> None:
    """Fill `out` (the merge of the trie nodes `sources`) with its final children."""
    out.terminal = any(s.terminal for s in sources)
    literal: dict[str, list[_Trie]] = {}
    holes: dict[str, list[tuple[_Trie, bool]]] = {}  # suffix -> (placeholder node, strong)
    for source in sources:
        for label, child in source.children.items():
            if label[:2] in (_STRONG, _WEAK):
                holes.setdefault(label[2:], []).append((child, label[:2] == _STRONG))
            else:
                literal.setdefault(label.removeprefix("\x00l"), []).append(child)
    # parameter suffix -> (trie node, its literal text when a literal sibling turned parameter)
    params: dict[str, list[tuple[_Trie, str | None]]] = {}
    for suffix, found in holes.items():
        distinct = set().union(*(node.distinct for node, _ in found))
        if any(strong for _, strong in found) or len(distinct) >= 2:
            params[suffix] = [(node, None) for node, _ in found]
        else:
            literal.setdefault(next(iter(distinct)) + suffix, []).extend(n for n, _ in found)
    shaped = {
        text: _child(out, text, False, [(n, None) for n in nodes], placed)
        for text, nodes in sorted(literal.items())
    }
    by_signature: dict[Any, list[str]] = {}
    for text, child in shaped.items():
        if any(not c.params for c in child.children.values()):
            by_signature.setdefault(child.signature, []).append(text)
    for texts in by_signature.values():
        if len(texts) >= MANY_SIBLINGS:
            for text in texts:
                del out.children[text]
                params.setdefault("", []).extend((node, text) for node in literal[text])
    for suffix, nodes in sorted(params.items()):
        _child(out, suffix, True, nodes, placed)
    out.signature = (
        out.terminal,
        frozenset((label, child.signature) for label, child in out.children.items()),
    )


def _child(
    out: _Out, label: str, is_param: bool, nodes: list[tuple[_Trie, str | None]], placed
) -> _Out:
    child = _Out(out, label, is_param)
    out.children[("\x00" + label) if is_param else label] = child
    for node, text in nodes:
        placed[id(node)] = child
        if child.values is not None:
            if node.values is not None:
                child.values.merge(node.values)
            elif text is not None:
                child.values.add(text)
    _shape(child, [node for node, _ in nodes], placed)
    return child


def _singular(word: str) -> str:
    word = re.sub(r"[^a-z0-9]+", "_", word.lower()).strip("_")
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 1:
        return word[:-1]
    return word


def _template(leaf: _Out | None) -> Template:
    nodes: list[_Out] = []
    while leaf is not None and leaf.parent is not None:
        nodes.append(leaf)
        leaf = leaf.parent
    nodes.reverse()
    parts: list[str] = []
    params: dict[str, dict[str, Any]] = {}
    for position, node in enumerate(nodes):
        if not node.params:
            parts.append(node.label)
            continue
        before = nodes[position - 1] if position else None
        collection = _singular(before.label) if before is not None and not before.params else ""
        if position == len(nodes) - 1 or not re.fullmatch(r"[a-z_][a-z0-9_]*", collection):
            base = "id" if position == len(nodes) - 1 else "param_id"
        else:
            base = f"{collection}_id"
        name, n = base, 2
        while name in params:
            name, n = f"{base}{n}", n + 1
        params[name] = node.values.to_schema()
        parts.append("{" + name + "}" + node.label)
    return Template("/" + "/".join(parts), params)


def template_paths(paths: Iterable[str]) -> dict[str, Template]:
    """The template of each path, learned from all of them together."""
    templater = PathTemplater()
    keys = {path: templater.add(path) for path in paths}
    templates = templater.finish()
    return {path: templates[key] for path, key in keys.items()}
