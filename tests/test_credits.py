"""colorlib.credits: title, photographer, licence and source of the course's photos, and CREDITS.md."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from colorlib import credits, datasets

REPO = Path(__file__).resolve().parent.parent


def test_credits_markdown_names_every_photographer_and_licence():
    sample = random.Random(9).sample(datasets.landscapes_manifest(), 40)
    sample += [r for r in datasets.landscapes_manifest() if r.license in ("CC0", "PDM", "USGov")][:3]
    text = credits.credits_markdown(sample, title="Sample")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert text.startswith("## Sample\n") and len(rows) == len(sample)
    for record in sample:
        assert f"](https://www.flickr.com/photos/{record.owner_id}/)" in text
        assert f"({record.page_url})" in text
        plain = record.owner.replace("_", "\\_").replace("[", "\\[").replace("]", "\\]")
        assert f"[{plain}]" in text
    for code in {r.license for r in sample}:
        license = datasets.LICENSES[code]
        assert f"[{license.name}]({license.url})" in text
    assert "[CC0 1.0](https://creativecommons.org/publicdomain/zero/1.0/)" in text


def test_markdown_special_characters_cannot_break_the_table():
    record = replace(datasets.landscapes_manifest()[0], title="a | b [c] *d*", owner="x_y")
    row = credits.credits_markdown([record]).splitlines()[-1]
    assert row.count("|") - row.count("\\|") == 5  # four cells, whatever the title holds
    assert "[a \\| b \\[c\\] \\*d\\*](" in row and "[x\\_y](" in row


def test_credits_accept_paths_and_resolve_them():
    mountain = "/somewhere/landscapes/images/mountain/139432484_ddd5d3d4c7.jpg"
    road = Path("images") / "road" / "139432484_ddd5d3d4c7.jpg"
    found = credits.credits([mountain, road, mountain, Path("x/kodak24/kodim07.png")])
    assert [(c.dataset, c.photo) for c in found] == [
        ("landscapes", "mountain/139432484_ddd5d3d4c7.jpg"),
        ("landscapes", "road/139432484_ddd5d3d4c7.jpg"),
        ("kodak24", "kodim07.png"),
    ]
    assert found[0].license == "CC BY-SA 2.0" and found[0].owner == "pfly"
    assert found[0].source_url == "https://www.flickr.com/photos/24934185@N00/139432484"
    assert credits.credits("10044951014_ca0e00a0ba.jpg")[0].title == "city veins"  # a unique bare name
    with pytest.raises(ValueError, match="ambiguous"):
        credits.credits(["139432484_ddd5d3d4c7.jpg"])
    with pytest.raises(ValueError, match="not a landscapes, caltech101 or kodak24 photo"):
        credits.credits(["holiday.jpg"])
    untitled = credits.credits(["city/2050402831_a9db92b3fb.jpg"])[0]
    assert untitled.title == "untitled"


def test_credit_line():
    assert credits.credit_line(["images/city/10044951014_ca0e00a0ba.jpg", "kodim05.png"]) == (
        'Photos: "city veins" by jaumescar (CC BY 2.0), "kodim05" by Eastman Kodak Company '
        "(free for any use); full credits in CREDITS.md"
    )
    assert credits.credit_line("city/10443931784_b5a13317b6.jpg").startswith('Photo: "sunish" by Philippe Put')
    with pytest.raises(ValueError, match="at least one photo"):
        credits.credit_line([])


def test_credits_file_is_deterministic_and_up_to_date(tmp_path):
    first = credits.write_credits(tmp_path / "one.md").read_bytes()
    second = credits.write_credits(tmp_path / "two.md").read_bytes()
    assert first == second
    text = first.decode("utf-8")
    assert text.count("\n| `") == 1480 + 24
    for url in (
        "https://creativecommons.org/licenses/by/2.0/",
        "https://creativecommons.org/licenses/by-sa/2.0/",
        "https://creativecommons.org/publicdomain/zero/1.0/",
        "https://creativecommons.org/publicdomain/mark/1.0/",
    ):
        assert f"]({url})" in text
    assert "690 CC BY 2.0, 742 CC BY-SA 2.0, 21 CC0 1.0, 26 Public Domain Mark 1.0, 1 US Government work" in text
    assert (REPO / "CREDITS.md").read_bytes() == first, "CREDITS.md is stale: run `colorlib credits`"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.md", "two.md"]  # no temporary left


def test_caltech_photos_carry_the_data_sets_credit():
    found = credits.credits([Path("/cache/caltech101/images/Faces/image_0004.jpg"), "pagoda/image_0001.jpg"])
    assert [(c.dataset, c.photo) for c in found] == [("caltech101", "Faces/image_0004.jpg"), ("caltech101", "pagoda/image_0001.jpg")]
    assert {(c.owner, c.license, c.license_url, c.source_url, c.owner_url) for c in found} == {
        ("Li, Andreeto, Ranzato and Perona", "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/",
         datasets.CALTECH101_RECORD_URL, None)
    }
    with pytest.raises(ValueError, match=r"ambiguous: it names accordion/image_0001.jpg, ant/image_0001.jpg, .* and 53 more"):
        credits.credits(["image_0001.jpg"])  # a bare Caltech name is in many categories
    credit = credits.CALTECH101_CREDIT
    assert credit.text == "Caltech-101 by Li, Andreeto, Ranzato and Perona (CC BY 4.0)"
    assert "Learning generative visual models from few training examples" in credit.citation
    assert "CVPR 2004 Workshop on Generative-Model Based Vision" in credit.citation
    assert datasets.CALTECH101_COMMIT in credit.source_url


def test_credit_line_names_caltech_photos_by_the_data_set():
    assert credits.credit_line("caltech101/images/Faces/image_0004.jpg") == (
        "Photo: Faces/image_0004.jpg from Caltech-101 by Li, Andreeto, Ranzato and Perona (CC BY 4.0); "
        "full credits in CREDITS.md"
    )
    mixed = ["Faces/image_0004.jpg", "city/10044951014_ca0e00a0ba.jpg", "pagoda/image_0001.jpg", "ketch/image_0001.jpg"]
    assert credits.credit_line(mixed) == (
        'Photos: "city veins" by jaumescar (CC BY 2.0), 3 photos from Caltech-101 by Li, Andreeto, Ranzato '
        "and Perona (CC BY 4.0); full credits in CREDITS.md"
    )


def test_credits_file_credits_caltech101_once_as_a_data_set():
    text = credits.credits_document()
    section = text.split("## Caltech-101 subset (2,999 photos)\n", 1)[1].split("\n## ", 1)[0]
    assert "[CC BY 4.0](https://creativecommons.org/licenses/by/4.0/)" in section
    assert "Li, Andreeto, Ranzato and Perona" in section and "CVPR 2004 Workshop on Generative-Model Based Vision" in section
    assert f"({datasets.CALTECH101_RECORD_URL})" in section
    assert "| `" not in section  # no per-photo rows: there is no per-photo record
    assert "**caltech101** (training and validation): a colour subset of Caltech-101, 2,999" in text
    assert "photographs in 100 categories" in text
