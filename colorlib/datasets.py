"""Real photographs for the course: ``landscapes`` and ``caltech101`` (training and validation), ``kodak24`` (test).

Three small, openly licensed sets of real photos, downloaded on first use file by file from
public repositories pinned by commit, each file checked against the sha256 in a manifest
that ships inside colorlib (``colorlib/manifests/``):

* ``landscapes``: 1,480 outdoor Flickr photos (city 93, field 141, forest 436, lake 229,
  mountain 226, ocean 139, road 216; about 250x169 px, 34 MB), each under CC BY 2.0,
  CC BY-SA 2.0, CC0, the public domain mark or a US Government work. They live in the
  cache as ``<cache>/landscapes/images/<category>/<file>.jpg``.
* ``caltech101``: a colour subset of Caltech-101 (Li, Andreeto, Ranzato and Perona; CaltechDATA, 2022): 2,999
  photos of objects, animals, people and places, up to 30 from each of 100 categories
  (median 300x259 px, 44 MB), under CC BY 4.0 as a data set (CaltechDATA; no per-photo
  record): ``<cache>/caltech101/images/<category>/<file>.jpg``.
* ``kodak24``: the 24 Kodak test photographs (768x512 or 512x768 PNG, 15 MB), released by
  the Eastman Kodak Company for any use: ``<cache>/kodak24/kodimNN.png``. This is the
  **test set**: nothing (no split, no threshold, no checkpoint) is chosen on it.

:func:`download_dataset` fetches what is missing through :mod:`colorlib.hub` (a few files in
parallel, each verified before it gets its final name, so an interrupted run resumes).
:func:`dataset_files` lists a set's files; it checks existence and size on every call (a few
milliseconds) and the full sha256 only when it downloads (:func:`verify_dataset` checks all
of them on demand). :func:`landscapes_split` splits training and validation **by
photographer**: one photographer took 360 of the photos, often of the same forest, and
near-duplicate shots on both sides would flatter the validation loss (it is the quick
profile's split and stays as it is; :mod:`colorlib.splits` has the stratified splits).

CC BY and CC BY-SA require attribution: :mod:`colorlib.credits` names title, photographer,
licence and source of any set of these photos (and writes ``CREDITS.md``).

>>> len(landscapes_manifest()), len(caltech101_manifest()), len(kodak24_manifest())
(1480, 2999, 24)
>>> landscapes_manifest()[0].license_name
'CC BY 2.0'
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import os
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePath

from . import hub
from .config import cache_dir
from .files import atomic_write

__all__ = [
    "DATASET_NAMES",
    "LANDSCAPES_COMMIT",
    "CALTECH101_COMMIT",
    "KODAK24_COMMIT",
    "LANDSCAPES_URL",
    "CALTECH101_URL",
    "KODAK24_URL",
    "CALTECH101_LICENSE",
    "CALTECH101_OWNER",
    "CALTECH101_RECORD_URL",
    "KODAK_LICENSE",
    "KODAK_OWNER",
    "LICENSES",
    "License",
    "PhotoRecord",
    "landscapes_manifest",
    "caltech101_manifest",
    "kodak24_manifest",
    "manifest",
    "remote_files",
    "download_dataset",
    "dataset_files",
    "verify_dataset",
    "landscapes_split_records",
    "landscapes_split",
    "kodak24_files",
]

#: The data sets this module downloads (``places205`` lives in :mod:`colorlib.places205`).
DATASET_NAMES = ("landscapes", "caltech101", "kodak24")
#: ``github.com/ml5js/ml5-examples`` at the last commit that still holds the landscapes.
LANDSCAPES_COMMIT = "27039e7dd25d1c619fae931bcafd9aae1bdae5a5"
#: ``github.com/MachineLearning2020/Homework2-Caltech101``, which keeps Caltech-101's folders.
CALTECH101_COMMIT = "cb7946ed907cfc19c9b1daf5bb2a0aefcbd8abb3"
#: ``github.com/coodie/quant``, which keeps the Kodak suite in ``images/kodim/``.
KODAK24_COMMIT = "bc7affc715299a8d98403622918116b88657a8b8"
#: Where a landscape photo is published; ``{file}`` is ``<category>/<name>.jpg``.
LANDSCAPES_URL = (
    "https://raw.githubusercontent.com/ml5js/ml5-examples/{commit}/"
    "p5js/00_ImageClassification_MultipleImages/images/landscapes_small/{file}"
)
#: Where a Caltech-101 photo is published; ``{file}`` is ``<category>/image_NNNN.jpg``.
CALTECH101_URL = (
    "https://raw.githubusercontent.com/MachineLearning2020/Homework2-Caltech101/{commit}/"
    "101_ObjectCategories/{file}"
)
#: Where a Kodak photo is published; ``{file}`` is ``kodimNN.png``.
KODAK24_URL = "https://raw.githubusercontent.com/coodie/quant/{commit}/images/kodim/{file}"
#: The ``license`` of every Kodak record.
KODAK_LICENSE = "Kodak, free for any use"
#: The ``owner`` of every Kodak record.
KODAK_OWNER = "Eastman Kodak Company"
#: The ``license`` of every Caltech-101 record: the data set's licence on CaltechDATA.
CALTECH101_LICENSE = "CC-BY-4.0"
#: The ``owner`` of every Caltech-101 record: the data set's creators in its CaltechDATA record (the photos were
#: gathered from web searches and carry no per-photo record).
CALTECH101_OWNER = "Li, Andreeto, Ranzato and Perona"
#: The data set's record in Caltech's data repository (CaltechDATA), the ``source_url`` of
#: every Caltech-101 record.
CALTECH101_RECORD_URL = "https://doi.org/10.22002/D1.20086"

_MANIFEST_FIELDS = ("file", "sha256", "bytes", "category", "license", "owner", "owner_id", "title", "source_url")
_CALTECH101_FIELDS = ("file", "sha256", "bytes", "category", "width", "height")
#: The file a dataset folder keeps beside its photos, copied from the packaged manifest.
_FOLDER_INDEX = {
    "landscapes": ("landscapes.csv", "manifest.csv"),
    "caltech101": ("caltech101.csv", "manifest.csv"),
    "kodak24": ("kodak24.sha256", "SHA256SUMS"),
}
#: The data sets kept as ``<name>/images/<category>/<file>`` (Kodak's photos lie in ``kodak24/``).
_IN_IMAGES_FOLDER = ("landscapes", "caltech101")


@dataclass(frozen=True)
class License:
    """A licence as attribution names it.

    Attributes:
        code: the code in the manifest's ``license`` column (``"BY"``, ``"BY-SA"``, ...).
        name: the short name for captions (``"CC BY 2.0"``).
        url: the licence deed, or ``None`` where there is none to link.
    """

    code: str
    name: str
    url: str | None


#: Every licence code found in the manifests (a new code is refused when a manifest is read).
LICENSES: dict[str, License] = {
    "BY": License("BY", "CC BY 2.0", "https://creativecommons.org/licenses/by/2.0/"),
    "BY-SA": License("BY-SA", "CC BY-SA 2.0", "https://creativecommons.org/licenses/by-sa/2.0/"),
    "CC0": License("CC0", "CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "PDM": License("PDM", "Public Domain Mark 1.0", "https://creativecommons.org/publicdomain/mark/1.0/"),
    "USGov": License("USGov", "US Government work", "https://www.usa.gov/government-copyright"),
    CALTECH101_LICENSE: License(CALTECH101_LICENSE, "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    KODAK_LICENSE: License(KODAK_LICENSE, "free for any use", None),
}


@dataclass(frozen=True)
class PhotoRecord:
    """One photo of a data set, as its manifest describes it.

    Attributes:
        file: the path inside the data set's image folder (``"city/10044951014_ca0e00a0ba.jpg"``,
            ``"Faces/image_0016.jpg"``, ``"kodim01.png"``).
        sha256: its sha256, 64 lowercase hex digits.
        bytes: its size in bytes.
        category: the landscape or Caltech-101 folder (``"city"``, ``"Faces"``, ...), or ``"kodak24"``.
        license: the licence code, a key of :data:`LICENSES`.
        owner: the photographer's name (Caltech-101: the data set's authors).
        owner_id: the photographer's Flickr id (``"8584048@N05"``), ``"caltech101"`` or ``"kodak"``.
        title: the photo's title (may be empty; Caltech-101: the file's stem).
        source_url: where the photo was published (Flickr's static file for landscapes,
            the data set's record for Caltech-101).
        dataset: ``"landscapes"``, ``"caltech101"`` or ``"kodak24"``.
    """

    file: str
    sha256: str
    bytes: int
    category: str
    license: str
    owner: str
    owner_id: str
    title: str
    source_url: str
    dataset: str = "landscapes"

    @property
    def cache_name(self) -> str:
        """The path under the cache (or a download root): ``<dataset>/images/<file>`` or ``kodak24/<file>``."""
        return f"{self.dataset}/images/{self.file}" if self.dataset in _IN_IMAGES_FOLDER else f"{self.dataset}/{self.file}"

    @property
    def url(self) -> str:
        """The pinned address colorlib downloads the file from."""
        if self.dataset == "landscapes":
            return LANDSCAPES_URL.format(commit=LANDSCAPES_COMMIT, file=self.file)
        if self.dataset == "caltech101":
            return CALTECH101_URL.format(commit=CALTECH101_COMMIT, file=self.file)
        return KODAK24_URL.format(commit=KODAK24_COMMIT, file=self.file)

    @property
    def page_url(self) -> str:
        """The photo's page: ``https://www.flickr.com/photos/<owner_id>/<photo id>`` for landscapes."""
        if self.dataset != "landscapes":
            return self.source_url
        photo_id = PurePath(self.file).name.split("_", 1)[0]
        return f"https://www.flickr.com/photos/{self.owner_id}/{photo_id}"

    @property
    def owner_url(self) -> str | None:
        """The photographer's Flickr page, or ``None`` (Caltech-101, Kodak)."""
        return f"https://www.flickr.com/photos/{self.owner_id}/" if self.dataset == "landscapes" else None

    @property
    def license_name(self) -> str:
        """The licence's short name (``"CC BY 2.0"``)."""
        return LICENSES[self.license].name

    @property
    def license_url(self) -> str | None:
        """The licence deed's address, or ``None``."""
        return LICENSES[self.license].url


# --------------------------------------------------------------------------------------
# manifests
# --------------------------------------------------------------------------------------


def _packaged(name: str) -> bytes:
    return resources.files("colorlib").joinpath("manifests", name).read_bytes()


@functools.lru_cache(maxsize=None)
def _landscape_records() -> tuple[PhotoRecord, ...]:
    text = _packaged("landscapes.csv").decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != _MANIFEST_FIELDS:
        raise ValueError(f"colorlib/manifests/landscapes.csv: expected the columns {_MANIFEST_FIELDS}, got {reader.fieldnames}")
    records = []
    for row in reader:
        if row["license"] not in LICENSES:
            raise ValueError(
                f"landscapes manifest, {row['file']}: unknown licence code {row['license']!r} "
                f"(expected one of {sorted(LICENSES)})"
            )
        records.append(PhotoRecord(**{**row, "bytes": int(row["bytes"])}, dataset="landscapes"))
    return tuple(records)


@functools.lru_cache(maxsize=None)
def _caltech101_records() -> tuple[PhotoRecord, ...]:
    text = _packaged("caltech101.csv").decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != _CALTECH101_FIELDS:
        raise ValueError(
            f"colorlib/manifests/caltech101.csv: expected the columns {_CALTECH101_FIELDS}, got {reader.fieldnames}"
        )
    records = []
    for row in reader:
        if PurePath(row["file"]).parts[0] != row["category"]:
            raise ValueError(f"caltech101 manifest, {row['file']}: not in its category folder {row['category']!r}")
        records.append(
            PhotoRecord(
                file=row["file"],
                sha256=row["sha256"],
                bytes=int(row["bytes"]),
                category=row["category"],
                license=CALTECH101_LICENSE,
                owner=CALTECH101_OWNER,
                owner_id="caltech101",
                title=PurePath(row["file"]).stem,
                source_url=CALTECH101_RECORD_URL,
                dataset="caltech101",
            )
        )
    return tuple(records)


@functools.lru_cache(maxsize=None)
def _kodak_records() -> tuple[PhotoRecord, ...]:
    sizes = {
        row["file"]: int(row["bytes"])
        for row in csv.DictReader(io.StringIO(_packaged("kodak24_sizes.csv").decode("utf-8"), newline=""))
    }
    records = []
    for line in _packaged("kodak24.sha256").decode("utf-8").splitlines():
        if not line.strip():
            continue
        digest, name = line.split(maxsplit=1)
        name = name.lstrip("*")
        records.append(
            PhotoRecord(
                file=name,
                sha256=digest,
                bytes=sizes[name],
                category="kodak24",
                license=KODAK_LICENSE,
                owner=KODAK_OWNER,
                owner_id="kodak",
                title=PurePath(name).stem,
                source_url=KODAK24_URL.format(commit=KODAK24_COMMIT, file=name),
                dataset="kodak24",
            )
        )
    return tuple(sorted(records, key=lambda record: record.file))


def landscapes_manifest() -> list[PhotoRecord]:
    """The 1,480 landscape photos, in the manifest's order (category, then file name).

    Read from the manifest packaged in ``colorlib/manifests/landscapes.csv``; no network,
    no files needed.
    """
    return list(_landscape_records())


def caltech101_manifest() -> list[PhotoRecord]:
    """The 2,999 Caltech-101 photos (100 categories), in the manifest's order (category, then file name).

    Read from ``colorlib/manifests/caltech101.csv``; every record has the licence
    :data:`CALTECH101_LICENSE`, the owner :data:`CALTECH101_OWNER` and the owner id
    ``"caltech101"`` (the data set has no per-photo record).
    """
    return list(_caltech101_records())


def kodak24_manifest() -> list[PhotoRecord]:
    """The 24 Kodak photos ``kodim01.png`` .. ``kodim24.png`` (licence :data:`KODAK_LICENSE`)."""
    return list(_kodak_records())


def _check_name(name: str) -> str:
    if name == "places205":
        raise ValueError(
            "places205 is downloaded by colorlib.places205.prepare_places205 "
            "(`colorlib download places205`), not colorlib.datasets"
        )
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown data set {name!r}: expected one of {', '.join(DATASET_NAMES)}")
    return name


def manifest(name: str) -> list[PhotoRecord]:
    """The records of data set ``name`` (one of :data:`DATASET_NAMES`).

    Raises:
        ValueError: another name.
    """
    readers = {"landscapes": landscapes_manifest, "caltech101": caltech101_manifest, "kodak24": kodak24_manifest}
    return readers[_check_name(name)]()


# --------------------------------------------------------------------------------------
# downloads and files
# --------------------------------------------------------------------------------------


def _root(root: str | os.PathLike | None) -> Path:
    return Path(root).expanduser() if root is not None else cache_dir()


def remote_files(name: str) -> list[hub.RemoteFile]:
    """The files of data set ``name`` as :class:`colorlib.hub.RemoteFile` (cache name, URL, sha256, size).

    >>> remote_files("kodak24")[0].filename
    'kodak24/kodim01.png'
    """
    return [
        hub.RemoteFile(record.cache_name, record.url, sha256=record.sha256, size=record.bytes)
        for record in manifest(name)
    ]


def _hand_copy_hint(name: str, folder: Path) -> str:
    layout = "manifest.csv and images/<category>/<file>.jpg" if name in _IN_IMAGES_FOLDER else "kodim01.png .. kodim24.png"
    return (
        f"Without a network, copy the {name} dataset folder ({layout}) by hand into {folder} "
        f"(the cache folder is set by COLORLIB_CACHE; `cp -R <copy>/{name}/. {folder}/`), "
        f"or set {hub.MIRROR_ENV} to a server that has it; files already there are checked and kept."
    )


def _write_folder_index(name: str, folder: Path) -> None:
    """Put the packaged manifest beside the photos (``manifest.csv`` / ``SHA256SUMS``) if it differs."""
    packaged, local = _FOLDER_INDEX[name]
    content = _packaged(packaged)
    target = folder / local
    if target.is_file() and target.read_bytes() == content:
        return
    atomic_write(target, lambda temporary: Path(temporary).write_bytes(content))


def download_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    workers: int = 4,
    progress: bool = True,
    lock_timeout_s: float = 3600.0,
) -> Path:
    """Download data set ``name`` into ``<root>/<name>``; files present and verified are kept.

    Each file is fetched by :func:`colorlib.hub.fetch_many` (``workers`` at a time) from its
    pinned address (or ``$COLORLIB_MIRROR/<cache name>``), resumed from its ``.part`` file
    if an earlier run was interrupted, and checked against its sha256 and size before it is
    renamed into place. A file already in place is hashed and kept if it matches.

    Offline, it fails fast and once: if the first file's host cannot be reached at all,
    one :class:`colorlib.hub.HostUnreachableError` names the host, the folder and how to
    fill it by hand, after a single request.

    Several processes (the ranks of a ``torchrun`` job) may call it at once: one downloads
    while the others wait on the lock file ``<root>/<name>/.download.lock``
    (:func:`colorlib.hub.download_once`), then find the files in place.

    Args:
        name: ``"landscapes"``, ``"caltech101"`` or ``"kodak24"``.
        root: the folder that holds the data set folders (default: the cache folder,
            :func:`colorlib.config.cache_dir`).
        workers: parallel downloads.
        progress: show a progress bar (files done).
        lock_timeout_s: how long to wait for another process that is downloading the set.

    Returns:
        The data set folder, ``<root>/<name>``.

    Raises:
        ValueError: an unknown ``name``.
        colorlib.hub.HostUnreachableError: the host cannot be reached (offline); one message.
        colorlib.hub.DownloadError: files could not be fetched (HTTP errors); the message
            names each of them, the folder, and how to fill it by hand.
        colorlib.hub.ChecksumError: files arrived with the wrong sha256 or size; they were
            discarded.
    """
    _check_name(name)
    base = _root(root)
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    remotes = remote_files(name)

    def download() -> None:
        try:
            hub.fetch_many(remotes, root=base, workers=workers, progress=progress)
        except hub.HostUnreachableError as error:
            raise hub.HostUnreachableError(
                f"{name}: cannot reach {error.host} ({error.reason}), so {error.missing:,} of "
                f"{len(remotes):,} files are missing in {folder}. {_hand_copy_hint(name, folder)}",
                host=error.host, reason=error.reason, folder=folder, missing=error.missing,
            ) from error
        except hub.ChecksumError as error:
            raise hub.ChecksumError(f"{name}: {error}") from error
        except hub.DownloadError as error:
            raise hub.DownloadError(f"{name}: {error}\n{_hand_copy_hint(name, folder)}") from error
        _write_folder_index(name, folder)

    hub.download_once(download, lock=folder / ".download.lock", timeout_s=lock_timeout_s)
    return folder


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def dataset_files(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
) -> list[Path]:
    """The files of data set ``name``, sorted, downloading what is missing.

    Every call checks that each file exists with its manifest size (one ``stat`` call a
    file, milliseconds); the full sha256 is checked only when something has to be downloaded
    (then :func:`download_dataset` hashes every file) or by :func:`verify_dataset`.

    Args:
        name: ``"landscapes"``, ``"caltech101"`` or ``"kodak24"``.
        root: the folder that holds the data set folders (default: the cache folder).
        download: fetch missing or wrong-sized files; if ``False``, they raise.
        progress: show a progress bar while downloading.

    Returns:
        Absolute paths ``<root>/<name>/images/<category>/<file>.jpg`` (landscapes,
        caltech101) or ``<root>/kodak24/kodimNN.png``, sorted.

    Raises:
        FileNotFoundError: ``download=False`` and files are missing or have the wrong size
            (the message names the first ones and how to get them).
        colorlib.hub.DownloadError, colorlib.hub.ChecksumError: see :func:`download_dataset`.
    """
    records = manifest(name)
    base = _root(root)
    paths = [base / record.cache_name for record in records]
    missing = [record.cache_name for record, path in zip(records, paths) if not _has_size(path, record.bytes)]
    if missing:
        if not download:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            raise FileNotFoundError(
                f"{len(missing)} of {len(records)} {name} files are missing or have the wrong size under {base} "
                f"({shown}); run colorlib.datasets.download_dataset({name!r}) or `colorlib download {name}`. "
                + _hand_copy_hint(name, base / name)
            )
        download_dataset(name, root=base, progress=progress)
    return sorted(paths)


