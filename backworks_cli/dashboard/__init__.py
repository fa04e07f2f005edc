"""`backworks dashboard`: a live terminal dashboard, a client of a host's admin API
(/__backworks/). It imports core only and speaks HTTP; it is the only package that imports
Textual, and the CLI imports it inside the command.

- model.py   plain data: the event stream parsed, the log, per endpoint figures, alerts
- client.py  httpx: snapshots, actions and the event stream of one host
- views.py   table rows from the model
- screens.py detail of one exchange, the mode picker, help, the too-small notice
- widgets.py a table drawn line by line: only the rows on screen cost anything
- messages.py what the worker posts to the app
- app.py     the Textual app: one worker for the host's I/O, handlers that own the model
"""

from __future__ import annotations

from backworks_cli.dashboard.app import Dashboard, create_app

__all__ = ["Dashboard", "create_app", "run_dashboard"]


def run_dashboard(url: str, token: str | None = None) -> None:
    """Run the dashboard for the host at `url`, with its admin `token`, until the user quits."""
    create_app(url, token=token).run()
