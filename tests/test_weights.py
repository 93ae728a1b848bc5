"""colorlib.weights: the authors' checkpoints, offline and safely; downloads against a local server."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import socket

import numpy as np
import pytest
import torch

from colorlib import color
from colorlib.hub import RemoteFile
from colorlib.model import ColorizationNet
from colorlib.samples import sample_photo
from colorlib.weights import (
    CHECKPOINT_FORMAT,
    PAPER_CHECKPOINTS,
    UnsafeCheckpointError,
    WeightsUnavailableError,
    download,
    load_authors_module,
    load_pretrained,
    safe_torch_load,
)


@pytest.fixture(scope="module")
def paper_files() -> dict[str, pathlib.Path]:
    """The authors' three files in the shared cache (``COLORLIB_CACHE``), by name."""
    return {name: download(remote, progress=False) for name, remote in PAPER_CHECKPOINTS.items()}


@pytest.fixture
def no_network(monkeypatch):
    """Every socket connect and name lookup fails; returns the list of attempts."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network unreachable (blocked by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


class _Served:
    """The shared ``http_server`` fixture, seen as this file's tests use it."""

    def __init__(self, http_server) -> None:
        self._server = http_server
        self.url = http_server.url + "/"
        self.folder = http_server.root

    @property
    def requests(self) -> list[str]:
        return ["/" + path for path, _ in self._server.requests]


@pytest.fixture
def server(http_server):
    """A local HTTP server on 127.0.0.1 serving ``folder``, counting the requests it gets."""
    return _Served(http_server)


def _serve(server, name: str, payload: bytes) -> RemoteFile:
    (server.folder / name).write_bytes(payload)
    return RemoteFile(name, server.url + name, hashlib.sha256(payload).hexdigest())


# --------------------------------------------------------------------------------------
# The authors' checkpoints, from the cache, without a network.
# --------------------------------------------------------------------------------------


@pytest.mark.needs_data
def test_load_pretrained_paper_from_the_cache_offline(paper_files, no_network):
    net = load_pretrained("paper")
    assert isinstance(net, ColorizationNet)
    assert not net.training
    assert not any(p.requires_grad for p in net.encoder.parameters())
    assert no_network == []  # the cache was enough: not even a name lookup


@pytest.mark.needs_data
def test_same_output_as_the_authors_own_module(paper_files):
    ours = load_pretrained("paper")
    theirs = load_authors_module(paper_files["paper"])
    assert type(theirs).__name__ == "_AuthorsColorizationNet" and not theirs.training
    photo = torch.from_numpy(sample_photo("astronaut")[:224, 144:368].astype(np.float32) / 255).permute(2, 0, 1)
    lightness = color.lab_to_network_input(color.rgb_to_lab(photo)[None, :1])
    generator = torch.Generator().manual_seed(0)
    inputs = [lightness, torch.rand(2, 1, 64, 64, generator=generator), torch.rand(1, 1, 32, 48, generator=generator)]
    with torch.inference_mode():
        outputs = [(ours(x), theirs(x)) for x in inputs]
    for x, (mine, expected) in zip(inputs, outputs):
        torch.testing.assert_close(mine, expected)
        assert expected.shape == (x.shape[0], 2, *x.shape[2:])
        assert expected.std() > 1e-3  # a real prediction, not a constant
    # on the photo the prediction is a plausible ab target: near gray (0.502), within 0..1
    assert 0.3 < float(outputs[0][0].mean()) < 0.7


