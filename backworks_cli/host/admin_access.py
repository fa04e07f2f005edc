"""Who may use the admin API: its bearer token, where it listens, and the checks that keep
other machines and web pages out.

The token is generated at start (secrets.token_urlsafe) unless one is given (--admin-token or
BACKWORKS_ADMIN_TOKEN), printed once, and written to `admin.token` (mode 0600) next to the
store, where `backworks dashboard` finds it. Hosts sharing a store folder (a mock and a
capture, say) each keep a line of that file, newest last; a clean stop removes its own line,
and the dashboard sends the token its host accepts.

admin.answer applies these rules to every admin request, in this order:

- on a host's main port the admin API answers clients on this machine's loopback only; other
  machines reach it only on an address named with --admin-listen;
- Host must be an IP literal, localhost (or a name under .localhost), an address the host was
  told to listen on, or this machine's name: a page whose own name resolves to 127.0.0.1
  (DNS rebinding) is refused;
- Origin, when sent, must name the same host and port as Host;
- every method but GET and HEAD needs `Authorization: Bearer TOKEN`, and so does every request
  on an admin address other machines can reach; a token sent where none is needed must match
  too;
- every method but GET and HEAD takes `Content-Type: application/json` only, which neither a
  form nor a no-preflight fetch of another site can send; CORS is never answered.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from backworks_cli.core.errors import BackworksError, ExitCode

ENV_TOKEN = "BACKWORKS_ADMIN_TOKEN"
TOKEN_FILE = "admin.token"
TOKENS_KEPT = 8  # lines of the token file: hosts sharing a store folder, newest last
MIN_TOKEN_LENGTH = 16  # a given token shorter than this is refused: it guards backworks.yaml
READ_ONLY = frozenset({"GET", "HEAD"})  # methods that change nothing
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
_TOKEN_TEXT = re.compile(r"[\x21-\x7e]+")  # what fits in a header without quoting

# (status, JSON body, extra headers) of a refused admin request.
Refusal = tuple[int, dict, list[tuple[bytes, bytes]]]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) is this machine's loopback only."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _ip(name)
    if address is not None:
        return address.is_loopback
    try:
        found = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = [_ip(str(info[4][0])) for info in found]
    return bool(addresses) and all(a is not None and a.is_loopback for a in addresses)


def shown(host: str, port: int) -> str:
    """host:port as a user writes it; port 0, said before the host has bound one, as such."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{where} (a free port)" if port == 0 else where


def exposure_warning(what: str, host: str, port: int, exposes: str) -> str | None:
    """The warning for `what` listening on host:port when other machines can reach it, naming
    what they get (`exposes`); None on loopback."""
    if is_loopback(host):
        return None
    return (
        f"Warning: {what} listens on {shown(host, port)}, which other machines can reach: {exposes}"
    )


def token_file(store_path: Path) -> Path:
    """Where a host whose store is `store_path` writes its admin token."""
    return Path(store_path).parent / TOKEN_FILE


def check_token(token: str) -> str:
    """A given token, or a usage error when it is too short or does not fit in a header."""
    if len(token) < MIN_TOKEN_LENGTH or not _TOKEN_TEXT.fullmatch(token):
        raise BackworksError(
            f"The admin token (--admin-token or {ENV_TOKEN}) must be at least "
            f"{MIN_TOKEN_LENGTH} printable characters without spaces.",
            "Leave it out to have one generated at start, or make one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe())'`.",
            exit_code=ExitCode.USAGE,
        )
    return token


def read_token_file(path: Path) -> str | None:
    """The newest token in a token file; None when there is none."""
    tokens = read_tokens(path)
    return tokens[-1] if tokens else None


