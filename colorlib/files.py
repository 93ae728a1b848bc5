"""Writing files so that an interruption never leaves a half-written one behind.

:func:`atomic_write` fills a temporary file beside the target and renames it over the
target. The temporary file is created private (mode 0600, by :func:`tempfile.mkstemp`);
before the rename it gets the permissions a plain ``open(path, "w")`` would give a new
file, ``0o666 & ~umask`` (0644 with the usual umask 022), so a colorized photo, a figure
or a notebook written by colorlib can be read by whoever could read any other file the
user makes (another account, a web server).
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write", "current_umask", "new_file_mode"]

_PROC_STATUS = "/proc/self/status"
_UMASK_LOCK = threading.Lock()


def _umask_from_proc() -> int | None:
    """The umask from the ``Umask:`` line of ``/proc/self/status`` (Linux 4.7+), else ``None``."""
    try:
        with open(_PROC_STATUS, encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        return None
    return None


def current_umask() -> int:
    """The process's umask (``0o022`` on most systems), read without changing it where possible.

    ``os.umask`` can only be read by setting it. Where ``/proc/self/status`` shows the
    umask (Linux) it is read from there; elsewhere it is set to ``0o077`` and restored at
    once, under a lock. During that instant a file another thread creates gets fewer
    permissions, never more.

    >>> 0 <= current_umask() <= 0o777
    True
    """
    mask = _umask_from_proc()
    if mask is not None:
        return mask
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The permission bits a newly created file gets: ``0o666 & ~umask`` (``0o644`` for umask 022)."""
    return 0o666 & ~current_umask()


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Have ``write(temporary_name)`` fill a temporary file beside ``path``, then rename it.

    The rename (``os.replace``) is atomic on one file system: readers see either the old
    file or the complete new one, never a partial one. If ``write`` raises, the temporary
    file is removed and ``path`` is left as it was.

    The final file has the permissions of a new file, ``0o666 & ~umask`` (see
    :func:`new_file_mode`). It *is* a new file: the permissions of a file it replaces
    are not kept.

    Args:
        path: the final file; its folder must exist.
        write: called with the temporary file's name (a ``str``); it writes the content.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "note.txt", lambda name: pathlib.Path(name).write_text("hi")).read_text()
    'hi'
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, new_file_mode())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
