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

Without a network, downloads fail fast and once: when the first contact with a host fails
at the connection level (refused, name not resolved, timed out, network unreachable),
:class:`HostUnreachableError` is raised at once, with no retries, naming the host and
where to copy the files by hand; :func:`fetch_many` stops its other workers too. An HTTP
error (404, ...) or a wrong checksum stays an error of that one file.

Several processes that need the same files (the ranks of a ``torchrun`` job, two
notebooks) download them once: :func:`download_once` lets one process download while the
others wait on a file lock, then find the files in place; :func:`fetch` uses it for each
file it has to download.

>>> remote = RemoteFile("model100.pth", "https://example.org/model100.pth", sha256="e9351fd1")
>>> remote.matches("e9351fd19297de4a39df075ee3f5011cad9a18a79e09fa800b2236dc0ee5d6ed")
True
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import CancelledError, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.client import HTTPException
from pathlib import Path
from typing import IO, Callable, Iterator, Sequence, TypeVar

from tqdm.auto import tqdm

from .config import cache_dir

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

__all__ = [
    "MIRROR_ENV",
    "RemoteFile",
    "DownloadError",
    "HostUnreachableError",
    "ChecksumError",
    "sha256_of",
    "is_verified",
    "fetch",
    "fetch_many",
    "download_once",
]

#: Set this to ``http://host/path`` to fetch every file from ``<mirror>/<cache name>``.
MIRROR_ENV = "COLORLIB_MIRROR"
_CHUNK = 1 << 16
_HEX = set("0123456789abcdef")
#: The socket timeout of the first request to a host, before it has answered once.
_FIRST_CONTACT_TIMEOUT_S = 10.0
#: How often a process waiting for another one's download checks the lock.
_LOCK_POLL_S = 0.1
_T = TypeVar("_T")


class DownloadError(RuntimeError):
    """A file cannot be fetched: no network, an HTTP error, or a server that keeps dropping."""


class HostUnreachableError(DownloadError):
    """A host cannot be reached at all: connection refused, name not resolved, timed out.

    Raised once, at the first contact that fails (no retries, no per-file list), by
    :func:`fetch` and :func:`fetch_many`.

    Attributes:
        host: the host (and port, if the address names one), ``"raw.githubusercontent.com"``.
        reason: what went wrong, ``"connection refused"``, ``"name not resolved ..."``.
        folder: the folder the files were to be written to.
        missing: how many of the requested files are not in ``folder``.
    """

    def __init__(self, message: str, *, host: str, reason: str, folder: Path, missing: int) -> None:
        super().__init__(message)
        self.host = host
        self.reason = reason
        self.folder = Path(folder)
        self.missing = missing


class ChecksumError(ValueError):
    """A downloaded file has the wrong sha256 or size (it was discarded)."""


class _Cancelled(Exception):
    """A :func:`fetch_many` worker stopped because another one found the host unreachable."""


class _ResponseBroke(OSError):
    """The server answered, then the connection broke before the first byte of the body."""


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


def _host(url: str) -> str:
    """The host (with its port, if the address names one) of ``url``."""
    return urllib.parse.urlsplit(url).netloc.rsplit("@", 1)[-1] or url


def _unreachable_reason(error: BaseException) -> str | None:
    """Why a host cannot be reached at all, or ``None`` when ``error`` is something else.

    Connection-level failures only: refused, name not resolved, timed out, no route. An
    HTTP error (the host answered) or a connection that broke mid-file is not one.
    """
    if isinstance(error, (urllib.error.HTTPError, _ResponseBroke)):
        return None
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, socket.gaierror):
        return f"name not resolved: {reason.strerror or reason}"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    unreachable = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN)
    if isinstance(reason, OSError) and reason.errno in unreachable:
        return f"no route to the host: {reason.strerror or reason}"
    return None


def _offline_message(remote: RemoteFile, target: Path, error: object) -> str:
    return (
        f"cannot download {remote.filename} from {remote.url}: {error}. Without a network, "
        f"copy the file by hand to {target} (the cache folder is set by COLORLIB_CACHE), "
        f"or set {MIRROR_ENV} to a server that has it."
    )


def _unreachable(remote: RemoteFile, target: Path, reason: str) -> HostUnreachableError:
    host = _host(remote.url)
    return HostUnreachableError(
        _offline_message(remote, target, f"cannot reach {host} ({reason})"),
        host=host, reason=reason, folder=target.parent, missing=1,
    )


