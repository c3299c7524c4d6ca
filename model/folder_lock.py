"""One batch per output folder: a lock file that says which run holds the folder.

``retouch batch`` takes the lock before decoding anything, so a second batch into the same folder
stops at once with the pid and start time of the first instead of doing all the work and failing
at write time. The lock file is created exclusively (``O_EXCL``) and removed on release; one left
by a killed run (its pid is no longer running on this machine) is taken over.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

LOCK_NAME = ".retouch-batch.lock"


class FolderLockedError(Exception):
    """Another run holds the output folder; the message names it."""


class FolderLock:
    """``with FolderLock(folder): ...`` or ``acquire()`` / ``release()``."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._held = False

    def acquire(self) -> "FolderLock":
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                holder = _read(self.path)
                if holder is not None and _holder_alive(holder):
                    raise FolderLockedError(
                        f"output folder {self.folder} is in use by another retouch run "
                        f"(pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}); "
                        f"wait for it to finish or choose another folder"
                    ) from None
                try:  # left by a killed run (or unreadable): take it over
                    self.path.unlink()
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(me, fh)
            self._held = True
            return self
        raise FolderLockedError(f"output folder {self.folder}: cannot take the lock {self.path}")

    def release(self) -> None:
        if self._held:
            self._held = False
            try:
                self.path.unlink()
            except OSError:
                pass

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # Being written right now by its owner (created, not yet filled): treat as held.
        try:
            fresh = time.time() - path.stat().st_mtime < 5
        except OSError:
            return None
        return {"pid": "?", "host": "?", "started": "just now"} if fresh else None
    return data if isinstance(data, dict) else None


def _holder_alive(holder: dict) -> bool:
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return pid == "?"
    if holder.get("host") not in (None, socket.gethostname()):
        return True  # another machine's run (shared disk): cannot check, assume it runs
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
