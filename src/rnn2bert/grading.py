"""Grade a folder of exercise notebooks: points per exercise, a feedback file per student, a CSV.

    python -m rnn2bert.grading SUBMISSIONS_DIR --chapter 02 --out grades.csv
                               [--feedback DIR] [--timeout 300] [--jobs 1] [--memory-mb 8192]
                               [--sandbox bwrap|none]

Every ``*.ipynb`` under SUBMISSIONS_DIR is one submission; the student id is the first part
of its path there (``alice.ipynb`` and ``alice/02.ipynb`` both belong to ``alice``).

Isolation (``--sandbox bwrap``, the default)
    Each submission runs in its own bubblewrap sandbox: a copy of its notebook (read-only),
    a private ``/tmp`` and working folder, the Python installation, the library and the
    pretrained checkpoints read-only, and nothing else of the machine: no other submission,
    no grade file, no home folder, an empty environment, no network (``--unshare-all``), no
    capabilities, its own process namespace. When the run ends the namespace is killed, so
    no process started by a notebook outlives it. ``--sandbox none`` runs without it (only
    inside a throw-away container or VM); the grader refuses to start when bwrap is
    missing or cannot create namespaces, and says why.

Grades the notebook cannot write
    The student's cells run first (all of them, even after an error; ``--timeout`` seconds in
    all, then the kernel is interrupted and the rest skipped). Then the notebook's kernel
    only *serves calls*: a separate judge process, in a sandbox of its own that never runs
    the student's code, runs every exercise of the chapter with its hidden variants
    (``run_check(id, answer, hidden=True)``: inputs, shapes and seeds the notebook never
    shows). ``answer`` is a stand-in that sends the inputs to the kernel, has the student's
    function computed there, and reads back the value (``torch.load(weights_only=True)``:
    tensors, numbers, strings, lists, dicts). The comparison with the library's reference
    and the verdict happen in the judge; its verdicts reach the grader on the judge's own
    output pipe. So redefining ``check``, editing the registry, writing a results file,
    patching torch inside the notebook, or printing "passed" changes nothing: only the
    values the student's functions return are graded.

What is graded, the files written
    ``grades.csv`` (written atomically, cells that a spreadsheet would read as a formula are
    quoted): ``student_id``, ``submission``, the points of each exercise of the chapter(s),
    ``total``, ``max``, ``status``. ``status`` describes the run of the student's cells: ``ok``,
    ``timeout``, ``invalid notebook: <why>``, ``error: <what>`` (the first cell that raised
    outside an exercise; cells counted from 1, Markdown included). It comes from inside the
    sandbox, so treat it as information; the points never do. ``--feedback DIR`` (default:
    ``feedback/`` next to the CSV) gets ``<student_id>.md`` per submission: each exercise's
    points and the check's message in English and Chinese. Every submission gets its row and
    its file; the exit code is 0 whenever every submission was graded, whatever the scores.

Points: ``POINTS_PREDICT`` for an exercise whose title starts with "Predict" (a number to
derive), ``POINTS_CODE`` for one that asks for code.

It runs on Linux (bubblewrap needs Linux namespaces; on macOS and Windows use ``--sandbox none``
inside a Linux container or VM).
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import math
import os
import pickle
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .exercises import REGISTRY

ROOT = Path(__file__).resolve().parents[2]  # the repository (solutions/, exercises/, checkpoints/)
POINTS_CODE, POINTS_PREDICT = 2, 1
MAX_RESPONSE_BYTES = 64 * 2**20  # the most the judge reads of one value sent back by a notebook
MAX_STATUS_CHARS = 200
TAIL_BYTES = 4000
POLL_S = 0.005
STARTUP_S = 60  # a kernel's start, on a busy machine, on top of --timeout
TMP_MB = 512  # the sandbox's /tmp (in memory): at most this much, where bwrap can size it
FILE_MB = 1024  # the largest file a notebook may write (RLIMIT_FSIZE), in /tmp or its folder
# what nbclient reports for a cell stopped at the time limit
TIMEOUT_ENAME = "rnn2bert-grading-timeout"
STATUS_FILE, READY_FILE, DONE_FILE, GONE_FILE = "status.json", "ready", "done", "kernel-gone"
# the sandbox's whole environment (--clearenv), in this order
SANDBOX_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "MPLBACKEND": "Agg",
}
SERVE_CELL = (
    "__import__('rnn2bert.grading', fromlist=['serve']).serve(globals(), {inbox!r}, {outbox!r})"
)


def points(exercise_id: str) -> int:
    return POINTS_PREDICT if REGISTRY[exercise_id].title_en.startswith("Predict") else POINTS_CODE


@dataclass
class Verdict:
    id: str
    status: str  # passed / failed / not attempted / error / not checked
    message: str = ""  # English, newline, Chinese

    @property
    def points(self) -> int:
        return points(self.id) if self.status == "passed" else 0


@dataclass
class Graded:
    submission: str
    status: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    @property
    def student_id(self) -> str:
        return student_id(self.submission)


def student_id(submission: str) -> str:
    """'alice.ipynb' -> 'alice'; 'alice/02.ipynb' -> 'alice'."""
    first = submission.split("/")[0]
    return first[: -len(".ipynb")] if first.endswith(".ipynb") else first


def one_line(text: str) -> str:
    """``text`` on one line, cut to fit a CSV cell."""
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_STATUS_CHARS else text[: MAX_STATUS_CHARS - 1] + "…"


# ---- the sandbox ---------------------------------------------------------------------------------


def library_paths() -> list[Path]:
    """What a worker needs read-only: Python, the virtual environment, the library, checkpoints."""
    import rnn2bert

    paths = {
        Path(sys.base_prefix).resolve(),
        Path(sys.prefix).resolve(),
        Path(sys.executable).resolve().parent.parent,
        Path(rnn2bert.__file__).resolve().parents[1],
        ROOT / "checkpoints",
    }
    return sorted(p for p in paths if p.exists())


def bwrap_command(command: list[str], binds: list[tuple[str, Path, str]]) -> list[str]:
    """``command`` inside a fresh bubblewrap sandbox.

    ``binds``: (mode 'ro'/'rw', host path, path inside)."""
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    cmd += ["--clearenv"]
    for name, value in SANDBOX_ENV.items():
        cmd += ["--setenv", name, value]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    for etc in ("/etc/ld.so.cache", "/etc/fonts", "/etc/localtime", "/etc/alternatives"):
        cmd += ["--ro-bind-try", etc, etc]
    for path in library_paths():
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    cmd += ["--size", str(TMP_MB * 2**20)] if bwrap_can_size() else []
    cmd += ["--tmpfs", "/tmp"]
    for mode, host, inside in binds:
        cmd += ["--ro-bind" if mode == "ro" else "--bind", str(host), inside]
    return cmd + ["--chdir", binds[-1][2], "--", *command]


@functools.lru_cache(maxsize=1)
def bwrap_can_size() -> bool:
    """Whether this bubblewrap can cap a tmpfs (``--size``, bubblewrap 0.7 and later)."""
    try:
        out = subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--size" in out.stdout + out.stderr


def sandbox_problem() -> str | None:
    """None if bubblewrap can run a sandbox here, else what stops it, in words."""
    if shutil.which("bwrap") is None:
        return (
            "bubblewrap (bwrap) is not installed. Install it (Debian/Ubuntu: `make grading-deps`, "
            "or `apt-get install bubblewrap`), or grade with --sandbox none inside a throw-away "
            "container or VM."
        )
    with tempfile.TemporaryDirectory(prefix="rnn2bert-probe-") as tmp:
        cmd = bwrap_command([sys.executable, "-I", "-S", "-c", "pass"], [("rw", Path(tmp), "/box")])
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return "bubblewrap did not start a sandbox within 300 s"
    if proc.returncode != 0:
        return (
            "bubblewrap cannot create a sandbox here "
            f"({one_line(proc.stderr) or proc.returncode}). Inside Docker it needs user namespaces "
            "(or --privileged); otherwise grade with --sandbox none inside a throw-away container "
            "or VM."
        )
    return None


# ---- inside the student's kernel: serve calls ----------------------------------------------------


def _sendable(x, depth: int = 0):
    """A value ``torch.load(weights_only=True)`` reads: numpy becomes torch, the rest is kept."""
    import torch

    if depth > 20:
        return x
    if type(x).__module__ == "numpy":
        try:
            return torch.as_tensor(x) if hasattr(x, "shape") and x.shape else x.item()
        except Exception:
            return x
    if isinstance(x, (list, tuple)):
        items = [_sendable(v, depth + 1) for v in x]
        return tuple(items) if isinstance(x, tuple) else items
    if isinstance(x, dict):
        return {k: _sendable(v, depth + 1) for k, v in x.items()}
    return x


def _raised_reply(e: BaseException) -> tuple:
    """What the student's code raised, and the line of the notebook it was raised on."""
    import traceback

    frames = [
        f
        for f in traceback.extract_tb(e.__traceback__)
        if f.filename.startswith("/tmp/ipykernel") or f.filename.startswith("<ipython")
    ]
    where = f" (line {frames[-1].lineno}: {(frames[-1].line or '').strip()})" if frames else ""
    return ("raised", type(e).__name__, str(e)[:500], where)


