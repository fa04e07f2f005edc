"""Containment: handler files, worker programs and database files named in backworks.yaml
must lie inside the project folder (the one holding backworks.yaml); `..`, a symlink or an
absolute path that leaves it is a config error with its line, unless the block says
`allow_outside_project: true`. The real CLI refuses such a file with exit 3 and never runs the
handler."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from backworks_cli.config.load import load_config
from backworks_cli.config.schema import config_schema
from backworks_cli.core.errors import ConfigError, ExitCode
from backworks_cli.core.files import in_project
from tests.conftest import run_cli

# A handler that leaves a mark when it is imported, so a test can tell it never ran.
EVIL = 'import pathlib\npathlib.Path(__file__).with_suffix(".ran").write_text("ran")\n'
EVIL += "def handle(request):\n    return {'body': 'outside'}\n"


@pytest.fixture
def layout(tmp_path):
    """tmp/project (the project folder, with handlers/ok.py) and tmp/outside/evil.py."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    (project / "handlers").mkdir(parents=True)
    outside.mkdir()
    (outside / "evil.py").write_text(EVIL)
    (project / "handlers" / "ok.py").write_text("def handle(request):\n    return {}\n")
    return project, outside


def config_in(project: Path, endpoints: str) -> Path:
    path = project / "backworks.yaml"
    path.write_text("endpoints:\n" + textwrap.indent(textwrap.dedent(endpoints), "  "))
    return path


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.exit_code == ExitCode.CONFIG
    return caught.value


def runtime(handler: str, extra: str = "") -> str:
    return f"a:\n  path: /a\n  mode: runtime\n  runtime:\n    handler: {handler}\n{extra}"


# --- the rule ------------------------------------------------------------------------------


def test_in_project_follows_dot_dot_absolute_paths_and_symlinks(layout):
    project, outside = layout
    (project / "link.py").symlink_to(outside / "evil.py")
    (project / "linked_dir").symlink_to(outside)
    (project / "inner").symlink_to(project / "handlers")
    assert in_project(project, "handlers/ok.py") == (project / "handlers/ok.py", True)
    assert in_project(project, "handlers/../handlers/ok.py")[1]
    assert in_project(project, str(project / "handlers/ok.py"))[1]
    assert in_project(project, "inner/ok.py")[1]  # a symlink that stays inside
    assert in_project(project, "data/not-yet.sqlite")[1]  # a file still to be created
    assert not in_project(project, "../outside/evil.py")[1]
    assert not in_project(project, "handlers/../../outside/evil.py")[1]
    assert not in_project(project, str(outside / "evil.py"))[1]
    assert not in_project(project, "link.py")[1]
    assert not in_project(project, "linked_dir/evil.py")[1]
    assert not in_project(project, "linked_dir/new.sqlite")[1]
    assert not in_project(project, "~/x.py")[1] or Path.home() == project
    assert not in_project(project, "a\0b")[1]
    # A sibling whose name starts like the project's is not inside it.
    (project.parent / "project2").mkdir()
    assert not in_project(project, "../project2/x.py")[1]


# --- at load time, with the line -----------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "line", "key", "words"),
    [
        (runtime("../outside/evil.py"), 6, "endpoints.a.runtime.handler", "outside the project"),
        (runtime("handlers/../../outside/evil.py"), 6, "endpoints.a.runtime.handler", "outside"),
        (runtime("{outside}/evil.py"), 6, "endpoints.a.runtime.handler", "outside the project"),
        (runtime("link.py"), 6, "endpoints.a.runtime.handler", "by a symlink"),
        (runtime("linked_dir/evil.py"), 6, "endpoints.a.runtime.handler", "by a symlink"),
        (runtime('"a\\0b.py"'), 6, "endpoints.a.runtime.handler", "NUL character"),
        (
            "a:\n  path: /a\n  mode: runtime\n  runtime:\n    command: [../bin/worker, --fast]\n",
            6,
            "endpoints.a.runtime.command",
            '"../bin/worker" is outside',
        ),
        (
            "a:\n  path: /a\n  runtime:\n    language: command\n    command: ../bin/worker -x\n",
            6,
            "endpoints.a.runtime.command",
            '"../bin/worker" is outside',
        ),
        (
            "a:\n  path: /a\n  mode: database\n  database: {table: a, file: ../shared.sqlite}\n",
            5,
            "endpoints.a.database.file",
            '"../shared.sqlite" is outside',
        ),
        (
            "a:\n  path: /a\n  mode: database\n  database:\n    file: {outside}/db.sqlite\n",
            6,
            "endpoints.a.database.file",
            "outside the project",
        ),
        (
            "a:\n  path: /a\n  mode: database\n  database:\n    file: linked_dir/db.sqlite\n",
            6,
            "endpoints.a.database.file",
            "by a symlink",
        ),
    ],
)
def test_a_path_leaving_the_project_is_an_error_with_its_line(layout, endpoint, line, key, words):
    project, outside = layout
    (project / "link.py").symlink_to(outside / "evil.py")
    (project / "linked_dir").symlink_to(outside)
    path = config_in(project, endpoint.replace("{outside}", str(outside)))
    error = error_of(path)
    assert error.message.startswith(f"{path}:{line}: {key}: ")
    assert words in error.message
    assert "allow_outside_project: true" in error.hint


