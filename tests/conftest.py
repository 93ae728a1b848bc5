"""Shared test set-up.

The authors' checkpoints are read from colorlib's cache (``COLORLIB_CACHE``). CI seeds
that folder from ``../shared/weights`` (see ``.ci/run``); elsewhere the first test that
needs a checkpoint downloads it, as a user's first call would.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

# As the Makefile does: idle OpenMP threads sleep instead of spinning. Set before torch starts
# its thread pool; on a busy 2-core machine spinning threads make torch 10 to 40 times slower
# (the every-8-bit-colour round trip: about 1 s passive, 15 to 45 s spinning).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# Property tests draw the same examples on every run, on every machine, with or without CI:
# derandomized (examples derived from each test's source), no example database (nothing
# carried over from an earlier run), no deadline (a busy 2-core machine must not turn a slow
# example red). A failure is therefore a failure every time, never red (or green) by chance.
settings.register_profile("colorlib", derandomize=True, database=None, deadline=None)
settings.load_profile("colorlib")


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connections to it are refused (an offline
    host, without leaving the machine); free for a server to bind, too (torchrun's master)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """An empty, private ``COLORLIB_CACHE`` for tests that download or corrupt files."""
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("COLORLIB_CACHE", os.fspath(folder))
    return folder


class LocalHTTPServer:
    """A file server on 127.0.0.1 for download tests (see the ``http_server`` fixture).

    Attributes:
        url: the base address, ``http://127.0.0.1:<port>`` (no trailing slash).
        root: the served folder; ``<url>/<relative path>`` serves ``root/<relative path>``.
        requests: every GET as ``(relative path, Range header or None)``, in arrival order.
        honour_range: ``False`` answers every request with 200 and the whole file.
        serve_only: ``{relative path: n}``: announce the whole size but never send byte n
            or later (a server that keeps breaking off at the same place).
        delay_s: seconds to wait before answering each request (a slow server, so that
            two clients overlap).
    """

    def __init__(self, root):
        self.root = root
        self.url = ""
        self.requests: list[tuple[str, str | None]] = []
        self.honour_range = True
        self.serve_only: dict[str, int] = {}
        self.delay_s = 0.0
        self._drops: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def drop_after(self, relative_path: str, n_bytes: int, times: int = 1) -> None:
        """The next ``times`` responses for ``relative_path`` close the connection after ``n_bytes`` of body."""
        with self._lock:
            self._drops.setdefault(relative_path, []).extend([n_bytes] * times)

    def requests_for(self, relative_path: str) -> list[str | None]:
        """The Range headers (``None``: a plain GET) of the requests for one file."""
        with self._lock:
            return [header for path, header in self.requests if path == relative_path]

    def _record(self, relative_path: str, range_header: str | None) -> int | None:
        with self._lock:
            self.requests.append((relative_path, range_header))
            pending = self._drops.get(relative_path)
            return pending.pop(0) if pending else None


def _make_handler(server_state: LocalHTTPServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # keep test output quiet
            pass

        def do_GET(self):
            relative = unquote(urlsplit(self.path).path).lstrip("/")
            range_header = self.headers.get("Range")
            drop = server_state._record(relative, range_header)
            if server_state.delay_s:
                time.sleep(server_state.delay_s)
            root = server_state.root.resolve()
            target = (root / relative).resolve()
            if root not in target.parents or not target.is_file():
                self.send_error(404, "Not Found")
                return
            data = target.read_bytes()
            size = len(data)
            start, end, status = 0, size - 1, 200
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", (range_header or "").strip())
            if match and server_state.honour_range:
                start = int(match.group(1))
                end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            body = data[start : end + 1]
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            limit = server_state.serve_only.get(relative)
            if limit is not None:
                drop = max(0, limit - start)
            if drop is not None and drop < len(body):
                self.wfile.write(body[:drop])
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def http_server(tmp_path):
    """A ``ThreadingHTTPServer`` on 127.0.0.1 serving ``tmp_path / "served"``, in a daemon thread.

    It answers ``Range: bytes=N-`` (and ``N-M``) with 206 and ``Content-Range`` (416 past
    the end), 404 for missing files, logs every request (``.requests``,
    ``.requests_for(path)``), and ``.drop_after(path, n_bytes)`` makes the next response
    for ``path`` stop after ``n_bytes`` and close the connection (a dropped download).
    Yields a :class:`LocalHTTPServer` with ``.url`` and ``.root``.
    """
    root = tmp_path / "served"
    root.mkdir()
    state = LocalHTTPServer(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="http_server fixture", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
