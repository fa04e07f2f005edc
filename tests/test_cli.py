"""The command line as a user meets it: start-up cost, help on every command, README coverage."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("mitmproxy", "textual", "onnxruntime", "hypothesis", "genson", "sqlite_utils", "faker")


def run(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "backworks_cli", *args], capture_output=True, text=True, **kwargs
    )


def command_paths():
    """Every command and sub-command, as the words a user types."""
    from typer.main import get_command

    from backworks_cli.cli import app

    def walk(group, prefix):
        for name, command in group.commands.items():
            path = [*prefix, name]
            if hasattr(command, "commands"):
                yield from walk(command, path)
            else:
                yield path, command

    return list(walk(get_command(app), []))


def test_help_loads_no_heavy_module():
    code = (
        "import sys\n"
        "from backworks_cli.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "import json\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    loaded = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


@pytest.mark.parametrize("path", [p for p, _ in command_paths()], ids=" ".join)
def test_every_command_has_help_and_is_in_readme(path):
    commands = dict((tuple(p), c) for p, c in command_paths())
    command = commands[tuple(path)]
    assert command.help, f"`backworks {' '.join(path)}` has no help text"
    for param in command.params:
        if param.param_type_name == "option" and param.name != "help":
            assert param.help, f"option {param.opts} of `{' '.join(path)}` has no help"
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"backworks {' '.join(path)}\b", readme), f"README lacks `backworks {path}`"


def test_no_arguments_shows_usage():
    result = run()
    assert "Usage" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error():
    result = run("nonsense")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_version():
    from backworks_cli import __version__

    result = run("version")
    assert result.returncode == 0
    assert result.stdout.strip() == __version__
