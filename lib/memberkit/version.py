"""The code version that stamps every result: the package version and, in a git checkout, the commit.

A leaf module (it imports nothing of the kit), so that every writer of a stamped result can
ask for it without reaching up to the notebook or runner layers.
"""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

from . import __version__


@lru_cache(maxsize=1)
def code_version() -> str:
    """``<version>+<commit>`` (``.dirty`` appended when the package folder has uncommitted changes),
    or the bare package version outside a git checkout. Asked of git once per process."""
    try:
        here = Path(__file__).resolve().parent
        sha = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, timeout=5).stdout.strip()
        return f"{__version__}+{sha}{'.dirty' if dirty else ''}" if sha else __version__
    except (OSError, subprocess.SubprocessError):
        return __version__