def verify_dataset(name: str, *, root: str | os.PathLike | None = None) -> list[str]:
    """The cache names of the files of ``name`` that are missing or fail their sha256/size (empty: all good).

    Hashes every file (landscapes: 34 MB, caltech101: 44 MB); nothing is downloaded or deleted.
    """
    base = _root(root)
    return [
        remote.filename
        for remote in remote_files(name)
        if not hub.is_verified(remote, base / remote.filename)
    ]


# --------------------------------------------------------------------------------------
# splits
# --------------------------------------------------------------------------------------


def _photographer_order(owner_id: str) -> str:
    """A fixed pseudo-random order of photographers: the sha256 of their id (same on every machine)."""
    return hashlib.sha256(owner_id.encode("utf-8")).hexdigest()


def landscapes_split_records(validation_fraction: float = 0.15) -> tuple[list[PhotoRecord], list[PhotoRecord]]:
    """Training and validation landscapes, split **by photographer**; no files needed.

    Photographers are taken in the order of the sha256 of their Flickr id; each goes whole
    into validation if their photos still fit under ``round(validation_fraction * 1480)``,
    otherwise into training. So no photographer is on both sides, the photographer with
    360 photos always lands in training, and the result is the same on every machine and
    Python version.

    Args:
        validation_fraction: the share of photos for validation, strictly between 0 and 1.

    Returns:
        ``(train, validation)`` records, each in manifest order.

    Raises:
        ValueError: a fraction outside (0, 1).
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be strictly between 0 and 1, got {validation_fraction}")
    records = landscapes_manifest()
    photos_by_owner = Counter(record.owner_id for record in records)
    target = round(validation_fraction * len(records))
    validation_owners: set[str] = set()
    taken = 0
    for owner_id in sorted(photos_by_owner, key=lambda owner: (_photographer_order(owner), owner)):
        if taken + photos_by_owner[owner_id] <= target:
            validation_owners.add(owner_id)
            taken += photos_by_owner[owner_id]
        if taken == target:
            break
    train = [record for record in records if record.owner_id not in validation_owners]
    validation = [record for record in records if record.owner_id in validation_owners]
    return train, validation


def landscapes_split(
    root: str | os.PathLike | None = None,
    *,
    validation_fraction: float = 0.15,
    download: bool = True,
) -> tuple[list[Path], list[Path]]:
    """Training and validation landscape files, split by photographer (see :func:`landscapes_split_records`).

    Args:
        root: the folder that holds ``landscapes/`` (default: the cache folder).
        validation_fraction: the share of photos for validation.
        download: fetch missing files first (else missing files raise ``FileNotFoundError``).

    Returns:
        ``(train, validation)``: sorted paths ``<root>/landscapes/images/<category>/<file>.jpg``;
        with the default fraction, 1,258 and 222 photos.
    """
    train, validation = landscapes_split_records(validation_fraction)
    dataset_files("landscapes", root=root, download=download)
    base = _root(root)
    return sorted(base / r.cache_name for r in train), sorted(base / r.cache_name for r in validation)


def kodak24_files(root: str | os.PathLike | None = None, *, download: bool = True) -> list[Path]:
    """The 24 Kodak photos, the course's **test set**: ``<root>/kodak24/kodim01.png`` .. ``kodim24.png``.

    The photos are RGB PNGs of 768x512 or 512x768 (read them with
    :func:`colorlib.images.load_image`). Nothing is tuned on them.
    """
    return dataset_files("kodak24", root=root, download=download)