def read_tokens(path: Path) -> list[str]:
    """The tokens in a token file, one per line, oldest first."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hosts starting and stopping together take turns at the token file."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _split_host(value: str) -> tuple[str, int | None]:
    """A Host header (or an origin's netloc) as (lower-case name, port or None)."""
    value = value.strip().lower()
    port = ""
    if value.startswith("["):
        end = value.find("]")
        name, rest = (value[1:end], value[end + 1 :]) if end > 0 else (value, "")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        name, _, port = value.partition(":")
    else:
        name = value
    number = int(port) if port.isascii() and port.isdigit() and len(port) <= 5 else None
    return name.rstrip("."), number


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


@dataclass
class AdminAccess:
    """One host's admin credentials and the addresses it answers for (see the module
    docstring). `listen` is the admin API's own address, when it has one beside the host's
    main port; `hosts` are the host's other addresses."""

    token: str
    listen: tuple[str, int] | None = None
    hosts: tuple[str, ...] = ()
    given: bool = False  # the token came from --admin-token or the environment
    file: Path | None = None  # where the token is written for `backworks dashboard`
    _names: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        named = {h.strip("[]").lower().rstrip(".") for h in self.hosts}
        if self.listen is not None:
            named.add(self.listen[0].strip("[]").lower().rstrip("."))
        with contextlib.suppress(OSError):
            named.add(socket.gethostname().lower())
        self._names = frozenset(named - WILDCARDS)

    @classmethod
    def create(
        cls,
        token: str | None = None,
        *,
        listen: tuple[str, int] | None = None,
        hosts: tuple[str, ...] = (),
        file: Path | None = None,
    ) -> AdminAccess:
        """The access of a starting host: `token` checked when given, else a new one."""
        if token is None:
            return cls(secrets.token_urlsafe(32), listen, hosts, False, file)
        return cls(check_token(token), listen, hosts, True, file)

    @property
    def exposed(self) -> bool:
        """Whether the admin API has an address of its own that other machines can reach."""
        return self.listen is not None and not is_loopback(self.listen[0])

    # -- the checks ---------------------------------------------------------------------------

    def refuse_origin(self, scope: dict, main_port: bool) -> Refusal | None:
        """Why a request may not reach the admin API at all, whatever it asks for: another
        machine on a main port, a Host that is not this host's, an Origin of another site."""
        if main_port:
            client = scope.get("client")
            address = _ip(str(client[0])) if client else None
            if address is None or not address.is_loopback:
                return (
                    403,
                    {
                        "error": "on this port the admin API answers loopback clients only "
                        "(127.0.0.1, ::1)",
                        "hint": "Start the host with --admin-listen HOST:PORT to serve the admin "
                        "API where other machines reach it (every route then needs the token).",
                    },
                    [],
                )
        host = _header(scope, b"host")
        if host is not None and not self._known_host(_split_host(host)[0]):
            return (
                403,
                {
                    "error": f"Host {host!r} is not an address of this admin API",
                    "hint": "Use 127.0.0.1, localhost or the address it listens on; other names "
                    "are refused so that a web page cannot reach it through DNS rebinding.",
                },
                [],
            )
        origin = _header(scope, b"origin")
        if origin is not None and not _same_origin(origin, host):
            return (
                403,
                {
                    "error": f"cross-site request refused (Origin {origin!r})",
                    "hint": "The admin API answers no web page of another site, and no CORS.",
                },
                [],
            )
        return None

    def refuse_request(self, scope: dict, main_port: bool) -> Refusal | None:
        """Why this request may not be answered: the token it lacks, or (for a method that
        may change something) a body that is not declared JSON."""
        changes = scope["method"] not in READ_ONLY
        given = _header(scope, b"authorization")
        # A token sent is checked even where none is needed, so a wrong one is never taken.
        if changes or (self.exposed and not main_port) or given is not None:
            problem = self._token_problem(given)
            if problem is not None:
                return (
                    401,
                    {"error": problem, "hint": self.token_hint()},
                    [(b"www-authenticate", b'Bearer realm="backworks admin"')],
                )
        if changes:
            ctype = _header(scope, b"content-type") or ""
            if ctype.split(";")[0].strip().lower() != "application/json":
                return (
                    415,
                    {
                        "error": f"{scope['method']} to the admin API takes Content-Type: "
                        f"application/json only, not {ctype or 'none'!r}",
                        "hint": "Send a JSON object ({} when there is nothing to say).",
                    },
                    [],
                )
        return None

    def _token_problem(self, value: str | None) -> str | None:
        if not value:
            return "this admin request needs the admin token"
        scheme, _, credential = value.strip().partition(" ")
        given = credential.strip().encode("latin-1", "replace")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given, self.token.encode()):
            return "the admin token does not match"
        return None

    def token_hint(self) -> str:
        where = f" and wrote it to {self.file}" if self.file else ""
        return (
            f"Send Authorization: Bearer TOKEN. The host printed its token at start{where}; "
            "`backworks dashboard` reads that file, or pass --admin-token."
        )

    def _known_host(self, name: str) -> bool:
        if not name:
            return False
        if name == "localhost" or name.endswith(".localhost") or _ip(name) is not None:
            return True  # IP literals cannot be rebound to another address
        return name in self._names

    # -- the token file -----------------------------------------------------------------------

    def publish(self, log: Callable[[str], None]) -> None:
        """Write the token file (mode 0600, replacing any earlier one) and say where the token
        is; the token itself is printed when it was generated."""
        wrote = ""
        if self.file is not None:
            try:
                with _locked(self.file):
                    others = [t for t in read_tokens(self.file) if t != self.token]
                    kept = [*others[-(TOKENS_KEPT - 1) :], self.token]
                    _write_private(self.file, "".join(f"{t}\n" for t in kept))
                wrote = f", in {self.file}"
            except OSError as error:
                log(f"Warning: cannot write the admin token to {self.file}: {error.strerror}.")
        if self.given:
            log(f"Admin token: the one given by --admin-token or {ENV_TOKEN}{wrote}.")
        else:
            log(f"Admin token: {self.token}{wrote} (`backworks dashboard` reads it from there).")

    def withdraw(self) -> None:
        """Remove this host's line from the token file, and the file when no line is left."""
        if self.file is None or self.token not in read_tokens(self.file):
            return
        with contextlib.suppress(OSError), _locked(self.file):
            kept = [t for t in read_tokens(self.file) if t != self.token]
            if kept:
                _write_private(self.file, "".join(f"{t}\n" for t in kept))
            else:
                self.file.unlink()


