"""The paper's data: the Places205 test set (41,000 photos of 256x256), downloaded and split.

The authors used "a subset of the MIT Places205 dataset": the ``testSetPlaces205_resize``
archive, whose 41,000 JPEGs they split into the first 1,000 for validation and the other
40,000 for training. :func:`prepare_places205` does the same, reproducibly:

1. :func:`download_archive` fetches the 2.3 GB archive with a progress bar, resumes a
   partial download with an HTTP ``Range`` request (also after a dropped connection) and
   checks the size before the file gets its final name;
2. :func:`safe_extract` unpacks it without trusting it: no absolute paths, no ``..``, no
   links that point outside the root, no device files (the :mod:`tarfile` ``data`` filter
   on top of colorlib's own checks); a bad member stops the extraction and nothing is
   left behind;
3. :func:`split_paper` lists the images in **sorted file-name order** and writes
   ``val.txt`` (the first 1,000) and ``train.txt`` (the rest). The authors' code took
   ``os.listdir`` order, which depends on the file system and differs between machines, so
   their exact split cannot be recovered; sorted order is the reproducible reading of
   "the first 1,000 images".

``colorlib download places205 --root DIR [--url URL]`` runs all three; ``colorlib train
--data DIR`` (or ``COLORLIB_DATA=DIR`` with the paper profile) then reads the two lists.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from .config import data_dir
from .files import atomic_write

__all__ = [
    "DEFAULT_URL",
    "DEFAULT_SIZE",
    "IMAGE_FOLDER",
    "VALIDATION_COUNT",
    "TRAIN_COUNT",
    "TRAIN_LIST",
    "VALIDATION_LIST",
    "DownloadError",
    "UnsafeArchiveError",
    "Places205Split",
    "download_archive",
    "safe_extract",
    "split_paper",
    "read_split",
    "has_split",
    "prepare_places205",
    "register_cli",
]

DEFAULT_URL = "http://data.csail.mit.edu/places/places205/testSetPlaces205_resize.tar.gz"
#: Size in bytes of the archive at :data:`DEFAULT_URL`.
DEFAULT_SIZE = 2_341_250_899
#: The folder inside the archive that holds the JPEGs.
IMAGE_FOLDER = "testSet_resize"
VALIDATION_COUNT = 1_000
TRAIN_COUNT = 40_000
#: The split files written beside the images (paths relative to the root, one a line).
TRAIN_LIST = "train.txt"
VALIDATION_LIST = "val.txt"

_CHUNK = 1 << 20
_STAGING_PREFIX = ".extracting-"


class DownloadError(RuntimeError):
    """The archive cannot be fetched (no network, an HTTP error, too many dropped connections)."""


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the extraction root (or is a device file)."""


# --------------------------------------------------------------------------------------
# Download with resume.
# --------------------------------------------------------------------------------------


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """``(first byte, total size)`` from ``Content-Range: bytes 100-199/1000`` (or ``bytes */1000``)."""
    if not header:
        return None, None
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", header)
    if match is None:
        return None, None
    first = int(match.group(1)) if match.group(1) is not None else None
    total = int(match.group(2)) if match.group(2) != "*" else None
    return first, total


