"""Every file the program writes goes through :func:`write_atomic`.

Photos, LUTs, presets, sidecars, settings, timings and reports all get the same guarantees:

* atomic: the bytes go to a temporary file in the destination folder, are flushed to disk, and
  the file is renamed into place, so a reader, a crash or a full disk never leaves a partial file;
* never an input: a destination that is (or links to) one of ``inputs`` is refused;
* never over an existing file unless ``overwrite``; with ``overwrite`` a symbolic link at the
  destination is replaced by the new file, its target is left alone;
* permissions follow the umask (``mkstemp`` alone would make them 0600);
* temporary files are named ``.<name>.retouch-<pid>-<random>.part``; a run removes the ones that
  earlier runs of this program left in the same folder when those processes are gone (killed),
  and never touches anyone else's files.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import threading
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

#: Longest file name (in bytes) most file systems accept.
MAX_NAME_BYTES = 255
# Room the temporary name needs around a (shortened) copy of the destination's name.
_TMP_NAME_KEEP = 100
_TMP_RE = re.compile(r"^\..*\.retouch-(?P<pid>\d+)-[0-9a-f]{8}\.part$", re.DOTALL)


class OutputError(Exception):
    """A file could not be written; ``path`` and ``reason`` say which and why."""

    kind = "write"

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class OutputExistsError(OutputError):
    kind = "exists"


class OutputIsInputError(OutputError):
    kind = "source"


def check_output(
    path: str | os.PathLike, *, overwrite: bool = False, inputs: Iterable[str | os.PathLike | None] = ()
) -> Path:
    """The checks :func:`write_atomic` makes before writing, for callers that want to fail early
    (before decoding a photo or loading a model). Returns the path; raises :class:`OutputError`."""
    path = Path(path)
    name = path.name
    if not name or name in (".", ".."):
        raise OutputError(path, "not a file name")
    if len(os.fsencode(name)) > MAX_NAME_BYTES:
        raise OutputError(path, f"file name is {len(os.fsencode(name))} bytes long (at most {MAX_NAME_BYTES})")
    for source in inputs:
        if source is not None and _same_file(path, Path(source)):
            raise OutputIsInputError(path, f"refusing to write over the input {source}")
    if os.path.lexists(path):
        if path.is_dir() and not path.is_symlink():
            raise OutputError(path, "is a folder")
        if not overwrite:
            raise OutputExistsError(path, "already exists (refusing to replace it)")
    parent = path.parent
    if not parent.is_dir():
        what = "is not a folder" if os.path.lexists(parent) else "does not exist"
        raise OutputError(path, f"cannot write: {parent} {what}")
    return path


def write_atomic(
    path: str | os.PathLike,
    content: bytes | str | Callable[[BinaryIO], None],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
    encoding: str = "utf-8",
) -> Path:
    """Write ``content`` (bytes, text, or a function that writes into a binary file handle) to
    ``path`` with the guarantees in the module docstring; returns the path.

    Raises :class:`OutputExistsError`, :class:`OutputIsInputError` or :class:`OutputError`
    (disk full, no permission...); exceptions raised by a ``content`` function propagate unchanged.
    Nothing is left behind on failure.
    """
    inputs = list(inputs)
    path = check_output(path, overwrite=overwrite, inputs=inputs)
    parent = path.parent
    remove_stale_parts(parent)
    tmp = parent / _tmp_name(path.name)
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise OutputError(path, f"cannot create a file in {parent} ({exc.strerror or exc})") from None
    try:
        os.close(fd)
        with open(tmp, "r+b") as fh:  # a named handle: some encoders (tifffile) want a file name
            if callable(content):
                content(fh)
            else:
                fh.write(content.encode(encoding) if isinstance(content, str) else content)
            fh.flush()
            os.fsync(fh.fileno())
        for source in inputs:  # the destination may have become a link to an input meanwhile
            if source is not None and _same_file(path, Path(source)):
                raise OutputIsInputError(path, f"refusing to write over the input {source}")
        _publish(tmp, path, overwrite)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(path, f"cannot write ({exc.strerror or exc})") from None
        raise
    return path


def write_text_atomic(
    path: str | os.PathLike, text: str, encoding: str = "utf-8", *, overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
) -> Path:
    """Text with ``\\n`` line ends through :func:`write_atomic`."""
    return write_atomic(path, text, overwrite=overwrite, inputs=inputs, encoding=encoding)


def _tmp_name(name: str) -> str:
    stem = name
    while len(os.fsencode(stem)) > _TMP_NAME_KEEP:
        stem = stem[: len(stem) // 2 + 1] if len(stem) > 8 else stem[:-1]
    return f".{stem}.retouch-{os.getpid()}-{secrets.token_hex(4)}.part"


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)  # renaming over a symlink replaces the link, not its target
        return
    try:
        os.link(tmp, path)  # atomic and never clobbers: fails if the path appeared meanwhile
    except FileExistsError:
        raise OutputExistsError(path, "already exists (refusing to replace it)") from None
    except OSError:
        if os.path.lexists(path):  # a file system without hard links: best effort
            raise OutputExistsError(path, "already exists (refusing to replace it)") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False


_cleaned: set[str] = set()
_cleaned_lock = threading.Lock()


def remove_stale_parts(folder: str | os.PathLike) -> list[Path]:
    """Remove our temporary files in ``folder`` whose process is gone (once per folder and run).

    Only names this module makes are considered, and only when the pid in the name is not a
    running process, so a concurrent run's files and other programs' ``.part`` files stay.
    """
    key = os.path.abspath(folder)
    with _cleaned_lock:
        if key in _cleaned:
            return []
        _cleaned.add(key)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if not m or not entry.is_file(follow_symlinks=False) or _alive(int(m.group("pid"))):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its files
    return True


@functools.lru_cache(maxsize=1)
def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