def _same_origin(origin: str, host: str | None) -> bool:
    """Whether an Origin header names the host and port of the Host header."""
    if host is None or origin.strip().lower() == "null":
        return False
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    default = 443 if parts.scheme == "https" else 80
    name, host_port = _split_host(host)
    return (parts.hostname.rstrip("."), port or default) == (name, host_port or 80)


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only, replacing the file (never writing
    through a link that stands in its place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(temporary, path)


def dashboard_token(url: str, store_path: Callable[[], Path]) -> str | None:
    """The token `backworks dashboard` sends to the host at `url`: the one in the token file
    next to the store (`store_path()`, from backworks.yaml), for a host on this machine only,
    so that no local token goes to another machine. None when there is none to read."""
    host = urlsplit(url).hostname or ""
    if not is_loopback(host):
        return None
    try:
        path = token_file(store_path())
    except BackworksError:  # no usable backworks.yaml here: no file to read
        return None
    tokens = read_tokens(path)
    if len(tokens) > 1:  # hosts share the folder: the newest that this host accepts
        for token in reversed(tokens):
            if _accepted(url, token):
                return token
    return tokens[-1] if tokens else None


def _accepted(url: str, token: str) -> bool:
    """Whether the host at `url` accepts `token` (a loopback host; a short wait)."""
    import httpx

    try:
        reply = httpx.get(
            url.rstrip("/") + "/__backworks/health",
            headers={"Authorization": f"Bearer {token}"},
            timeout=2.0,
            trust_env=False,
        )
    except httpx.HTTPError:
        return False
    return reply.status_code == 200
