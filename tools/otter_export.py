"""Every chapter's solution notebook as an otter-grader assignment (``make otter``).

    python tools/otter_export.py                     # sources -> _build/otter/<lang>/<chapter>/
    python tools/otter_export.py --assign            # ... and run `otter assign` on each
    python tools/otter_export.py solutions/en/02-self-attention.ipynb --assign --out /tmp/otter

Each solution notebook becomes an otter-assign source notebook
(``<lang>/<chapter>/<chapter>.ipynb``):

* one question per exercise (``ch02.scores`` -> ``ch02_scores``), with the exercise's points
  (``rnn2bert.grading.points``: 2 for code, 1 for a prediction), its text, and its code cell in
  a solution block, without the ``check(...)`` line (otter's ``grader.check("ch02_scores")``
  takes its place); the book's ``### BEGIN SOLUTION`` lines become the book's stub
  (``raise NotImplementedError``) in the students' notebook;
* a public test: the practice check, ``run_check(id, answer)``, and a hidden test:
  ``run_check(id, answer, hidden=True)``, the variants no notebook shows; a failing test shows
  the check's message in English and Chinese;
* every Markdown answer (``<!-- BEGIN SOLUTION -->`` blocks: the "why" of a prediction) a
  manually graded question of 1 point (``manual: true``), which otter exports for Gradescope;
  the students' notebook has an empty answer cell in its place.

The students' notebook holds no solution: otter removes what sits in a solution block, and the
exporter stops where a solution would sit outside one.

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
from rnn2bert.exercises.generate import BEGIN, END, MD_BLOCK, STUB  # noqa: E402
from rnn2bert.grading import points  # noqa: E402

CHECK = re.compile(r"""^check\(\s*["'](ch\d\d\.\w+)["']\s*,\s*([A-Za-z_]\w*)\s*\)\s*$""", re.M)
MD_ANSWER, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
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

OTTER_NOTE = {
    "en": "**otter-grader version.** Instead of `check(...)`, run the `grader.check(...)` cell "
    "after each exercise: it runs the same practice check. Your course's grading also tries "
    "other inputs, shapes and seeds than the notebook shows.",
    "zh": "**otter-grader 版本。** 这里没有 `check(...)`：每道练习后运行 "
    "`grader.check(...)` 单元格，它做同样的练习检查。"
    "课程评分时还会用笔记本中没有出现的其他输入、形状和随机种子来测试。",
}

MANUAL_PROMPT = {
    "en": "**Explain your answer** (a few sentences; graded by hand, {points} point).",
    "zh": "**解释你的答案**(几句话即可；人工评分，{points} 分)。",
}


def question_name(exercise_id: str) -> str:
    return exercise_id.replace(".", "_")


def raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def otter_code(source: str) -> str:
    """The book's solution markers as otter's, without the practice ``check(...)`` line.

    Each ``### BEGIN SOLUTION`` block becomes otter's ``# BEGIN SOLUTION NO PROMPT`` block preceded
    by a prompt (a string between ``# BEGIN PROMPT`` and ``# END PROMPT``) holding the book's stub,
    so the students' notebook has ``raise NotImplementedError`` where the solution was, as in the
    book's exercise notebooks (otter's default, ``...``, would return ``None`` silently); in the
    solution notebook the prompt is an unused string.
    """
    out = []
    for line in (CHECK.sub("", source).rstrip() + "\n").splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        if line.strip() == BEGIN:
            out += [
                f'{indent}""" # BEGIN PROMPT',
                indent + STUB,
                f'{indent}""" # END PROMPT',
                f"{indent}# BEGIN SOLUTION NO PROMPT",
            ]
        elif line.strip() == END:
            out.append(f"{indent}# END SOLUTION")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


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
        heading = next(
            (
                j
                for j in range(i - 1, start - 1, -1)
                if nb.cells[j].cell_type == "markdown" and f"`{exercise_id}`" in nb.cells[j].source
            ),
            i,
        )
        found[i] = (heading, exercise_id, name)
        start = i + 1
    return found


def split_answers(nb) -> None:
    """Give every Markdown answer after the first exercise a cell of its own.

    A solution notebook may end an answer and begin the next exercise in one cell (chapter 12:
    ``<!-- END SOLUTION -->`` then ``## Exercise 4``); otter needs the manual question of the
    answer to end before the next exercise's question begins, so the text before and after each
    answer block becomes a cell of its own. The note at the top (answers before the first
    ``check(...)`` cell) stays as it is: ``source_notebook`` removes it.
    """
    first = next(
        (i for i, c in enumerate(nb.cells) if c.cell_type == "code" and CHECK.search(c.source)),
        len(nb.cells),
    )
    cells = nb.cells[:first]
    for cell in nb.cells[first:]:
        if cell.cell_type != "markdown" or MD_ANSWER not in cell.source:
            cells.append(cell)
            continue
        pieces, at = [], 0
        for block in MD_BLOCK.finditer(cell.source):
            pieces += [cell.source[at : block.start()], block.group()]
            at = block.end()
        pieces.append(cell.source[at:])
        for piece in filter(None, (p.strip("\n") for p in pieces)):
            cells.append(nbformat.v4.new_markdown_cell(piece, metadata=dict(cell.metadata)))
    nb.cells = cells


def source_notebook(path: Path) -> nbformat.NotebookNode:
    """The otter-assign source for one solution notebook.

    A graded question: ``BEGIN QUESTION``, the exercise's text (and any cell up to its code),
    ``BEGIN SOLUTION``, the code cell, ``END SOLUTION``, the public and hidden tests, ``END
    QUESTION``. A manual question: ``BEGIN QUESTION`` (``manual: true``), the prompt, the answer in
    a ``BEGIN SOLUTION`` block, ``END QUESTION``. Only what sits in a solution block is removed
    from the students' notebook, so every solution of the book sits in one.
    """
    nb = nbformat.read(path, as_version=4)
    split_answers(nb)
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
            cells.append(
                raw(
                    f"# BEGIN QUESTION\nname: {question_name(exercise_id)}\n"
                    f"points: {points(exercise_id)}"
                )
            )
        if cell.cell_type == "markdown" and MD_ANSWER in cell.source:
            if last_id is None:  # the note at the top that this is the solution notebook
                cell.source = MD_BLOCK.sub("\n", cell.source).strip()
                cells.append(cell)
                continue
            if inside is not None:
                raise SystemExit(
                    f"{path}: cell {i}: an answer inside exercise {questions[inside][1]}"
                )
            cell.source = cell.source.replace(MD_ANSWER, "").replace(MD_END, "").strip("\n")
            cells += [
                raw(
                    f"# BEGIN QUESTION\nname: {question_name(last_id)}_why\nmanual: true\n"
                    f"points: {MANUAL_POINTS}"
                ),
                nbformat.v4.new_markdown_cell(MANUAL_PROMPT[lang].format(points=MANUAL_POINTS)),
                raw("# BEGIN SOLUTION"),
                cell,
                raw("# END SOLUTION"),
                raw("# END QUESTION"),
            ]
            continue
        if cell.cell_type == "code" and BEGIN in cell.source and i != inside:
            raise SystemExit(f"{path}: cell {i}: a solution outside an exercise's code cell")
        if i == inside:
            _, exercise_id, name = questions[i]
            cell.source = otter_code(cell.source)
            test = {"id": exercise_id, "name": name}
            cells += [
                raw("# BEGIN SOLUTION"),
                cell,
                raw("# END SOLUTION"),
                raw("# BEGIN TESTS"),
                nbformat.v4.new_code_cell(TEST.format(config="", hidden="", **test)),
                nbformat.v4.new_code_cell(
                    TEST.format(config=HIDDEN, hidden=", hidden=True", **test)
                ),
                raw("# END TESTS"),
                raw("# END QUESTION"),
            ]
            last_id, inside = exercise_id, None
            continue
        cells.append(cell)
    cells.insert(2, nbformat.v4.new_markdown_cell(OTTER_NOTE[lang]))  # after the title cell
    chapter = f"ch{path.name[:2]}."
    missing = {i for _, i, _ in questions.values()} ^ {i for i in REGISTRY if i.startswith(chapter)}
    if missing:
        raise SystemExit(f"{path}: exercises and checks do not match: {sorted(missing)}")
    return nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)


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
    """``otter assign --no-run-tests --no-pdfs SOURCE DIST``, in this process (one import)."""
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
