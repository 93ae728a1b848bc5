"""Writing files so that an interruption never leaves a half-written one behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Have ``write(temporary_name)`` fill a temporary file beside ``path``, then rename it.

    The rename (``os.replace``) is atomic on one file system: readers see either the old
    file or the complete new one, never a partial one. If ``write`` raises, the temporary
    file is removed and ``path`` is left as it was.

    Args:
        path: the final file; its folder must exist.
        write: called with the temporary file's name (a ``str``); it writes the content.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
