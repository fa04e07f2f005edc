"""THE file watcher behind hot reload of backworks.yaml, for the mock host and serve's host.

One loop and one rule (core.files.stamp): every RELOAD_INTERVAL seconds, and right after the
admin API's promote rewrote the file, `check()` compares the file's stamp with the one it
last read. When it changed, the host's `rebuild` runs; a file that cannot be used (or a bug
while building) leaves the previous configuration serving and is reported in
`reload_error`, the log, the reload counts and a `reload` event. Each host supplies only what
differs: how to rebuild and swap in what it serves (uvicorn's BaseReload is the model).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from backworks_cli.core.errors import BackworksError
from backworks_cli.core.files import stamp

if TYPE_CHECKING:
    from backworks_cli.host.stats import Stats

RELOAD_INTERVAL = 0.5  # seconds between checks of backworks.yaml for changes


class Reloader:
    """Watches `path`; `rebuild()` loads it again, swaps in what it serves, and returns what
    the log says of it (e.g. "3 endpoint(s)") with the new engine's notes, or raises to keep
    the previous one."""

    def __init__(
        self,
        path: Path | None,
        rebuild: Callable[[], Awaitable[tuple[str, list[str]]]],
        stats: Stats,
        log: Callable[[str], None],
        interval: float = RELOAD_INTERVAL,
    ):
        self.path = path
        self.rebuild = rebuild
        self.stats = stats
        self.log = log
        self.interval = interval
        self.error: str | None = None  # why the last change could not be used
        self._stamp = stamp(path)
        self._task: asyncio.Task | None = None

    async def check(self) -> bool | None:
        """Reload if the file changed since it was last read: None when it did not, True when
        the new file serves, False when it cannot be used."""
        now = stamp(self.path)
        if now == self._stamp:
            return None
        self._stamp = now
        return await self.reload()

    async def reload(self) -> bool:
        """Rebuild from the file now, whether or not it changed."""
        path = self.path
        try:
            summary, notes = await self.rebuild()
        except BackworksError as error:
            # Shown by the admin API and the dashboard: a value quoted from the file may be
            # a secret.
            self.error = self.stats.scrub.text(str(error).replace("\n", " "))
            self.log(
                f"Error: {path} changed but cannot be used; still serving the previous "
                f"configuration.\n{error}"
            )
            ok = False
        except Exception as error:  # a bug while building must not stop the host either
            self.error = self.stats.scrub.text(repr(error))
            self.log(
                f"Error: reloading {path} failed ({error!r}); still serving the previous "
                "configuration."
            )
            ok = False
        else:
            self.error = None
            self.log(f"Reloaded {path}: {summary}.")
            for note in notes:
                self.log(f"Note: {note}")
            ok = True
        self.stats.reloads["ok" if ok else "error"] += 1
        if self.stats.subscribers:
            event = {"type": "reload", "ok": ok, "config": str(path)}
            self.stats.publish(event if ok else {**event, "error": self.error})
        return ok

    def start(self) -> None:
        """Check every `interval` seconds in a task of the running loop (once; no file, no
        task)."""
        if self.path is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.check()
