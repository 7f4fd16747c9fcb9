"""Every chapter's solution notebook as an otter-grader assignment (``make otter``).

    python tools/otter_export.py                          # sources -> _build/otter/<lang>/<chapter>/
    python tools/otter_export.py --assign                 # ... and run `otter assign` on each
    python tools/otter_export.py solutions/en/02-self-attention.ipynb --assign --out /tmp/otter

Each solution notebook becomes an otter-assign source notebook (``<lang>/<chapter>/<chapter>.ipynb``):

* one question per exercise (``ch02.scores`` -> ``ch02_scores``), with the exercise's points
  (``rnn2bert.grading.points``: 2 for code, 1 for a prediction), its text, and its code cell
  with otter's ``# BEGIN SOLUTION`` / ``# END SOLUTION`` markers (the book's
  ``### BEGIN SOLUTION`` blocks) and without the ``check(...)`` line: otter's
  ``grader.check("ch02_scores")`` takes its place;
* a public test: the practice check, ``run_check(id, answer)``, and a hidden test:
  ``run_check(id, answer, hidden=True)``, the variants no notebook shows; a failing test shows
  the check's message in English and Chinese;
* every Markdown answer (``<!-- BEGIN SOLUTION -->`` blocks: the "why" of a prediction) a
  manually graded question of 1 point (``manual: true``), which otter exports for Gradescope.

``--assign`` runs ``otter assign`` on each source into ``<chapter>/dist``: ``dist/student`` (the
notebook to hand out, with the public tests), ``dist/autograder`` (the solution,
``autograder.zip`` with the hidden tests, for Gradescope or ``otter run``). The students'
environment needs the course library (``pip install -e .`` of the bundle): the tests import it.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rnn2bert.exercises import REGISTRY  # noqa: E402
from rnn2bert.exercises.generate import BEGIN, END, MD_BLOCK  # noqa: E402
from rnn2bert.grading import points  # noqa: E402

CHECK = re.compile(r"""^check\(\s*["'](ch\d\d\.\w+)["']\s*,\s*([A-Za-z_]\w*)\s*\)\s*$""", re.M)
MD_ANSWER = "<!-- BEGIN SOLUTION -->"
MANUAL_POINTS = 1

CONFIG = """\
# ASSIGNMENT CONFIG
name: {name}
init_cell: true
check_all_cell: false
export_cell: false
solutions_pdf: false
generate:
  pdf: false
  filtering: false
tests:
  files: false
  ok_format: true
"""

TEST = """\
{config}from rnn2bert.exercises import run_check
_result = run_check("{id}", {name}{hidden})
assert _result.passed, _result.message
"""
HIDDEN = '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'

MANUAL_PROMPT = {
    "en": "**Explain your answer** (a few sentences; graded by hand, {points} point).",
    "zh": "**解释你的答案**(几句话即可；人工评分，{points} 分)。",
}


def question_name(exercise_id: str) -> str:
    return exercise_id.replace(".", "_")


def raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def otter_code(source: str) -> str:
    """The book's solution markers as otter's, without the practice ``check(...)`` line."""
    source = CHECK.sub("", source).rstrip() + "\n"
    return source.replace(BEGIN, "# BEGIN SOLUTION").replace(END, "# END SOLUTION")


def exercise_cells(nb) -> dict[int, tuple[int, str, str]]:
    """Index of a check cell -> (index where its question starts, exercise id, function name)."""
    found, start = {}, 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        match = CHECK.search(cell.source)
        if not match:
            continue
        exercise_id, name = match.groups()
        heading = next((j for j in range(i - 1, start - 1, -1) if nb.cells[j].cell_type == "markdown"
                        and f"`{exercise_id}`" in nb.cells[j].source), i)
        found[i] = (heading, exercise_id, name)
        start = i + 1
    return found


def source_notebook(path: Path) -> nbformat.NotebookNode:
    """The otter-assign source for one solution notebook."""
    nb = nbformat.read(path, as_version=4)
    lang = path.parent.name
    questions = exercise_cells(nb)
    starts = {start: i for i, (start, _, _) in questions.items()}
    cells = [raw(CONFIG.format(name=f"{path.stem}-{lang}"))]
    last_id, inside = None, None
    for i, cell in enumerate(nb.cells):
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if i in starts:
            inside = starts[i]
            exercise_id = questions[inside][1]
            cells.append(raw(f"# BEGIN QUESTION\nname: {question_name(exercise_id)}\npoints: {points(exercise_id)}"))
        if cell.cell_type == "markdown" and MD_ANSWER in cell.source:
            if i == 0 or last_id is None:  # the note that this is the solution notebook
                cell.source = MD_BLOCK.sub("\n", cell.source).strip()
                cells.append(cell)
                continue
            cells += [raw(f"# BEGIN QUESTION\nname: {question_name(last_id)}_why\nmanual: true\n"
                          f"points: {MANUAL_POINTS}"),
                      nbformat.v4.new_markdown_cell(MANUAL_PROMPT[lang].format(points=MANUAL_POINTS)),
                      cell, raw("# END QUESTION")]
            continue
        if cell.cell_type == "code":
            cell.source = otter_code(cell.source)
        cells.append(cell)
        if i == inside:
            _, exercise_id, name = questions[i]
            cells += [raw("# BEGIN TESTS"),
                      nbformat.v4.new_code_cell(TEST.format(config="", id=exercise_id, name=name, hidden="")),
                      nbformat.v4.new_code_cell(TEST.format(config=HIDDEN, id=exercise_id, name=name,
                                                            hidden=", hidden=True")),
                      raw("# END TESTS"), raw("# END QUESTION")]
            last_id, inside = exercise_id, None
    missing = {i for _, i, _ in questions.values()} ^ {i for i in REGISTRY if i.startswith(f"ch{path.name[:2]}.")}
    if missing:
        raise SystemExit(f"{path}: exercises and checks do not match: {sorted(missing)}")
    out = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    return out


def export(paths: list[Path], out: Path, assign: bool) -> list[Path]:
    """Write each source (and ``dist/`` when ``assign``); return the sources written."""
    written = []
    for path in paths:
        folder = out / path.parent.name / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        source = folder / path.name  # otter names the students' notebook after its source
        nbformat.write(source_notebook(path), source)
        written.append(source)
        if assign:
            otter_assign(source, folder / "dist")
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} -> {source}")
    return written


def otter_assign(source: Path, dist: Path) -> None:
    """``otter assign --no-run-tests --no-pdfs SOURCE DIST``, in this process (one import for all)."""
    from otter.assign import main as assign

    here = Path.cwd()
    try:
        os.chdir(source.parent)
        assign(str(source), str(dist), no_pdfs=True, no_run_tests=True)
    except Exception as e:
        raise SystemExit(f"otter assign failed on {source}: {type(e).__name__}: {e}") from None
    finally:
        os.chdir(here)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="solution notebooks (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "otter")
    parser.add_argument("--assign", action="store_true", help="run `otter assign` on every source")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "solutions").glob("*/*.ipynb"))
    export(paths, args.out, args.assign)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
