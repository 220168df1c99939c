"""Named crash points at every boundary of a step, for the test suite's recovery tests.

`EXQUISITE_CRASH_AT=<point>` makes the process kill itself with SIGKILL when a step reaches that
point: no cleanup handler, no finally block, no goodbye to the database, exactly like a machine
losing power. Production refuses to start with it set.
"""

from __future__ import annotations

import logging
import os
import signal

__all__ = ["CRASH_POINTS", "crash_point"]

log = logging.getLogger(__name__)

CRASH_POINTS = (
    "after_check",
    "after_tx1",
    "during_generation",
    "after_blob_write",
    "before_tx2",
    "inside_tx2",
)


def crash_point(armed: str | None, name: str) -> None:
    if name not in CRASH_POINTS:
        raise RuntimeError(f"unknown crash point {name!r}")
    if armed == name:
        log.warning("crash point %s reached: killing process %s", name, os.getpid())
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)
