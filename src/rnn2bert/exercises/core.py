"""The check framework behind ``rnn2bert.exercises.check``.

An exercise is a function the student writes. Its check calls it on fixed inputs and compares
the result with the library's reference. When the result is wrong, the check tries the
classic mistakes for that exercise (softmax over the wrong axis, a forgotten √d_k, …) and, if
one of them reproduces the student's numbers exactly, names it. Every message is bilingual.

Each check records a structured result (``passed`` / ``failed`` / ``not attempted``) in
``RESULTS`` and, when the environment variable ``RNN2BERT_RESULTS`` names a file, appends it
there as one JSON line (the grader reads those, never the printed text).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

RESULTS_ENV = "RNN2BERT_RESULTS"


class Mistake(AssertionError):
    """A wrong answer, explained in English and Chinese."""

    def __init__(self, en: str, zh: str):
        self.en, self.zh = en, zh
        super().__init__(f"{en}\n{zh}")


@dataclass(frozen=True)
class Exercise:
    id: str
    title_en: str
    title_zh: str
    checker: Callable[[Any], None]


REGISTRY: dict[str, Exercise] = {}
RESULTS: dict[str, str] = {}


def exercise(id: str, title_en: str, title_zh: str):
    """Decorator: register ``checker(answer)`` under ``id`` (``chNN.name``)."""

    def register(checker: Callable[[Any], None]) -> Callable[[Any], None]:
        if id in REGISTRY:
            raise ValueError(f"exercise {id!r} registered twice")
        REGISTRY[id] = Exercise(id, title_en, title_zh, checker)
        return checker

    return register


def _record(exercise_id: str, status: str, message: str = "") -> None:
    RESULTS[exercise_id] = status
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"id": exercise_id, "status": status, "message": message}, ensure_ascii=False) + "\n")


def check(exercise_id: str, answer: Any) -> None:
    """Check ``answer`` for exercise ``exercise_id``; print one line or raise ``AssertionError``.

    * right: prints ``✓ chNN.name — passed · 通过``;
    * a stub that still raises ``NotImplementedError``: prints "not attempted yet", no traceback;
    * wrong: raises ``AssertionError`` whose message names the mistake, in both languages.
    """
    if exercise_id not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown exercise {exercise_id!r} · 没有这道练习。Known · 已有: {known}")
    try:
        REGISTRY[exercise_id].checker(answer)
    except NotImplementedError:
        _record(exercise_id, "not attempted")
        print(f"… {exercise_id} — not attempted yet · 尚未作答 (replace the `raise NotImplementedError`)")
        return
    except Mistake as m:
        _record(exercise_id, "failed", str(m))
        raise AssertionError(f"✗ {exercise_id}\n{m.en}\n{m.zh}") from None
    except Exception as e:
        _record(exercise_id, "failed", f"{type(e).__name__}: {e}")
        raise
    _record(exercise_id, "passed")
    print(f"✓ {exercise_id} — passed · 通过")


# ---- helpers for writing checks -------------------------------------------------------------

WrongAnswer = tuple[Any, str, str]  # (what the mistake would produce, English, Chinese)


def as_tensor(x: Any, name: str) -> torch.Tensor:
    """Convert an answer to a float64 tensor, or explain why it cannot be one."""
    if x is None:
        raise Mistake(f"{name} is None: did you forget to `return` it?",
                      f"{name} 是 None：是不是忘了 `return`？")
    try:
        t = torch.as_tensor(x.detach() if isinstance(x, torch.Tensor) else x)
    except Exception:
        raise Mistake(f"{name} should be a tensor, got {type(x).__name__}.",
                      f"{name} 应该是张量(tensor)，却得到 {type(x).__name__}。") from None
    return t.to(torch.float64)


def output_and_weights(result: Any) -> tuple[Any, Any]:
    """Unpack an attention function's ``(output, weights)``, or say that a pair was expected."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise Mistake("Return a pair (output, weights).", "请返回一对 (output, weights)。")
    return result


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.to(torch.float64), b.to(torch.float64), atol=atol, rtol=1e-4))


def compare(got: Any, want: torch.Tensor, name: str, wrong: Sequence[WrongAnswer] = (),
            shape_hints: Sequence[WrongAnswer] = ()) -> None:
    """Raise a ``Mistake`` unless ``got`` equals ``want``; name the mistake when one matches.

    ``wrong`` holds the values classic mistakes produce; ``shape_hints`` holds
    ``(shape, en, zh)`` for mistakes recognisable by their shape alone.
    """
    got = as_tensor(got, name)
    want = want.to(torch.float64)
    if got.shape != want.shape:
        for shape, en, zh in shape_hints:
            if tuple(got.shape) == tuple(shape):
                raise Mistake(en, zh)
        raise Mistake(f"{name} has shape {tuple(got.shape)}, expected {tuple(want.shape)}.",
                      f"{name} 的形状是 {tuple(got.shape)}，应为 {tuple(want.shape)}。")
    if close(got, want):
        return
    for value, en, zh in wrong:
        if close(got, as_tensor(value, name)):
            raise Mistake(en, zh)
    if torch.isnan(got).any() or torch.isinf(got).any():
        raise Mistake(f"{name} contains NaN or inf.", f"{name} 中出现了 NaN 或 inf。")
    err = float((got - want).abs().max())
    raise Mistake(f"{name} has the right shape but wrong values (largest difference {err:.3g}).",
                  f"{name} 的形状正确，但数值不对(最大差 {err:.3g})。")