def download_archive(
    url: str = DEFAULT_URL,
    destination: str | os.PathLike | None = None,
    expected_size: int | None = None,
    progress: bool = True,
    timeout_s: float = 60.0,
    max_failures: int = 5,
) -> Path:
    """Download ``url`` to ``destination``, resuming a partial file, and check its size.

    The bytes go to ``<destination>.part``; a later call (or a retry after a dropped
    connection, up to ``max_failures`` in a row without progress) asks the server for the
    rest with ``Range: bytes=<size of the part file>-``. A server that ignores ``Range``
    (answers 200) restarts the file from zero. Only when the size is right is the file
    renamed to ``destination``, so a file under the final name is always complete.

    Args:
        url: where the archive lives (``http://`` or ``https://``).
        destination: the final file (default: the URL's file name in the current folder).
        expected_size: the size in bytes; ``None`` uses :data:`DEFAULT_SIZE` for
            :data:`DEFAULT_URL` and otherwise the size the server announces
            (``Content-Length`` or ``Content-Range``).
        progress: show a progress bar.
        timeout_s: socket timeout for each request.
        max_failures: consecutive failed attempts (no byte received) before giving up.

    Returns:
        The path of the complete file.

    Raises:
        DownloadError: the server cannot be reached, answers an HTTP error, or keeps dropping.
        ValueError: the server's size differs from ``expected_size``, or the finished file
            has the wrong size (the partial file is then removed).
    """
    if expected_size is None and url == DEFAULT_URL:
        expected_size = DEFAULT_SIZE
    if destination is None:
        destination = Path(PurePosixPath(urllib.request.urlparse(url).path).name or "download")
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    if destination.exists():
        if expected_size is None or destination.stat().st_size == expected_size:
            return destination
        destination.unlink()  # wrong size under the final name: fetch it again

    failures = 0
    bar = tqdm(total=expected_size, unit="B", unit_scale=True, desc=destination.name, disable=not progress)
    try:
        while True:
            have = partial.stat().st_size if partial.exists() else 0
            if expected_size is not None and have > expected_size:
                partial.unlink()
                have = 0
            if expected_size is not None and have == expected_size:
                break
            bar.n = have
            bar.refresh()
            request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
            try:
                response = urllib.request.urlopen(request, timeout=timeout_s)
            except urllib.error.HTTPError as error:
                if error.code == 416 and have:  # the part file already holds everything
                    _, total = _content_range(error.headers.get("Content-Range"))
                    if total is not None and total == have:
                        expected_size = expected_size if expected_size is not None else total
                        continue
                    partial.unlink()  # the server disagrees with our part file: start again
                    continue
                raise DownloadError(f"cannot download {url}: HTTP {error.code} {error.reason}") from error
            except (urllib.error.URLError, HTTPException, OSError) as error:
                failures += 1
                if failures >= max_failures:
                    raise DownloadError(
                        f"cannot download {url}: {error} ({failures} attempts). Run the same command "
                        f"again later: it resumes from the {have:,} bytes already in {partial.name}."
                    ) from error
                time.sleep(min(2.0 ** failures, 30.0))
                continue

            received = 0
            with response:
                if response.status == 206:
                    first, total = _content_range(response.headers.get("Content-Range"))
                    if first != have:  # not the range we asked for: start from scratch
                        partial.unlink(missing_ok=True)
                        continue
                    mode = "ab"
                else:  # 200: the server ignored Range and sends the whole file
                    length = response.headers.get("Content-Length")
                    total = int(length) if length else None
                    mode = "wb"
                    bar.n = 0
                if total is not None:
                    if expected_size is None:
                        expected_size = total
                        bar.total = total
                    elif total != expected_size:
                        raise ValueError(
                            f"{url}: the server announces {total:,} bytes, expected {expected_size:,}; "
                            "not the archive this course expects"
                        )
                try:
                    with open(partial, mode) as out:
                        for chunk in iter(lambda: response.read(_CHUNK), b""):
                            out.write(chunk)
                            received += len(chunk)
                            bar.update(len(chunk))
                except (HTTPException, OSError) as error:  # IncompleteRead, reset, timeout
                    failures = 0 if received else failures + 1
                    if failures >= max_failures:
                        raise DownloadError(f"cannot download {url}: {error}") from error
                    continue
            if expected_size is None:
                break  # no size announced at all: trust the end of the stream
            failures = 0 if received else failures + 1
            if failures >= max_failures:
                raise DownloadError(f"cannot download {url}: the server keeps sending nothing")
    finally:
        bar.close()

    size = partial.stat().st_size
    if expected_size is not None and size != expected_size:
        partial.unlink()
        raise ValueError(f"{url}: downloaded {size:,} bytes, expected {expected_size:,}; the file was removed")
    os.replace(partial, destination)
    return destination