def serve(namespace: dict, inbox: str, outbox: str) -> None:
    """Run in the notebook's kernel after the student's cells: answer the judge's calls.

    Request ``inbox/N.req`` (a pickle from the judge: function name, args, kwargs) is answered
    by ``outbox/N.resp`` (``torch.save`` of ``("ok", value)``, ``("raised", type, message,
    where)``, ``("missing", name)`` or ``("not implemented",)``) until ``inbox/done`` appears.
    Nothing here is trusted by the judge: it only reads the values back.
    """
    import torch

    from .exercises.core import snapshot

    inbox_p, outbox_p = Path(inbox), Path(outbox)
    (outbox_p / READY_FILE).write_text("", encoding="utf-8")
    n = 0
    while True:
        request = inbox_p / f"{n}.req"
        if not request.exists():
            if (inbox_p / DONE_FILE).exists():
                return
            time.sleep(POLL_S)
            continue
        name, args, kwargs = pickle.loads(request.read_bytes())
        fn = namespace.get(name)
        if fn is None:
            reply = ("missing", name)
        else:
            try:
                value = fn(*args, **kwargs)
                given = [snapshot(a) for a in (*args, *kwargs.values())]
                reply = ("ok", _sendable(value), given)  # the inputs after the call, too
            except NotImplementedError as e:
                # the bare stub's; PyTorch's carry a message ("... not implemented for 'Long'")
                reply = _raised_reply(e) if e.args else ("not implemented",)
            except BaseException as e:  # noqa: BLE001 - everything the student's code raises goes back
                reply = _raised_reply(e)
        tmp = outbox_p / f"{n}.tmp"
        try:
            torch.save(reply, tmp)
        except Exception as e:  # an answer that cannot be saved
            torch.save(("unreadable", f"{type(reply[1]).__name__}: {e}"[:300]), tmp)
        os.replace(tmp, outbox_p / f"{n}.resp")
        n += 1


