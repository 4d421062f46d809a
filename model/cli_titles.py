"""`albumbot titles`: a discography's song titles -> novel Markov-chain titles.

Nothing heavy is imported at import time (markovify loads in the handler).
"""

from __future__ import annotations

import argparse
import json
import sys

_DESCRIPTION = """\
Generate new song titles from an artist's discography, the way the paper does it: word-level
Markov chains of order 3 and 2 over the titles, backing off to order 1 and to character-level
chains because a few dozen titles make the higher orders repeat their sources. Sources, fragments
of sources and near-copies are filtered out; every title printed is distinct. Same file and seed,
same titles."""

_EPILOG = """\
input (FILE): one title per line, UTF-8; blank lines and repeats are ignored; "-" reads stdin.
output: one title per line on stdout (or --out FILE), or a JSON list with --json.

examples:
  albumbot titles discography.txt -n 50 --seed 7
  albumbot titles discography.txt -n 2000 --json --out titles.json"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "titles",
        help="discography titles -> novel Markov-chain song titles",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE",
                   help='text file with one source title per line ("-" for stdin)')
    p.add_argument("-n", type=int, default=100, metavar="N", help="how many titles (default 100)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--orders", type=int, nargs="+", default=[3, 2, 1], metavar="K",
                   help="word chain orders, tried highest first (default 3 2 1)")
    p.add_argument("--char-orders", type=int, nargs="*", default=[4, 3], metavar="K",
                   help="character chain orders tried after the word chains "
                   "(default 4 3; none to disable)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of lines")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(handler=run_titles)


def run_titles(args: argparse.Namespace) -> int:
    from .titles import generate_titles

    if args.file == "-":
        text = sys.stdin.read()
    else:
        with open(args.file, encoding="utf-8") as f:
            text = f.read()
    titles = generate_titles(
        text.splitlines(), args.n, seed=args.seed, orders=args.orders, char_orders=args.char_orders
    )
    body = json.dumps(titles, ensure_ascii=False, indent=1) + "\n" if args.json else "".join(
        f"{t}\n" for t in titles
    )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(body)
    else:
        sys.stdout.write(body)
    if len(titles) < args.n:
        sys.stderr.write(f"albumbot titles: found only {len(titles)} novel titles of {args.n}\n")
    return 0
