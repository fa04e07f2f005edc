"""Promotion: move endpoints of backworks.yaml to another mode.

`promote` rewrites the file in place and changes as little as it can: the endpoint's `mode:`,
plus the new mode's block when the endpoint has none yet. Blocks of modes an endpoint has left
stay where they are, so promoting back restores the earlier behaviour and a promotion there and
back leaves the file byte-identical. The file is parsed with ruamel.yaml's round-trip loader for
the position of every key; the edit replaces the mode's value and inserts the block's lines at
the end of the endpoint, indented as that endpoint is, so every other byte of the file stays as
written. A layout the line edit cannot handle (an endpoint in flow style) is re-dumped through
ruamel.yaml with the file's own indentation instead. Either way the result is read back and
compared with the intended data before anything is written.

Writing is guarded: the file must still hold the bytes read at the start, it is replaced
atomically, and scaffolds (runtime handlers) never overwrite a file.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from backworks_cli.config.load import load_config
from backworks_cli.config.model import (
    DEFAULT_CONFIG,
    DEFAULT_MODE,
    MODES,
    Config,
    Endpoint,
    make_endpoint,
)
from backworks_cli.config.yamledit import ModeEdit, dump_edit, line_edit, reads_as
from backworks_cli.config.yamlfile import load_plain, round_trip_load
from backworks_cli.core.errors import BackworksError, ConfigError, ExitCode
from backworks_cli.core.files import disk_full, full, replacing
from backworks_cli.evolve.scaffold import EXTENSIONS, LANGUAGES, Examples, Scaffold, scaffold_for

HANDLERS_DIR = "handlers"
DATABASE_FILE = "data/backworks.sqlite"
DEFAULT_ROWS = 50
BLOCK_MODES = ("proxy", "runtime", "database")  # modes that need a block of their own
SHOWN_NAMES = 20  # endpoint names an error lists before "and N more"
_BOM = b"\xef\xbb\xbf"
_UPSTREAM = re.compile(r"^https?://[^\s/?#]+([/?#]\S*)?$")
_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(frozen=True)
class Change:
    """One endpoint's promotion: `detail` names what backs it now (handler, upstream, table)."""

    endpoint: str
    before: str
    after: str
    detail: str | None = None

    def render(self) -> str:
        text = f"{self.endpoint}: {self.before} -> {self.after}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True)
class PromoteResult:
    diff: str  # unified diff of backworks.yaml, "" when nothing changes
    changes: tuple[Change, ...]
    files: tuple[Path, ...]  # files created (handlers); none on a dry run
    notes: tuple[str, ...]  # what the user should know: kept blocks, placeholders, tables
    written: bool


@dataclass
class Plan:
    """A computed promotion, not yet written: `apply` writes it if the file is unchanged."""

    path: Path
    old: bytes
    mtime_ns: int
    new: bytes
    diff: str
    changes: list[Change]
    scaffolds: list[Scaffold]
    provision: list[str]  # endpoints whose database table is created on apply
    config: Config  # the configuration as it will be after the write
    rows: int
    notes: list[str] = field(default_factory=list)

    def result(self, files: tuple[Path, ...] = (), written: bool = False) -> PromoteResult:
        return PromoteResult(self.diff, tuple(self.changes), files, tuple(self.notes), written)


# --- promote ---------------------------------------------------------------------------------


def promote(
    config_path: Path | None,
    names: list[str] | Literal["all"],
    to: str,
    *,
    upstream: str | None = None,
    language: str = "python",
    rows: int = DEFAULT_ROWS,
    dry_run: bool = False,
) -> PromoteResult:
    """Move the named endpoints (or "all") to mode `to`; with dry_run only the diff is made."""
    plan = plan_promotion(config_path, names, to, upstream=upstream, language=language, rows=rows)
    return plan.result() if dry_run else apply(plan)


