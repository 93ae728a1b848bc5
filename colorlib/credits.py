"""Photo credits: title, photographer, licence and source of the course's photos (CC BY needs them).

The landscapes are Flickr photos under CC BY 2.0, CC BY-SA 2.0, CC0, the public domain mark
or a US Government work; the Kodak24 photos are free for any use. :func:`credits` names
them (from :class:`~colorlib.datasets.PhotoRecord` objects or file paths),
:func:`credits_markdown` makes a Markdown table, :func:`credit_line` a one-line figure
caption, and :func:`write_credits` the repository's ``CREDITS.md`` (``colorlib credits``).
Everything comes from the manifests packaged in colorlib: no network, no files needed.

>>> credit_line(["city/10044951014_ca0e00a0ba.jpg"])
'Photo: "city veins" by jaumescar (CC BY 2.0); full credits in CREDITS.md'
"""

from __future__ import annotations

import functools
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Iterable, Union

from .datasets import (
    KODAK24_COMMIT,
    KODAK_OWNER,
    LANDSCAPES_COMMIT,
    LICENSES,
    PhotoRecord,
    kodak24_manifest,
    landscapes_manifest,
)
from .files import atomic_write

__all__ = [
    "CREDITS_FILE",
    "Credit",
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
        dataset: ``"landscapes"`` or ``"kodak24"``.
        title: the title (``"untitled"`` where the photographer gave none).
        owner: the photographer.
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
        """One plain-text credit: ``"city veins" by jaumescar (CC BY 2.0)``."""
        return f'"{self.title}" by {self.owner} ({self.license})'


@functools.lru_cache(maxsize=None)
def _records_by_key() -> tuple[dict[str, PhotoRecord], dict[str, list[PhotoRecord]]]:
    """Records by ``<category>/<file>`` (landscapes) and ``kodimNN.png``; and by bare file name."""
    by_key: dict[str, PhotoRecord] = {}
    by_name: dict[str, list[PhotoRecord]] = defaultdict(list)
    for record in (*landscapes_manifest(), *kodak24_manifest()):
        by_key[record.file] = record
        by_name[PurePath(record.file).name].append(record)
    return by_key, dict(by_name)


def _record_of(photo: PhotoLike) -> PhotoRecord:
    if isinstance(photo, PhotoRecord):
        return photo
    if not isinstance(photo, (str, os.PathLike)):
        raise TypeError(f"expected a PhotoRecord or a path to a landscapes/kodak24 photo, got {type(photo).__name__}")
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
        raise ValueError(
            f"{os.fspath(photo)!r} is ambiguous: it names {', '.join(m.file for m in matches)}; "
            "give the path with its category folder"
        )
    raise ValueError(
        f"{os.fspath(photo)!r} is not a landscapes or kodak24 photo "
        "(expected .../images/<category>/<file>.jpg or kodimNN.png from the manifests)"
    )


def _as_list(photos: PhotoLike | Iterable[PhotoLike]) -> list[PhotoLike]:
    if isinstance(photos, (PhotoRecord, str, os.PathLike)):
        return [photos]
    return list(photos)


def credits(files_or_records: PhotoLike | Iterable[PhotoLike]) -> list[Credit]:
    """The credits of some photos, in the given order, each photo once.

    Args:
        files_or_records: :class:`PhotoRecord` objects or paths of landscape / Kodak files
            (``.../images/city/10044951014_ca0e00a0ba.jpg``, ``kodim05.png``; a bare landscape
            file name works when it is unique), or a single one of these.

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

    >>> credit_line(["city/10044951014_ca0e00a0ba.jpg", "kodim05.png"])
    'Photos: "city veins" by jaumescar (CC BY 2.0), "kodim05" by Eastman Kodak Company (free for any use); full credits in CREDITS.md'
    """
    items = credits(paths)
    if not items:
        raise ValueError("credit_line needs at least one photo")
    label = "Photo" if len(items) == 1 else "Photos"
    return f"{label}: {', '.join(item.text for item in items)}; full credits in {credits_file}"


def credits_document() -> str:
    """The text of ``CREDITS.md``: every landscape and Kodak photo the course downloads (deterministic)."""
    landscapes = landscapes_manifest()
    kodak = kodak24_manifest()
    counts = Counter(record.license for record in landscapes)
    summary = ", ".join(f"{counts[code]:,} {LICENSES[code].name}" for code in LICENSES if counts[code])
    landscapes_source = (
        f"https://github.com/ml5js/ml5-examples/tree/{LANDSCAPES_COMMIT}/"
        "p5js/00_ImageClassification_MultipleImages/images/landscapes_small"
    )
    kodak_source = f"https://github.com/coodie/quant/tree/{KODAK24_COMMIT}/images/kodim"
    header = f"""# Photo credits

<!-- Generated by colorlib.credits.write_credits (`colorlib credits`); do not edit by hand. -->

The course downloads two sets of real photographs on first use; none is stored in this
repository. This file names the title, photographer, licence and source of each, as
CC BY and CC BY-SA require. A figure that shows some of them names them in its caption
and points here.

- **landscapes** (training and validation): {len(landscapes):,} Flickr photographs from the
  [ml5.js examples]({landscapes_source}) (commit `{LANDSCAPES_COMMIT[:12]}`): {summary}.
  The licence records are those published by ml5.js with the photos.
- **kodak24** (test set): the {len(kodak)} photographs of the Kodak Lossless True Color Image
  Suite, released by the {KODAK_OWNER} for any use, from [coodie/quant]({kodak_source})
  (commit `{KODAK24_COMMIT[:12]}`).

"""
    return (
        header
        + credits_markdown(landscapes, title=f"Landscapes ({len(landscapes):,} photos)")
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
