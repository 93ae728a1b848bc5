"""Photo credits: title, photographer, licence and source of the course's photos (CC BY needs them).

The landscapes are Flickr photos under CC BY 2.0, CC BY-SA 2.0, CC0, the public domain mark
or a US Government work; the Caltech-101 subset is under CC BY 4.0 as a data set, with no
per-photo record, so its credit is the data set's (:data:`CALTECH101_CREDIT`); the Kodak24
photos are free for any use. :func:`credits` names
them (from :class:`~colorlib.datasets.PhotoRecord` objects or file paths),
:func:`credits_markdown` makes a Markdown table, :func:`credit_line` a one-line figure
caption, and :func:`write_credits` the repository's ``CREDITS.md`` (``colorlib credits``).
Everything comes from the manifests packaged in colorlib: no network, no files needed.

>>> credit_line(["city/10044951014_ca0e00a0ba.jpg"])
'Photo: "city veins" by jaumescar (CC BY 2.0); full credits in CREDITS.md'
>>> credit_line(["caltech101/images/Faces/image_0004.jpg"])
'Photo: Faces/image_0004.jpg from Caltech-101 by Li, Andreeto, Ranzato and Perona (CC BY 4.0); full credits in CREDITS.md'
"""

from __future__ import annotations

import functools
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Iterable, Union

from .datasets import (
    CALTECH101_COMMIT,
    CALTECH101_LICENSE,
    CALTECH101_OWNER,
    CALTECH101_RECORD_URL,
    KODAK24_COMMIT,
    KODAK_OWNER,
    LANDSCAPES_COMMIT,
    LICENSES,
    PhotoRecord,
    caltech101_manifest,
    kodak24_manifest,
    landscapes_manifest,
)
from .files import atomic_write

__all__ = [
    "CREDITS_FILE",
    "Credit",
    "DatasetCredit",
    "CALTECH101_CREDIT",
    "PhotoLike",
    "credits",
    "credits_markdown",
    "credit_line",
    "credits_document",
    "write_credits",
]

#: The name of the generated credits file (at the repository root).
CREDITS_FILE = "CREDITS.md"

#: A photo as the functions here accept it: its record, or the path of its file.
PhotoLike = Union[PhotoRecord, str, os.PathLike]


@dataclass(frozen=True)
class Credit:
    """What attribution of one photo names (title, author, source, licence).

    Attributes:
        photo: the file inside its data set (``"city/10044951014_ca0e00a0ba.jpg"``).
        dataset: ``"landscapes"``, ``"caltech101"`` or ``"kodak24"``.
        title: the title (``"untitled"`` where the photographer gave none; Caltech-101: the
            file's stem, the data set has no titles).
        owner: the photographer (Caltech-101: the data set's authors).
        owner_url: the photographer's page, or ``None``.
        license: the licence's short name (``"CC BY 2.0"``).
        license_url: the licence deed, or ``None``.
        source_url: the photo's page.
    """

    photo: str
    dataset: str
    title: str
    owner: str
    owner_url: str | None
    license: str
    license_url: str | None
    source_url: str

    @property
    def text(self) -> str:
        """One plain-text credit: ``"city veins" by jaumescar (CC BY 2.0)``.

        A Caltech-101 photo names the data set instead of a title:
        ``Faces/image_0004.jpg from Caltech-101 by Li, Andreeto, Ranzato and Perona (CC BY 4.0)``.
        """
        if self.dataset == "caltech101":
            return f"{self.photo} from Caltech-101 by {self.owner} ({self.license})"
        return f'"{self.title}" by {self.owner} ({self.license})'


@dataclass(frozen=True)
class DatasetCredit:
    """The credit of a data set whose photos have no record of their own (Caltech-101).

    Attributes:
        name: the data set's name (``"Caltech-101"``).
        authors: who made it (``"Li, Andreeto, Ranzato and Perona"``).
        citation: the paper to cite, in full.
        license: the licence's short name (``"CC BY 4.0"``).
        license_url: the licence deed.
        record_url: the data set's record at its publisher (CaltechDATA).
        source_url: where colorlib downloads the photos (a pinned repository folder).
    """

    name: str
    authors: str
    citation: str
    license: str
    license_url: str
    record_url: str
    source_url: str

    @property
    def text(self) -> str:
        """One plain-text credit: ``Caltech-101 by Li, Andreeto, Ranzato and Perona (CC BY 4.0)``."""
        return f"{self.name} by {self.authors} ({self.license})"


#: The credit of every Caltech-101 photo: the data set's authors, paper, licence and record.
CALTECH101_CREDIT = DatasetCredit(
    name="Caltech-101",
    authors=CALTECH101_OWNER,
    citation=(
        "L. Fei-Fei, R. Fergus and P. Perona, \"Learning generative visual models from few training "
        "examples: an incremental Bayesian approach tested on 101 object categories\", CVPR 2004 "
        "Workshop on Generative-Model Based Vision"
    ),
    license=LICENSES[CALTECH101_LICENSE].name,
    license_url=LICENSES[CALTECH101_LICENSE].url or "",
    record_url=CALTECH101_RECORD_URL,
    source_url=(
        f"https://github.com/MachineLearning2020/Homework2-Caltech101/tree/{CALTECH101_COMMIT}/101_ObjectCategories"
    ),
)


