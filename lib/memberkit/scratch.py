"""Private temporary folders for copies of the raw exports (they hold personal data).

Each folder's name carries the id of the process that made it
(``memberkit-<kind>-<pid>-*`` in the system temp folder). A process killed before it could
remove its folder (SIGKILL, the OOM killer, a CI timeout) leaves it behind; the next kit
process to make one removes every such folder whose process is gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def private_temp_dir(kind: str, folder: str | Path | None = None) -> tempfile.TemporaryDirectory:
    """A ``TemporaryDirectory`` (mode 0700) named ``memberkit-<kind>-<pid>-*`` inside ``folder`` (default:
    the system temp folder, created when missing), after removing the folders of this kind left there by
    processes that no longer run. Raises ``OSError`` when ``folder`` cannot hold it."""
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
    remove_abandoned(kind, folder)
    return tempfile.TemporaryDirectory(prefix=f"memberkit-{kind}-{os.getpid()}-", dir=folder)


def remove_abandoned(kind: str, folder: str | Path | None = None) -> list[Path]:
    """Remove ``memberkit-<kind>-<pid>-*`` folders in ``folder`` (default: the system temp folder) whose
    process is gone; returns what was removed."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"memberkit-{kind}-*"):
        try:
            pid = int(path.name.split("-")[2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except (ValueError, IndexError, PermissionError):
            continue
    return removed
