"""Grade a folder of exercise notebooks into one CSV row per submission, whatever it holds.

    python -m rnn2bert.grading SUBMISSIONS_DIR --out grades.csv [--timeout 300] [--jobs 1]
                               [--memory-mb 8192] [--chapter 02]

**This runs the submitted code** with the rights of the user who starts it: a notebook can
read, change or send anything that user can. Grade inside a throw-away container or virtual
machine with no network and no secrets mounted (teaching/teachers-guide.en.md shows how).
The check results come from code that runs inside the student's own notebook, so a student
who sets out to can forge a pass: read the notebooks behind surprising scores.

How a submission is graded
    Every ``*.ipynb`` under SUBMISSIONS_DIR (checkpoint folders aside) is one submission,
    named by its path inside the folder. Each runs in a fresh worker process in its own
    session, so that the worker and the Jupyter kernel it starts can be killed as a group,
    in an empty temporary working folder, with ``RNN2BERT_RESULTS`` naming the file where
    ``rnn2bert.exercises.check`` writes one JSON line per check: grades come from those
    structured results, never from printed text. All cells run even after an error (a
    wrong answer raises, and must not cost the exercises after it). Outputs are dropped as
    they arrive, so a notebook that prints megabytes costs no memory.

Limits
    ``--timeout``: wall-clock seconds for the whole notebook; past it the worker and the
    kernel are killed (status ``timeout``; checks recorded before still count).
    ``--memory-mb``: address space per process (``RLIMIT_AS``) on Linux and other Unixes;
    0 turns it off; on systems without it (Windows) only the timeout applies.

The CSV
    Columns: ``submission``, one per exercise id, ``score``, ``status``. The exercise ids
    are every id registered in ``rnn2bert.exercises`` for the chapters graded: those named
    with ``--chapter``, otherwise every chapter of which some submission recorded a check.
    1 = passed; 0 = failed, not attempted, or never checked (a deleted cell, a run that
    stopped before it); the last check of an id counts. ``score`` = number of 1s.
    ``status``: ``ok`` (ran to the end; wrong answers are in the scores), ``timeout``,
    ``invalid notebook: <why>`` (not JSON, not a valid notebook), or ``error: <what>`` (a cell
    raised outside an exercise check, the kernel died, …; cells are counted from 1, Markdown
    cells included). Every submission gets its row, and the exit code is 0 whenever every
    submission was graded, whatever the scores.

It runs on Linux and macOS (on Windows, inside WSL): it needs process groups to kill a
notebook together with everything it started.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .exercises import REGISTRY
from .exercises.core import RESULTS_ENV

RESULTS_FILE, STATUS_FILE, KERNEL_PID_FILE = "results.jsonl", "status.json", "kernel.pid"
MAX_RESULTS_BYTES = 16 * 2**20  # a results file is read at most this far
TAIL_BYTES = 4000  # what is kept of a worker's own stdout/stderr, for error messages
MAX_STATUS_CHARS = 200


@dataclass
class Graded:
    submission: str
    status: str
    results: dict[str, str] = field(default_factory=dict)  # exercise id -> passed/failed/not attempted


def one_line(text: str) -> str:
    """``text`` on one line, cut to fit a CSV cell."""
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_STATUS_CHARS else text[: MAX_STATUS_CHARS - 1] + "…"


def parse_result(line: str) -> dict | None:
    """One line of a results file, or None if it is not a check's record."""
    try:
        r = json.loads(line)
    except json.JSONDecodeError:
        return None
    return r if isinstance(r, dict) and isinstance(r.get("id"), str) else None


# ---- the worker: one notebook, in its own process ---------------------------------------------


class InvalidNotebook(Exception):
    pass


def read_notebook(path: Path):
    """The notebook at ``path`` as nbformat v4, or ``InvalidNotebook`` saying why not."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InvalidNotebook(f"not UTF-8 text ({e.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidNotebook(f"not JSON ({e.msg}: line {e.lineno}, column {e.colno})") from None
    if not (isinstance(data, dict) and "cells" in data and "nbformat" in data):
        raise InvalidNotebook("JSON, but not a notebook (no 'nbformat' and 'cells')")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # nbformat raises several kinds for malformed notebooks
        raise InvalidNotebook(f"{type(e).__name__}: {one_line(str(e))}") from None
    return nb


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space (inherited by the kernel it starts), where the OS can."""
    if megabytes <= 0:
        return
    try:
        import resource

        limit = megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, AttributeError, ValueError, OSError):
        pass  # no RLIMIT_AS here (Windows, some BSDs): the timeout still applies


