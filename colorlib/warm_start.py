"""Starting a run from a trained decoder (``TrainConfig(init_from=...)``, ``colorlib train --init-from``).

A network that takes colour hints (``ColorizationNet(takes_hints=True)``) has the same
decoder as the automatic one, except that three of its convolutions take
:data:`colorlib.model.HINT_FEATURES` more input channels (the hinted a, b and the mask, and
the same hints spread over the photo).
:func:`warm_start` copies an automatic model's decoder into it and sets the weights of
those extra channels to **zero**: with no hint (a mask of zeros, ab of zeros) the new
network computes exactly what the automatic model computes, and training only has to
learn what the hints add. The same works from a hint network to a hint network, or from
an automatic model to an automatic one (plain fine-tuning).

Only the decoder is copied: the encoder is the run's own (``encoder_weights``), so the
source should have been trained on the same encoder (the course's runs all use the
released one).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .config import repo_root
from .model import HINT_FEATURES, ColorizationNet
from .weights import load_pretrained

__all__ = ["resolve_init_path", "copy_decoder", "warm_start"]


def resolve_init_path(path: str | os.PathLike[str]) -> Path:
    """Where ``init_from`` points: an absolute path as it is; a relative one against the
    course repository (``runs/quick/best.pth`` is the repository's wherever the notebook
    runs), or the current folder outside the repository.

    >>> resolve_init_path("/somewhere/best.pth").as_posix()
    '/somewhere/best.pth'
    """
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    root = repo_root()
    return (root if root is not None else Path.cwd()) / candidate


def copy_decoder(target: ColorizationNet, source: ColorizationNet) -> None:
    """Copy ``source``'s decoder into ``target``'s, zeroing the input channels that ``target`` has more.

    Each parameter and buffer of the decoder is copied as it is when the shapes agree. A
    convolution weight of ``target`` shaped ``(out, in + 3, k, k)`` where ``source`` has
    ``(out, in, k, k)`` (a hint decoder from an automatic one) gets the source's weights on
    its first ``in`` channels and zeros on the hint channels.

    Raises:
        ValueError: the decoders differ in anything else (another output head, say).

    >>> automatic, hinted = ColorizationNet(input_size=32).eval(), ColorizationNet(input_size=32, takes_hints=True).eval()
    >>> hinted.encoder.load_state_dict(automatic.encoder.state_dict())  # the same encoder, as in a run
    <All keys matched successfully>
    >>> copy_decoder(hinted, automatic)
    >>> L = torch.rand(1, 1, 32, 32)
    >>> torch.allclose(hinted(L), automatic(L))
    True
    """
    wanted, given = target.decoder.state_dict(), source.decoder.state_dict()
    if set(wanted) != set(given):
        raise ValueError(f"copy_decoder: the decoders have different layers ({sorted(set(wanted) ^ set(given))[:4]})")
    copied = {}
    for name, value in wanted.items():
        other = given[name]
        if other.shape == value.shape:
            copied[name] = other.clone()
        elif (value.ndim == 4 and other.ndim == 4 and value.shape[0] == other.shape[0]
              and value.shape[1] == other.shape[1] + HINT_FEATURES and value.shape[2:] == other.shape[2:]):
            copied[name] = torch.cat([other, other.new_zeros(other.shape[0], HINT_FEATURES, *other.shape[2:])], dim=1)
        else:
            raise ValueError(f"copy_decoder: {name} is {tuple(other.shape)} in the source, "
                             f"{tuple(value.shape)} in the network being trained")
    target.decoder.load_state_dict(copied)


def warm_start(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Start ``model``'s decoder from the decoder of the checkpoint at ``path`` (see :func:`copy_decoder`).

    Args:
        model: the network about to be trained (a :class:`~colorlib.model.ColorizationNet`).
        path: a checkpoint :func:`colorlib.load_pretrained` reads; relative paths as in
            :func:`resolve_init_path`.

    Raises:
        FileNotFoundError: no file there (the message says which).
        ValueError: a network of another kind, or a decoder that does not fit.
    """
    if not isinstance(model, ColorizationNet):
        raise ValueError(f"init_from: expected a ColorizationNet to start, got {type(model).__name__}")
    where = resolve_init_path(path)
    if not where.is_file():
        raise FileNotFoundError(f"init_from: no checkpoint at {where} (train that run first)")
    copy_decoder(model, load_pretrained(where))