@functools.lru_cache(maxsize=None)
def _records_by_key() -> tuple[dict[str, PhotoRecord], dict[str, list[PhotoRecord]]]:
    """Records by ``<category>/<file>`` (landscapes, caltech101) and ``kodimNN.png``; and by bare file name."""
    by_key: dict[str, PhotoRecord] = {}
    by_name: dict[str, list[PhotoRecord]] = defaultdict(list)
    for record in (*landscapes_manifest(), *caltech101_manifest(), *kodak24_manifest()):
        by_key[record.file] = record
        by_name[PurePath(record.file).name].append(record)
    return by_key, dict(by_name)


def _record_of(photo: PhotoLike) -> PhotoRecord:
    if isinstance(photo, PhotoRecord):
        return photo
    if not isinstance(photo, (str, os.PathLike)):
        raise TypeError(
            f"expected a PhotoRecord or a path to a landscapes/caltech101/kodak24 photo, got {type(photo).__name__}"
        )
    parts = PurePath(os.fspath(photo)).parts
    by_key, by_name = _records_by_key()
    if len(parts) >= 2 and f"{parts[-2]}/{parts[-1]}" in by_key:
        return by_key[f"{parts[-2]}/{parts[-1]}"]
    if parts and parts[-1] in by_key:
        return by_key[parts[-1]]
    matches = by_name.get(parts[-1], []) if parts else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        shown = ", ".join(m.file for m in matches[:4]) + (f" and {len(matches) - 4} more" if len(matches) > 4 else "")
        raise ValueError(
            f"{os.fspath(photo)!r} is ambiguous: it names {shown}; give the path with its category folder"
        )
    raise ValueError(
        f"{os.fspath(photo)!r} is not a landscapes, caltech101 or kodak24 photo "
        "(expected .../images/<category>/<file>.jpg or kodimNN.png from the manifests)"
    )


def _as_list(photos: PhotoLike | Iterable[PhotoLike]) -> list[PhotoLike]:
    if isinstance(photos, (PhotoRecord, str, os.PathLike)):
        return [photos]
    return list(photos)


def credits(files_or_records: PhotoLike | Iterable[PhotoLike]) -> list[Credit]:
    """The credits of some photos, in the given order, each photo once.

    Args:
        files_or_records: :class:`PhotoRecord` objects or paths of landscape, Caltech-101 or
            Kodak files (``.../images/city/10044951014_ca0e00a0ba.jpg``,
            ``.../images/Faces/image_0004.jpg``, ``kodim05.png``; a bare file name works when
            it is unique), or a single one of these.

    Raises:
        ValueError: a path that is not in the manifests.

    >>> credits(["images/city/10044951014_ca0e00a0ba.jpg"])[0].text
    '"city veins" by jaumescar (CC BY 2.0)'
    """
    result: list[Credit] = []
    seen: set[tuple[str, str]] = set()
    for photo in _as_list(files_or_records):
        record = _record_of(photo)
        if (record.dataset, record.file) in seen:
            continue
        seen.add((record.dataset, record.file))
        result.append(
            Credit(
                photo=record.file,
                dataset=record.dataset,
                title=record.title.strip() or "untitled",
                owner=record.owner,
                owner_url=record.owner_url,
                license=record.license_name,
                license_url=record.license_url,
                source_url=record.page_url,
            )
        )
    return result


_MARKDOWN_SPECIAL = "\\`*_[]|<>~"


def _escape(text: str) -> str:
    """Text safe inside a Markdown table cell and link text (backslash-escaped specials)."""
    return "".join("\\" + char if char in _MARKDOWN_SPECIAL else char for char in " ".join(text.split()))


def _link(text: str, url: str | None) -> str:
    return f"[{_escape(text)}]({url})" if url else _escape(text)


def credits_markdown(records: PhotoLike | Iterable[PhotoLike], *, title: str = "Photo credits") -> str:
    """A Markdown section: a heading ``## <title>`` and a table photo | title | photographer | licence.

    The title links to the photo's page, the photographer to their Flickr page, the licence
    to its deed (CC BY 2.0 https://creativecommons.org/licenses/by/2.0/, ...).

    Args:
        records: records or paths, as for :func:`credits`.
        title: the heading.

    Returns:
        The Markdown text, ending in a newline.
    """
    lines = [f"## {title}", "", "| Photo | Title | Photographer | Licence |", "|---|---|---|---|"]
    for credit in credits(records):
        lines.append(
            f"| `{credit.photo}` | {_link(credit.title, credit.source_url)} | "
            f"{_link(credit.owner, credit.owner_url)} | {_link(credit.license, credit.license_url)} |"
        )
    return "\n".join(lines) + "\n"