@pytest.mark.needs_data
def test_three_checkpoints_share_learned_weights_and_differ_only_in_bn_statistics(paper_files):
    modules = {name: load_authors_module(path) for name, path in paper_files.items()}
    parameters = {name: dict(m.named_parameters()) for name, m in modules.items()}
    buffers = {name: dict(m.named_buffers()) for name, m in modules.items()}
    reference = "paper"
    assert len(parameters[reference]) == 44  # 30 tensors in the encoder, 14 in the decoder
    for name in ("paper-epoch40", "paper-epoch90"):
        for key, value in parameters[reference].items():
            assert torch.equal(value, parameters[name][key]), (name, key)
        differing = {key for key, value in buffers[reference].items() if not torch.equal(value, buffers[name][key])}
        assert differing, name
        assert all(key.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked") for key in differing)
        # every batch-norm layer, encoder and decoder, kept updating its statistics
        assert len(differing) == len(buffers[reference]) == 3 * 13
    tracked = {name: int(buffers[name]["upsample.1.num_batches_tracked"]) for name in modules}
    assert tracked == {"paper-epoch40": 25_000, "paper-epoch90": 56_250, "paper": 62_500}  # 625 batches an epoch
    # the three load into our network and give different outputs only through those statistics
    x = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        outputs = {name: load_pretrained(name)(x) for name in modules}
    assert not torch.allclose(outputs["paper"], outputs["paper-epoch40"])


# --------------------------------------------------------------------------------------
# Downloading, against a local server.
# --------------------------------------------------------------------------------------


def test_download_shows_progress_then_uses_the_cache(server, isolated_cache, capsys):
    payload = os.urandom(300_000)
    remote = _serve(server, "small.bin", payload)
    path = download(remote)
    assert path == isolated_cache / "small.bin"
    assert path.read_bytes() == payload
    assert server.requests == ["/small.bin"]
    progress = capsys.readouterr().err
    assert "small.bin" in progress and "100%" in progress and "300k" in progress
    again = download(remote)
    assert again == path and server.requests == ["/small.bin"]  # no second request
    assert sorted(p.name for p in isolated_cache.iterdir()) == ["small.bin"]


def test_download_replaces_a_corrupt_cached_copy(server, isolated_cache):
    remote = _serve(server, "small.bin", b"the right bytes")
    (isolated_cache / "small.bin").write_bytes(b"a stale copy")
    path = download(remote, progress=False)
    assert path.read_bytes() == b"the right bytes"
    assert server.requests == ["/small.bin"]


def test_sha256_mismatch_is_an_error_and_leaves_no_file(server, isolated_cache):
    served = _serve(server, "small.bin", b"what the server has")
    remote = RemoteFile(served.filename, served.url, hashlib.sha256(b"what we expected").hexdigest())
    with pytest.raises(ValueError, match="sha256"):
        download(remote, progress=False)
    assert server.requests == ["/small.bin"]
    assert list(isolated_cache.iterdir()) == []  # neither the final name nor a .part file


def test_unreachable_server_is_a_clear_error(isolated_cache, closed_port):
    remote = RemoteFile("model100.pth", f"http://127.0.0.1:{closed_port}/model100.pth", "0" * 64)
    with pytest.raises(WeightsUnavailableError) as caught:
        download(remote, progress=False, timeout_s=5)
    message = str(caught.value)
    assert "cannot download model100.pth" in message and str(closed_port) in message
    assert f"copy the file by hand to {isolated_cache / 'model100.pth'}" in message and "COLORLIB_CACHE" in message
    assert list(isolated_cache.iterdir()) == []


def test_missing_file_on_the_server_is_unavailable(server, isolated_cache):
    remote = RemoteFile("absent.pth", server.url + "absent.pth", "0" * 64)
    with pytest.raises(WeightsUnavailableError, match="404"):
        download(remote, progress=False)
    assert list(isolated_cache.iterdir()) == []


@pytest.mark.needs_data
def test_load_pretrained_downloads_from_the_mirror(paper_files, server, isolated_cache, monkeypatch):
    shutil.copy(paper_files["paper"], server.folder / "model100.pth")
    monkeypatch.setenv("COLORLIB_MIRROR", server.url)
    net = load_pretrained("paper", progress=False)
    assert server.requests == ["/model100.pth"]
    assert (isolated_cache / "model100.pth").read_bytes() == paper_files["paper"].read_bytes()
    expected = load_pretrained(paper_files["paper"]).state_dict()
    assert all(torch.equal(value, expected[key]) for key, value in net.state_dict().items())
    load_pretrained("paper", progress=False)
    assert server.requests == ["/model100.pth"]  # second time: from the cache


def test_load_pretrained_offline_with_an_empty_cache(isolated_cache, no_network):
    with pytest.raises(WeightsUnavailableError, match="model100.pth"):
        load_pretrained("paper", progress=False)
    assert no_network  # it did try
    assert list(isolated_cache.iterdir()) == []


# --------------------------------------------------------------------------------------
# Loading safely.
# --------------------------------------------------------------------------------------


class _TouchOnLoad:
    """Unpickling this calls ``Path.touch(marker)``: code run by merely loading a file."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


class _ShellOnLoad:
    """Unpickling this runs a shell command."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


@pytest.mark.parametrize("payload_class", [_TouchOnLoad, _ShellOnLoad])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, payload_class):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pth"
    # dressed up as a training checkpoint, to get as far as possible
    torch.save({"format": CHECKPOINT_FORMAT, "model": {"weight": payload_class(marker)}}, path)
    for load in (load_pretrained, safe_torch_load, load_authors_module):
        with pytest.raises(UnsafeCheckpointError, match="refusing to load .*evil.pth.*arbitrary code"):
            load(path)
    assert not marker.exists()
    # the file really is dangerous: an unsafe load runs its code
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_training_checkpoint_loads_by_path(tmp_path):
    torch.manual_seed(3)
    trained = ColorizationNet()
    optimizer = torch.optim.Adam([p for p in trained.parameters() if p.requires_grad], lr=0.01)
    path = tmp_path / "run" / "checkpoint.pth"
    path.parent.mkdir()
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "model": trained.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": 3,
            "profile": {"name": "quick", "image_size": 128},  # colorlib 0.1: the old names
        },
        path,
    )
    for name_or_path in (path, str(path)):
        loaded = load_pretrained(name_or_path)
        assert isinstance(loaded, ColorizationNet) and not loaded.training
        for key, value in trained.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value), key


