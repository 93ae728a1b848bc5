"""The ``colorlib`` command. Each lesson module adds its own subcommand (``register_cli``)."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

#: Modules that add a subcommand; each defines ``register_cli(subparsers)``.
COMMAND_MODULES = (
    "colorlib.figures",
    "colorlib.places205",
    "colorlib.train",
    "colorlib.colorize",
    "colorlib.evaluate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorlib",
        description="Colorizing grayscale photographs with a CNN: the course's command line.",
    )
    parser.add_argument("--version", action="version", version=f"colorlib {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register_cli(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    return int(args.handler(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
