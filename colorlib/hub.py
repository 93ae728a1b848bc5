"""The one downloader: every file colorlib fetches (weights, datasets, the paper) comes through here.

A :class:`RemoteFile` names a file, where it lives and what it must hash to. :func:`fetch`
returns a verified local copy:

* a copy already in place whose size and sha256 match is used as it is (no network);
* otherwise the bytes stream into ``<file>.part`` beside the final place; a dropped
  connection is retried, and a later call resumes the part file with an HTTP ``Range``
  request (a server that ignores ``Range`` restarts it from zero);
* the finished part file's size and sha256 are checked, and only then is it renamed into
  place (``os.replace``, atomic), so a file under its final name is always complete and
  right. A wrong hash removes the part file and raises :class:`ChecksumError`.

``COLORLIB_MIRROR=http://host/path`` fetches every file from ``<mirror>/<cache name>``
instead of its published address (an institute's mirror, or a local copy for tests).
Without a network, the error names the address and the file to copy into the cache by hand.

>>> remote = RemoteFile("model100.pth", "https://example.org/model100.pth", sha256="e9351fd1")
>>> remote.matches("e9351fd19297de4a39df075ee3f5011cad9a18a79e09fa800b2236dc0ee5d6ed")
True
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from http.client import HTTPException
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from .config import cache_dir

__all__ = [
    "MIRROR_ENV",
    "RemoteFile",
    "DownloadError",
    "ChecksumError",
    "sha256_of",
    "is_verified",
    "fetch",
    "fetch_many",
]

#: Set this to ``http://host/path`` to fetch every file from ``<mirror>/<cache name>``.
MIRROR_ENV = "COLORLIB_MIRROR"
_CHUNK = 1 << 16
_HEX = set("0123456789abcdef")


class DownloadError(RuntimeError):
    """A file cannot be fetched: no network, an HTTP error, or a server that keeps dropping."""


class ChecksumError(ValueError):
    """A downloaded file has the wrong sha256 or size (it was discarded)."""


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: its name in the cache, its address, its sha256 and size.

    Attributes:
        filename: the path in the cache folder, ``/``-separated (``"model100.pth"``,
            ``"landscapes/city/0001.jpg"``); also the path under a mirror.
        url: where the file is published.
        sha256: the full digest (64 lowercase hex digits), or a prefix of at least 8
            digits where a publisher gives only that (torch.hub's ``name-<prefix>.pth``
            convention). A prefix catches corrupt downloads but not a deliberate forgery.
            ``None``: not checked (only for files nobody published a digest of).
        size: the size in bytes, checked when given (and used to resume).
    """

    filename: str
    url: str
    sha256: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if self.sha256 is not None and not (8 <= len(self.sha256) <= 64 and set(self.sha256) <= _HEX):
            raise ValueError(
                f"RemoteFile {self.filename}: sha256 must be 8 to 64 lowercase hex digits "
                f"(the full digest, or a prefix of it), got {self.sha256!r}"
            )
        if self.size is not None and self.size < 0:
            raise ValueError(f"RemoteFile {self.filename}: size must be >= 0, got {self.size}")
        if self.filename.startswith("/") or ".." in self.filename.split("/"):
            raise ValueError(f"RemoteFile {self.filename!r}: expected a relative path inside the cache")

    def matches(self, digest: str) -> bool:
        """Whether a full sha256 ``digest`` is the expected one (or starts with the prefix)."""
        return self.sha256 is None or digest.startswith(self.sha256)

    def mirrored(self) -> "RemoteFile":
        """This file at ``$COLORLIB_MIRROR/<filename>`` when that variable is set, else itself."""
        mirror = os.environ.get(MIRROR_ENV)
        return replace(self, url=mirror.rstrip("/") + "/" + self.filename) if mirror else self