def failed_check_since(results: Path, offset: int) -> bool:
    """Did a check record a failure in ``results`` after byte ``offset``?"""
    if not results.exists():
        return False
    with results.open("rb") as f:
        f.seek(offset)
        lines = f.read(MAX_RESULTS_BYTES).decode("utf-8", "replace").splitlines()
    return any(r.get("status") == "failed" for r in map(parse_result, lines) if r)


def run_worker(notebook: Path, workdir: Path, memory_mb: int) -> None:
    """Execute ``notebook`` in a kernel; write the run's status to ``workdir/status.json``.

    The checks themselves write ``workdir/results.jsonl`` (``RNN2BERT_RESULTS``, set by the
    parent). An error in a cell whose check recorded a failure is a wrong answer; the first
    other error becomes the status.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    limit_memory(memory_mb)

    def finish(status: str) -> None:
        (workdir / STATUS_FILE).write_text(json.dumps({"status": status}), encoding="utf-8")

    try:
        nb = read_notebook(notebook)
    except InvalidNotebook as e:
        return finish(f"invalid notebook: {e}")

    class Client(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            return None  # grades come from the results file: keep no output in memory

    run_dir = workdir / "run"
    run_dir.mkdir()
    results = workdir / RESULTS_FILE
    client = Client(nb, kernel_name="python3", allow_errors=True, timeout=None,
                    shutdown_kernel="immediate", resources={"metadata": {"path": str(run_dir)}})
    offset, errors = [0], []

    def kernel_started(**_):
        (workdir / KERNEL_PID_FILE).write_text(str(client.km.provisioner.pid))

    def cell_starts(**_):
        offset[0] = results.stat().st_size if results.exists() else 0

    def cell_failed(cell_index, execute_reply, **_):
        if not errors and not failed_check_since(results, offset[0]):
            content = execute_reply["content"]
            errors.append(f"cell {cell_index + 1} raised {content.get('ename')}: {content.get('evalue')}")

    client.on_notebook_start, client.on_cell_execute, client.on_cell_error = (
        kernel_started, cell_starts, cell_failed)
    try:
        client.execute()
    except DeadKernelError:
        return finish("error: the kernel died (out of memory, or the code ended it)")
    except Exception as e:
        return finish(f"error: {type(e).__name__}: {e}")
    finish(f"error: {errors[0]}" if errors else "ok")


# ---- the parent: run workers, collect rows -----------------------------------------------------


def read_results(path: Path) -> dict[str, str]:
    """Exercise id -> status of its last check, from a results file (bad lines skipped)."""
    if not path.exists():
        return {}
    with path.open("rb") as f:
        lines = f.read(MAX_RESULTS_BYTES).decode("utf-8", "replace").splitlines()
    return {r["id"]: str(r.get("status")) for r in map(parse_result, lines) if r}


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Runner:
    """Runs submissions in workers; kills every process group it started if interrupted."""

    def __init__(self, timeout: float, memory_mb: int):
        self.timeout, self.memory_mb = timeout, memory_mb
        self.live: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.stopping = False

    def grade(self, path: Path, name: str) -> Graded:
        try:
            return self._grade(path, name)
        except Exception as e:  # the grader's own failure still yields the row
            return Graded(name, f"error: grader: {one_line(f'{type(e).__name__}: {e}')}")

    def _grade(self, path: Path, name: str) -> Graded:
        with tempfile.TemporaryDirectory(prefix="rnn2bert-grade-") as tmp:
            work = Path(tmp)
            env = dict(os.environ, **{RESULTS_ENV: str(work / RESULTS_FILE), "PYTHONHASHSEED": "0"})
            cmd = [sys.executable, "-m", "rnn2bert.grading", "--worker",
                   str(path.resolve()), str(work), str(self.memory_mb)]
            with self.lock:
                if self.stopping:
                    return Graded(name, "error: grading was interrupted")
                proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                self.live.add(proc)
            tail = bytearray()
            reader = threading.Thread(target=self._drain, args=(proc.stdout, tail), daemon=True)
            reader.start()
            try:
                proc.wait(timeout=self.timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                self._kill(proc, work)
            reader.join(timeout=5)
            results = read_results(work / RESULTS_FILE)
            if timed_out:
                return Graded(name, "timeout", results)
            try:
                status = json.loads((work / STATUS_FILE).read_text(encoding="utf-8"))["status"]
            except (OSError, ValueError, KeyError, TypeError):
                last = tail.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
                status = f"error: the worker exited with code {proc.returncode} {last[0]}"
            return Graded(name, one_line(status), results)

    @staticmethod
    def _drain(stream, tail: bytearray) -> None:
        """Read a worker's output to the end, keeping only its last bytes."""
        for chunk in iter(lambda: stream.read1(65536), b""):
            tail += chunk
            del tail[:-TAIL_BYTES]
        stream.close()

    def _kill(self, proc: subprocess.Popen, work: Path) -> None:
        """Kill the worker's process group and the kernel's (the kernel has its own session)."""
        kill_group(proc.pid)
        try:
            kill_group(int((work / KERNEL_PID_FILE).read_text()))
        except (OSError, ValueError):
            pass
        proc.wait()
        with self.lock:
            self.live.discard(proc)

    def stop(self, pool: ThreadPoolExecutor) -> None:
        """Start no more workers and kill the running ones."""
        self.stopping = True
        pool.shutdown(wait=False, cancel_futures=True)
        with self.lock:
            for proc in list(self.live):
                kill_group(proc.pid)