def _stream_once(remote: RemoteFile, partial: Path, timeout_s: float, bar) -> tuple[int, int | None]:
    """One request for the rest of ``partial``: ``(bytes received, total size the server announced)``.

    Raises on HTTP errors, on a connection that cannot be made (``URLError``/``OSError``),
    and with :class:`_ResponseBroke` when the server answered but sent no byte of the body.
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
        except (HTTPException, OSError) as error:  # a dropped connection: the caller resumes
            if not received:
                raise _ResponseBroke(f"the connection broke before the first byte: {error}") from error
    return received, total


def _check_and_place(remote: RemoteFile, partial: Path, target: Path, expected: int | None) -> Path:
    """Check the finished part file's size and sha256, then rename it to ``target``."""
    size = partial.stat().st_size if partial.exists() else 0
    if expected is not None and size != expected:
        partial.unlink(missing_ok=True)
        raise ChecksumError(f"{remote.filename} from {remote.url}: {size:,} bytes, expected {expected:,}; discarded")
    digest = sha256_of(partial)
    if not remote.matches(digest):
        partial.unlink()
        wanted = remote.sha256 if remote.sha256 and len(remote.sha256) == 64 else f"one starting with {remote.sha256}"
        raise ChecksumError(
            f"{remote.filename} from {remote.url} has sha256 {digest}, expected {wanted}; the download was discarded"
        )
    os.replace(partial, target)
    return target


def _download(
    remote: RemoteFile,
    target: Path,
    *,
    progress: bool,
    timeout_s: float,
    max_failures: int,
    fail_fast: bool,
    cancel: threading.Event | None = None,
) -> Path:
    """Download (or resume) ``remote`` into ``target`` and check it; see :func:`fetch`.

    ``fail_fast``: a connection-level failure before the host has answered once raises
    :class:`HostUnreachableError` at once. Otherwise such failures are retried like
    dropped connections, and raise :class:`HostUnreachableError` only when the last of
    ``max_failures`` attempts failed so. ``cancel``, once set, stops between attempts
    (:class:`_Cancelled`); the part file is kept.
    """
    partial = target.with_name(target.name + ".part")
    failures, answered = 0, False
    expected = remote.size  # or, when nobody published it, what the server announces
    with tqdm(total=remote.size, unit="B", unit_scale=True, desc=target.name, disable=not progress) as bar:
        while True:
            if cancel is not None and cancel.is_set():
                raise _Cancelled(remote.filename)
            have = partial.stat().st_size if partial.exists() else 0
            if expected is not None and have == expected:
                break
            request_timeout = timeout_s if answered else min(timeout_s, _FIRST_CONTACT_TIMEOUT_S)
            try:
                (received, announced), last_error = _stream_once(remote, partial, request_timeout, bar), None
                answered = True
            except urllib.error.HTTPError as error:
                raise DownloadError(_offline_message(remote, target, f"HTTP {error.code} {error.reason}")) from error
            except (urllib.error.URLError, HTTPException, OSError) as error:
                received, announced, last_error = 0, None, error
                reason = _unreachable_reason(error)
                if reason is None:
                    answered = True  # it broke after the server answered
                elif fail_fast and not answered:
                    raise _unreachable(remote, target, reason) from error
            if expected is None and announced is not None:
                expected = announced
            if last_error is None and expected is None:
                break  # no size known at all: the end of the stream is the end of the file
            failures = 0 if received else failures + 1
            if failures >= max_failures:
                reason = _unreachable_reason(last_error) if last_error is not None else None
                if reason is not None:
                    raise _unreachable(remote, target, reason) from last_error
                raise DownloadError(_offline_message(remote, target, last_error or "the server keeps sending nothing"))
            if not received:
                delay = min(0.2 * 2.0**failures, 10.0)
                if cancel is not None:
                    cancel.wait(delay)
                else:
                    time.sleep(delay)
    return _check_and_place(remote, partial, target, expected)


def _verified_or_removed(remote: RemoteFile, target: Path) -> bool:
    """Whether ``target`` is already the right file; a wrong copy is deleted."""
    if not target.exists():
        return False
    if is_verified(remote, target):
        return True
    target.unlink()  # a stale or corrupt copy: fetch it again
    return False


