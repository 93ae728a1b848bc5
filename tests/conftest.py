"""Shared test set-up.

The authors' checkpoints are read from colorlib's cache (``COLORLIB_CACHE``). CI seeds
that folder from ``../shared/weights`` (see ``.ci/run``); elsewhere the first test that
needs a checkpoint downloads it, as a user's first call would.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """An empty, private ``COLORLIB_CACHE`` for tests that download or corrupt files."""
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("COLORLIB_CACHE", os.fspath(folder))
    return folder
