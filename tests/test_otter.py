"""make otter: every chapter as an otter-grader assignment, assigned and graded by otter itself.

``otter assign`` runs on the exported source of every chapter, both languages; then ``otter run``
(otter's own grading, without Docker) grades chapter 02: the solution gets full marks, the
untouched student notebook gets zero, a wrong answer loses its points and its feedback carries the
check's bilingual message.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rnn2bert.exercises import REGISTRY
from rnn2bert.grading import points

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = "02-self-attention"
OTTER = Path(sys.executable).parent / "otter"

pytestmark = pytest.mark.skipif(
    shutil.which("otter", path=str(OTTER.parent)) is None,
    reason="otter-grader is not installed (make venv)",
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("otter")
    proc = subprocess.run(
        [sys.executable, "tools/otter_export.py", "--out", str(out), "--assign"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def config(cell) -> dict:
    return dict(line.split(": ", 1) for line in cell.source.splitlines()[1:] if ": " in line)


def test_every_chapter_is_assigned_in_both_languages(exported):
    solutions = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    assert len(solutions) == 24
    for solution in solutions:
        folder = exported / solution.parent.name / solution.stem
        source = nbformat.read(folder / solution.name, as_version=4)
        chapter = f"ch{solution.name[:2]}"
        questions = [
            config(c)
            for c in source.cells
            if c.cell_type == "raw" and c.source.startswith("# BEGIN QUESTION")
        ]
        graded = {q["name"]: int(q["points"]) for q in questions if "manual" not in q}
        assert graded == {
            i.replace(".", "_"): points(i) for i in REGISTRY if i.startswith(chapter + ".")
        }
        manual = [q for q in questions if q.get("manual") == "true"]
        answers = (
            sum(
                "<!-- BEGIN SOLUTION -->" in c.source
                for c in nbformat.read(solution, as_version=4).cells
                if c.cell_type == "markdown"
            )
            - 1
        )  # the first is the note that this is the solution
        assert len(manual) == answers, solution
        tests = [
            c.source for c in source.cells if c.cell_type == "code" and "run_check(" in c.source
        ]
        assert len(tests) == 2 * len(graded)
        assert sum("hidden: true" in t and "hidden=True" in t for t in tests) == len(graded)
        student = nbformat.read(folder / "dist" / "student" / solution.name, as_version=4)
        text = json.dumps(student)
        assert "hidden=True" not in text and "BEGIN SOLUTION" not in text
        # no solution reaches the students: each exercise's function raises, as in the book
        answer_cells = [
            c for c in student.cells if "otter_answer_cell" in c.metadata.get("tags", [])
        ]
        assert len(answer_cells) == len(graded) + len(manual), solution
        stubs = [c for c in answer_cells if "raise NotImplementedError" in c.source]
        assert len(stubs) == len(graded), solution
        assert list((folder / "dist" / "autograder").glob("*-autograder_*.zip"))


def otter_run(exported: Path, notebook: Path, out: Path) -> dict:
    """``otter run`` (no Docker) on one notebook: name -> (score, max, output)."""
    folder = exported / "en" / SAMPLE
    zip_file = next((folder / "dist" / "autograder").glob("*-autograder_*.zip"))
    out.mkdir()
    proc = subprocess.run(
        [str(OTTER), "run", "-a", str(zip_file), "-o", str(out), "--no-logo", str(notebook)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=folder,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {
        t["name"]: (t.get("score"), t.get("max_score"), t.get("output", ""))
        for t in results["tests"]
    }


@pytest.mark.slow
def test_otter_grades_the_solution_full_and_the_untouched_notebook_zero(exported, tmp_path):
    ids = [i for i in REGISTRY if i.startswith("ch02.")]
    folder = exported / "en" / SAMPLE
    solution = otter_run(
        exported, folder / "dist" / "autograder" / f"{SAMPLE}.ipynb", tmp_path / "solution"
    )
    for i in ids:
        assert solution[i.replace(".", "_")][:2] == (points(i), points(i)), solution
    untouched = otter_run(
        exported, folder / "dist" / "student" / f"{SAMPLE}.ipynb", tmp_path / "untouched"
    )
    for i in ids:
        assert untouched[i.replace(".", "_")][:2] == (0, points(i)), untouched
    # a wrong answer: softmax over the first axis; otter shows the check's message in both languages
    nb = nbformat.read(folder / "dist" / "autograder" / f"{SAMPLE}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "def softmax" in c.source)
    cell.source = re.sub(r"dim=-1", "dim=0", cell.source)
    nbformat.write(nb, tmp_path / f"{SAMPLE}.ipynb")
    wrong = otter_run(exported, tmp_path / f"{SAMPLE}.ipynb", tmp_path / "wrong")
    score, maximum, output = wrong["ch02_softmax"]
    assert (score, maximum) == (0, points("ch02.softmax")), wrong
    assert re.search(r"[\u4e00-\u9fff]", output) and "axis" in output.lower(), output
    assert wrong["ch02_scores"][:2] == (points("ch02.scores"),) * 2