def fetch(
    remote: RemoteFile,
    destination: str | os.PathLike | None = None,
    *,
    progress: bool = True,
    timeout_s: float = 30.0,
    max_failures: int = 5,
    lock_timeout_s: float = 3600.0,
) -> Path:
    """A verified local copy of ``remote``, downloaded (or resumed) only when needed.

    A download runs under :func:`download_once` (lock file ``<destination>.lock``, removed
    afterwards): another process fetching the same file waits and then uses the copy.

    Args:
        remote: the file; :meth:`RemoteFile.mirrored` is applied.
        destination: the final path (default: ``<cache>/<remote.filename>``, see
            :func:`colorlib.config.cache_dir`). Its folder is created.
        progress: show a tqdm progress bar.
        timeout_s: the socket timeout of each request (passed per request; the
            process-wide default is left alone). The first request waits at most 10 s.
        max_failures: consecutive attempts that bring no byte before giving up, once the
            server has answered (a dropped connection is resumed).
        lock_timeout_s: how long to wait for another process that is downloading the file.

    Returns:
        The path of the complete, verified file.

    Raises:
        HostUnreachableError: the host cannot be reached at all (connection refused, name
            not resolved, timed out), at the first attempt: no retries.
        DownloadError: an HTTP error, or a server that keeps dropping; the message names
            the address and where to copy the file by hand. A part file is kept, so the
            next call resumes.
        ChecksumError: the file has the wrong size or sha256; nothing is left behind.
    """
    remote = remote.mirrored()
    target = Path(destination) if destination is not None else cache_dir() / remote.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    if _verified_or_removed(remote, target):
        return target

    def download() -> Path:
        if _verified_or_removed(remote, target):  # another process fetched it meanwhile
            return target
        return _download(remote, target, progress=progress, timeout_s=timeout_s, max_failures=max_failures,
                         fail_fast=True)

    return download_once(download, lock=target.with_name(target.name + ".lock"), timeout_s=lock_timeout_s)


def _fetch_one(remote: RemoteFile, base: Path, *, timeout_s: float, fail_fast: bool,
               cancel: threading.Event) -> tuple[Path, bool]:
    """``(path, whether the network was used)`` for one file of :func:`fetch_many`."""
    remote = remote.mirrored()
    target = base / remote.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    if _verified_or_removed(remote, target):
        return target, False
    try:
        path = _download(remote, target, progress=False, timeout_s=timeout_s, max_failures=5,
                         fail_fast=fail_fast, cancel=cancel)
    except HostUnreachableError:
        cancel.set()  # at once, so that no other worker starts another request
        raise
    return path, True


def _unreachable_many(error: HostUnreachableError, base: Path, remotes: Sequence[RemoteFile],
                      results: list[Path | None]) -> HostUnreachableError:
    missing = sum(path is None for path in results)
    example = next(remote.filename for remote, path in zip(remotes, results) if path is None)
    return HostUnreachableError(
        f"cannot reach {error.host} ({error.reason}): {missing:,} of {len(remotes):,} files are missing "
        f"in {base}. Without a network, copy the files by hand into {base}, each at its path "
        f"({example}, ...), or set {MIRROR_ENV} to a server that has them; files already there "
        "are checked and kept.",
        host=error.host, reason=error.reason, folder=base, missing=missing,
    )


def fetch_many(
    remotes: Sequence[RemoteFile],
    root: str | os.PathLike | None = None,
    *,
    workers: int = 4,
    progress: bool = True,
    timeout_s: float = 30.0,
) -> list[Path]:
    """:func:`fetch` several files, ``workers`` at a time, into ``root / remote.filename``.

    Files already present and verified are not fetched again, so an interrupted run
    resumes where it stopped. The first file that needs the network is fetched alone: if
    its host cannot be reached at all, :class:`HostUnreachableError` is raised at once
    (one request, no retries). Then the others go in parallel; a worker that finds the
    host gone (after its retries) stops the rest, and the same error is raised. Other
    failures (HTTP errors, checksums) are per file: every file is tried, then one
    :class:`DownloadError` (or :class:`ChecksumError` if all failures are checksums)
    names each failed file.

    No lock is taken: callers that may run in several processes at once (a data set)
    wrap the call in :func:`download_once`.

    Returns:
        The local paths, in the order of ``remotes``.
    """
    base = Path(root) if root is not None else cache_dir()
    cancel = threading.Event()
    results: list[Path | None] = [None] * len(remotes)
    failures: list[tuple[RemoteFile, Exception]] = []
    with tqdm(total=len(remotes), unit="file", disable=not progress) as bar:
        index = 0
        while index < len(remotes):  # alone, up to the first file that needs the network
            try:
                results[index], used_network = _fetch_one(remotes[index], base, timeout_s=timeout_s,
                                                          fail_fast=True, cancel=cancel)
            except HostUnreachableError as error:
                raise _unreachable_many(error, base, remotes, results) from error
            except (DownloadError, ChecksumError) as error:
                failures.append((remotes[index], error))
                used_network = True
            index += 1
            bar.update(1)
            if used_network:
                break
        unreachable = _fetch_in_parallel(remotes, index, base, workers, timeout_s, cancel, results, failures, bar)
    if unreachable is not None:
        raise _unreachable_many(unreachable, base, remotes, results) from unreachable
    if failures:
        lines = "\n".join(f"  {remote.filename}: {error}" for remote, error in failures[:10])
        more = f"\n  ... and {len(failures) - 10} more" if len(failures) > 10 else ""
        kind = ChecksumError if all(isinstance(e, ChecksumError) for _, e in failures) else DownloadError
        raise kind(f"{len(failures)} of {len(remotes)} files could not be fetched into {base}:\n{lines}{more}")
    return [path for path in results if path is not None]