def credit_line(paths: PhotoLike | Iterable[PhotoLike], *, credits_file: str = CREDITS_FILE) -> str:
    """A one-line caption for a figure that shows some of these photos.

    Caltech-101 photos have no credit of their own: each names the data set, its authors
    and licence (``Faces/image_0004.jpg from Caltech-101 by ... (CC BY 4.0)``); several of
    them are named together (``3 photos from Caltech-101 by ... (CC BY 4.0)``).

    >>> credit_line(["city/10044951014_ca0e00a0ba.jpg", "kodim05.png"])
    'Photos: "city veins" by jaumescar (CC BY 2.0), "kodim05" by Eastman Kodak Company (free for any use); full credits in CREDITS.md'
    """
    items = credits(paths)
    if not items:
        raise ValueError("credit_line needs at least one photo")
    label = "Photo" if len(items) == 1 else "Photos"
    caltech = [item for item in items if item.dataset == "caltech101"]
    parts = [item.text for item in items if item.dataset != "caltech101"]
    if len(caltech) == 1:
        parts.append(caltech[0].text)
    elif caltech:
        parts.append(f"{len(caltech)} photos from {CALTECH101_CREDIT.text}")
    return f"{label}: {', '.join(parts)}; full credits in {credits_file}"


def credits_document() -> str:
    """The text of ``CREDITS.md``: every photo the course downloads (deterministic).

    Landscapes and Kodak24 photo by photo; the Caltech-101 subset as one data-set credit
    (:data:`CALTECH101_CREDIT`), since its photos have no per-photo record.
    """
    landscapes = landscapes_manifest()
    caltech = caltech101_manifest()
    kodak = kodak24_manifest()
    caltech_credit = CALTECH101_CREDIT
    counts = Counter(record.license for record in landscapes)
    summary = ", ".join(f"{counts[code]:,} {LICENSES[code].name}" for code in LICENSES if counts[code])
    landscapes_source = (
        f"https://github.com/ml5js/ml5-examples/tree/{LANDSCAPES_COMMIT}/"
        "p5js/00_ImageClassification_MultipleImages/images/landscapes_small"
    )
    kodak_source = f"https://github.com/coodie/quant/tree/{KODAK24_COMMIT}/images/kodim"
    header = f"""# Photo credits

<!-- Generated by colorlib.credits.write_credits (`colorlib credits`); do not edit by hand. -->

The course downloads three sets of real photographs on first use; none is stored in this
repository. This file names the title, photographer, licence and source of each, as
CC BY and CC BY-SA require (for Caltech-101, which has no per-photo record, the data set's
authors, paper, licence and source). A figure that shows some of them names them in its
caption and points here.

- **landscapes** (training and validation): {len(landscapes):,} Flickr photographs from the
  [ml5.js examples]({landscapes_source}) (commit `{LANDSCAPES_COMMIT[:12]}`): {summary}.
  The licence records are those published by ml5.js with the photos.
- **caltech101** (training and validation): a colour subset of {caltech_credit.name}, {len(caltech):,}
  photographs in {len({record.category for record in caltech})} categories, from
  [MachineLearning2020/Homework2-Caltech101]({caltech_credit.source_url})
  (commit `{CALTECH101_COMMIT[:12]}`), under [{caltech_credit.license}]({caltech_credit.license_url}).
- **kodak24** (test set): the {len(kodak)} photographs of the Kodak Lossless True Color Image
  Suite, released by the {KODAK_OWNER} for any use, from [coodie/quant]({kodak_source})
  (commit `{KODAK24_COMMIT[:12]}`).

"""
    return (
        header
        + credits_markdown(landscapes, title=f"Landscapes ({len(landscapes):,} photos)")
        + "\n"
        + f"## {caltech_credit.name} subset ({len(caltech):,} photos)\n\n"
        + "The photos were gathered from web searches and carry no record of their own; their credit is\n"
        + f"the data set's. {caltech_credit.name} by {caltech_credit.authors}, published by Caltech's data\n"
        + f"repository (CaltechDATA, [record]({caltech_credit.record_url})) under\n"
        + f"[{caltech_credit.license}]({caltech_credit.license_url}). Cite: {_escape(caltech_credit.citation)}.\n"
        + "\n"
        + credits_markdown(kodak, title=f"Kodak24 ({len(kodak)} photos)")
    )


def write_credits(path: str | os.PathLike = CREDITS_FILE) -> Path:
    """Write :func:`credits_document` to ``path`` atomically (UTF-8, ``\\n`` line ends); returns the path.

    The same manifests give the same bytes, so the file can be checked into the repository
    and compared in a test.
    """
    content = credits_document().encode("utf-8")
    return atomic_write(path, lambda temporary: Path(temporary).write_bytes(content))