# --------------------------------------------------------------------------------------
# Safe extraction.
# --------------------------------------------------------------------------------------


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _check_member(member: tarfile.TarInfo, root: Path) -> None:
    """Raise :class:`UnsafeArchiveError` unless ``member`` stays inside ``root`` (resolved)."""
    name = member.name
    pure = PurePosixPath(name)
    if pure.is_absolute() or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path")
    if ".." in pure.parts:
        raise UnsafeArchiveError(f"archive member {name!r} contains '..'")
    target = (root / pure).resolve()
    if not _inside(target, root):
        raise UnsafeArchiveError(f"archive member {name!r} would be written outside the root")
    if member.issym() or member.islnk():
        link = PurePosixPath(member.linkname)
        if link.is_absolute() or member.linkname.startswith(("/", "\\")):
            raise UnsafeArchiveError(f"archive member {name!r} links to the absolute path {member.linkname!r}")
        base = target.parent if member.issym() else root  # hard links name a path from the root
        if not _inside((base / link).resolve(), root):
            raise UnsafeArchiveError(f"archive member {name!r} links outside the root ({member.linkname!r})")
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"archive member {name!r} is a device, pipe or other special file")


def safe_extract(archive: str | os.PathLike, root: str | os.PathLike, progress: bool = True) -> list[Path]:
    """Unpack a tar archive (``.tar``, ``.tar.gz``, ...) into ``root`` without trusting it.

    Every member is checked before it is written (:class:`UnsafeArchiveError` for an
    absolute path, a ``..``, a link whose target resolves outside ``root``, a device
    file) and, where Python has it, the :mod:`tarfile` ``data`` filter applies too.
    Members go to a hidden staging folder inside ``root`` first; only when the whole
    archive has been read are its top-level entries renamed into ``root`` (replacing
    older copies). On any error the staging folder is removed: nothing is written
    outside ``root`` and nothing half-extracted stays inside it.

    Returns:
        The top-level paths created in ``root``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    for stale in root.glob(_STAGING_PREFIX + "*"):  # left by a killed extraction
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=root)).resolve()
    extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tqdm(tar, desc=f"extracting {Path(archive).name}", unit=" files", disable=not progress):
                _check_member(member, staging)
                try:
                    tar.extract(member, staging, **extra)
                except tarfile.FilterError as error:  # pragma: no cover - our checks come first
                    raise UnsafeArchiveError(f"archive member {member.name!r} refused: {error}") from error
        created = []
        for entry in sorted(staging.iterdir()):
            final = root / entry.name
            if final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            elif final.exists() or final.is_symlink():
                final.unlink()
            os.replace(entry, final)
            created.append(final)
        return created
    except tarfile.TarError as error:
        raise ValueError(f"{Path(archive).name} is not a readable tar archive: {error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------------------
# The paper's split.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Places205Split:
    """The two file lists of the paper's split (absolute paths, in sorted file-name order)."""

    train: list[Path]
    validation: list[Path]


def _write_lines(path: Path, lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)
    atomic_write(path, lambda name: Path(name).write_text(text, encoding="utf-8"))


def split_paper(
    root: str | os.PathLike,
    image_folder: str | os.PathLike | None = None,
    validation_count: int = VALIDATION_COUNT,
) -> Places205Split:
    """Split the images under ``root`` like the paper and write ``val.txt`` and ``train.txt``.

    All images below ``image_folder`` (default ``root/testSet_resize``, or ``root`` when
    that does not exist) are sorted by their path relative to ``root``; the first
    ``validation_count`` go to validation, all others to training. The paper's archive
    gives 1,000 and 40,000; another count gives a warning. (The authors took
    ``os.listdir`` order, which differs between machines; sorted order is reproducible.)

    Raises:
        ValueError: no images found.
    """
    from .data import find_images  # local import: data imports torch-heavy modules

    root = Path(root).resolve()
    folder = Path(image_folder) if image_folder is not None else root / IMAGE_FOLDER
    if image_folder is None and not folder.is_dir():
        folder = root
    files = find_images(folder)
    if not files:
        raise ValueError(f"no images found under {folder}: expected the JPEGs of {IMAGE_FOLDER}/")
    relative = sorted(path.resolve().relative_to(root).as_posix() for path in files)
    validation, train = relative[:validation_count], relative[validation_count:]
    if validation_count == VALIDATION_COUNT and len(train) != TRAIN_COUNT:
        warnings.warn(
            f"found {len(relative):,} images, the paper's archive holds "
            f"{VALIDATION_COUNT + TRAIN_COUNT:,}: training on {len(train):,} instead of {TRAIN_COUNT:,}",
            stacklevel=2,
        )
    _write_lines(root / VALIDATION_LIST, validation)
    _write_lines(root / TRAIN_LIST, train)
    return Places205Split(train=[root / p for p in train], validation=[root / p for p in validation])