@pytest.mark.needs_data
def test_authors_file_loads_by_path_too(paper_files, tmp_path):
    copy = tmp_path / "their-model.pth"
    shutil.copyfile(paper_files["paper-epoch40"], copy)
    by_path = load_pretrained(copy).state_dict()
    by_name = load_pretrained("paper-epoch40").state_dict()
    assert all(torch.equal(value, by_name[key]) for key, value in by_path.items())


def _truncated(paper_files, path: pathlib.Path) -> None:
    data = paper_files["paper"].read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "kind",
    ["text", "empty", "png", "truncated", "plain state dict", "wrong format tag", "mis-shaped weights"],
)
@pytest.mark.needs_data
def test_non_checkpoint_files_are_clear_value_errors(paper_files, tmp_path, kind):
    path = tmp_path / "file.pth"
    if kind == "text":
        path.write_text("hello, I am not a checkpoint\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "png":
        from PIL import Image

        Image.new("RGB", (8, 8)).save(path, format="PNG")
    elif kind == "truncated":
        _truncated(paper_files, path)
    elif kind == "plain state dict":
        torch.save(ColorizationNet().state_dict(), path)
    elif kind == "wrong format tag":
        torch.save({"format": "someone-else-v3", "model": ColorizationNet().state_dict()}, path)
    else:
        torch.save({"format": CHECKPOINT_FORMAT, "model": {"encoder.0.weight": torch.zeros(3)}}, path)
    with pytest.raises(ValueError, match="file.pth") as caught:
        load_pretrained(path)
    assert not isinstance(caught.value, UnsafeCheckpointError)  # not dangerous, just not a checkpoint
    assert "\n" not in str(caught.value)


def test_missing_path_and_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="unknown checkpoint name 'paper-epoch50': expected one of paper, paper-epoch40, paper-epoch90"):
        load_pretrained("paper-epoch50")
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        load_pretrained(tmp_path / "nothing.pth")


def test_a_sha256_prefix_is_checked_like_torch_hub(server, isolated_cache):
    # Zhang et al. publish only the first 8 hex digits of their file's sha256 (in its name).
    served = _serve(server, "model-abcdef01.pth", b"some weights")
    prefix = RemoteFile(served.filename, served.url, served.sha256[:8])
    path = download(prefix, progress=False)
    assert path.read_bytes() == b"some weights"
    assert download(prefix, progress=False) == path and server.requests == ["/model-abcdef01.pth"]
    wrong = RemoteFile("other.pth", served.url, "00000000")
    with pytest.raises(ValueError, match="one starting with 00000000"):
        download(wrong, progress=False)
    assert not (isolated_cache / "other.pth").exists()
    with pytest.raises(ValueError, match="8 to 64 lowercase hex digits"):
        RemoteFile("x.pth", served.url, "9b33")
