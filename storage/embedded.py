"""The embedded PostgreSQL server for zero set-up runs (the `pgserver` wheel)."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

__all__ = ["EmbeddedPostgres"]

log = logging.getLogger(__name__)


def _import_pgserver():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI); its fallback
    # under /tmp is what we want, so the warning is noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


class EmbeddedPostgres:
    """Starts (or attaches to) the server whose data lives in `pgdata`; stops it on exit.

    It listens on a unix socket only, so it never conflicts with another server's port.
    """

    def __init__(self, pgdata: Path, *, delete_on_exit: bool = False) -> None:
        self.pgdata = Path(pgdata)
        self._mode = "delete" if delete_on_exit else "stop"
        self._server = None

    def start(self) -> str:
        """Starts the server and returns a libpq URI for its `postgres` database."""
        pgserver = _import_pgserver()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded postgres in %s", self.pgdata)
        self._server = pgserver.get_server(self.pgdata, cleanup_mode=self._mode)
        return self.uri()

    def uri(self, database: str = "postgres") -> str:
        if self._server is None:
            raise RuntimeError("embedded postgres is not started")
        return self._server.get_uri(database=database)

    def stop(self) -> None:
        if self._server is not None:
            log.info("stopping embedded postgres (pid %s)", os.getpid())
            self._server.cleanup()
            self._server = None
