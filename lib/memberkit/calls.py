"""Counting what producers build, to show that each result is built once per run.

With the environment variable ``MEMBERKIT_COUNT_CALLS`` set to a file path, every producer
of a stamped result (the member table at a date, the month figures) appends one JSON line
naming what it built, for which date and parameters, and in which process (each report's
kernel is one). Kernels started by the runner
inherit the variable, so one file collects a whole run. Unset, nothing is written.
"""

from __future__ import annotations

import json
import os


def record_call(what: str, **key) -> None:
    """Append ``{"what": what, **key}`` to the file named by ``MEMBERKIT_COUNT_CALLS``, when set."""
    path = os.environ.get("MEMBERKIT_COUNT_CALLS")
    if not path:
        return
    line = json.dumps({"what": what, **key, "pid": os.getpid()}, sort_keys=True, default=str)
    with open(path, "a", encoding="utf-8") as f:   # one short line per write: appends from processes do not mix
        f.write(line + "\n")
