"""The paper's data: the Places205 test set (41,000 photos of 256x256), downloaded and split.

The authors used "a subset of the MIT Places205 dataset": the ``testSetPlaces205_resize``
archive, whose 41,000 JPEGs they split into the first 1,000 for validation and the other
40,000 for training. :func:`prepare_places205` does the same, reproducibly:

1. :func:`colorlib.hub.fetch` (the one downloader) fetches the 2.3 GB archive with a
   progress bar, resumes a partial download with an HTTP ``Range`` request (also after a
   dropped connection) and checks the size before the file gets its final name;
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

import os
import re
import shutil
import tarfile
import tempfile
import urllib.parse
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from .config import data_dir
from .files import atomic_write
from .hub import RemoteFile, download_once, fetch
from .images import find_images

__all__ = [
    "DEFAULT_URL",
    "DEFAULT_SIZE",
    "IMAGE_FOLDER",
    "VALIDATION_COUNT",
    "TRAIN_COUNT",
    "TRAIN_LIST",
    "VALIDATION_LIST",
    "UnsafeArchiveError",
    "Places205Split",
    "archive_remote",
    "safe_extract",
    "split_paper",
    "read_split",
    "has_split",
    "prepare_places205",
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

_STAGING_PREFIX = ".extracting-"


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the extraction root (or is a device file)."""


# --------------------------------------------------------------------------------------
# The archive.
# --------------------------------------------------------------------------------------


def archive_remote(url: str = DEFAULT_URL) -> RemoteFile:
    """The archive as a :class:`colorlib.hub.RemoteFile`: size checked (no sha256 is
    published for it); another ``url`` (a mirror) is trusted for its size only if it is
    the default one."""
    name = PurePosixPath(urllib.parse.urlparse(url).path).name or "places205.tar.gz"
    return RemoteFile(name, url, sha256=None, size=DEFAULT_SIZE if url == DEFAULT_URL else None)


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


def safe_extract(archive: str | os.PathLike, root: str | os.PathLike, *, progress: bool = True) -> list[Path]:
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
    *,
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
    *,
    url: str = DEFAULT_URL,
    progress: bool = True,
    validation_count: int = VALIDATION_COUNT,
    lock_timeout_s: float = 6 * 3600.0,
) -> Places205Split:
    """Download, extract and split the paper's data under ``root`` (default: :func:`colorlib.config.data_dir`).

    Each step is skipped when its result is already there: a complete archive is not
    downloaded again, and an existing split means the archive was extracted. The
    archive is kept (delete it by hand to save 2.3 GB). Offline, the download fails at
    once with :class:`colorlib.hub.HostUnreachableError`. Several processes (the ranks of
    a ``torchrun`` job) may call it at once: one prepares while the others wait on the
    lock file ``<root>/.prepare.lock`` (:func:`colorlib.hub.download_once`), then read the split.

    Raises:
        colorlib.hub.HostUnreachableError: the archive's host cannot be reached.
        colorlib.hub.DownloadError: the download failed otherwise (HTTP error, ...).
        colorlib.hub.ChecksumError: the archive has the wrong size.
        UnsafeArchiveError: a member of the archive would land outside ``root``.
    """
    root = Path(root) if root is not None else data_dir()
    root.mkdir(parents=True, exist_ok=True)

    def prepare() -> Places205Split:
        if has_split(root):
            return read_split(root)
        remote = archive_remote(url)
        archive = fetch(remote, root / remote.filename, progress=progress, timeout_s=60.0)
        safe_extract(archive, root, progress=progress)
        return split_paper(root, validation_count=validation_count)

    if has_split(root):
        return read_split(root)
    return download_once(prepare, lock=root / ".prepare.lock", timeout_s=lock_timeout_s)
