"""The one `albumbot` command line.

Each family of subcommands lives beside the code it drives and registers itself here through a
`register(subparsers)` function. Registrars import nothing heavy at import time (no torch, no web
app), so `albumbot --help` is instant and `albumbot web` never loads torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Modules that add subcommands, in the order `--help` lists them.
REGISTRARS = (
    "app.cli_serve",  # up, web, worker, migrate
    "app.cli_project",  # project export|import
    "model.cli_prepare",  # prepare
    "model.cli_engine",  # train, generate
    "model.cli_bench",  # bench generate|train|quality
    "model.cli_analyze",  # analyze
    "model.cli_titles",  # titles
    "model.cli_covers",  # cover
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="albumbot",
        description=(
            "Neural-synthesis albums. Train SampleRNN on one album, generate hours of audio epoch "
            "after epoch, and curate the best moments into new albums."
        ),
        epilog="Run `albumbot COMMAND --help` for the options of one command.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in REGISTRARS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a family not built yet in this checkout
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


class CliError(Exception):
    """A user mistake, reported as one line on stderr with exit status 2."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (CliError, ValueError, FileNotFoundError) as exc:
        sys.stderr.write(f"albumbot {args.command}: error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