# ---- the worker: the student's cells, then serving, inside the sandbox ---------------------------


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
    """Cap this process's address space and the size of any file it writes (both inherited by
    the kernel it starts), where the OS can. ``megabytes`` <= 0: no cap on memory."""
    try:
        import resource
    except ImportError:
        return
    limits = [(resource.RLIMIT_FSIZE, FILE_MB * 2**20)]
    if megabytes > 0:
        limits.append((resource.RLIMIT_AS, megabytes * 2**20))
    for kind, limit in limits:
        try:
            resource.setrlimit(kind, (limit, limit))
        except (ValueError, OSError):
            pass


def run_worker(
    notebook: Path, inbox: Path, outbox: Path, run_dir: Path, memory_mb: int, timeout: float
) -> None:
    """Run the student's cells (``timeout`` s in all), then serve the judge's calls."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    limit_memory(memory_mb)

    def finish(status: str) -> None:
        (outbox / STATUS_FILE).write_text(json.dumps({"status": status}), encoding="utf-8")

    try:
        nb = read_notebook(notebook)
    except InvalidNotebook as e:
        return finish(f"invalid notebook: {e}")

    class Client(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            return None  # keep no output in memory: a notebook may print megabytes

    client = Client(
        nb,
        kernel_name="python3",
        allow_errors=True,
        timeout=int(timeout) + 1,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": ""},
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(run_dir)}},
    )
    status, errors = "ok", []

    def cell_failed(cell_index, execute_reply, **_):
        content = execute_reply["content"]
        ename, evalue = content.get("ename"), str(content.get("evalue", ""))
        if ename == TIMEOUT_ENAME:
            errors.insert(0, "timeout")
            return
        if ename == "AssertionError" and evalue.startswith("✗ ch"):
            return  # a practice check said the answer is wrong: the hidden checks grade it
        if not errors:
            errors.append(f"error: cell {cell_index + 1} raised {ename}: {evalue}")

    client.on_cell_error = cell_failed
    try:
        with client.setup_kernel():
            # from the kernel's start: a busy machine starts slowly
            deadline = time.monotonic() + timeout
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                left = deadline - time.monotonic()
                if left <= 0 or errors[:1] == ["timeout"]:
                    break
                client.timeout = max(1, math.ceil(left))
                client.execute_cell(cell, index)
            late = time.monotonic() >= deadline or errors[:1] == ["timeout"]
            status = "timeout" if late else (errors[0] if errors else "ok")
            client.timeout = None
            nb.cells.append(
                nbformat.v4.new_code_cell(SERVE_CELL.format(inbox=str(inbox), outbox=str(outbox)))
            )
            client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
    except DeadKernelError:
        status = "error: the kernel died (out of memory, or the code ended it)"
    except Exception as e:
        status = f"error: {type(e).__name__}: {e}"
    finish(status)


# ---- the judge: hidden checks, in a sandbox that never runs the student's code -------------------


class KernelGone(Exception):
    pass


class Remote:
    """Stands for the student's function ``name``: each call is computed in the notebook's
    kernel."""

    def __init__(self, channel: "Channel", name: str):
        self.channel, self.name, self.__name__ = channel, name, name

    def __call__(self, *args, **kwargs):
        return self.channel.call(self.name, args, kwargs)


class Channel:
    def __init__(self, inbox: Path, outbox: Path, deadline: float):
        self.inbox, self.outbox, self.deadline, self.n = inbox, outbox, deadline, 0

    def wait_for(self, name: str) -> Path:
        path = self.outbox / name
        while not path.exists():
            if (self.inbox / GONE_FILE).exists():
                raise KernelGone("the notebook's kernel stopped before answering")
            if time.monotonic() > self.deadline:
                raise KernelGone("the notebook did not answer in time")
            time.sleep(POLL_S)
        return path

    def call(self, name: str, args: tuple, kwargs: dict):
        import torch

        from .exercises.core import (
            StudentError,
            changed_in_place,
            describe,
            same_snapshot,
            snapshot,
        )

        n, self.n = self.n, self.n + 1
        tmp = self.inbox / f"{n}.tmp"
        tmp.write_bytes(pickle.dumps((name, args, kwargs), protocol=4))
        os.replace(tmp, self.inbox / f"{n}.req")
        path = self.wait_for(f"{n}.resp")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_RESPONSE_BYTES + 1) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        reply = None
        if len(data) > MAX_RESPONSE_BYTES:
            reply = ("unreadable", f"larger than {MAX_RESPONSE_BYTES >> 20} MiB")
            data = b""
        try:
            reply = reply or torch.load(io.BytesIO(data), weights_only=True)
        except Exception as e:
            reply = ("unreadable", f"{type(e).__name__}: {e}")
        kind = reply[0] if isinstance(reply, tuple) and reply else None
        called = ", ".join(
            [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
        )
        if kind == "ok" and len(reply) in (2, 3):
            if len(reply) == 3:  # the inputs after the call: one the function overwrote fails
                named = [(f"argument {i + 1}", a) for i, a in enumerate(args)]
                named += list(kwargs.items())
                after = reply[2] if isinstance(reply[2], (list, tuple)) else []
                for (where, a), b in zip(named, after, strict=False):
                    kept = snapshot(a)
                    if kept is not None and not same_snapshot(kept, b):
                        raise changed_in_place(where, called)
            return reply[1]
        if kind == "not implemented":
            raise NotImplementedError
        if kind == "missing":
            raise StudentError(
                f"`{name}` is not defined once your notebook has run (a deleted or renamed cell, "
                "or one not reached within the time limit?).",
                f"笔记本运行完后没有 `{name}`(单元格被删除、改了名，或在时限内没有运行到？)。",
                "not_defined",
            )
        if kind == "raised" and len(reply) == 4:
            ename, text = one_line(reply[1])[:80], one_line(reply[2])[:200]
            where = str(reply[3])[:200]
            raise StudentError(
                f"Your function raised {ename}{': ' + text if text else ''}{where}, "
                f"when called with {called}.",
                f"你的函数抛出了 {ename}{'：' + text if text else ''}{where}，输入为 {called}。",
                "raised_exception",
            )
        what = reply[1] if kind == "unreadable" and len(reply) == 2 else "an unknown answer"
        raise StudentError(
            "Your function returned a value the grader cannot read "
            f"({one_line(what)[:150]}), when called with {called}: return tensors, numbers, "
            "strings, lists, tuples or dicts.",
            f"你的函数返回了评分程序读不了的值({one_line(what)[:150]})，输入为 {called}："
            "请返回张量、数、字符串、列表、元组或字典。",
            "unreadable_value",
        )


def answer_names(chapters: list[str]) -> dict[str, str]:
    """Exercise id -> the name of the student's function, from the book's solution notebooks."""
    pattern = re.compile(r"""check\(\s*["'](ch\d\d\.\w+)["']\s*,\s*([A-Za-z_]\w*)""")
    names: dict[str, str] = {}
    folders = (ROOT / "solutions" / "en", ROOT / "exercises" / "en")
    sources = [path for folder in folders for path in sorted(folder.glob("*.ipynb"))]
    for path in sources:
        if path.name[:2] in {c[2:] for c in chapters}:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
            for exercise_id, name in pattern.findall(code):
                names.setdefault(exercise_id, name)
    return names


def run_judge(
    inbox: Path, outbox: Path, ids: list[str], names: dict[str, str], seconds: float
) -> list[dict]:
    """Every exercise in ``ids``, hidden variants, against the notebook's functions."""
    from .exercises import run_check

    channel = Channel(inbox, outbox, time.monotonic() + seconds)
    verdicts = []
    try:
        channel.wait_for(READY_FILE)
        ready = None
    except KernelGone as e:
        ready = str(e)
    for exercise_id in ids:
        if ready is not None:
            verdicts.append(
                {
                    "id": exercise_id,
                    "status": "not checked",
                    "message": f"Not checked: {ready}.\n"
                    "未能检查：笔记本的内核没有运行到评分这一步。",
                }
            )
            continue
        name = names.get(exercise_id)
        if name is None:
            verdicts.append(
                {
                    "id": exercise_id,
                    "status": "error",
                    "message": "the grader has no function name for this exercise\n"
                    "评分程序不知道这道练习的函数名",
                }
            )
            continue
        try:
            result = run_check(exercise_id, Remote(channel, name), hidden=True)
            verdicts.append({"id": exercise_id, "status": result.status, "message": result.message})
        except KernelGone as e:
            ready = str(e)
            verdicts.append(
                {
                    "id": exercise_id,
                    "status": "not checked",
                    "message": f"Not checked: {e}.\n未能检查：笔记本没有及时回应。",
                }
            )
    (inbox / DONE_FILE).write_text("", encoding="utf-8")
    return verdicts


# ---- the grader: sandboxes, verdicts, files ------------------------------------------------------


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Runner:
    """Grades submissions, each in its own sandboxes; kills every process it started if
    interrupted."""

    def __init__(self, ids: list[str], timeout: float, memory_mb: int, sandbox: str):
        self.ids, self.timeout, self.memory_mb, self.sandbox = ids, timeout, memory_mb, sandbox
        self.names = answer_names(sorted({i.split(".")[0] for i in ids}))
        self.live: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.stopping = False

    def grade(self, path: Path, name: str) -> Graded:
        try:
            return self._grade(path, name)
        except Exception as e:  # the grader's own failure still yields the row
            return Graded(
                name,
                f"error: grader: {one_line(f'{type(e).__name__}: {e}')}",
                {i: Verdict(i, "not checked", "the grader failed\n评分程序出错") for i in self.ids},
            )

    def start(self, cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.Popen:
        with self.lock:
            if self.stopping:
                raise RuntimeError("grading was interrupted")
            proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            self.live.add(proc)
        return proc

    def stop_proc(self, proc: subprocess.Popen) -> None:
        kill_group(proc.pid)
        proc.wait()
        with self.lock:
            self.live.discard(proc)

    def _grade(self, path: Path, name: str) -> Graded:
        with tempfile.TemporaryDirectory(prefix="rnn2bert-grade-") as tmp:
            work = Path(tmp)
            inbox, outbox, run_dir = work / "in", work / "out", work / "run"
            for d in (inbox, outbox, run_dir):
                d.mkdir()
            shutil.copyfile(path, inbox / "submission.ipynb")
            py = [sys.executable, "-m", "rnn2bert.grading"]
            if self.sandbox == "bwrap":
                worker_cmd = bwrap_command(
                    [
                        *py,
                        "--worker",
                        "/grader/submission.ipynb",
                        "/grader",
                        "/box/out",
                        "/box/run",
                        str(self.memory_mb),
                        str(self.timeout),
                    ],
                    [
                        ("ro", inbox, "/grader"),
                        ("rw", outbox, "/box/out"),
                        ("rw", run_dir, "/box/run"),
                    ],
                )
                judge_cmd = bwrap_command(
                    [
                        *py,
                        "--judge",
                        "/judge/in",
                        "/judge/out",
                        str(2 * self.timeout + STARTUP_S),
                        json.dumps(self.ids),
                        json.dumps(self.names),
                    ],
                    [
                        ("rw", inbox, "/judge/in"),
                        ("ro", outbox, "/judge/out"),
                        ("ro", inbox, "/judge/run"),
                    ],
                )
                env = None
            else:
                worker_cmd = [
                    *py,
                    "--worker",
                    str(inbox / "submission.ipynb"),
                    str(inbox),
                    str(outbox),
                    str(run_dir),
                    str(self.memory_mb),
                    str(self.timeout),
                ]
                judge_cmd = [
                    *py,
                    "--judge",
                    str(inbox),
                    str(outbox),
                    str(2 * self.timeout + STARTUP_S),
                    json.dumps(self.ids),
                    json.dumps(self.names),
                ]
                env = {k: v for k, v in os.environ.items() if not k.startswith("RNN2BERT")}
            worker = self.start(worker_cmd, run_dir, env)
            judge = self.start(judge_cmd, work, env)
            tails = [bytearray(), bytearray()]
            judge_out = bytearray()
            readers = [
                threading.Thread(target=self._drain, args=(s, t, limit), daemon=True)
                for s, t, limit in (
                    (worker.stdout, tails[0], TAIL_BYTES),
                    (worker.stderr, tails[0], TAIL_BYTES),
                    (judge.stdout, judge_out, 2**24),
                    (judge.stderr, tails[1], TAIL_BYTES),
                )
            ]
            for r in readers:
                r.start()
            hard_deadline = time.monotonic() + 2 * self.timeout + 2 * STARTUP_S
            try:
                while judge.poll() is None and time.monotonic() < hard_deadline:
                    if worker.poll() is not None and not (inbox / GONE_FILE).exists():
                        (inbox / GONE_FILE).write_text("", encoding="utf-8")
                    time.sleep(0.05)
                try:
                    worker.wait(timeout=10)  # serving ends once the judge is done
                except subprocess.TimeoutExpired:
                    pass
            finally:
                self.stop_proc(worker)
                self.stop_proc(judge)
            for r in readers:
                r.join(timeout=5)
            verdicts = self._verdicts(judge_out, judge.returncode, tails[1])
            status = self._status(outbox, worker.returncode, tails[0])
            return Graded(name, status, verdicts)

    def _verdicts(
        self, out: bytearray, returncode: int | None, tail: bytearray
    ) -> dict[str, Verdict]:
        try:
            found = json.loads(out.decode("utf-8").strip().splitlines()[-1])
            verdicts = {v["id"]: Verdict(v["id"], v["status"], v["message"]) for v in found}
        except (ValueError, IndexError, KeyError, TypeError):
            why = one_line(
                tail.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {returncode}"]
            )
            verdicts = {}
            for i in self.ids:
                verdicts[i] = Verdict(
                    i,
                    "not checked",
                    f"The grader's checks did not finish ({why}).\n评分程序的检查没有完成。",
                )
        return {i: verdicts.get(i, Verdict(i, "not checked", "")) for i in self.ids}

    @staticmethod
    def _status(outbox: Path, returncode: int | None, tail: bytearray) -> str:
        try:
            fd = os.open(outbox / STATUS_FILE, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as f:
                return one_line(str(json.loads(f.read(10_000).decode("utf-8"))["status"]))
        except (OSError, ValueError, KeyError, TypeError):
            last = tail.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            return one_line(
                f"error: the notebook's run ended without a status (exit {returncode}) {last[0]}"
            )

    @staticmethod
    def _drain(stream, keep: bytearray, limit: int) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            keep += chunk
            del keep[:-limit]
        stream.close()

    def stop(self, pool: ThreadPoolExecutor) -> None:
        self.stopping = True
        pool.shutdown(wait=False, cancel_futures=True)
        with self.lock:
            for proc in list(self.live):
                kill_group(proc.pid)


def find_submissions(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and p.is_file() and not p.is_symlink()
    )


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(graded: list[Graded], ids: list[str], out: Path) -> None:
    """Write the gradebook atomically: a half-written file never replaces a whole one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    maximum = sum(points(i) for i in ids)
    fd, tmp = tempfile.mkstemp(prefix=".grades-", suffix=".csv", dir=out.parent)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "submission", *ids, "total", "max", "status"])
        for g in graded:
            marks = [g.verdicts[i].points for i in ids]
            writer.writerow(
                [
                    spreadsheet_safe(g.student_id),
                    spreadsheet_safe(g.submission),
                    *marks,
                    sum(marks),
                    maximum,
                    spreadsheet_safe(g.status),
                ]
            )
    os.replace(tmp, out)


STATUS_WORDS = {
    "passed": "passed · 通过",
    "failed": "wrong · 错误",
    "not attempted": "not attempted · 未作答",
    "error": "your code raised an error · 代码出错",
    "not checked": "not checked · 未检查",
}


def feedback(g: Graded, ids: list[str]) -> str:
    """The student's feedback file: each exercise's points and the check's bilingual message."""
    total, maximum = sum(g.verdicts[i].points for i in ids), sum(points(i) for i in ids)
    lines = [
        f"# Feedback · 反馈: {g.student_id}",
        "",
        f"Submission · 提交: `{g.submission}`  ",
        f"Total · 总分: **{total} / {maximum}**  ",
        f"Run of your notebook · 笔记本运行情况: {g.status}",
        "",
        "The grader ran your notebook, then checked each function with inputs the notebook "
        "does not show (hidden variants).  ",
        "评分程序先运行你的笔记本，再用笔记本里没有出现过的输入(隐藏测试)检查每个函数。",
        "",
    ]
    for i in ids:
        v, ex = g.verdicts[i], REGISTRY[i]
        lines += [
            f"## {i}: {ex.title_en} · {ex.title_zh}",
            "",
            f"{v.points} / {points(i)} points · 分, {STATUS_WORDS.get(v.status, v.status)}",
            "",
        ]
        if v.message and v.status != "passed":
            lines += ["> " + line for line in v.message.strip().splitlines()] + [""]
    return "\n".join(lines)


def write_feedback(graded: list[Graded], ids: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    used: Counter[str] = Counter()
    for g in graded:
        stem = re.sub(r"[^\w.-]", "_", g.student_id).lstrip(".") or "student"
        used[stem] += 1
        name = stem if used[stem] == 1 else f"{stem}-{used[stem]}"
        (folder / f"{name}.md").write_text(feedback(g, ids), encoding="utf-8")


def summary(graded: list[Graded], ids: list[str]) -> str:
    """A plain-text table for the terminal: each submission, then each exercise's pass rate."""
    n, maximum = len(graded), sum(points(i) for i in ids)
    width = max([len("submission"), *(len(g.submission) for g in graded)])
    lines = [f"{'submission':<{width}}  points  status", f"{'-' * width}  ------  ------"]
    for g in graded:
        total = sum(g.verdicts[i].points for i in ids)
        lines.append(f"{g.submission:<{width}}  {total:>2}/{maximum:<3}  {g.status}")
    lines.append("")
    for i in ids:
        lines.append(
            f"{i:<30} passed by {sum(g.verdicts[i].status == 'passed' for g in graded)}/{n}"
        )
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
        description="Grade a folder of exercise notebooks: each in its own sandbox, hidden checks, "
        "points, a feedback file per student, a CSV (see the module docstring).",
    )
    parser.add_argument(
        "submissions", type=Path, help="folder of .ipynb submissions (searched recursively)"
    )
    parser.add_argument(
        "--chapter",
        type=chapter_id,
        action="append",
        required=True,
        help="chapter whose exercises are graded (repeatable): 2, 02 or ch02",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("grades.csv"), help="CSV to write (default: grades.csv)"
    )
    parser.add_argument(
        "--feedback",
        type=Path,
        default=None,
        help="folder for one feedback file per student (default: feedback/ next to --out)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300,
        help="seconds for the notebook's cells, and again for the hidden checks (default: 300)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (default: 1)")
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=8192,
        help="address-space limit per process in MiB, 0 for none (default: 8192)",
    )
    parser.add_argument(
        "--sandbox",
        choices=["bwrap", "none"],
        default="bwrap",
        help="bwrap: each submission in its own bubblewrap sandbox (default); none: no "
        "isolation, only inside a throw-away container or VM",
    )
    args = parser.parse_args(argv)
    if not hasattr(os, "killpg"):
        parser.error(
            "the grader runs on Linux (elsewhere: --sandbox none inside a Linux container or VM)"
        )
    if not args.submissions.is_dir():
        parser.error(f"not a folder: {args.submissions}")
    unknown = [c for c in args.chapter if not any(i.startswith(c + ".") for i in REGISTRY)]
    if unknown:
        parser.error(f"no exercises in chapter(s) {', '.join(unknown)}")
    if args.sandbox == "bwrap":
        problem = sandbox_problem()
        if problem:
            parser.error(problem)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:  # internal: NOTEBOOK INBOX OUTBOX RUN_DIR MEMORY_MB TIMEOUT
        run_worker(
            Path(argv[1]), Path(argv[2]), Path(argv[3]), Path(argv[4]), int(argv[5]), float(argv[6])
        )
        return 0
    if argv[:1] == ["--judge"]:  # internal: INBOX OUTBOX SECONDS IDS_JSON NAMES_JSON
        verdicts = run_judge(
            Path(argv[1]), Path(argv[2]), json.loads(argv[4]), json.loads(argv[5]), float(argv[3])
        )
        sys.stdout.write("\n" + json.dumps(verdicts, ensure_ascii=False) + "\n")
        return 0
    from tqdm import tqdm

    args = parse_args(argv)
    ids = [i for i in REGISTRY if i.split(".")[0] in set(args.chapter)]
    submissions = find_submissions(args.submissions)
    runner = Runner(ids, args.timeout, args.memory_mb, args.sandbox)
    graded: list[Graded] = []
    with (
        ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool,
        tqdm(total=len(submissions), desc="grading", unit="notebook", file=sys.stderr) as bar,
    ):
        futures = [
            pool.submit(runner.grade, p, p.relative_to(args.submissions).as_posix())
            for p in submissions
        ]
        try:
            for future in as_completed(futures):
                graded.append(future.result())
                bar.set_postfix_str(f"{graded[-1].submission}: {graded[-1].status[:40]}")
                bar.update()
        except BaseException:  # Ctrl-C: leave no sandbox behind
            runner.stop(pool)
            raise
    graded.sort(key=lambda g: g.submission)
    write_csv(graded, ids, args.out)
    folder = args.feedback if args.feedback is not None else args.out.parent / "feedback"
    write_feedback(graded, ids, folder)
    print(summary(graded, ids))
    print(f"\n{len(graded)} submission(s) graded -> {args.out}; feedback -> {folder}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