def find_submissions(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts and p.is_file())


def exercise_columns(graded: list[Graded], chapters: list[str]) -> list[str]:
    """Registered ids of the chapters given, or of every chapter some submission checked."""
    wanted = set(chapters) or {i.split(".")[0] for g in graded for i in g.results if i in REGISTRY}
    return [i for i in REGISTRY if i.split(".")[0] in wanted]


def marks(g: Graded, columns: list[str]) -> list[int]:
    """1 for each exercise passed, 0 otherwise."""
    return [int(g.results.get(c) == "passed") for c in columns]


def write_csv(graded: list[Graded], columns: list[str], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", *columns, "score", "status"])
        for g in graded:
            writer.writerow([g.submission, *marks(g, columns), sum(marks(g, columns)), g.status])


def summary(graded: list[Graded], columns: list[str]) -> str:
    """A plain-text table for the terminal: each submission, then each exercise's pass rate."""
    n = len(graded)
    width = max([len("submission"), *(len(g.submission) for g in graded)])
    lines = [f"{'submission':<{width}}  score  status", f"{'-' * width}  -----  ------"]
    for g in graded:
        lines.append(f"{g.submission:<{width}}  {sum(marks(g, columns)):>2}/{len(columns):<2}  {g.status}")
    lines.append("")
    for c in columns:
        lines.append(f"{c:<30} passed by {sum(g.results.get(c) == 'passed' for g in graded)}/{n}")
    statuses = Counter(g.status.split(":")[0] for g in graded)
    lines.append("status: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    return "\n".join(lines)


def chapter_id(text: str) -> str:
    """'2', '02' or 'ch02' -> 'ch02'."""
    digits = text.lower().removeprefix("ch")
    if not digits.isdigit():
        raise argparse.ArgumentTypeError(f"not a chapter number: {text!r}")
    return f"ch{int(digits):02d}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rnn2bert.grading",
        description="Grade a folder of exercise notebooks into a CSV. WARNING: this runs the "
                    "submitted code; grade inside a container or VM (see the module docstring).")
    parser.add_argument("submissions", type=Path, help="folder of .ipynb submissions (searched recursively)")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"),
                        help="CSV to write (default: grades.csv)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per notebook (default: 300)")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (default: 1)")
    parser.add_argument("--memory-mb", type=int, default=8192,
                        help="address-space limit per process in MiB, 0 for none (default: 8192)")
    parser.add_argument("--chapter", type=chapter_id, action="append", default=[],
                        help="chapter whose exercises are the columns (repeatable); default: "
                             "the chapters the submissions check")
    args = parser.parse_args(argv)
    if not hasattr(os, "killpg"):
        parser.error("the grader runs on Linux or macOS (on Windows: inside WSL)")
    if not args.submissions.is_dir():
        parser.error(f"not a folder: {args.submissions}")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:  # internal: python -m rnn2bert.grading --worker NOTEBOOK WORKDIR MEMORY_MB
        run_worker(Path(argv[1]), Path(argv[2]), int(argv[3]))
        return 0
    from tqdm import tqdm

    args = parse_args(argv)
    submissions = find_submissions(args.submissions)
    runner = Runner(args.timeout, args.memory_mb)
    graded: list[Graded] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool, \
            tqdm(total=len(submissions), desc="grading", unit="notebook", file=sys.stderr) as bar:
        futures = [pool.submit(runner.grade, p, p.relative_to(args.submissions).as_posix())
                   for p in submissions]
        try:
            for future in as_completed(futures):
                graded.append(future.result())
                bar.set_postfix_str(f"{graded[-1].submission}: {graded[-1].status[:40]}")
                bar.update()
        except BaseException:  # Ctrl-C: leave no worker or kernel behind
            runner.stop(pool)
            raise
    graded.sort(key=lambda g: g.submission)
    columns = exercise_columns(graded, args.chapter)
    write_csv(graded, columns, args.out)
    print(summary(graded, columns))
    print(f"\n{len(graded)} submission(s) graded -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