def has_split(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds the two split files written by :func:`split_paper`."""
    root = Path(root)
    return (root / TRAIN_LIST).is_file() and (root / VALIDATION_LIST).is_file()


def read_split(root: str | os.PathLike) -> Places205Split:
    """Read ``train.txt`` and ``val.txt`` under ``root`` back as absolute paths.

    Raises:
        FileNotFoundError: the split files are missing (run ``colorlib download places205``).
    """
    root = Path(root).resolve()
    if not has_split(root):
        raise FileNotFoundError(
            f"no {TRAIN_LIST} / {VALIDATION_LIST} in {root}: run "
            f"`colorlib download places205 --root {root}` first (or point --data at a folder of images)"
        )

    def read(name: str) -> list[Path]:
        lines = (root / name).read_text(encoding="utf-8").splitlines()
        return [root / line for line in lines if line.strip()]

    return Places205Split(train=read(TRAIN_LIST), validation=read(VALIDATION_LIST))


def prepare_places205(
    root: str | os.PathLike | None = None,
    url: str = DEFAULT_URL,
    progress: bool = True,
    validation_count: int = VALIDATION_COUNT,
) -> Places205Split:
    """Download, extract and split the paper's data under ``root`` (default: :func:`colorlib.config.data_dir`).

    Each step is skipped when its result is already there: a complete archive is not
    downloaded again, and an existing split means the archive was extracted. The
    archive is kept (delete it by hand to save 2.3 GB).
    """
    root = Path(root) if root is not None else data_dir()
    root.mkdir(parents=True, exist_ok=True)
    if has_split(root):
        return read_split(root)
    name = PurePosixPath(urllib.request.urlparse(url).path).name or "places205.tar.gz"
    archive = download_archive(url, root / name, progress=progress)
    safe_extract(archive, root, progress=progress)
    return split_paper(root, validation_count=validation_count)


# --------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------


def _command(args: argparse.Namespace) -> int:
    root = Path(args.root) if args.root else data_dir()
    try:
        split = prepare_places205(root, url=args.url, progress=not args.no_progress)
    except (DownloadError, UnsafeArchiveError, ValueError) as error:
        print(f"colorlib download places205: {error}")
        return 1
    print(
        f"Places205: {len(split.train):,} training and {len(split.validation):,} validation images "
        f"(lists {TRAIN_LIST} and {VALIDATION_LIST} in {root})"
    )
    return 0


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download a data set (places205: the paper's 41,000 photos)",
        description="Download a data set the course uses.",
    )
    targets = parser.add_subparsers(title="data sets", metavar="DATASET")
    places = targets.add_parser(
        "places205",
        help="the Places205 test set, split like the paper (1,000 validation / 40,000 training)",
        description=(
            "Download testSetPlaces205_resize.tar.gz (2.3 GB; resumes an interrupted download), "
            "extract it safely and write the paper's split: the first 1,000 files in sorted "
            "file-name order for validation, the other 40,000 for training. (The authors' code "
            "took os.listdir order, which differs between machines.)"
        ),
    )
    places.add_argument("--root", help="folder for the archive and the images (default: COLORLIB_DATA or <cache>/places205)")
    places.add_argument("--url", default=DEFAULT_URL, help="another location of the archive (a mirror)")
    places.add_argument("--no-progress", action="store_true", help="no progress bars")
    places.set_defaults(handler=_command)
