"""The package's layout rules, read from every import statement with `ast`.

The rules are written in backworks_cli/__init__.py; this test is what holds the code to them.
Every import counts: top-level, lazy (inside a function) and under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "backworks_cli"

# Layers, lowest first: a module may import its own layer and those below it.
LAYERS = ("core", "config", "record", "learn", "answer", "evolve", "host", "top")
TOP = {"cli", "__main__", "demo"}

# Each third-party library, and the only modules allowed to import it.
OWNERS = {
    "mitmproxy": {
        "record.capture",
        "host.runner",
        "host.mitm_http1",
        "host.capture_proxy",
        "host.serve_proxy",
        "host.certs",
    },
    "ruamel": {"config.yamlfile"},
    "yaml": {"config.yamlfile"},
    "genson": {"learn.schemas"},
    "onnxruntime": {"learn.semantic"},
    "textual": {"dashboard"},
    "sqlite_utils": {"record.store_schema", "answer.tables"},
    "faker": {"learn.generate", "learn.generation"},
    "hypothesis": {"learn.generation.edges"},
    "hypothesis_jsonschema": {"learn.generation.edges"},
    "typer": {"cli"},
    "detect_secrets": {"record.detectors"},
    "ahocorasick_rs": {"record.detectors"},
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, name: str, is_package: bool) -> list[tuple[str, int]]:
    """(imported name relative to the package, or 'ext:<library>', line) for each import."""
    found: list[tuple[str, int]] = []
    here = name.split(".") if name else []
    if not is_package:
        here = here[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                module = ".".join(["backworks_cli", *base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            targets = [(module, [alias.name for alias in node.names])]
        else:
            continue
        for module, names in targets:
            if module == "backworks_cli" or module.startswith("backworks_cli."):
                inner = module.removeprefix("backworks_cli").lstrip(".")
                for sub in names or [None]:
                    candidate = f"{inner}.{sub}".lstrip(".") if sub else inner
                    found.append((candidate, node.lineno))
            else:
                found.append(("ext:" + module.split(".")[0], node.lineno))
    return found


def resolve(candidate: str, modules: set[str]) -> str:
    """The module an imported name lives in: `a.b.c` is module `a.b` when `c` is a name in it."""
    while candidate and candidate not in modules:
        candidate = candidate.rpartition(".")[0]
    return candidate


def layer(module: str) -> str:
    head = module.split(".")[0]
    if module == "" or head in ("core",):
        return "core"
    if head in TOP:
        return "top"
    return head


def graph(root: Path) -> tuple[dict[str, list[tuple[str, int]]], dict[str, list[tuple[str, int]]]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    modules = set(files)
    inner: dict[str, list[tuple[str, int]]] = {}
    outer: dict[str, list[tuple[str, int]]] = {}
    for name, path in files.items():
        found = imports_of(path.read_text(), name, path.name == "__init__.py")
        inner[name] = [(resolve(c, modules), line) for c, line in found if not c.startswith("ext:")]
        outer[name] = [(c[4:], line) for c, line in found if c.startswith("ext:")]
    return inner, outer


def problems(root: Path) -> list[str]:
    inner, outer = graph(root)
    found: list[str] = []
    for name, targets in sorted(inner.items()):
        where = name or "__init__"
        for target, line in targets:
            if target == name:
                continue
            if target == "cli" and name != "__main__":
                found.append(f"{where}:{line} imports cli: nothing below cli.py imports it")
                continue
            if name.startswith("dashboard"):
                if layer(target) != "core" and not target.startswith("dashboard"):
                    found.append(
                        f"{where}:{line} imports {target}: the dashboard imports core only"
                    )
                continue
            if target.startswith("dashboard") and layer(name) != "top":
                found.append(
                    f"{where}:{line} imports {target}: only cli and demo start the dashboard"
                )
                continue
            if target.startswith("dashboard"):
                continue
            mine, theirs = LAYERS.index(layer(name)), LAYERS.index(layer(target))
            if theirs > mine:
                found.append(
                    f"{where}:{line} imports {target}: {layer(name)} may not import "
                    f"{layer(target)}, a layer above it"
                )
        for library, line in outer[name]:
            owners = OWNERS.get(library)
            if owners and not any(name == o or name.startswith(o + ".") for o in owners):
                found.append(
                    f"{where}:{line} imports {library}: only {', '.join(sorted(owners))} may"
                )
    found.extend(cycles(inner))
    return found


def cycles(inner: dict[str, list[tuple[str, int]]]) -> list[str]:
    """Each import cycle between modules once, as `a -> b -> a`."""
    edges = {n: sorted({t for t, _ in ts if t != n and t in inner}) for n, ts in inner.items()}
    # A package's __init__ is reached by importing anything below it; only edges that name
    # the package itself count, so a package is not in a cycle with its own modules.
    seen_cycles: set[tuple[str, ...]] = set()
    state: dict[str, int] = {}
    stack: list[str] = []
    out: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                loop = stack[stack.index(nxt) :]
                turn = loop.index(min(loop))
                key = tuple(loop[turn:] + loop[:turn])
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    out.append("import cycle: " + " -> ".join([*key, key[0]]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return out


def test_the_package_keeps_its_layout_rules():
    assert problems(PACKAGE) == []


def test_every_wing_says_what_it_owns_and_may_import():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.split()) >= 25, f"{init.parent.name}/__init__.py needs its paragraph"
        assert "import" in doc, f"{init.parent.name}/__init__.py must say what it may import"


def fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "backworks_cli"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    for folder in {p.parent for p in root.rglob("*.py")} | {root}:
        (folder / "__init__.py").touch()
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "core/paths.py": "def f():\n    from backworks_cli.answer import engine\n",
                "answer/engine.py": "",
            },
            "core.paths:2 imports answer.engine: core may not import answer, a layer above it",
        ),
        (
            {
                "record/store.py": "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from backworks_cli.host.stats import Row\n",
                "host/stats.py": "",
            },
            "record.store:3 imports host.stats: record may not import host, a layer above it",
        ),
        (
            {
                "answer/a.py": "from backworks_cli.answer import b\n",
                "answer/b.py": "from . import a\n",
            },
            "import cycle: answer.a -> answer.b -> answer.a",
        ),
        (
            {"host/mock.py": "from backworks_cli.cli import main\n", "cli.py": ""},
            "host.mock:1 imports cli: nothing below cli.py imports it",
        ),
        (
            {
                "dashboard/app.py": "from backworks_cli.config.model import Config\n",
                "config/model.py": "",
            },
            "dashboard.app:1 imports config.model: the dashboard imports core only",
        ),
        (
            {"learn/infer.py": "import ruamel.yaml\n"},
            "learn.infer:1 imports ruamel: only config.yamlfile may",
        ),
        (
            {"answer/modes/__init__.py": "from ..engine import Router\n", "answer/engine.py": ""},
            None,
        ),
    ],
)
def test_a_broken_rule_is_reported(tmp_path, files, expected):
    found = problems(fake_package(tmp_path, files))
    if expected is None:
        assert found == []
    else:
        assert expected in found, found
