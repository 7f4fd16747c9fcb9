"""The check framework behind ``rnn2bert.exercises.check``.

An exercise is a function the student writes. Its check calls it on several inputs (the
notebook's example, then inputs built to separate the classic mistakes: other shapes, limits,
large values, ties, other constants) and compares each result with the library's reference.
When a result is wrong, the check tries the classic mistakes for that exercise (softmax over
the wrong axis, a forgotten √d_k, …) and, if one of them reproduces the student's numbers,
names it; otherwise the message shows a small failing input, what was expected and what came
back. Every message is bilingual.

Two entry points:

* ``run_check(id, answer, hidden=False) -> CheckResult`` never raises, never prints and records
  nothing. ``hidden=True`` runs other variants (seeds, shapes, constants) than the public run,
  none of them shown in the notebook: the grader's hidden tests use it.
* ``check(id, answer)`` is what notebooks call: it prints one line or raises ``AssertionError``
  with the bilingual message, and records the result in ``RESULTS`` and, when the environment
  variable ``RNN2BERT_RESULTS`` names a file, appends it there as one JSON line (the grader reads
  those, never the printed text). That file keeps three statuses: passed / failed / not
  attempted (an answer that raised or ran out of time is "failed" there).

Every call of the student's code runs under a time limit (``TIME_LIMIT_S``), its exceptions
become messages, its inputs are copies, and the random state of torch, numpy and ``random``
is the same after a check as before it.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import json
import numbers
import os
import random
import re
import signal
import threading
import time
import traceback
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

RESULTS_ENV = "RNN2BERT_RESULTS"
# CPU seconds per call of the student's code
TIME_LIMIT_S = float(os.environ.get("RNN2BERT_CHECK_TIME_LIMIT", "5"))
WALL_FACTOR = 12  # ... and at most this many times as long on the clock
STATUSES = ("passed", "failed", "not attempted", "error")


class Mistake(AssertionError):
    """A wrong answer, explained in English and Chinese; ``name`` is a short id of the mistake."""

    def __init__(self, en: str, zh: str, name: str | None = None):
        self.en, self.zh, self.name = en, zh, name
        super().__init__(f"{en}\n{zh}")


class StudentError(Mistake):
    """The student's code raised, ran out of time, or is not a function: status ``error``."""


class NotAttempted(Exception):
    """The student's code still raises ``NotImplementedError``."""


class _TimeUp(BaseException):
    """Raised inside the student's code by the alarm (a BaseException: ``except Exception`` in
    the student's code does not swallow it)."""


@dataclass(frozen=True)
class Exercise:
    id: str
    title_en: str
    title_zh: str
    checker: Callable[..., None]


@dataclass(frozen=True)
class CheckResult:
    """What one check found. ``message`` is English + "\\n" + Chinese, "" when passed."""

    id: str
    status: str  # "passed" | "failed" | "not attempted" | "error"
    message: str = ""
    mistake: str | None = None
    output: str = ""  # what the check and the student's code printed

    @property
    def passed(self) -> bool:
        return self.status == "passed"


REGISTRY: dict[str, Exercise] = {}
RESULTS: dict[str, str] = {}


def exercise(id: str, title_en: str, title_zh: str):
    """Decorator: register ``checker(answer, hidden)`` (or ``checker(answer)``) under ``id``."""

    def register(checker: Callable[..., None]) -> Callable[..., None]:
        if id in REGISTRY:
            raise ValueError(f"exercise {id!r} registered twice")
        REGISTRY[id] = Exercise(id, title_en, title_zh, checker)
        return checker

    return register


# ---- running the student's code ------------------------------------------------------------


def _copy_argument(x: Any) -> Any:
    if isinstance(x, torch.Tensor):  # a weight given with requires_grad keeps it
        return x.detach().clone().requires_grad_(x.requires_grad and x.is_floating_point())
    if isinstance(x, torch.nn.Module):  # a module given to the student (f, norm) is a copy too
        try:
            return copy.deepcopy(x)
        except Exception:
            return x
    if isinstance(x, (list, dict, tuple, set)):
        try:
            return copy.deepcopy(x)
        except Exception:
            return x
    return x


