"""colorlib.files: atomic writes, and the permissions of the files they leave."""

from __future__ import annotations

import os
import pathlib
import stat
import subprocess
import sys
import textwrap

import pytest

from colorlib import files
from colorlib.files import atomic_write, current_umask, new_file_mode

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes and umask are POSIX")


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old")

    def fail(name: str) -> None:
        pathlib.Path(name).write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, fail)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["result.txt"]
    atomic_write(target, lambda name: pathlib.Path(name).write_text("new"))
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["result.txt"]


# Run in a child process: the umask is process-wide, and pytest's own must not change.
_CHILD = textwrap.dedent(
    """
    import os, pathlib, stat, sys
    from colorlib import files
    umask, folder, proc = int(sys.argv[1], 8), pathlib.Path(sys.argv[2]), sys.argv[3]
    if proc == "missing":  # a system without /proc: the set-and-restore fallback
        files._PROC_STATUS = str(folder / "no-such-proc-status")
    os.umask(umask)
    (folder / "old.txt").write_text("old")
    os.chmod(folder / "old.txt", 0o600)  # what the old atomic_write left behind
    for name in ("new.txt", "old.txt"):
        files.atomic_write(folder / name, lambda temporary: pathlib.Path(temporary).write_text("x"))
    plain = folder / "plain.txt"
    plain.write_text("x")  # what open(path, "w") gives a new file, for comparison
    modes = [stat.S_IMODE((folder / n).stat().st_mode) for n in ("new.txt", "old.txt", "plain.txt")]
    print(" ".join(oct(m) for m in modes), oct(files.current_umask()), oct(os.umask(umask)))
    """
)


@posix_only
@pytest.mark.parametrize("proc", ["read", "missing"])
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_mode_of_a_new_file(tmp_path, umask, expected, proc):
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, oct(umask), str(tmp_path), proc],
        capture_output=True, text=True, timeout=60, check=True,
    )
    new, replaced, plain, read_umask, umask_after = result.stdout.split()
    assert int(new, 8) == int(replaced, 8) == int(plain, 8) == expected
    assert int(read_umask, 8) == int(umask_after, 8) == umask  # read, and left as it was


@posix_only
def test_current_umask_agrees_with_os_umask_and_proc():
    mask = os.umask(0o022)  # read it the only way os offers, then put it back
    os.umask(mask)
    assert current_umask() == mask
    assert new_file_mode() == 0o666 & ~mask
    if os.path.exists("/proc/self/status") and "Umask:" in pathlib.Path("/proc/self/status").read_text():
        assert files._umask_from_proc() == mask


def test_umask_fallback_when_proc_is_unreadable(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "_PROC_STATUS", str(tmp_path / "missing"))
    assert files._umask_from_proc() is None
    before = os.umask(0o022)
    os.umask(before)
    assert current_umask() == before
    after = os.umask(0o022)
    os.umask(after)
    assert after == before  # restored


@posix_only
def test_the_temporary_file_is_private_until_the_rename(tmp_path):
    seen = {}

    def write(name: str) -> None:
        pathlib.Path(name).write_text("secret until done")
        seen["mode"] = stat.S_IMODE(os.stat(name).st_mode)
        seen["name"] = pathlib.Path(name).name

    atomic_write(tmp_path / "out.txt", write)
    assert seen["mode"] == 0o600 and seen["name"].startswith(".out.txt.") and seen["name"].endswith(".tmp")
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == new_file_mode()
