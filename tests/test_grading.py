"""The grader (python -m rnn2bert.grading): a row for every submission, however broken.

One run grades a folder of chapter 02 notebooks, good and bad, two at a time, with a short
timeout; the test checks every row, the exit code, and that the whole run stays bounded.
"""
from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from rnn2bert.exercises import REGISTRY
from rnn2bert.grading import InvalidNotebook, chapter_id, read_notebook

ROOT = Path(__file__).resolve().parents[1]
NAME = "02-self-attention.ipynb"
IDS = [i for i in REGISTRY if i.startswith("ch02.")]
TIMEOUT_S = 20


def solution_with(*changes: tuple[int, str]) -> nbformat.NotebookNode:
    """The chapter 02 solution with a code cell inserted before each given cell index."""
    nb = nbformat.read(ROOT / "solutions" / "en" / NAME, as_version=4)
    for index, source in sorted(changes, reverse=True):
        nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return nb


def cell_with(nb, text: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


def submissions(folder: Path) -> dict[str, tuple[list[int], str]]:
    """Write the class's submissions; return name -> (expected 0/1 per exercise, expected status)."""
    folder.mkdir()
    write = lambda name, nb: nbformat.write(nb, folder / name)  # noqa: E731

    write("good.ipynb", solution_with())
    (folder / "untouched.ipynb").write_bytes((ROOT / "exercises" / "en" / NAME).read_bytes())

    wrong = solution_with()  # softmax over the wrong axis; scores that crash inside the check
    softmax = cell_with(wrong, "def softmax")
    softmax.source = softmax.source.replace("dim=-1", "dim=0")
    scores = cell_with(wrong, "def scores")
    scores.source = scores.source.replace("return K @ q", "return K @ q.no_such_attribute")
    write("wrong.ipynb", wrong)

    text = (ROOT / "solutions" / "en" / NAME).read_text(encoding="utf-8")
    (folder / "truncated.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")

    write("loops.ipynb", solution_with((8, "while True:\n    pass")))  # after ch02.attention
    write("raises.ipynb", solution_with((4, 'raise RuntimeError("boom")')))  # after ch02.scores
    (folder / "alice").mkdir()  # any layout: a submission is named by its path in the folder
    write("alice/deleted.ipynb", nbformat.v4.new_notebook())
    write("prints.ipynb", solution_with((2, 'for i in range(50_000):\n    print(i, "x" * 100)')))
    # 6 GiB of address space, never touched: allowed without a limit, refused under --memory-mb
    write("memory.ipynb", solution_with((2, "import torch\nhog = torch.empty(6 * 2**30, dtype=torch.uint8)")))

    memory_status = "error: cell 3 raised RuntimeError" if sys.platform == "linux" else "ok"
    return {
        "good.ipynb": ([1, 1, 1, 1, 1], "ok"),
        "untouched.ipynb": ([0, 0, 0, 0, 0], "ok"),
        "wrong.ipynb": ([0, 0, 1, 1, 1], "ok"),
        "truncated.ipynb": ([0, 0, 0, 0, 0], "invalid notebook: not JSON"),
        "loops.ipynb": ([1, 1, 1, 0, 0], "timeout"),
        "raises.ipynb": ([1, 1, 1, 1, 1], "error: cell 5 raised RuntimeError: boom"),  # counted from 1
        "alice/deleted.ipynb": ([0, 0, 0, 0, 0], "ok"),
        "prints.ipynb": ([1, 1, 1, 1, 1], "ok"),
        "memory.ipynb": ([1, 1, 1, 1, 1], memory_status),
    }


def grade(folder: Path, out: Path, *args: str, limit: float = 180) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "rnn2bert.grading", str(folder), "--out", str(out), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=limit, cwd=ROOT)


@pytest.mark.slow
def test_every_submission_gets_its_row(tmp_path):
    expected = submissions(tmp_path / "class")
    out = tmp_path / "grades.csv"
    start = time.perf_counter()
    proc = grade(tmp_path / "class", out, "--timeout", str(TIMEOUT_S), "--jobs", "2", "--memory-mb", "3072")
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["submission", *IDS, "score", "status"]
    assert [r["submission"] for r in rows] == sorted(expected)
    for row in rows:
        marks, status = expected[row["submission"]]
        assert [int(row[i]) for i in IDS] == marks, row
        assert int(row["score"]) == sum(marks), row
        assert row["status"].startswith(status), row
    # the summary on stdout, the progress bar on stderr
    assert "ch02.softmax" in proc.stdout and "passed by 5/9" in proc.stdout
    assert "9/9" in proc.stderr
    # the loop was cut at the timeout, and nothing else waited on it
    assert seconds < 150, f"grading took {seconds:.0f} s"
    print(f"\ngraded {len(rows)} submissions in {seconds:.1f} s")


def test_columns_from_chapter_option_when_nothing_ran(tmp_path):
    """A folder of broken notebooks: no check ran, so --chapter names the columns."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "empty.ipynb").write_text("", encoding="utf-8")
    (folder / "not-a-notebook.ipynb").write_text('{"cells": 3}', encoding="utf-8")
    out = tmp_path / "grades.csv"
    proc = grade(folder, out, "--chapter", "2", "--jobs", "2", limit=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["submission"] for r in rows] == ["empty.ipynb", "not-a-notebook.ipynb"]
    for row in rows:
        assert [row[i] for i in IDS] == ["0"] * len(IDS) and row["score"] == "0"
        assert row["status"].startswith("invalid notebook: "), row


def test_an_empty_folder_gives_a_header_and_exit_0(tmp_path):
    (tmp_path / "class").mkdir()
    proc = grade(tmp_path / "class", tmp_path / "grades.csv", limit=60)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "grades.csv").read_text(encoding="utf-8").strip() == "submission,score,status"


def test_a_missing_folder_is_an_error(tmp_path):
    proc = grade(tmp_path / "nowhere", tmp_path / "grades.csv", limit=60)
    assert proc.returncode == 2 and "not a folder" in proc.stderr


@pytest.mark.parametrize(("text", "why"), [
    ('{"cells": [', "not JSON"),
    ("[1, 2]", "not a notebook"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}',
     "ValidationError"),
])
def test_invalid_notebooks_say_why(tmp_path, text, why):
    path = tmp_path / "x.ipynb"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidNotebook, match=why):
        read_notebook(path)


def test_chapter_numbers():
    assert chapter_id("2") == chapter_id("02") == chapter_id("ch02") == "ch02"
