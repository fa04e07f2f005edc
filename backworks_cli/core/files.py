"""Writing files so that a reader never sees half of one (a temporary file beside the target,
renamed over it once complete), THE rule that tells a disk is full (`disk_full`, `no_room`),
THE rule that tells a file changed (`stamp`), and THE rule that keeps a path backworks.yaml
names inside the project folder (`in_project`)."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from backworks_cli.core.errors import BackworksError

# Writes that failed for want of room, and what was full: each is a full disk to the user and
# is told the same way.
_FULL = {
    errno.ENOSPC: "no space is left on its disk",
    errno.EFBIG: "it would pass the file size limit (`ulimit -f`)",
    errno.EDQUOT: "the disk quota is used up",
}
ROOM = 64 * 1024  # a file this close to the size limit, or a disk with less free, has no room


@contextmanager
def replacing(path: Path, *, check: Callable[[], None] | None = None) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces `path` when the block ends without an error.

    An existing file's permissions are kept; a new file gets the usual ones (0666 less the
    umask), not mkstemp's 0600. `check` runs just before the rename and may raise to cancel it.
    OSError propagates for the caller to word; the temporary file never outlives the block.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.absolute().parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        if check is not None:
            check()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def disk_full(
    path: Path | str,
    why: str,
    kind: type[BackworksError] = BackworksError,
    elsewhere: str = "write to another disk",
) -> BackworksError:
    """The error for a write to `path` that found no room; `why` says what was full."""
    return kind(
        f"disk full: {path} ({why}).",
        "Free some disk space (or raise the file size limit, `ulimit -f`), or "
        f"{elsewhere}; what was written before is kept.",
    )


def full(error: OSError) -> str | None:
    """What was full when a write failed with `error`, or None when it failed otherwise."""
    return _FULL.get(error.errno)


def no_room(*paths: Path | str) -> str | None:
    """What leaves these files no room to grow, when something does: one of them is within
    ROOM bytes of this process's file size limit, or their disk has less than ROOM free. For
    a failed write that does not say why (SQLite reports EFBIG as "disk I/O error")."""
    limit = _size_limit()
    for path in paths:
        try:
            size = os.stat(path).st_size
        except OSError:
            continue
        if limit is not None and size + ROOM >= limit:
            return f"{Path(path).name} reached the file size limit of {limit} bytes"
    try:
        disk = os.statvfs(Path(paths[0]).absolute().parent) if paths else None
    except (OSError, AttributeError):  # gone, or not a POSIX system
        disk = None
    if disk is not None and disk.f_bavail * disk.f_frsize < ROOM:
        return "no space is left on its disk"
    return None


def sqlite_files(path: Path | str) -> tuple[Path, ...]:
    """An SQLite database file and the journal files SQLite writes beside it."""
    path = Path(path)
    return (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal")))


def sqlite_full(error: BaseException, path: Path | str) -> str | None:
    """What was full when SQLite failed to write the database at `path` with `error`, or None
    when it failed for another reason. SQLite reports EFBIG (the file size limit) as an I/O
    error; the files tell which it was."""
    import sqlite3

    text = str(error)
    code = getattr(error, "sqlite_errorcode", 0)
    if "full" in text.lower() or code == sqlite3.SQLITE_FULL:
        return f"SQLite says: {text}"
    if code & 0xFF == sqlite3.SQLITE_IOERR:
        why = no_room(*sqlite_files(path))
        if why:
            return f"{why}; SQLite says: {text}"
    return None


def _size_limit() -> int | None:
    """This process's file size limit in bytes (RLIMIT_FSIZE), None when there is none."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def stamp(path: Path | str | None) -> tuple[int, int, int] | None:
    """What tells that a file changed: (modification time in ns, size, inode); None when it is
    missing or cannot be read. An editor that writes a new file and renames it over the old
    one changes the inode even within the clock's resolution."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def in_project(project: Path, written: str | Path) -> tuple[Path, bool]:
    """The file that `written` names (`~` expanded; a relative path is relative to the
    `project` folder) as an absolute path, and whether it lies inside `project` once every
    symlink is followed: `..` that climbs out of it, an absolute path elsewhere, or a symlink
    (of the file or of a folder on the way) that leads out all make it lie outside."""
    path = Path(project).absolute() / Path(written).expanduser()
    try:
        real = Path(os.path.realpath(path))
        return path, real.is_relative_to(os.path.realpath(project))
    except ValueError:  # a NUL character: no file of the project has that name
        return path, False