def sha256_of(path: str | os.PathLike) -> str:
    """The sha256 of a file, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_verified(remote: RemoteFile, path: str | os.PathLike) -> bool:
    """Whether ``path`` exists with ``remote``'s size and sha256."""
    path = Path(path)
    if not path.is_file():
        return False
    if remote.size is not None and path.stat().st_size != remote.size:
        return False
    return remote.matches(sha256_of(path))


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """``(first byte, total size)`` from ``Content-Range: bytes 100-199/1000`` (or ``bytes */1000``)."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", header or "")
    if match is None:
        return None, None
    first = int(match.group(1)) if match.group(1) is not None else None
    total = int(match.group(2)) if match.group(2) != "*" else None
    return first, total


def _offline_message(remote: RemoteFile, target: Path, error: object) -> str:
    return (
        f"cannot download {remote.filename} from {remote.url}: {error}. Without a network, "
        f"copy the file by hand to {target} (the cache folder is set by COLORLIB_CACHE), "
        f"or set {MIRROR_ENV} to a server that has it."
    )


def _stream_once(remote: RemoteFile, partial: Path, timeout_s: float, bar) -> tuple[int, int | None]:
    """One request for the rest of ``partial``: ``(bytes received, total size the server announced)``.

    Raises on HTTP errors and on a connection that fails before the first byte.
    """
    have = partial.stat().st_size if partial.exists() else 0
    if remote.size is not None and have > remote.size:
        partial.unlink()
        have = 0
    request = urllib.request.Request(remote.url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left to send: the part file may be whole
            _, total = _content_range(error.headers.get("Content-Range"))
            if total != have:
                partial.unlink()
            return 0, total
        raise
    received = 0
    with response:
        mode, total = "wb", None
        if response.status == 206:
            first, total = _content_range(response.headers.get("Content-Range"))
            if first == have:
                mode = "ab"
            else:  # not the range asked for: start again
                partial.unlink(missing_ok=True)
                return 0, total
        elif response.headers.get("Content-Length"):
            total = int(response.headers["Content-Length"])
        if bar.total is None and total is not None:
            bar.total = total
        bar.n = have if mode == "ab" else 0
        bar.refresh()
        try:
            with open(partial, mode) as out:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        except (HTTPException, OSError):  # a dropped connection: the caller resumes
            if not received:
                raise
    return received, total


def fetch(
    remote: RemoteFile,
    destination: str | os.PathLike | None = None,
    progress: bool = True,
    timeout_s: float = 30.0,
    max_failures: int = 5,
) -> Path:
    """A verified local copy of ``remote``, downloaded (or resumed) only when needed.

    Args:
        remote: the file; :meth:`RemoteFile.mirrored` is applied.
        destination: the final path (default: ``<cache>/<remote.filename>``, see
            :func:`colorlib.config.cache_dir`). Its folder is created.
        progress: show a tqdm progress bar.
        timeout_s: the socket timeout of each request (passed per request; the
            process-wide default is left alone).
        max_failures: consecutive attempts that bring no byte before giving up.

    Returns:
        The path of the complete, verified file.

    Raises:
        DownloadError: the server cannot be reached or answers an HTTP error; the message
            names the address and where to copy the file by hand. A part file is kept,
            so the next call resumes.
        ChecksumError: the file has the wrong size or sha256; nothing is left behind.
    """
    remote = remote.mirrored()
    target = Path(destination) if destination is not None else cache_dir() / remote.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if is_verified(remote, target):
            return target
        target.unlink()  # a stale or corrupt copy: fetch it again
    partial = target.with_name(target.name + ".part")
    failures = 0
    expected = remote.size  # or, when nobody published it, what the server announces
    with tqdm(total=remote.size, unit="B", unit_scale=True, desc=target.name, disable=not progress) as bar:
        while True:
            have = partial.stat().st_size if partial.exists() else 0
            if expected is not None and have == expected:
                break
            try:
                (received, announced), last_error = _stream_once(remote, partial, timeout_s, bar), None
            except urllib.error.HTTPError as error:
                raise DownloadError(_offline_message(remote, target, f"HTTP {error.code} {error.reason}")) from error
            except (urllib.error.URLError, HTTPException, OSError) as error:
                received, announced, last_error = 0, None, error
            if expected is None and announced is not None:
                expected = announced
            if last_error is None and expected is None:
                break  # no size known at all: the end of the stream is the end of the file
            failures = 0 if received else failures + 1
            if failures >= max_failures:
                raise DownloadError(_offline_message(remote, target, last_error or "the server keeps sending nothing"))
            if not received:
                time.sleep(min(0.2 * 2.0**failures, 10.0))
    size = partial.stat().st_size if partial.exists() else 0
    if expected is not None and size != expected:
        partial.unlink(missing_ok=True)
        raise ChecksumError(f"{remote.filename} from {remote.url}: {size:,} bytes, expected {expected:,}; discarded")
    digest = sha256_of(partial)
    if not remote.matches(digest):
        partial.unlink()
        expected = remote.sha256 if remote.sha256 and len(remote.sha256) == 64 else f"one starting with {remote.sha256}"
        raise ChecksumError(
            f"{remote.filename} from {remote.url} has sha256 {digest}, expected {expected}; the download was discarded"
        )
    os.replace(partial, target)
    return target


def fetch_many(
    remotes: Sequence[RemoteFile],
    root: str | os.PathLike | None = None,
    workers: int = 4,
    progress: bool = True,
    timeout_s: float = 30.0,
) -> list[Path]:
    """:func:`fetch` several files, ``workers`` at a time, into ``root / remote.filename``.

    Files already present and verified are not fetched again, so an interrupted run
    resumes where it stopped. Every file is tried; then, if any failed, one
    :class:`DownloadError` (or :class:`ChecksumError` if all failures are checksums) names
    each failed file.

    Returns:
        The local paths, in the order of ``remotes``.
    """
    base = Path(root) if root is not None else cache_dir()

    def one(remote: RemoteFile) -> Path:
        return fetch(remote, base / remote.filename, progress=False, timeout_s=timeout_s)

    results: list[Path | None] = [None] * len(remotes)
    failures: list[tuple[RemoteFile, Exception]] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(one, remote) for remote in remotes]
        with tqdm(total=len(remotes), unit="file", disable=not progress) as bar:
            for index, future in enumerate(futures):
                try:
                    results[index] = future.result()
                except (DownloadError, ChecksumError) as error:
                    failures.append((remotes[index], error))
                bar.update(1)
    if failures:
        lines = "\n".join(f"  {remote.filename}: {error}" for remote, error in failures[:10])
        more = f"\n  ... and {len(failures) - 10} more" if len(failures) > 10 else ""
        kind = ChecksumError if all(isinstance(e, ChecksumError) for _, e in failures) else DownloadError
        raise kind(f"{len(failures)} of {len(remotes)} files could not be fetched into {base}:\n{lines}{more}")
    return [path for path in results if path is not None]
