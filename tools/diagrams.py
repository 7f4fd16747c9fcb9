"""Draw the book's diagrams: chapters/<lang>/diagrams/<name>.svg, English and Chinese.

    python tools/diagrams.py                      # all of them (make diagrams)
    python tools/diagrams.py 05-multi-head        # one
    python tools/diagrams.py --out /tmp/d         # elsewhere (tests/test_diagrams.py compares)
    python tools/diagrams.py --png /tmp/png       # also PNG previews (same figures), to look at

The drawings live in src/rnn2bert/diagrams.py; their numbers come from the configurations the
chapters use (see its docstring).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rnn2bert.diagrams import DIAGRAMS, LANGS, write_all  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names",
        nargs="*",
        choices=[[], *DIAGRAMS],
        metavar="NAME",
        help="diagrams to draw (default: all): " + ", ".join(DIAGRAMS),
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "chapters", help="folder with en/ and zh/"
    )
    parser.add_argument("--lang", choices=LANGS, action="append", help="only this language")
    parser.add_argument("--png", type=Path, help="also write PNG previews (2x) into this folder")
    args = parser.parse_args(argv)
    paths = write_all(args.out, args.names or None, tuple(args.lang or LANGS), png=args.png)
    for path in paths:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
