"""Make the student notebooks from the solution notebooks (``make exercises``).

    python -m rnn2bert.exercises.generate solutions exercises

For every ``solutions/<lang>/NN-slug.ipynb`` it writes ``exercises/<lang>/NN-slug.ipynb``:

* in code cells, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become one
  ``raise NotImplementedError`` at the same indentation (so a stub never runs silently and
  ``check`` reports it as "not attempted yet");
* in Markdown cells, text between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->``
  is removed (e.g. the discussion of an answer);
* outputs and execution counts are cleared;
* the first Markdown cell gains a line that says where the solutions are.

Solution blocks must sit inside a function body, so that a student's "Run all" never stops
at an exercise they have not tried yet.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_BLOCK = re.compile(r"\n?<!-- BEGIN SOLUTION -->.*?<!-- END SOLUTION -->\n?", re.S)
STUB = "raise NotImplementedError  # TODO: your code here · 在此写你的代码"


def stub_code(source: str, where: str = "") -> str:
    """Replace every solution block in ``source`` with a stub that raises."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{where}: nested {BEGIN}")
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                raise ValueError(f"{where}: a solution block must be inside a function body")
            out.append(indent + STUB)
            inside = True
        elif stripped == END:
            if not inside:
                raise ValueError(f"{where}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out)


SOLUTIONS_NOTE = {
    "en": "**Solutions** are in `solutions/en/{name}` of the book's repository (your teacher may "
    "hand them out "
    "later). Try each exercise first: the checks tell you what is wrong.",
    "zh": "**参考答案**在本书仓库的 `solutions/zh/{name}` 中（老师也可能稍后再发）。请先自己做："
    "`check` 会告诉你错在哪里。",
}


def solutions_note(where: str) -> str:
    """The line that tells a student where the solutions are, in the notebook's language."""
    path = Path(where)
    lang = path.parent.name if path.parent.name in SOLUTIONS_NOTE else "en"
    return SOLUTIONS_NOTE[lang].format(name=path.name)


def exercise_notebook(solution: nbformat.NotebookNode, where: str = "") -> nbformat.NotebookNode:
    """The student version of one solution notebook."""
    nb = nbformat.from_dict(solution)
    first_md = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.source = stub_code(cell.source, f"{where} cell {i}")
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        elif cell.cell_type == "markdown":
            cell.source = MD_BLOCK.sub("\n", cell.source).strip("\n")
    if first_md is not None and where:
        first_md.source += "\n\n" + solutions_note(where)
    return nb


def generate(solutions: Path, exercises: Path) -> list[Path]:
    """Write ``exercises/<lang>/*.ipynb`` for every ``solutions/<lang>/*.ipynb``; return them."""
    written = []
    for src in sorted(solutions.glob("*/*.ipynb")):
        dst = exercises / src.relative_to(solutions)
        dst.parent.mkdir(parents=True, exist_ok=True)
        nb = exercise_notebook(nbformat.read(src, as_version=4), str(src))
        nbformat.write(nb, dst)
        written.append(dst)
    return written


def main(argv: list[str]) -> int:
    solutions, exercises = (Path(a) for a in (argv or ["solutions", "exercises"]))
    for path in generate(solutions, exercises):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