def _fetch_in_parallel(remotes: Sequence[RemoteFile], start: int, base: Path, workers: int, timeout_s: float,
                       cancel: threading.Event, results: list[Path | None],
                       failures: list[tuple[RemoteFile, Exception]], bar) -> HostUnreachableError | None:
    """Fetch ``remotes[start:]`` into ``results`` and ``failures``; the first unreachable host stops all."""
    unreachable: HostUnreachableError | None = None
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {
            pool.submit(_fetch_one, remotes[i], base, timeout_s=timeout_s, fail_fast=False, cancel=cancel): i
            for i in range(start, len(remotes))
        }
        for future in as_completed(futures):
            index = futures[future]
            try:
                results[index] = future.result()[0]
            except HostUnreachableError as error:
                unreachable = unreachable or error
                cancel.set()
                for other in futures:
                    other.cancel()
            except (_Cancelled, CancelledError):
                pass
            except (DownloadError, ChecksumError) as error:
                failures.append((remotes[index], error))
            bar.update(1)
    return unreachable


# --------------------------------------------------------------------------------------
# One download for several processes.
# --------------------------------------------------------------------------------------


def _try_lock(handle: IO) -> bool:
    """Take an exclusive lock on an open file without waiting; whether it was taken."""
    if fcntl is None:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _is_current(handle: IO, path: Path) -> bool:
    """Whether ``path`` still names the file ``handle`` has open (the holder removes it when done)."""
    if os.name == "nt":  # an open file cannot be removed there, so the lock file is kept
        return True
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


@contextmanager
def _lock(path: Path, timeout_s: float, started: float) -> Iterator[IO]:
    """Hold the lock file ``path``; raise a failure another holder recorded since ``started``."""
    deadline = time.monotonic() + timeout_s
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = open(path, "a+", encoding="utf-8")
        try:
            while not _try_lock(handle):
                if time.monotonic() > deadline:
                    raise DownloadError(
                        f"waited {timeout_s:.0f} s for another process that is downloading (lock file {path}); "
                        "if no other process is running, delete that file"
                    )
                time.sleep(_LOCK_POLL_S)
            if _is_current(handle, path):
                try:
                    yield handle
                finally:
                    if os.name != "nt":
                        path.unlink(missing_ok=True)  # before unlocking: waiters then see a stale file
                return
            _raise_recorded_failure(handle, started)  # the holder before us is done: did it fail?
        finally:
            handle.close()  # releases the lock


def _write_record(handle: IO, record: dict) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(record))
    handle.flush()


def _raise_recorded_failure(handle: IO, started: float) -> None:
    """Raise the failure the last holder of ``handle`` recorded, if it happened after ``started``."""
    handle.seek(0)
    try:
        record = json.loads(handle.read() or "{}")
    except ValueError:
        return
    if record.get("ok", True) or record.get("time", 0.0) < started:
        return
    message = record.get("message", "another process could not download the files")
    if record.get("kind") == "HostUnreachableError":
        raise HostUnreachableError(message, host=record["host"], reason=record["reason"],
                                   folder=Path(record["folder"]), missing=int(record["missing"]))
    raise (ChecksumError if record.get("kind") == "ChecksumError" else DownloadError)(message)


def download_once(download: Callable[[], _T], *, lock: str | os.PathLike, timeout_s: float = 3600.0) -> _T:
    """``download()``, run by one process at a time: the others wait, then find the files in place.

    The ranks of a ``torchrun`` job (or two notebooks) that need the same files all call
    this: the first to take the file lock ``lock`` downloads, the others wait for it to
    finish and then run ``download()`` themselves, which finds every file verified and
    fetches nothing. If the download fails, the processes that were waiting raise the same
    error without trying again (offline, one message, not one per rank); a later call
    tries again. The lock is the operating system's (``flock``, released if the holder
    dies) and its file is removed when the holder is done.

    Args:
        download: does the work and returns its result; it must skip what is already
            there (:func:`fetch` and :func:`fetch_many` do).
        lock: the lock file, beside the files it guards (``<folder>/.download.lock``).
        timeout_s: how long to wait for another process before giving up.

    Raises:
        DownloadError: ``download()`` failed here, or in the process that was downloading
            while this one waited (with its message); or the wait took over ``timeout_s``.
        ChecksumError: likewise.
    """
    started = time.time()
    with _lock(Path(lock), timeout_s, started) as handle:
        try:
            result = download()
        except (DownloadError, ChecksumError) as error:
            record = {"ok": False, "kind": type(error).__name__, "message": str(error), "time": time.time()}
            if isinstance(error, HostUnreachableError):
                record.update(host=error.host, reason=error.reason, folder=os.fspath(error.folder),
                              missing=error.missing)
            _write_record(handle, record)
            raise
        _write_record(handle, {"ok": True, "time": time.time()})
        return result