def test_every_path_that_leaves_is_listed(layout):
    project, _ = layout
    path = config_in(
        project,
        runtime("../outside/evil.py")
        + "b:\n  path: /b\n  mode: database\n  database: {file: ../b.sqlite}\n",
    )
    message = error_of(path).message
    assert "has 2 errors" in message
    assert f"{path}:6: endpoints.a.runtime.handler" in message
    assert f"{path}:10: endpoints.b.database.file" in message


@pytest.mark.parametrize(
    "endpoint",
    [
        runtime("handlers/ok.py"),
        runtime("./handlers/ok.py"),
        runtime("{project}/handlers/ok.py"),
        runtime("inner/ok.py"),
        runtime("handlers/missing.py"),  # inside; the mode says that it is missing
        # Inline node code, as the original Backworks blueprints write it, is not a path.
        'a:\n  path: /a\n  runtime:\n    language: node\n    handler: "/* hi */ function '
        'handler(req) { return {status: 200}; }"\n',
        "a:\n  path: /a\n  runtime:\n    language: node\n    handler: |\n"
        "      function handler(req) {\n        return { body: '../../x' };\n      }\n",
        "a:\n  path: /a\n  runtime: {command: [dotnet, run, --project, ../Users]}\n",
        "a:\n  path: /a\n  runtime: {command: [/usr/bin/env, node, w.js]}\n",
        "a:\n  path: /a\n  runtime: {command: [./handlers/worker]}\n",
        "a:\n  path: /a\n  mode: database\n  database: {file: data/app.sqlite}\n",
        "a:\n  path: /a\n  mode: database\n  database: {}\n",
        # The opt-in, on the block that names the path.
        runtime("../outside/evil.py", "    allow_outside_project: true\n"),
        runtime("{outside}/evil.py", "    allow_outside_project: true\n"),
        "a:\n  path: /a\n  runtime: {command: [../bin/w], allow_outside_project: true}\n",
        "a:\n  path: /a\n  database: {file: ../shared.sqlite, allow_outside_project: true}\n",
    ],
)
def test_paths_inside_the_project_or_allowed_outside_load(layout, endpoint):
    project, outside = layout
    (project / "inner").symlink_to(project / "handlers")
    text = endpoint.replace("{outside}", str(outside)).replace("{project}", str(project))
    config = load_config(config_in(project, text))
    assert list(config.endpoints) == ["a"]


def test_the_opt_in_must_be_true_or_false(layout):
    project, _ = layout
    error = error_of(config_in(project, runtime("h.py", "    allow_outside_project: yes sir\n")))
    assert ":7: endpoints.a.runtime.allow_outside_project: expected true or false" in error.message


def test_the_opt_in_of_one_block_does_not_open_another(layout):
    project, _ = layout
    text = runtime("../outside/evil.py", "    allow_outside_project: true\n")
    text += "  database: {file: ../a.sqlite}\n"
    error = error_of(config_in(project, text))
    assert "endpoints.a.database.file" in error.message
    assert "runtime.handler" not in error.message


def test_the_project_folder_is_that_of_the_file_not_the_current_one(layout, monkeypatch):
    project, outside = layout
    path = config_in(project, runtime("handlers/ok.py"))
    monkeypatch.chdir(outside)
    assert load_config(Path(os.path.relpath(path))).endpoints["a"]["runtime"]["handler"]
    error = error_of(config_in(project, runtime("../outside/evil.py")))
    assert str(project) in error.message


def test_the_schema_documents_the_opt_in():
    endpoint = config_schema()["$defs"]["endpoint"]["properties"]
    for block in ("runtime", "database"):
        key = endpoint[block]["properties"]["allow_outside_project"]
        assert key["type"] == "boolean" and key["default"] is False
        assert "project folder" in key["description"]


# --- the real CLI --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    # Port 0: were a command to start anyway, it would bind a port of its own, clashing with none.
    [["modes"], ["mock", "--port", "0"], ["serve", "--listen", "127.0.0.1:0"]],
    ids=["modes", "mock", "serve"],
)
def test_every_command_refuses_a_handler_outside_and_never_runs_it(layout, command):
    project, outside = layout
    config_in(project, runtime("../outside/evil.py"))
    result = run_cli(*command, "-c", "backworks.yaml", cwd=project)
    assert result.returncode == ExitCode.CONFIG == 3, result.stderr
    assert "backworks.yaml:6: endpoints.a.runtime.handler" in result.stderr
    assert "outside the project folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (outside / "evil.ran").exists()