def snapshot(x: Any) -> Any:
    """What an argument holds, to compare after the call (a function may overwrite a tensor, a
    list of words, a vocabulary set): tensors cloned, containers as plain lists and dicts (a set
    as the sorted reprs of its items), plain values as they are; None for anything else. Only
    plain types and tensors, so the grader's kernel can send it back (``torch.load``,
    ``weights_only``)."""
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, (list, tuple)):
        return [snapshot(v) for v in x]
    if isinstance(x, dict):
        return {repr(k): snapshot(v) for k, v in x.items()}
    if isinstance(x, (set, frozenset)):
        return sorted(repr(v) for v in x)
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return None


def same_snapshot(a: Any, b: Any) -> bool:
    """``snapshot`` before and after the call hold the same values."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and same_values(a, b)
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(same_snapshot(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and a.keys() == b.keys()
            and all(same_snapshot(a[k], b[k]) for k in a)
        )
    return a == b or (a != a and b != b)  # NaN == NaN here


def describe(x: Any, limit: int = 8) -> str:
    """A short description of a value: small tensors and lists in full, larger ones by shape."""
    if isinstance(x, torch.Tensor):
        if x.numel() <= limit:
            values = x.tolist()
            if x.is_floating_point():
                values = _rounded(values)
            return f"tensor({values})"
        return f"a {str(x.dtype).replace('torch.', '')} tensor of shape {tuple(x.shape)}"
    if isinstance(x, torch.nn.Module):
        return type(x).__name__
    if callable(x):
        return "a function"
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def _rounded(values: Any) -> Any:
    if isinstance(values, list):
        return [_rounded(v) for v in values]
    return round(values, 4) if isinstance(values, float) else values


def _call_with_limit(fn: Callable, args: tuple, kwargs: dict, seconds: float) -> Any:
    """``fn(*args, **kwargs)``, stopped with ``_TimeUp`` after ``seconds`` of CPU time (or
    ``WALL_FACTOR`` times as long on the clock, for code that waits instead of computing).

    CPU time, so that a correct answer on a busy machine is not stopped for waiting its turn.
    In the main thread (a script, a Jupyter kernel on Linux) interval timers interrupt the call;
    elsewhere the call runs in a helper thread that is abandoned after the wall-clock limit.
    """
    wall = seconds * WALL_FACTOR
    main = threading.current_thread() is threading.main_thread()
    if main and hasattr(signal, "setitimer"):

        def alarm(signum, frame):
            raise _TimeUp

        timers = (
            (signal.ITIMER_PROF, signal.SIGPROF, seconds),
            (signal.ITIMER_REAL, signal.SIGALRM, wall),
        )
        saved = []
        start = time.monotonic()
        for which, signum, limit in timers:
            handler = signal.signal(signum, alarm)
            delay, interval = signal.setitimer(which, 0)
            saved.append((which, signum, handler, delay, interval))
            if delay and delay <= limit:  # somebody else's timer comes first: let it fire for them
                signal.signal(signum, handler)
                signal.setitimer(which, delay, interval)
                saved[-1] = (which, signum, None, 0.0, 0.0)
            else:
                signal.setitimer(which, limit)
        try:
            return fn(*args, **kwargs)
        finally:
            for which, signum, handler, delay, interval in saved:
                if handler is None:
                    continue
                signal.setitimer(which, 0)
                signal.signal(signum, handler)
                if delay:
                    left = max(delay - (time.monotonic() - start), 1e-3)
                    signal.setitimer(which, left, interval)
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as e:  # handed over to the caller's thread
            box["error"] = e

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(wall)
    if worker.is_alive():
        raise _TimeUp
    if "error" in box:
        raise box["error"]
    return box["value"]


def _where(e: BaseException) -> str:
    """The innermost line of the student's code in a traceback (not torch's, not ours)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frames = [
        f
        for f in traceback.extract_tb(e.__traceback__)
        if not os.path.abspath(f.filename).startswith(here)
        and f"{os.sep}site-packages{os.sep}" not in f.filename
        and f"{os.sep}torch{os.sep}" not in f.filename
    ]
    if not frames:
        return ""
    f = frames[-1]
    line = (f.line or "").strip()
    return f" (line {f.lineno}: {line})" if line else f" (line {f.lineno})"


