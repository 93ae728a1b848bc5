"""colorlib.lessons.authors_checkpoints: the forensics of the authors' three checkpoint files."""

from __future__ import annotations

import pytest

from colorlib.lessons import authors_checkpoints
from colorlib.weights import PAPER_CHECKPOINTS, download, load_authors_module

pytestmark = pytest.mark.needs_data


@pytest.fixture(scope="module")
def paper_files():
    return [download(PAPER_CHECKPOINTS[name], progress=False) for name in ("paper-epoch40", "paper-epoch90", "paper")]


def test_describe_checkpoint_reads_the_authors_file(paper_files):
    facts = authors_checkpoints.describe_checkpoint(paper_files[-1])
    assert facts.file_name == "model100.pth"
    assert "__main__.ColorizationNet" in facts.pickled_globals
    assert "torchvision.models.resnet.BasicBlock" in facts.pickled_globals
    assert facts.children == (("midlevel_resnet", "Sequential"), ("upsample", "Sequential"))
    assert facts.counts.float_values == 920_034
    assert (facts.counts.trainable, facts.counts.frozen) == (244_002, 673_664)  # their conv1 was trainable
    assert facts.conv1_in_channels == 3 and facts.conv1_weight_shape == (64, 1, 7, 7)
    assert facts.batches_tracked == (62_500,)
    assert facts.upsample_modes == ("nearest",) * 3
    assert "midlevel_resnet.4" in authors_checkpoints.module_tree(load_authors_module(paper_files[-1]))


def test_the_three_checkpoints_differ_only_in_batch_norm_statistics(paper_files):
    rows = authors_checkpoints.compare_checkpoints(paper_files)
    parameters = [row for row in rows if row.kind == "parameter"]
    assert len(parameters) == 44 and all(row.identical for row in parameters)
    different = [row for row in rows if not row.identical]
    assert different and all(row.kind == "buffer" for row in different)
    assert {row.name.rsplit(".", 1)[1] for row in different} == {"running_mean", "running_var", "num_batches_tracked"}
    with pytest.raises(ValueError, match="at least two"):
        authors_checkpoints.compare_checkpoints(paper_files[:1])
