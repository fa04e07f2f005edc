"""Writing files so that a reader never sees half of one (a temporary file beside the target,
renamed over it once complete), THE rule that tells a file changed (`stamp`), and THE rule
that keeps a path backworks.yaml names inside the project folder (`in_project`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


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