def plan_promotion(
    config_path: Path | None,
    names: list[str] | Literal["all"],
    to: str,
    *,
    upstream: str | None = None,
    language: str = "python",
    rows: int = DEFAULT_ROWS,
) -> Plan:
    """Read backworks.yaml and compute the promotion: the new text, the scaffolds and the
    changes. Nothing is written."""
    path = Path(config_path or DEFAULT_CONFIG)
    if to not in MODES:
        raise BackworksError(
            f"Unknown mode {to!r}.", f"Use one of {', '.join(MODES)}.", exit_code=ExitCode.USAGE
        )
    if language not in LANGUAGES:
        raise BackworksError(
            f"Unknown handler language {language!r}.",
            f"Use one of {', '.join(LANGUAGES)}.",
            exit_code=ExitCode.USAGE,
        )
    if rows < 0:
        raise BackworksError(f"--rows must be 0 or more, not {rows}.", exit_code=ExitCode.USAGE)
    old, mtime_ns = _read_bytes(path)
    config = load_config(path)
    bom = old.startswith(_BOM)
    text = old[len(_BOM) :].decode("utf-8") if bom else old.decode("utf-8")
    chosen = _resolve_names(config, names, path)
    doc = round_trip_load(text, path, "rewriting", _REWRITE_HINT)
    _check_nodes(doc, chosen, path)

    folder = path.absolute().parent
    edits: list[ModeEdit] = []
    changes: list[Change] = []
    scaffolds: list[Scaffold] = []
    notes: list[str] = []
    provision: list[str] = []
    examples = Examples(config)
    try:
        for name in chosen:
            spec = config.endpoints[name]
            before = spec.get("mode", DEFAULT_MODE)
            block = spec.get(to) if to in BLOCK_MODES else None
            new_block = None
            if to in BLOCK_MODES and not isinstance(block, dict):
                new_block = _new_block(to, name, config, path, upstream, language, rows)
            elif before == to:
                notes.append(f"{name} is already in mode {to}.")
                continue
            elif to in BLOCK_MODES:
                notes.append(f"{name}: kept its {to} block as written.")
            current = new_block if new_block is not None else block
            endpoint = make_endpoint(name, spec, mock=config.mock, replay=config.replay)
            if to == "runtime":
                scaffold = scaffold_for(current, endpoint, folder, examples, notes)
                if scaffold is not None:
                    scaffolds.append(scaffold)
            if to == "database":
                provision.append(name)
            edits.append(ModeEdit(name, to, new_block))
            changes.append(Change(name, before, to, _detail(to, current, config)))
    finally:
        examples.close()

    new_text = _rewrite(text, doc, edits, path) if edits else text
    new = (_BOM if bom else b"") + new_text.encode("utf-8")
    diff = "".join(
        difflib.unified_diff(
            text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"{path} (before)",
            tofile=f"{path} (after)",
        )
    )
    if diff and not diff.endswith("\n"):
        diff += "\n"
    new_config = replace(config, endpoints=_endpoints_of(new_text) if edits else config.endpoints)
    return Plan(
        path, old, mtime_ns, new, diff, changes, scaffolds, provision, new_config, rows, notes
    )


def apply(plan: Plan) -> PromoteResult:
    """Write a plan: handlers first (never over an existing file), then database tables, then
    backworks.yaml atomically; refused when the file changed since the plan read it."""
    if plan.new == plan.old and not plan.scaffolds and not plan.provision:
        return plan.result(written=False)
    _check_unchanged(plan)
    created: list[Path] = []
    try:
        for scaffold in plan.scaffolds:
            if _create(scaffold):
                created.append(scaffold.path)
            else:
                plan.notes.append(f"Kept {scaffold.path}, which appeared meanwhile.")
        for name in plan.provision:
            plan.notes.append(_provision(plan, name))
        if plan.new != plan.old:
            _write_atomically(plan)
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise
    return plan.result(tuple(created), written=True)


# --- reading and checking --------------------------------------------------------------------


def _read_bytes(path: Path) -> tuple[bytes, int]:
    try:
        return path.read_bytes(), path.stat().st_mtime_ns
    except OSError as error:
        load_config(path)  # its message names the usual problems: missing, a folder...
        raise ConfigError(
            f"{path}: cannot be read ({error.strerror or error}).",
            "Check the file's permissions.",
        ) from None


def _resolve_names(config: Config, names: list[str] | Literal["all"], path: Path) -> list[str]:
    known = list(config.endpoints)
    if not known:
        raise ConfigError(
            f"{path} has no endpoints to promote.",
            "Run `backworks infer` to learn endpoints from recordings, or add them under "
            "`endpoints:`.",
        )
    if names == "all":
        return known
    if not names:
        raise BackworksError(
            "Name the endpoint(s) to promote, or pass --all.",
            f"Endpoints in {path}: {_listing(known)}.",
            exit_code=ExitCode.USAGE,
        )
    for name in names:
        if name not in config.endpoints:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            guess = f"; did you mean {_alternatives(close)}?" if close else "."
            raise BackworksError(
                f"No endpoint named {name!r} in {path}{guess}",
                f"Endpoints: {_listing(known)} (`backworks modes` lists them with their paths).",
                exit_code=ExitCode.USAGE,
            )
    return list(dict.fromkeys(names))