class Student:
    """The student's function, called under a time limit on copies of its inputs.

    Exceptions become a ``StudentError`` (status "error") whose message names the exception, the
    line of the student's code and the inputs; ``NotImplementedError`` becomes ``NotAttempted``.
    """

    def __init__(self, fn: Callable, time_limit: float | None = None):
        self.fn = fn
        self.time_limit = TIME_LIMIT_S if time_limit is None else time_limit
        self.last_call = ""

    def raised(self, e: BaseException) -> StudentError:
        """The error that names what the student's code raised, where, and on which inputs."""
        text = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        return StudentError(
            f"Your function raised {type(e).__name__}{': ' + text if text else ''}{_where(e)}, "
            f"when called with {self.last_call}.",
            f"你的函数抛出了 {type(e).__name__}{'：' + text if text else ''}{_where(e)}，输入为 "
            f"{self.last_call}。",
            "raised_exception",
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = tuple(_copy_argument(a) for a in args)
        kwargs = {k: _copy_argument(v) for k, v in kwargs.items()}
        given = [(f"argument {i + 1}", a) for i, a in enumerate(args)] + list(kwargs.items())
        before = [(name, a, snapshot(a)) for name, a in given]
        self.last_call = ", ".join(
            [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
        )
        try:
            result = _call_with_limit(self.fn, args, kwargs, self.time_limit)
        except _TimeUp:
            raise StudentError(
                f"Your function did not finish within {self.time_limit:g} s of computing (called "
                f"with {self.last_call}): "
                "is there a loop that never ends?",
                f"你的函数计算了 {self.time_limit:g} 秒仍没有结束（输入为 {self.last_call}）："
                "是不是有一个停不下来的循环？",
                "time_limit",
            ) from None
        except NotImplementedError as e:
            if not e.args:  # the stub's bare `raise NotImplementedError`
                raise NotAttempted from None
            # PyTorch's carries a message ("... not implemented for 'Long'"): a real error
            raise self.raised(e) from None
        except Mistake:
            raise
        except RecursionError:
            raise StudentError(
                f"Your function recursed without end (called with {self.last_call}).",
                f"你的函数无限递归了（输入为 {self.last_call}）。",
                "raised_exception",
            ) from None
        except SystemExit as e:
            raise StudentError(
                f"Your function called exit() or sys.exit() (code {e.code!r}) when called with "
                f"{self.last_call}: return the result instead.",
                f"你的函数调用了 exit() 或 sys.exit()（退出码 {e.code!r}），输入为 "
                f"{self.last_call}：应返回结果。",
                "exited",
            ) from None
        except KeyboardInterrupt:
            raise  # the person at the keyboard stopped it
        except BaseException as e:  # Exception, and the odd BaseException a student may raise
            raise self.raised(e) from None
        for name, value, kept in before:
            if not same_snapshot(snapshot(value), kept):
                raise changed_in_place(name, self.last_call)
        if result is None:
            raise Mistake(
                f"Your function returned None (called with {self.last_call}): did you forget to "
                "`return` "
                "the result?",
                f"你的函数返回了 None（输入为 {self.last_call}）：是不是忘了 `return` 结果？",
                "returned_none",
            )
        return result


_CURRENT: list[Student] = []  # the student function of the check that is running


def _last_call() -> str:
    return _CURRENT[-1].last_call if _CURRENT else ""


def _validate_answer(answer: Any) -> None:
    if answer is None:
        raise StudentError(
            "You passed None instead of your function: pass the function itself, e.g. "
            'check("chNN.name", my_function) '
            "(did its cell run? does it end with a value instead of a `def`?).",
            '你传入的是 None 而不是你的函数：应传入函数本身，例如 `check("chNN.name", my_function)`'
            "（它所在的单元格运行了吗？）。",
            "not_a_function",
        )
    if not callable(answer):
        raise StudentError(
            f"check expects your function itself, got {type(answer).__name__} "
            f"({describe(answer)}): pass the function, "
            "without calling it (my_function, not my_function(...)).",
            f"check 需要的是你的函数本身，却得到 {type(answer).__name__}（{describe(answer)}）："
            "传入函数即可，"
            "不要调用它（写 my_function，而不是 my_function(...)）。",
            "not_a_function",
        )


@contextlib.contextmanager
def _random_state_kept():
    """Leave torch's, numpy's and Python's random generators as they were."""
    py_state = random.getstate()
    torch_state = torch.random.get_rng_state()
    try:
        import numpy

        np_state = numpy.random.get_state()
    except Exception:  # numpy missing or broken: nothing to keep
        numpy, np_state = None, None
    try:
        yield
    finally:
        random.setstate(py_state)
        torch.random.set_rng_state(torch_state)
        if numpy is not None:
            numpy.random.set_state(np_state)


def _slug(text: str) -> str:
    """A short name from the first clause of an English message:
    'You forgot the tanh: …' → 'forgot_the_tanh'."""
    clause = re.split(r"[:;.,(]", text, maxsplit=1)[0]
    words = re.findall(r"[A-Za-z0-9_√²]+", clause.lower())
    words = [w for w in words if w not in {"you", "your", "the", "a", "an"}][:6]
    return "_".join(words) or "named_mistake"


def run_check(exercise_id: str, answer: Any, hidden: bool = False) -> CheckResult:
    """Check ``answer`` for ``exercise_id``; never raises, never prints, records nothing."""
    if exercise_id not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        return CheckResult(
            exercise_id,
            "error",
            f"Unknown exercise {exercise_id!r}. Known: {known}\n"
            f"没有这道练习 {exercise_id!r}。已有：{known}",
            "unknown_exercise",
        )
    checker = REGISTRY[exercise_id].checker
    takes_hidden = len(inspect.signature(checker).parameters) >= 2
    out = io.StringIO()
    student = None
    try:
        with _random_state_kept(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            _validate_answer(answer)
            student = Student(answer)
            _CURRENT.append(student)
            try:
                checker(student, hidden) if takes_hidden else checker(student)
            finally:
                _CURRENT.pop()
    except NotAttempted:
        return CheckResult(
            exercise_id,
            "not attempted",
            "Not attempted yet: the function still raises NotImplementedError. Replace "
            "`raise NotImplementedError` with your code and run the cell again.\n"
            "尚未作答：这个函数仍然抛出 NotImplementedError。把 `raise NotImplementedError` "
            "换成你的代码，再运行一次这个单元格。",
            None,
            out.getvalue(),
        )
    except StudentError as m:
        return CheckResult(exercise_id, "error", f"{m.en}\n{m.zh}", m.name, out.getvalue())
    except Mistake as m:
        return CheckResult(exercise_id, "failed", f"{m.en}\n{m.zh}", m.name, out.getvalue())
    except _TimeUp:  # the alarm fired just outside the student's call
        return CheckResult(
            exercise_id,
            "error",
            "Your function ran out of time.\n你的函数超时了。",
            "time_limit",
            out.getvalue(),
        )
    except Exception as e:  # what the student's code returned broke the check itself
        text = f"{type(e).__name__}: {str(e).strip()[:200]}"
        call = student.last_call if student else ""
        return CheckResult(
            exercise_id,
            "failed",
            f"The check could not use what your function returned (called with {call}): {text}. "
            "Return what the exercise asks for (a tensor, a number, a list …).\n"
            f"检查无法使用你的函数返回的结果（输入为 {call}）：{text}。请按题目要求返回（张量、数、"
            "列表……）。",
            "unusable_result",
            out.getvalue(),
        )
    return CheckResult(exercise_id, "passed", "", None, out.getvalue())


def _record(exercise_id: str, status: str, message: str = "") -> None:
    RESULTS[exercise_id] = status
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(
                json.dumps(
                    {"id": exercise_id, "status": status, "message": message}, ensure_ascii=False
                )
                + "\n"
            )


LINE_WIDTH = 78  # under the 80 columns a site code block shows; a Chinese character takes two
_NO_LINE_START = set("，。、：；！？）」』》〉”’,.;:!?)]}")  # never wrap before these


def _columns(text: str) -> int:
    """Columns ``text`` takes in a terminal or code block: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit_lines(text: str, width: int = LINE_WIDTH) -> str:
    """Wrap every line of ``text`` to at most ``width`` columns.

    English breaks at spaces; Chinese may break between any two characters, but never
    before a closing punctuation mark. A word longer than a line stays whole.
    """
    out = []
    for line in text.split("\n"):
        # tokens: a run of non-wide characters with the spaces after it, or one wide character
        tokens = re.findall(r"[^\s\u2e80-\uffef]+\s*|[\u2e80-\uffef]\s*|\s+", line)
        row: list[str] = []
        for token in tokens:
            if _columns("".join(row + [token]).rstrip()) <= width or not "".join(row).strip():
                row.append(token)
                continue
            carried = [row.pop()] if token[0] in _NO_LINE_START and len(row) > 1 else []
            out.append("".join(row).rstrip())
            row = carried + [token]
        out.append("".join(row).rstrip())
    return "\n".join(out)


def check(exercise_id: str, answer: Any) -> None:
    """Check ``answer`` for exercise ``exercise_id``; print one line or raise ``AssertionError``.

    * right: prints ``✓ chNN.name — passed · 通过``;
    * a stub that still raises ``NotImplementedError``: prints "not attempted yet", no traceback;
    * wrong, raising or too slow: raises ``AssertionError`` whose message names the mistake (or
      shows a small failing input), in both languages, without a traceback from inside the check.
    """
    if exercise_id not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown exercise {exercise_id!r} · 没有这道练习。Known · 已有：{known}")
    result = run_check(exercise_id, answer, hidden=False)
    if result.output:
        print(result.output, end="" if result.output.endswith("\n") else "\n")
    if result.status == "not attempted":
        _record(exercise_id, "not attempted")
        print(
            f"… {exercise_id} — not attempted yet · 尚未作答\n"
            "  Replace the `raise NotImplementedError` with your code and run the cell again.\n"
            "  把 `raise NotImplementedError` 换成你的代码，再运行这个单元格。"
        )
        return
    if result.status == "passed":
        _record(exercise_id, "passed")
        print(f"✓ {exercise_id} — passed · 通过")
        return
    _record(exercise_id, "failed", result.message)
    raise AssertionError(fit_lines(f"✗ {exercise_id}\n{result.message}")) from None


# ---- helpers for writing checks -------------------------------------------------------------

WrongAnswer = tuple  # (value, English, Chinese) or (value, English, Chinese, name)


def _named(entry: Sequence) -> tuple[Any, str, str, str]:
    value, en, zh = entry[:3]
    return value, en, zh, (entry[3] if len(entry) > 3 else _slug(en))


def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach()
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, torch.Tensor) for v in x):
        if all(v.numel() == 1 for v in x):
            return torch.stack([v.detach().reshape(()) for v in x]).to(torch.float64)
        return torch.stack([v.detach() for v in x])
    if isinstance(x, (str, bytes, dict, set)):
        raise TypeError(type(x).__name__)
    t = torch.as_tensor(x)
    if t.dtype == torch.float32 and isinstance(x, (float, list, tuple)):
        t = torch.as_tensor(x, dtype=torch.float64)  # Python floats are doubles: keep every digit
    return t


def as_tensor(x: Any, name: str) -> torch.Tensor:
    """Convert an answer to a float64 tensor, or explain why it cannot be one."""
    if x is None:
        raise Mistake(
            f"{name} is None: did you forget to `return` it?",
            f"{name} 是 None：是不是忘了 `return`？",
            "returned_none",
        )
    try:
        t = _as_tensor(x)
        if t.is_complex():
            raise TypeError("complex")
        return t.to(torch.float64)
    except Exception:
        raise Mistake(
            f"{name} should be a tensor (or numbers), got {type(x).__name__}: {describe(x)}.",
            f"{name} 应该是张量（tensor）或数，却得到 {type(x).__name__}：{describe(x)}。",
            "wrong_type",
        ) from None


def number(x: Any, name: str) -> float:
    """One number (int, float, numpy scalar, one-element tensor or array), or a message."""
    if x is None:
        raise Mistake(
            f"{name} is None: did you forget to `return` it?",
            f"{name} 是 None：是不是忘了 `return`？",
            "returned_none",
        )
    if isinstance(x, bool):
        raise Mistake(
            f"{name} should be a number, got a bool ({x}).",
            f"{name} 应该是一个数，却得到布尔值（{x}）。",
            "wrong_type",
        )
    try:
        if isinstance(x, numbers.Real):
            return float(x)
        if isinstance(x, (list, tuple, str, dict, set)) and len(x) != 1:
            raise TypeError  # not one number (and a long list is slow to convert)
        t = _as_tensor(x)
        if t.numel() != 1 or t.is_complex():
            raise TypeError
        return float(t.reshape(()))
    except Exception:
        raise Mistake(
            f"{name} should be one number, got {type(x).__name__}: {describe(x)}.",
            f"{name} 应该是一个数，却得到 {type(x).__name__}：{describe(x)}。",
            "wrong_type",
        ) from None


def pair(result: Any, en: str, zh: str, numeric: bool = False) -> tuple[Any, Any]:
    """Unpack a pair (a tuple or a list of two; with ``numeric``, also a tensor or array of two
    numbers), or say that one was expected."""
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return result[0], result[1]
    if numeric and getattr(result, "shape", None) is not None and tuple(result.shape) == (2,):
        return result[0], result[1]  # a tensor or array of two numbers
    raise Mistake(
        f"{en} Got {type(result).__name__}: {describe(result)}.",
        f"{zh}却得到 {type(result).__name__}：{describe(result)}。",
        "not_a_pair",
    )


def output_and_weights(result: Any) -> tuple[Any, Any]:
    """Unpack an attention function's ``(output, weights)``, or say that a pair was expected."""
    return pair(result, "Return a pair (output, weights).", "请返回一对 (output, weights)。")


def boolean(x: Any, name: str) -> torch.Tensor:
    """A boolean mask, or a message naming the additive 0/−∞ or 0/1 float convention."""
    if x is None:
        raise Mistake(
            f"{name} is None: did you forget to `return` it?",
            f"{name} 是 None：是不是忘了 `return`？",
            "returned_none",
        )
    try:
        t = _as_tensor(x)
    except Exception:
        raise Mistake(
            f"{name} should be a boolean tensor, got {type(x).__name__}: {describe(x)}.",
            f"{name} 应为布尔张量，却得到 {type(x).__name__}：{describe(x)}。",
            "wrong_type",
        ) from None
    if t.dtype != torch.bool:
        raise Mistake(
            f"{name} should be a boolean tensor (True = may attend), got dtype {t.dtype}. "
            "An additive 0/−∞ mask (or a 0/1 float mask) is another convention; this book uses "
            "booleans.",
            f"{name} 应为布尔张量（True 表示可以关注），却得到 {t.dtype}。加性的 0/−∞ 掩码（或 0/1 "
            "浮点掩码）"
            "是另一种约定；本书使用布尔值。",
            "not_boolean",
        )
    return t


def require_graph(got: Any, name: str) -> None:
    """Raise a ``Mistake`` when a layer's output (its inputs and weights require gradients) is
    cut off from autograd: training could not update the weights through it. A view taken under
    ``torch.no_grad()`` still says ``requires_grad``, but has no ``grad_fn``: no gradient reaches
    its input, so the check asks for both."""
    if isinstance(got, torch.Tensor) and got.requires_grad and got.grad_fn is not None:
        return
    raise Mistake(
        f"The values of {name} are right, but it carries no gradient (requires_grad is False): "
        "it was computed under torch.no_grad(), or through .detach(), .numpy(), .tolist() or a "
        "new torch.tensor(...). A layer's output must stay in the autograd graph, or training "
        "cannot update the weights: compute it with torch operations on the tensors and modules "
        "you are given.",
        f"{name} 的数值对了，但它不带梯度（requires_grad 为 False）：它是在 torch.no_grad() "
        "下算的，或者经过了 .detach()、.numpy()、.tolist() 或新建的 torch.tensor(...)。"
        "层的输出必须留在自动求导的计算图里，否则训练无法更新权重：请直接用 torch 运算处理"
        "给定的张量和模块。",
        "no_gradient",
    )


def require_finite(got: Any, name: str) -> None:
    """Raise a ``Mistake`` when ``got`` has NaN or inf where the true value is finite (a check's
    large-input case): the sign of an exponential that overflowed, as in a softmax written as
    ``exp(s) / exp(s).sum()`` (float32's exp overflows above 88.7) or a ``log`` of a probability
    that underflowed to 0."""
    try:
        t = torch.as_tensor(got if not isinstance(got, (tuple, list)) else got[0]).double()
    except (TypeError, ValueError, RuntimeError, IndexError):
        return
    if not torch.isfinite(t).all():
        raise Mistake(
            f"With large scores (float32, above 100) {name} has NaN or inf, where the true "
            "value is finite: exp(s) overflows to inf above 88.7, and inf / inf is NaN (or a "
            "probability underflows to 0, and log(0) = -inf). Subtract each row's maximum before "
            "exp (softmax does not change), or use torch.softmax / torch.log_softmax / "
            "F.cross_entropy, which do.",
            f"得分很大时（float32，超过 100），{name} 出现了 NaN 或 inf，而真实值是有限的：exp(s) "
            "超过 88.7 就溢出为 inf，inf / inf 得 NaN（或者概率下溢为 0，log(0) = -inf）。"
            "请在 exp 之前减去每行的最大值（softmax 不变），或者使用 torch.softmax、"
            "torch.log_softmax、F.cross_entropy，它们都这样做了。",
            "overflow",
        )


def changed_in_place(name: str, call: str) -> Mistake:
    """The mistake of a function that overwrote a tensor it was given."""
    return Mistake(
        f"Your function changed its input in place ({name}, called with {call}): the caller "
        "still needs it (a target that is also the labels, the original ids, the vocabulary). "
        "Work on a copy (`x.clone()`, `list(words)`) or build a new tensor or list.",
        f"你的函数原地修改了它的输入（{name}，输入为 {call}）：调用者还要用它"
        "（例如同时作为标签的目标序列、原始编号、词表）。请在副本（`x.clone()`、`list(words)`）上"
        "修改，或者构造一个新的张量或列表。",
        "changed_input_in_place",
    )


def same_values(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same shape, dtype and entries (NaN equal to NaN)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_floating_point() or a.is_complex():
        return bool(torch.equal(a, b) or ((a == b) | (a.isnan() & b.isnan())).all())
    return bool(torch.equal(a, b))


def require_integer_ids(got: Any, name: str, *, loss: bool = False) -> None:
    """Raise a ``Mistake`` when ids or labels have the right values in the wrong type.

    An embedding lookup (``nn.Embedding``) takes int64 or int32 indices: not floats, bools, nor
    the small integer types (uint8 wraps ids above 255); ``F.cross_entropy`` takes class ids as
    int64 only (``loss=True``). A list of Python ints is fine: ``torch.tensor`` makes it int64.
    """
    if not isinstance(got, torch.Tensor) and hasattr(got, "dtype") and hasattr(got, "shape"):
        try:  # a NumPy array
            got = torch.as_tensor(got)
        except (TypeError, ValueError, RuntimeError):
            return
    if isinstance(got, torch.Tensor):
        dtype = got.dtype
        if dtype == torch.bool:
            kind = "bool"
        elif dtype.is_floating_point or dtype.is_complex:
            kind = "float"
        elif dtype not in ((torch.int64,) if loss else (torch.int64, torch.int32)):
            kind = str(dtype).replace("torch.", "")
        else:
            kind = None
    elif isinstance(got, (list, tuple)):
        flat = list(got)
        while flat and isinstance(flat[0], (list, tuple)):
            flat = [v for row in flat for v in row]
        if any(isinstance(v, bool) for v in flat):
            kind = "bool"
        elif any(isinstance(v, float) for v in flat):
            kind = "float"
        else:
            kind = None
    else:
        return
    if kind is None:
        return
    if loss:
        raise Mistake(
            f"The values of {name} are right, but they are {kind}: cross_entropy needs integer "
            "class ids of type int64 (torch.long); build them from ints or convert with .long().",
            f"{name} 的数值对了，但类型是 {kind}：cross_entropy 需要 int64（torch.long）的"
            "类别编号；请用整数构造，或用 .long() 转换。",
            "not_integer_labels",
        )
    raise Mistake(
        f"The values of {name} are right, but they are {kind}: they index an embedding table, "
        "which takes int64 (or int32) ids; build them from ints (e.g. torch.full(..., "
        "dtype=torch.long)) or convert with .long().",
        f"{name} 的数值对了，但类型是 {kind}：它们要用来查嵌入表，嵌入表只接受 int64（或 int32）"
        "编号；请用整数构造（例如 torch.full(..., dtype=torch.long)），或用 .long() 转换。",
        "not_integer_ids",
    )


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    return a.shape == b.shape and bool(
        torch.allclose(
            a.to(torch.float64), b.to(torch.float64), atol=atol, rtol=rtol, equal_nan=False
        )
    )


def _fmt(t: torch.Tensor) -> str:
    values = t.tolist()
    return str(_rounded(values)) if t.is_floating_point() else str(values)


def compare(
    got: Any,
    want: Any,
    name: str,
    wrong: Sequence[WrongAnswer] = (),
    shape_hints: Sequence[WrongAnswer] = (),
    inputs: str | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> None:
    """Raise a ``Mistake`` unless ``got`` equals ``want``; name the mistake when one matches.

    ``wrong`` holds ``(value, en, zh[, name])`` for the values classic mistakes produce (a value may
    be a callable, evaluated only when needed); ``shape_hints`` holds ``(shape, en, zh[, name])``
    for mistakes recognisable by their shape alone. Otherwise the message shows the input (by
    default the last call of the student's function), the first wrong entry and the expected value.
    """
    got = as_tensor(got, name)
    want = as_tensor(want, name)
    where = inputs if inputs is not None else _last_call()
    if got.shape != want.shape:
        for entry in shape_hints:
            shape, en, zh, key = _named(entry)
            if tuple(got.shape) == tuple(shape):
                raise Mistake(en, zh, key)
        if got.numel() == want.numel() > 0 and close(got.reshape(want.shape), want, atol, rtol):
            raise Mistake(
                f"{name} holds the right numbers but has shape {tuple(got.shape)}; expected "
                f"{tuple(want.shape)}: add or remove the missing axes.",
                f"{name} 的数值对了，但形状是 {tuple(got.shape)}，应为 {tuple(want.shape)}："
                "请补上或去掉多余的维度。",
                "right_numbers_wrong_shape",
            )
        raise Mistake(
            f"{name} has shape {tuple(got.shape)}, expected {tuple(want.shape)}"
            f"{' (input: ' + where + ')' if where else ''}.",
            f"{name} 的形状是 {tuple(got.shape)}，应为 {tuple(want.shape)}"
            f"{'(输入：' + where + ')' if where else ''}。",
        )
    if close(got, want, atol, rtol):
        return
    for entry in wrong:
        value, en, zh, key = _named(entry)
        try:
            value = value() if callable(value) else value
            value = as_tensor(value, name)
        except Exception:
            continue
        if value.shape == got.shape and (
            close(got, value, atol, rtol)
            or (
                torch.isnan(value).any()
                and torch.equal(value.isnan(), got.isnan())
                and close(got.nan_to_num(), value.nan_to_num(), atol, rtol)
            )
        ):
            raise Mistake(en, zh, key)
    if torch.isnan(got).any() or torch.isinf(got).any():
        raise Mistake(
            f"{name} contains NaN or inf{' (input: ' + where + ')' if where else ''}.",
            f"{name} 中出现了 NaN 或 inf{'(输入：' + where + ')' if where else ''}。",
        )
    diff = (got - want).abs() > atol + rtol * want.abs()
    index = tuple(int(i) for i in diff.nonzero()[0]) if diff.any() else ()
    err = float((got - want).abs().max())
    if want.numel() <= 6:
        shown_en = f"expected {_fmt(want)}, got {_fmt(got)}"
        shown_zh = f"应为 {_fmt(want)}，得到 {_fmt(got)}"
    else:
        at = f"[{', '.join(map(str, index))}]"
        shown_en = (
            f"at {name}{at} expected {float(want[index]):.4g}, got {float(got[index]):.4g} "
            f"(largest difference {err:.3g})"
        )
        shown_zh = (
            f"{name}{at} 应为 {float(want[index]):.4g}，得到 {float(got[index]):.4g}（最大差 "
            f"{err:.3g}）"
        )
    raise Mistake(
        f"{name} is wrong{' for the input ' + where if where else ''}: {shown_en}.",
        f"{name} 不对{'(输入：' + where + ')' if where else ''}：{shown_zh}。",
    )


def generator(seed: int, hidden: bool) -> torch.Generator:
    """A private generator; the hidden run draws from other seeds than the public one."""
    return torch.Generator().manual_seed(seed + (7919 if hidden else 0))


def predictions(
    fn: Callable,
    cases: Sequence[tuple],
    want: Sequence[float],
    name: str,
    wrong: Sequence[tuple] = (),
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> None:
    """Check a predict-then-verify answer: one number per case.

    ``wrong`` holds ``(formula, en, zh, name)``; a mistake is named when its formula reproduces
    the answers of every case (and the answers are wrong somewhere). Otherwise the first wrong
    case is shown with what was expected.
    """
    import math

    got = [number(fn(*case), f"{name}({', '.join(map(repr, case))})") for case in cases]
    want = [float(v) for v in want]

    def same(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)

    if all(same(g, w) for g, w in zip(got, want, strict=True)):
        return
    for entry in wrong:
        formula, en, zh, key = _named(entry)
        try:
            if all(same(g, float(formula(*case))) for g, case in zip(got, cases, strict=True)):
                raise Mistake(en, zh, key)
        except (ArithmeticError, ValueError, TypeError, OverflowError):
            continue
    for case, g, w in zip(cases, got, want, strict=True):
        if not same(g, w):
            call = f"{name}({', '.join(map(repr, case))})"
            raise Mistake(
                f"{call} returned {g:.6g}, expected {w:.6g}.",
                f"{call} 返回了 {g:.6g}，应为 {w:.6g}。",
            )
