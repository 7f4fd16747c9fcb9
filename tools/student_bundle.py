"""The zip a teacher hands to students (``make student-bundle``): everything but the solutions.

    python tools/student_bundle.py                      # -> _build/rnn2bert-student.zip
    python tools/student_bundle.py --out /tmp/class.zip

Inside one folder, ``rnn2bert-course/``: the exercise notebooks in both languages, the
chapters (the exercises link to them) with their diagrams, the library ``src/rnn2bert`` with its
package data (``explorers.js``/``.css``) and ``pyproject.toml``
(``requirements.txt`` installs it with ``-e .``), ``requirements.txt``,
``requirements-data.txt`` and the student README (``teaching/student-readme.md``, as
``README.md``). Never ``solutions/``: the tool refuses to write a bundle in which any notebook
still holds a solution block, or whose exercise notebooks are not exactly the ones
generated from the solutions (``make exercises``), so a stale notebook cannot leak one.
(The library's ``exercises/generate.py`` names the markers; notebooks are what is checked.)
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import nbformat

from rnn2bert.exercises.generate import BEGIN, exercise_notebook

ROOT = Path(__file__).resolve().parents[1]

TOP = "rnn2bert-course"
README = ROOT / "teaching" / "student-readme.md"
FILES = ["requirements.txt", "requirements-data.txt", "pyproject.toml"]
MARKERS = (BEGIN, "<!-- BEGIN SOLUTION -->")
# The notebooks, the library with its package data (the explorers' page code: chapters 03, 04,
# 06 and 08 draw with it), the chapters' diagrams (their Markdown shows them), the cached
# results chapter 10 prints (chapters/data) and the book's pretrained checkpoints (chapters 09-12
# load them: rnn2bert.pretrained.CHECKPOINTS is <folder>/checkpoints).
PATTERNS = (
    "exercises/*/*.ipynb",
    "chapters/*/*.ipynb",
    "chapters/*/diagrams/*.svg",
    "chapters/data/*.json",
    "checkpoints/*/*",
    "src/rnn2bert/**/*.py",
    "src/rnn2bert/*.js",
    "src/rnn2bert/*.css",
)


def contents() -> dict[str, Path]:
    """Name inside the zip -> file on disk."""
    found = {f"{TOP}/README.md": README}
    found |= {f"{TOP}/{name}": ROOT / name for name in FILES}
    for pattern in PATTERNS:
        found |= {f"{TOP}/{p.relative_to(ROOT).as_posix()}": p for p in sorted(ROOT.glob(pattern))}
    return found


def generated(name: str, path: Path) -> bool:
    """Is ``path``, bundled as exercise ``name``, what ``make exercises`` makes from its
    solution?"""
    solution = ROOT / "solutions" / Path(name).relative_to(f"{TOP}/exercises")
    if not solution.is_file():
        return False
    want = exercise_notebook(nbformat.read(solution, as_version=4), str(solution))
    got = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source) for c in got.cells] == [
        (c.cell_type, c.source) for c in want.cells
    ]


def problems(files: dict[str, Path]) -> list[str]:
    """Why these files must not go to students (empty: they may)."""
    found = [f"{name}: a solution file" for name in files if "/solutions/" in name]
    for name, path in files.items():
        if not name.endswith(".ipynb"):
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{name}: holds {marker!r}" for marker in MARKERS if marker in text]
        if name.startswith(f"{TOP}/exercises/") and not generated(name, path):
            found.append(f"{name}: not generated from its solution (run `make exercises`)")
    return found


def write_bundle(out: Path) -> list[str]:
    """Write the zip; return the names in it."""
    files = contents()
    wrong = problems(files)
    if wrong:
        raise SystemExit("refusing to write a student bundle:\n" + "\n".join(wrong))
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, path in files.items():
            zf.write(path, name)
    return list(files)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "rnn2bert-student.zip")
    args = parser.parse_args(argv)
    names = write_bundle(args.out)
    notebooks = sum(n.endswith(".ipynb") and "/exercises/" in n for n in names)
    print(f"wrote {args.out} ({len(names)} files, {notebooks} exercise notebooks, no solutions)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
