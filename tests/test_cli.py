"""colorlib.cli: the command's version, usage, exit statuses and the subcommands that need no model.

The commands that train, colorize and evaluate are tested beside their modules
(tests/test_train.py, tests/test_inference.py, tests/test_evaluate.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from colorlib import __version__, cli

REPO = Path(__file__).resolve().parent.parent


def _exit_status(argv: list[str]) -> int:
    """``cli.main(argv)``'s exit status, whether it returns it or argparse raises SystemExit."""
    try:
        return cli.main(argv)
    except SystemExit as stop:
        return stop.code


def test_version_prints_the_package_version(capsys):
    assert _exit_status(["--version"]) == 0
    assert capsys.readouterr().out == f"colorlib {__version__}\n"
    assert __version__ == "0.1.0"


def test_version_and_help_load_no_torch():
    probe = (
        "import sys\n"
        "from colorlib import cli\n"
        "for argv in (['--version'], ['--help'], ['train', '--help']):\n"
        "    try:\n"
        "        cli.main(argv)\n"
        "    except SystemExit as stop:\n"
        "        assert stop.code == 0, (argv, stop.code)\n"
        "heavy = sorted(name for name in ('torch', 'torchvision', 'numpy', 'PIL', 'matplotlib') if name in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"colorlib {__version__}\n")
    assert "HEAVY []" in done.stderr


def test_no_subcommand_prints_usage_and_exits_2(capsys):
    assert cli.main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: colorlib [-h] [--version] COMMAND ...")
    for command in ("figures", "download", "credits", "train", "colorize", "evaluate"):
        assert f"\n    {command}" in captured.err


def test_download_of_an_unknown_data_set_exits_2(capsys):
    assert _exit_status(["download", "imagenet"]) == 2
    err = capsys.readouterr().err
    assert "argument dataset: invalid choice: 'imagenet'" in err
    assert "'landscapes', 'caltech101', 'kodak24', 'places205'" in err


def test_download_url_applies_to_places205_only(capsys, isolated_cache):
    assert cli.main(["download", "kodak24", "--url", "http://example.invalid/k.zip"]) == 2
    err = capsys.readouterr().err
    assert "--url applies to places205 only" in err
    assert list(isolated_cache.iterdir()) == []  # nothing was fetched


def test_credits_writes_the_credits_file(tmp_path, capsys):
    target = tmp_path / "docs" / "CREDITS.md"
    target.parent.mkdir()
    assert cli.main(["credits", "--output", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target}\n"
    content = target.read_text(encoding="utf-8")
    assert content.encode("utf-8") == (REPO / "CREDITS.md").read_bytes()  # the committed file, byte for byte
    assert "kodim01" in content.lower() or "Kodak" in content


def test_figures_with_a_missing_or_empty_notebooks_folder_exits_2(tmp_path, capsys):
    assert _exit_status(["figures", "--notebooks", str(tmp_path / "missing")]) == 2
    assert "cannot find the notebooks folder" in capsys.readouterr().err
    assert _exit_status(["figures", "--notebooks", str(tmp_path)]) == 2
    assert "no lesson notebooks (NN_*.ipynb)" in capsys.readouterr().err


def test_figures_help_lists_its_options(capsys):
    assert _exit_status(["figures", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: colorlib figures [-h] [--profile {quick,paper}] [--in-place]")
    for option in ("--profile {quick,paper}", "--in-place", "--notebooks NOTEBOOKS", "--only NN [NN ...]"):
        assert option in out
    assert "Run the course notebooks in order; each saves its figures to figures/." in out


def test_bad_option_values_exit_2(capsys):
    assert _exit_status(["train", "--epochs", "0"]) == 2
    assert capsys.readouterr().err == "colorlib train: epochs: expected a positive number, got 0\n"
    assert _exit_status(["train", "--image-size", "100"]) == 2
    assert capsys.readouterr().err == "colorlib train: input_size: expected a multiple of 8 (224, 128, ...), got 100\n"


def test_the_parser_pixel_limit_is_the_library_default():
    from colorlib.images import DEFAULT_MAX_PIXELS

    assert cli.MAX_PIXELS_DEFAULT == DEFAULT_MAX_PIXELS == 80_000_000