def _alternatives(names: list[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return f"{shown} and {more} more" if more > 0 else shown


def _check_nodes(doc: Any, chosen: list[str], path: Path) -> None:
    """Each endpoint must be its own node under the same name for both YAML readers; one
    written as *alias of another shares its node, so editing one would edit both."""
    endpoints = doc["endpoints"]
    for name in chosen:
        if name not in endpoints:
            raise ConfigError(
                f"{path}: the endpoint name {name} reads differently in YAML 1.1 and 1.2.",
                f'Quote the name in {path}: "{name}":',
            )
        for other in endpoints:
            if other != name and endpoints[other] is endpoints[name]:
                raise ConfigError(
                    f"{path}: endpoints {name} and {other} are one YAML node (an &anchor and "
                    f"its *alias), so {name} cannot change mode alone.",
                    f"Write {name} out in full (or use `<<: *anchor` to merge and override).",
                )


def _check_unchanged(plan: Plan) -> None:
    try:
        now, mtime_ns = plan.path.read_bytes(), plan.path.stat().st_mtime_ns
    except OSError:
        now, mtime_ns = None, None
    if now != plan.old or mtime_ns != plan.mtime_ns:
        raise ConfigError(
            f"{plan.path} changed on disk while it was being promoted; nothing was written.",
            "Run the promotion again, on the file as it is now.",
        )


# --- blocks ----------------------------------------------------------------------------------


def _new_block(
    to: str,
    name: str,
    config: Config,
    path: Path,
    upstream: str | None,
    language: str,
    rows: int,
) -> dict:
    if to == "proxy":
        url = upstream or config.upstream
        if not url:
            raise BackworksError(
                f"{name} cannot be promoted to proxy: no upstream to forward to.",
                f"Pass --upstream https://api.example.com, or set `upstream:` at the top of "
                f"{path}.",
                exit_code=ExitCode.USAGE,
            )
        if not _UPSTREAM.match(url):
            raise BackworksError(
                f"--upstream {url!r} is not an http:// or https:// URL.",
                "Give the base URL of the API, e.g. https://api.example.com.",
                exit_code=ExitCode.USAGE,
            )
        return {"upstream": url, "record": False}
    if to == "runtime":
        if language == "command":
            return {"language": "command", "command": [f"./{HANDLERS_DIR}/{name}"]}
        return {"language": language, "handler": f"{HANDLERS_DIR}/{name}.{EXTENSIONS[language]}"}
    endpoint = make_endpoint(name, config.endpoints[name])
    return {
        "file": DATABASE_FILE,
        "table": table_name(endpoint),
        "primary_key": primary_key(endpoint),
        "rows": rows,
    }


def _detail(to: str, block: Any, config: Config) -> str | None:
    block = block if isinstance(block, dict) else {}
    if to == "runtime":
        if block.get("language") == "command":
            return "command " + " ".join(str(a) for a in block.get("command") or [])
        return f"handler {block.get('handler')}"
    if to == "proxy":
        return "upstream " + (upstreams(block) or config.upstream or "none")
    if to == "database":
        return f"table {block.get('table')} in {block.get('file', DATABASE_FILE)}"
    return None


def upstreams(block: dict) -> str:
    many = block.get("upstreams")
    if isinstance(many, list) and many:
        return ", ".join(str(u.get("url") if isinstance(u, dict) else u) for u in many)
    return str(block["upstream"]) if block.get("upstream") else ""


def table_name(endpoint: Endpoint) -> str:
    """The collection a path is about: /api/users/{id} -> users, /order-items -> order_items."""
    segments = [s for s in endpoint.path.strip("/").split("/") if s]
    if segments and "{" in segments[-1]:
        segments = segments[:-1]
    literals = [s for s in segments if "{" not in s]
    name = _IDENTIFIER.sub("_", (literals[-1] if literals else "items").lower()).strip("_")
    name = name or "items"
    return f"t_{name}" if name[0].isdigit() else name


def primary_key(endpoint: Endpoint) -> str:
    """The id field of the endpoint's items, from its response (or request) schema."""
    from backworks_cli.answer.modes.mock import id_param, pick_status

    _, answer = pick_status(endpoint)
    fields = _item_fields((answer or {}).get("schema"))
    if not fields and endpoint.request:
        fields = _item_fields(endpoint.request.get("schema"))
    param = id_param(endpoint)
    singular = table_name(endpoint)
    singular = singular[:-3] + "y" if singular.endswith("ies") else singular.removesuffix("s")
    for candidate in ("id", param, f"{singular}_id", f"{singular}Id", "uuid"):
        if candidate and candidate in fields:
            return candidate
    for name, schema in fields.items():
        semantic = schema.get("x-semantic") if isinstance(schema, dict) else None
        if name.lower().endswith("id") and semantic in ("integer_id", "uuid"):
            return name
    return param or "id"


def _item_fields(schema: Any) -> dict:
    """Properties of one item: of an object, of an array's items, or of an envelope's list."""
    if not isinstance(schema, dict):
        return {}
    if isinstance(schema.get("items"), dict):
        return _item_fields(schema["items"])
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    if "id" not in properties:
        from backworks_cli.answer.state import ENVELOPE_KEYS

        for key in ENVELOPE_KEYS:
            inner = properties.get(key)
            if isinstance(inner, dict) and isinstance(inner.get("items"), dict):
                return _item_fields(inner["items"])
    return properties


def _provision(plan: Plan, name: str) -> str:
    """Create and seed the endpoint's table from the recordings, a one-line summary."""
    from backworks_cli.answer.seeding import provision

    config = plan.config
    endpoint = make_endpoint(name, config.endpoints[name], mock=config.mock, replay=config.replay)
    store_path = config.recordings.path
    if not store_path.exists():
        return provision(endpoint, config, None, plan.rows)
    from backworks_cli.record.store import Store

    with Store.open(store_path) as store:
        return provision(endpoint, config, store, plan.rows)


_REWRITE_HINT = "Fix the YAML there; backworks reads the file but cannot edit it as it is."


# --- the YAML edit ---------------------------------------------------------------------------


def _rewrite(text: str, doc: Any, edits: list[ModeEdit], path: Path) -> str:
    """The text with the edits made: line edits when the layout allows, else a ruamel.yaml
    dump in the file's indentation; either result must read back as the intended data."""
    expected = load_plain(text)
    for edit in edits:
        spec = expected["endpoints"][edit.name]
        spec["mode"] = edit.mode
        if edit.block is not None:
            spec[edit.mode] = copy.deepcopy(edit.block)
    new = line_edit(text, doc, edits)
    if new is not None and reads_as(new, expected):
        return new
    new = dump_edit(text, doc, edits)
    if reads_as(new, expected):
        return new
    raise ConfigError(
        f"{path}: cannot change the mode of {', '.join(e.name for e in edits)} without "
        "changing other settings (anchors, aliases or merge keys share its nodes).",
        "Write the endpoint out in full, without &anchor/*alias, or change `mode:` by hand.",
    )


def _endpoints_of(text: str) -> dict:
    """`endpoints:` of the text as Config holds them (names as strings, methods upper case)."""
    endpoints = load_plain(text).get("endpoints") or {}
    out = {}
    for name, spec in endpoints.items():
        spec = dict(spec)
        if "methods" in spec:
            spec["methods"] = list(dict.fromkeys(str(m).upper() for m in spec["methods"]))
        out[str(name)] = spec
    return out


# --- writing ---------------------------------------------------------------------------------


def _create(scaffold: Scaffold) -> bool:
    """Write a new file; False when one is there already."""
    try:
        scaffold.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            out = open(scaffold.path, "x", encoding="utf-8", newline="\n")  # noqa: SIM115
        except FileExistsError:
            return False
        with out:
            out.write(scaffold.text)
        if scaffold.executable:
            mode = scaffold.path.stat().st_mode
            scaffold.path.chmod(mode | ((mode & 0o444) >> 2))
    except OSError as error:
        if why := full(error):
            raise disk_full(scaffold.path, why, ConfigError) from None
        raise ConfigError(
            f"Cannot write the handler {scaffold.path}: {error.strerror or error}.",
            "Check the permissions of its folder.",
        ) from None
    return True


def _write_atomically(plan: Plan) -> None:
    path = plan.path
    try:
        with replacing(path, check=lambda: _check_unchanged(plan)) as out:
            out.write(plan.new)
    except OSError as error:
        if why := full(error):
            raise disk_full(path, why, ConfigError) from None
        raise ConfigError(
            f"Cannot write {path}: {error.strerror or error}; it is unchanged.",
            "Check the permissions of the file and its folder.",
        ) from None
