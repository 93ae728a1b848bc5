"""ModelZ (Zhang et al. ECCV16): the architecture the released state dict needs, its
scalings and its colour decoding, and the loader (cache, local server, offline)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import math
import os
import threading

import numpy as np
import pytest
import torch

from colorlib import bins, modelz, weights
from colorlib.color import ab_to_target
from colorlib.hub import RemoteFile
from colorlib.weights import WeightsUnavailableError


# The released ECCV16 generator as its authors' PyTorch port defines it, written out
# independently of colorlib: (Sequential, index) -> kind and shape.
def official_parameter_shapes() -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(name, c_out, c_in, k):
        shapes[f"{name}.weight"] = (c_out, c_in, k, k)
        shapes[f"{name}.bias"] = (c_out,)

    def batch_norm(name, c):
        for field in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{field}"] = (c,)

    blocks = {  # block: (input channels, [output channels of each 3x3 conv])
        "model1": (1, [64, 64]),
        "model2": (64, [128, 128]),
        "model3": (128, [256, 256, 256]),
        "model4": (256, [512, 512, 512]),
        "model5": (512, [512, 512, 512]),
        "model6": (512, [512, 512, 512]),
        "model7": (512, [512, 512, 512]),
    }
    for block, (c_in, outs) in blocks.items():
        for position, c_out in enumerate(outs):  # conv, ReLU, conv, ReLU, ..., BN
            conv(f"{block}.{2 * position}", c_out, c_in, 3)
            c_in = c_out
        batch_norm(f"{block}.{2 * len(outs)}", c_in)
    # model8: ConvTranspose2d(512, 256, 4) (weight is (in, out, k, k)), two 3x3 convs, 1x1 to 313.
    shapes["model8.0.weight"], shapes["model8.0.bias"] = (512, 256, 4, 4), (256,)
    conv("model8.2", 256, 256, 3)
    conv("model8.4", 256, 256, 3)
    conv("model8.6", 313, 256, 1)
    shapes["model_out.weight"] = (2, 313, 1, 1)  # no bias
    return shapes


@pytest.fixture(scope="module")
def random_modelz() -> modelz.ModelZ:
    torch.manual_seed(0)
    return modelz.ModelZ().eval()


def test_parameter_names_and_shapes_match_the_released_generator(random_modelz):
    state = random_modelz.state_dict()
    expected = official_parameter_shapes()
    shapes = {name: tuple(t.shape) for name, t in state.items() if not name.endswith("num_batches_tracked")}
    assert shapes == expected
    tracked = sorted(name for name in state if name.endswith("num_batches_tracked"))
    assert tracked == sorted(f"model{i}.{n}.num_batches_tracked" for i, n in
                             [(1, 4), (2, 4), (3, 6), (4, 6), (5, 6), (6, 6), (7, 6)])


def test_about_32_2_million_parameters(random_modelz):
    count = sum(p.numel() for p in random_modelz.parameters())
    expected = sum(math.prod(shape) for name, shape in official_parameter_shapes().items()
                   if not name.endswith(("running_mean", "running_var")))
    assert count == expected == 32_236_011


def test_dilated_blocks_and_output_sizes(random_modelz):
    for block in (random_modelz.model5, random_modelz.model6):
        convs = [m for m in block if isinstance(m, torch.nn.Conv2d)]
        assert [c.dilation for c in convs] == [(2, 2)] * 3 and [c.padding for c in convs] == [(2, 2)] * 3
    assert random_modelz.model_out.bias is None
    lightness = torch.rand(2, 1, 32, 48) * 100
    with torch.no_grad():
        logits = random_modelz.bin_logits(lightness)
        ab = random_modelz.predict_ab(lightness)
    assert logits.shape == (2, 313, 8, 12)  # H/8 after conv1..conv7, x2 in model8
    assert ab.shape == (2, 2, 32, 48)  # x4 bilinear


def decoding_model(bin_centres: torch.Tensor, logits: torch.Tensor) -> modelz.ModelZ:
    """A ModelZ whose logits are the constants ``logits`` (313,) at every pixel and whose
    ``model_out`` holds ``bin_centres`` (313, 2) in ab units, as the released file does."""
    model = modelz.ModelZ().eval()
    with torch.no_grad():
        model.model8[6].weight.zero_()
        model.model8[6].bias.copy_(logits)
        model.model_out.weight.copy_((bin_centres / model.ab_norm).T[:, :, None, None])
    return model


def test_output_is_the_expectation_of_the_bin_centres_times_ab_norm():
    torch.manual_seed(1)
    centres = torch.randint(-11, 12, (313, 2)).float() * 10
    logits = torch.full((313,), -30.0)
    logits[5], logits[17], logits[200] = 2.0, 1.0, 0.5
    model = decoding_model(centres, logits)
    torch.testing.assert_close(model.bin_centres(), centres)
    probabilities = np.exp(logits.double().numpy())
    probabilities /= probabilities.sum()
    expected_mean = probabilities @ centres.double().numpy()
    annealed = probabilities ** (1 / 0.38)
    expected_annealed = (annealed / annealed.sum()) @ centres.double().numpy()
    lightness = torch.full((1, 1, 16, 16), 60.0)
    with torch.no_grad():
        mean_ab = model.predict_ab(lightness)
        annealed_ab = model.predict_ab(lightness, temperature=bins.ANNEALED_MEAN_TEMPERATURE)
        coldest = model.predict_ab(lightness, temperature=1e-3)
    np.testing.assert_allclose(mean_ab[0, :, 5, 5].numpy(), expected_mean, atol=1e-3)
    np.testing.assert_allclose(annealed_ab[0, :, 5, 5].numpy(), expected_annealed, atol=1e-3)
    np.testing.assert_allclose(coldest[0, :, 5, 5].numpy(), centres[5].numpy(), atol=1e-3)  # the mode
    # The annealed mean lies between the mean and the mode.
    assert np.linalg.norm(expected_annealed - centres[5].numpy()) < np.linalg.norm(expected_mean - centres[5].numpy())


def test_course_interface_and_input_scaling(random_modelz):
    torch.manual_seed(2)
    lightness = torch.rand(1, 1, 16, 16) * 100
    with torch.no_grad():
        targets = random_modelz(lightness / 100)
        ab = random_modelz.predict_ab(lightness)
        torch.testing.assert_close(targets, ab_to_target(ab))
        # The first convolution sees (L - 50) / 100: L = 50 looks like an all-zero input.
        first = random_modelz.model1[0]
        at_fifty = first((torch.full((1, 1, 8, 8), 50.0) - random_modelz.l_cent) / random_modelz.l_norm)
        torch.testing.assert_close(at_fifty[0, :, 4, 4], first.bias)
    assert (random_modelz.l_cent, random_modelz.l_norm, random_modelz.ab_norm) == (50.0, 100.0, 110.0)


def test_bad_input_and_temperature():
    model = modelz.ModelZ()
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        model(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="divisible by 8"):
        model(torch.zeros(1, 1, 20, 16))
    with pytest.raises(ValueError, match="temperature"):
        modelz.ModelZ(temperature=0)


# --------------------------------------------------------------------------------------
# The released file and the loader.
# --------------------------------------------------------------------------------------


def test_remote_file_names_the_official_url_and_pins_the_full_hash_and_size():
    remote = weights.MODELZ_WEIGHTS
    assert remote.url == "https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth"
    assert remote.filename == "colorization_release_v2-9b330a0b.pth"
    assert remote.sha256 == "9b330a0bae53f4ded77b1e23defbf78beaa09c10ebc4c4999e8e4f4a160b93f9"
    assert remote.size == 128_976_165
    assert remote.sha256.startswith(remote.filename.rsplit("-", 1)[1].removesuffix(".pth"))  # torch.hub's name


@pytest.fixture(scope="module")
def released_like_file(tmp_path_factory, random_modelz):
    """A state dict shaped like the released file (no num_batches_tracked, as in older
    files), with model_out holding bin centres on a grid of 10."""
    folder = tmp_path_factory.mktemp("server")
    state = {k: v.clone() for k, v in random_modelz.state_dict().items() if not k.endswith("num_batches_tracked")}
    centres = torch.stack(torch.meshgrid(torch.arange(-9, 9), torch.arange(-9, 9), indexing="ij"), -1).reshape(-1, 2)[:313]
    state["model_out.weight"] = (centres.float() * 10 / 110).T[:, :, None, None].contiguous()
    path = folder / weights.MODELZ_WEIGHTS.filename
    torch.save(state, path)
    return path


@pytest.fixture()
def local_server(released_like_file):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=os.fspath(released_like_file.parent))
    handler.log_message = lambda *args, **kwargs: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_load_modelz_from_a_local_file_strictly(released_like_file):
    model = weights.load_modelz(released_like_file, temperature=0.38)
    assert not model.training and model.temperature == 0.38
    centres = model.bin_centres()
    assert centres.shape == (313, 2)
    torch.testing.assert_close(centres, torch.round(centres / 10) * 10, atol=1e-4, rtol=0)


def test_load_modelz_downloads_into_the_cache_and_checks_the_hash(isolated_cache, local_server, released_like_file):
    digest = hashlib.sha256(released_like_file.read_bytes()).hexdigest()
    remote = RemoteFile(released_like_file.name, f"{local_server}/{released_like_file.name}", digest)
    model = weights.load_modelz(remote=remote, progress=False)
    assert (isolated_cache / released_like_file.name).exists()
    reference = torch.load(released_like_file, weights_only=True)
    torch.testing.assert_close(model.model8[6].weight, reference["model8.6.weight"])
    wrong = RemoteFile("other.pth", f"{local_server}/{released_like_file.name}", "0" * 64)
    with pytest.raises(ValueError, match="sha256"):
        weights.load_modelz(remote=wrong, progress=False)
    assert not (isolated_cache / "other.pth").exists()


def test_offline_raises_and_the_notebook_helper_returns_none(isolated_cache, monkeypatch, closed_port):
    monkeypatch.setenv("COLORLIB_MIRROR", f"http://127.0.0.1:{closed_port}/weights")
    with pytest.raises(WeightsUnavailableError, match="colorization_release_v2-9b330a0b.pth"):
        weights.load_modelz(progress=False)
    assert weights.load_modelz_or_none() is None
    assert list(isolated_cache.iterdir()) == []  # no partial file left behind


def test_a_file_that_is_not_modelz_is_refused(tmp_path, random_modelz):
    state = random_modelz.state_dict()
    state.pop("model_out.weight")
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match="does not fit ModelZ.*model_out.weight"):
        weights.load_modelz(path)
    torch.save({"format": "something else", "model": {}}, path)
    with pytest.raises(ValueError, match="not a state dict of tensors"):
        weights.load_modelz(path)
