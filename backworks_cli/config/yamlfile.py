"""THE owner of YAML: reading with the line of every key (for messages that name it), plain
loading as backworks reads its files (PyYAML, YAML 1.1), a JSON-like loader for documents
from elsewhere (OpenAPI), and round-trip loading and writing with ruamel.yaml that keeps the
user's comments, quotes and order. The minimal line edits that promote makes are in
yamledit.py. Both libraries are imported when first needed.
"""

from __future__ import annotations

import functools
import io
import math
import re
import sys
from pathlib import Path
from typing import Any

from backworks_cli.core.errors import ConfigError


class YamlError(Exception):
    """Text that is not YAML: the problem, and its 1-based line and column when known."""

    def __init__(
        self,
        problem: str,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ):
        super().__init__(problem)
        self.problem, self.line, self.column, self.hint = problem, line, column, hint


def read_marked(
    text: str, file: str, hint: str
) -> tuple[Any, dict[tuple, int], list[tuple[int, tuple, int]]]:
    """The document's data, the line of each key path, and each key written twice in one
    mapping as (line, key path, line it was first set on); ConfigError naming the line and
    `hint` when the text is not YAML."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        _check_depth(text, loader_class)
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        _check_aliases(node, text)
        problems = _duplicates(node, (), set())
        data = _construct(loader, node)
        marks: dict[tuple, int] = {(): node.start_mark.line + 1}
        _index(node, lambda k: _key_of(loader, k), int, marks)
        return data, marks, problems
    except YamlError as error:
        raise ConfigError(f"{file}:{error.line}: {error.problem}.", hint=error.hint) from None
    except RecursionError:
        error = _too_deep(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        where = f"{file}:{error.line}" if error.line else file
        raise ConfigError(f"{where}: {error.problem}.", hint=error.hint) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid YAML"
        if error.context and error.context_mark and error.context_mark is not mark:
            problem += f" ({error.context} on line {error.context_mark.line + 1})"
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        raise ConfigError(f"{where}: invalid YAML: {problem}.", hint=hint) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise ConfigError(f"{file}:{line}: invalid YAML: {error.reason}.", hint=hint) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{file}: invalid YAML: {error}.", hint=hint) from None
    finally:
        loader.dispose()


# Values that aliases may add to a document beyond those written in it: enough for anchors
# shared across endpoints, far too few for an alias bomb (nine aliases of nine aliases...).
ALIAS_BUDGET = 100_000
_ALIAS_HINT = (
    "Each *alias repeats its &anchor's whole value; write shared values once with fewer "
    "nested aliases, or inline them."
)


def _check_aliases(node: Any, text: str) -> None:
    """YamlError when the document's aliases would expand it by more than ALIAS_BUDGET values
    (naming the line of the first value that grows past it), or an alias contains itself.
    Sizes are counted once per node, so the check costs one walk of the written document."""
    import yaml

    if "*" not in text:  # no alias
        return
    size: dict[int, int] = {}
    open_: set[int] = set()
    unique = 0
    first_big = None
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        current, leaving = stack.pop()
        key = id(current)
        if isinstance(current, yaml.MappingNode):
            children = [child for pair in current.value for child in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = current.value
        else:
            children = ()
        if leaving:
            total = size[key] = 1 + sum(size[id(child)] for child in children)
            if first_big is None and total > ALIAS_BUDGET:
                first_big = current
            continue
        if key in size:
            continue
        if key in open_:
            raise YamlError(
                "a YAML alias that contains itself, which expands without end",
                current.start_mark.line + 1,
                hint=_ALIAS_HINT,
            )
        open_.add(key)
        unique += 1
        stack.append((current, True))
        stack.extend((child, False) for child in reversed(children))
    if size[id(node)] - unique > ALIAS_BUDGET:  # then some value is past it, the root at last
        at = first_big
        raise YamlError(
            f"YAML aliases expand this value to {size[id(at)]:,} values, more than the "
            f"{ALIAS_BUDGET:,} that aliases may add to a document",
            at.start_mark.line + 1,
            hint=_ALIAS_HINT,
        )


# Collections nested deeper than this are not read. Python's own readers stop near 1,000
# levels with a RecursionError, and libyaml's composer, which keeps its stack in C, runs out
# of it (a crash, not an error) some tens of thousands of levels down; so the depth of text
# that could nest deeper is read from parse events before it is composed.
MAX_DEPTH = 500


def _check_depth(text: str, loader_class: Any) -> None:
    """YamlError when `text` nests collections more than MAX_DEPTH deep. Each collection
    is opened by one of [ { - : ?, so text with few of them is let through unread."""
    openers = sum(text.count(c) for c in "[{-:?")  # pragma: no mutate (a bound: more is safe)
    if openers > MAX_DEPTH and (error := _depth_error(text, loader_class)):  # pragma: no mutate
        raise error


def _construct(loader: Any, node: Any) -> Any:
    """The data of a composed document; YamlError naming the line of a scalar that cannot be
    the value its plain form says (a number too long for Python, a date that is no date)."""
    try:
        return loader.construct_document(node)
    except ValueError:
        error = _unreadable(loader, node)
        if error is None:
            raise
        raise error from None


_KINDS = {"int": "an integer", "float": "a number", "timestamp": "a date"}


def _unreadable(loader: Any, node: Any) -> YamlError | None:
    """The first scalar of `node`, in document order, that `loader` cannot construct, as a
    YamlError with its line; None when there is none."""
    import yaml

    # The walk meets a node again for each alias of it: the budget bounds how often.
    loader.constructed_objects, loader.recursive_objects = {}, {}  # left over by the failure
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode):
            try:
                loader.construct_object(current)
            except ValueError as error:
                return _scalar_error(current, error)
        elif isinstance(current, yaml.MappingNode):
            stack.extend(child for pair in reversed(current.value) for child in pair[::-1])
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(reversed(current.value))
    return None


def _scalar_error(node: Any, error: ValueError) -> YamlError:
    line = node.start_mark.line + 1
    digits = sum(c.isdigit() for c in node.value)
    if node.tag.endswith(":int") and digits > sys.get_int_max_str_digits():  # pragma: no mutate
        return YamlError(
            f"a number of {digits:,} digits, more than the {sys.get_int_max_str_digits():,} "
            "Python reads",
            line,
            hint="Quote the value to keep it as text, or shorten it.",
        )
    shown = node.value if len(node.value) <= 40 else node.value[:40] + "..."
    suffix = node.tag.rsplit(":", 1)[-1]  # pragma: no mutate (the tag's last part)
    kind = _KINDS.get(suffix, node.tag)  # pragma: no mutate
    return YamlError(
        f"{shown!r} reads as {kind} but is not one ({error})",
        line,
        hint="Quote the value to keep it as text, or correct it.",
    )


def _too_deep(text: str, loader_class: Any) -> YamlError:
    """Where `text`, which a composer gave up on, nests collections more than MAX_DEPTH
    deep."""
    return _depth_error(text, loader_class) or YamlError(
        "nested too deeply for the YAML reader",
        hint="Flatten the nesting; no backworks.yaml key needs this depth.",
    )


def _depth_error(text: str, loader_class: Any) -> YamlError | None:
    """Where `text` nests collections more than MAX_DEPTH deep, from its parse events (the
    parser keeps no stack of its own), or None when it does not."""
    import yaml

    loader = loader_class(text)
    depth = 0
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return YamlError(
                        f"nested more than {MAX_DEPTH} levels deep",
                        event.start_mark.line + 1,
                        hint="Flatten the nesting; no backworks.yaml key needs this depth.",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:  # not YAML past this point: the reader will say so
        pass
    finally:
        loader.dispose()
    return None


def _key_of(loader: Any, node: Any) -> Any:
    try:
        key = loader.construct_object(node, deep=True)
        hash(key)
        return key
    except Exception:
        return getattr(node, "value", None)


def _index(node: Any, key: Any, position: Any, marks: dict[tuple, int]) -> dict[tuple, int]:
    """The line of every key and list item under `node`, as `key(key_node)` and
    `position(n)` name them in the path, in document order; an aliased node is walked once
    (so an alias of an alias cannot multiply the work), and the walk keeps no Python stack."""
    import yaml

    seen: set[int] = set()
    stack = [((), node)]
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            children = [((*path, key(k)), k, v) for k, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            children = [((*path, position(n)), v, v) for n, v in enumerate(node.value)]
        else:
            continue
        for child, marked, _ in children:
            marks[child] = marked.start_mark.line + 1
        stack.extend((child, value) for child, _, value in reversed(children))
    return marks


def _duplicates(node: Any, path: tuple, seen: set[int]) -> list[tuple[int, tuple, int]]:
    """Keys written twice in one mapping (YAML would silently keep the last)."""
    import yaml

    problems: list[tuple[int, tuple, int]] = []
    if id(node) in seen:
        return problems
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            key_path = (*path, key_node.value if isinstance(key_node, yaml.ScalarNode) else "?")
            if isinstance(key_node, yaml.ScalarNode) and not key_node.tag.endswith(":merge"):
                line = key_node.start_mark.line + 1
                seen_at = first.setdefault((key_node.tag, key_node.value), line)
                if seen_at != line:
                    problems.append((line, key_path, seen_at))
            problems += _duplicates(value_node, key_path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for number, item in enumerate(node.value):
            problems += _duplicates(item, (*path, number), seen)
    return problems


@functools.cache
def json_like_loader():
    """PyYAML's safe loader reading true/false only as booleans and dates as text, so that
    `on:`, `2024-01-01` and friends stay what a JSON reader would see."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    drop = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in drop]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"
    )
    return Loader


def line_marks(text: str) -> dict[tuple, int]:
    """The line of every key path of a JSON-like document (keys and list positions as
    text), for messages; empty when the text does not compose."""
    import yaml

    try:
        _check_depth(text, json_like_loader())
        node = yaml.compose(text, Loader=json_like_loader())
        _check_aliases(node, text)
    except (yaml.YAMLError, RecursionError, YamlError):
        return {}
    return _index(node, lambda k: str(getattr(k, "value", "?")), str, {})


def writer(mapping: int = 2, sequence: int = 4, offset: int = 2, width: int = 100) -> Any:
    """ruamel.yaml in round-trip mode, writing floats that PyYAML reads back as floats too;
    `width` folds long scalars (promote gives a large one: never fold a line the user
    wrote on one)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.representer import RoundTripRepresenter

    class Representer(RoundTripRepresenter):
        pass

    Representer.add_representer(float, _represent_float)
    yaml = YAML()
    yaml.Representer = Representer
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.width = width
    yaml.preserve_quotes = True
    return yaml


def _represent_float(representer, value: float):
    """Floats that PyYAML (YAML 1.1) and ruamel.yaml (1.2) both read back: 1.0e-05, not 1e-05."""
    if math.isnan(value):
        text = ".nan"
    elif math.isinf(value):
        text = ".inf" if value > 0 else "-.inf"
    else:
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        if e and "." not in mantissa:
            text = f"{mantissa}.0e{exponent}"
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


@functools.lru_cache(maxsize=4096)
def ambiguous(text: str) -> bool:
    """Whether YAML 1.1 readers (PyYAML, which loads backworks.yaml) would read `text` as
    something other than a string when written plain: yes, on, 2024-01-01, 0x1f..."""
    import yaml

    tag = _pyyaml_resolver().resolve(yaml.ScalarNode, text, (True, False))
    return tag != "tag:yaml.org,2002:str"


@functools.cache
def _pyyaml_resolver():
    import yaml

    return yaml.resolver.Resolver()


def new_map(items: dict | None = None, flow: bool = False):
    from ruamel.yaml.comments import CommentedMap

    out = CommentedMap()
    for key, value in (items or {}).items():
        out[yaml_key(key)] = value
    if flow:
        out.fa.set_flow_style()
    return out


def new_seq(items: list, flow: bool = False):
    from ruamel.yaml.comments import CommentedSeq

    out = CommentedSeq(items)
    if flow:
        out.fa.set_flow_style()
    return out


def is_round_trip_map(node: Any) -> bool:
    """Whether `node` is a mapping of a round-trip document (it knows its lines)."""
    from ruamel.yaml.comments import CommentedMap

    return isinstance(node, CommentedMap)


def load_yaml12(text: str) -> Any:
    """The data as a YAML 1.2 reader (ruamel.yaml, safe) sees it."""
    import yaml
    from ruamel.yaml import YAML

    _compose_checked(text, json_like_loader())
    try:
        return YAML(typ="safe", pure=True).load(text)  # pragma: no mutate (the reader's kind)
    except ValueError:
        # Which scalar it was, as YAML 1.1 sees it: the two agree on numbers and dates.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # pragma: no mutate
        try:
            error = _unreadable(loader, loader.get_single_node())
        finally:
            loader.dispose()
        if error is None:
            raise
        raise error from None


def yaml_key(key: Any) -> Any:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(key, str) and (ambiguous(key) or re.fullmatch(r"[1-5]\d\d", key)):
        return DoubleQuotedScalarString(key)
    return key


def to_yaml(value: Any) -> Any:
    """Plain data as ruamel.yaml nodes: short scalar-only mappings and lists in flow style,
    multi-line text as literal blocks, strings YAML 1.1 would misread quoted."""
    from ruamel.yaml.comments import CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

    if isinstance(value, dict):
        return new_map({k: to_yaml(v) for k, v in value.items()}, flow=flowable(value))
    if isinstance(value, list):
        out = CommentedSeq(to_yaml(v) for v in value)
        if all(inline(v) for v in value):
            out.fa.set_flow_style()
        return out
    if isinstance(value, str) and not hasattr(value, "style"):
        if "\n" in value and all(line.isprintable() for line in value.split("\n")):
            return LiteralScalarString(value)
        if ambiguous(value):
            return DoubleQuotedScalarString(value)
    return value


def inline(value: Any) -> bool:
    """Whether a value can sit in a flow collection: a scalar on one line."""
    return not isinstance(value, dict | list) and not (isinstance(value, str) and "\n" in value)


def flowable(value: dict) -> bool:
    """Short mappings of one-line scalars (and lists of them) read best on one line."""
    width = 2
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        if isinstance(item, dict) or not all(inline(i) for i in items):
            return False
        width += len(str(key)) + 4 + sum(len(str(i)) + 2 for i in items)
    return width <= 64


def round_trip_load(text: str, path: Path, doing: str, hint: str) -> Any:
    """The round-trip document of `text` (comments, quotes and order kept) for `doing`
    ("updating", "rewriting") the file at `path`; ConfigError naming the line otherwise."""
    try:
        _compose_checked(text, json_like_loader())
    except YamlError as error:
        raise ConfigError(f"{path}:{error.line}: {error.problem}.", error.hint) from None
    try:
        return writer().load(text)
    except Exception as error:  # ruamel.yaml's errors share no useful base class
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: cannot be read for {doing}: {error}.", hint) from None


def dump(doc) -> str:
    out = io.StringIO()
    writer().dump(doc, out)
    return out.getvalue()


def load_plain(text: str) -> Any:
    """The data as backworks reads it (PyYAML, YAML 1.1); YamlError when it is not YAML."""
    import yaml

    return _load_checked(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_json_like(text: str) -> Any:
    """The data of a document from elsewhere, read as a JSON reader would see it (see
    json_like_loader); YamlError when it is not YAML."""
    return _load_checked(text, json_like_loader())


def _load_checked(text: str, loader_class: Any) -> Any:
    """The one document in `text`, its aliases within the budget; YamlError otherwise."""
    import yaml

    loader = loader_class(text)
    try:
        _check_depth(text, loader_class)
        node = loader.get_single_node()
        _check_aliases(node, text)
        return None if node is None else _construct(loader, node)
    except yaml.YAMLError as error:
        raise _yaml_error(error) from None
    except RecursionError:
        raise _too_deep(text, loader_class) from None
    finally:
        loader.dispose()


def _compose_checked(text: str, loader_class: Any) -> Any:
    """The composed document of `text` (None when empty or not YAML, which is left for the
    reader that follows to report); YamlError when it nests too deep or its aliases are over
    the budget."""
    import yaml

    loader = loader_class(text)
    try:
        _check_depth(text, loader_class)
        node = loader.get_single_node()
        _check_aliases(node, text)
        return node
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()


def _yaml_error(error: Any) -> YamlError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or getattr(error, "context", None)
    if mark is None:
        return YamlError(str(error))
    return YamlError(problem or "invalid syntax", mark.line + 1, mark.column + 1)
