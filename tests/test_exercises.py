"""Exercises: generated from the solutions, solutions pass, stubs say "not attempted",
and every check rejects classic wrong answers with a message that names the mistake."""

import contextlib
import importlib
import io
import re
from pathlib import Path

import nbformat
import pytest
import torch

from notebooks import CJK, LANGS, ROOT, notebooks, read
from rnn2bert.exercises import REGISTRY, RESULTS, CheckResult, check, core, run_check
from rnn2bert.exercises.core import LINE_WIDTH, _columns, fit_lines
from rnn2bert.exercises.generate import exercise_notebook, stub_code

CHECK_CALL = re.compile(r"""check\(\s*["'](ch\d\d\.\w+)["']""")


def check_ids(path):
    """The exercise ids a notebook calls ``check`` with."""
    return {
        i for c in read(path).cells if c.cell_type == "code" for i in CHECK_CALL.findall(c.source)
    }


def run_code_cells(path):
    """Execute a notebook's code cells in one namespace (fast: no kernel); return stdout."""
    RESULTS.clear()
    namespace, out = {"__name__": "__main__"}, io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in read(path).cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, str(path), "exec"), namespace)
    return out.getvalue()


# ---- exercises/ is generated from solutions/ -----------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_exercises_are_up_to_date(lang):
    solutions = notebooks("solutions", lang)
    assert solutions, f"no solution notebooks in solutions/{lang}"
    for sol in solutions:
        exercise = ROOT / "exercises" / lang / sol.name
        assert exercise.exists(), f"{exercise} missing: run `make exercises`"
        # nbformat.write adds the newline
        want = nbformat.writes(exercise_notebook(read(sol), str(sol))) + "\n"
        assert exercise.read_text(encoding="utf-8") == want, (
            f"{exercise} is out of date: run `make exercises`"
        )


def test_exercise_notebooks_hold_no_solution():
    for lang in LANGS:
        assert notebooks("exercises", lang), f"no exercise notebooks in exercises/{lang}"
        for path in notebooks("exercises", lang):
            text = path.read_text(encoding="utf-8")
            assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path
            assert all(not c.get("outputs") for c in read(path).cells if c.cell_type == "code"), (
                path
            )


def test_stub_replaces_the_block_at_its_indentation():
    src = (
        "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
        "\ncheck('a', f)"
    )
    assert stub_code(src) == (
        "def f(x):\n    y = 1\n    raise NotImplementedError"
        "  # TODO: your code here · 在此写你的代码"
        "\n\ncheck('a', f)"
    )
    with pytest.raises(ValueError, match="inside a function"):
        stub_code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
    with pytest.raises(ValueError, match="without"):
        stub_code("def f():\n    ### BEGIN SOLUTION\n    pass")


# ---- solutions pass, stubs are "not attempted" ---------------------------------------------


@pytest.mark.parametrize(
    "path",
    [p for lang in LANGS for p in notebooks("solutions", lang)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_solutions_pass_every_check(path):
    run_code_cells(path)
    ids = check_ids(path)
    assert ids and RESULTS == {i: "passed" for i in ids}


@pytest.mark.parametrize(
    "path",
    [p for lang in LANGS for p in notebooks("exercises", lang)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_untouched_stubs_report_not_attempted(path):
    out = run_code_cells(path)
    ids = check_ids(path)
    assert ids and RESULTS == {i: "not attempted" for i in ids}
    assert out.count("not attempted yet · 尚未作答") == len(ids)


def test_every_registered_exercise_is_in_a_solution_notebook():
    used = set()
    for path in notebooks("solutions", "en"):
        used |= check_ids(path)
    assert used == set(REGISTRY), (
        f"registered but unused: {set(REGISTRY) - used}; used but unknown: {used - set(REGISTRY)}"
    )


# ---- classic wrong answers are rejected, and the message names the mistake ------------------

# Each chapter keeps its wrong answers in tests/wrong_chNN.py: WRONG, exercise id -> [(wrong
# answer, a phrase its message must contain)], and CORRECT, exercise id -> other correct forms that
# must pass.
WRONG, CORRECT = {}, {}
for _module in sorted(Path(__file__).parent.glob("wrong_ch*.py")):
    _loaded = importlib.import_module(_module.stem)
    WRONG.update(_loaded.WRONG)
    CORRECT.update(getattr(_loaded, "CORRECT", {}))


# An answer that never finishes waits out the whole time limit (5 CPU-seconds): make test runs
# those, make test-fast (-m "not slow") skips them.
WRONG_PARAMS = [
    pytest.param(e, w, p, marks=[pytest.mark.slow] if p == "did not finish" else [])
    for e, answers in WRONG.items()
    for w, p in answers
]


def _ids(v):
    return v if isinstance(v, str) else ""


def test_every_exercise_has_at_least_four_wrong_answers():
    for exercise_id in REGISTRY:
        assert len(WRONG.get(exercise_id, [])) >= 4, (
            f"{exercise_id}: add classic wrong answers to WRONG"
        )


@pytest.mark.parametrize("exercise_id,wrong,phrase", WRONG_PARAMS, ids=_ids)
def test_wrong_answer_is_named(exercise_id, wrong, phrase):
    with pytest.raises(AssertionError) as info:
        check(exercise_id, wrong)
    message = str(info.value)
    assert all(_columns(line) <= LINE_WIDTH for line in message.splitlines()), message
    flat = " ".join(message.split())  # the message is wrapped to fit a code block
    assert phrase in flat or phrase in message.replace("\n", ""), (
        f"expected the message to name the mistake ({phrase!r}), got:\n{message}"
    )
    assert CJK.search(message), "the message must be bilingual"
    assert RESULTS[exercise_id] == "failed"


@pytest.mark.parametrize("exercise_id,wrong,phrase", WRONG_PARAMS, ids=_ids)
def test_wrong_answer_fails_the_hidden_variants(exercise_id, wrong, phrase):
    result = run_check(exercise_id, wrong, hidden=True)
    assert result.status in ("failed", "error"), result
    assert CJK.search(result.message) and "Traceback" not in result.message


@pytest.mark.parametrize(
    "exercise_id,answer,hidden",
    [(e, a, h) for e, answers in CORRECT.items() for a in answers for h in (False, True)],
    ids=lambda v: v if isinstance(v, str) else str(v) if isinstance(v, bool) else "",
)
def test_other_correct_forms_pass(exercise_id, answer, hidden):
    result = run_check(exercise_id, answer, hidden=hidden)
    assert result.status == "passed", result.message


def _solution_functions():
    """(exercise id, the solution's function) for every check call of the English solutions."""
    pattern = re.compile(r"""check\(\s*["'](ch\d\d\.\w+)["']\s*,\s*(\w+)""")
    found = []
    for path in notebooks("solutions", "en"):
        namespace = {"__name__": "__main__"}
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in read(path).cells:
                if cell.cell_type == "code":
                    exec(compile(cell.source, str(path), "exec"), namespace)
        for cell in read(path).cells:
            for exercise_id, name in pattern.findall(
                cell.source if cell.cell_type == "code" else ""
            ):
                found.append((exercise_id, namespace[name]))
    return found


def test_solutions_pass_the_hidden_variants():
    RESULTS.clear()
    found = _solution_functions()
    assert {e for e, _ in found} == set(REGISTRY)
    for exercise_id, fn in found:
        result = run_check(exercise_id, fn, hidden=True)
        assert result.status == "passed", (exercise_id, result.message)


def test_hidden_variants_differ_from_the_public_ones():
    """An answer that remembers its inputs and replays the public ones fails the hidden run."""
    for exercise_id in REGISTRY:
        seen = []

        def spy(*args, seen=seen):
            seen.append([a.tolist() if isinstance(a, torch.Tensor) else a for a in args])
            raise NotImplementedError

        run_check(exercise_id, spy)
        public = list(seen)
        seen.clear()
        run_check(exercise_id, spy, hidden=True)
        assert seen and seen[0] not in public, exercise_id


def test_not_attempted_is_not_a_failure(capsys):
    def stub(*args):
        raise NotImplementedError

    for exercise_id in REGISTRY:
        check(exercise_id, stub)
        assert RESULTS[exercise_id] == "not attempted"
    assert capsys.readouterr().out.count("not attempted yet") == len(REGISTRY)


def test_pytorch_not_implemented_is_an_error_not_a_stub(capsys):
    """PyTorch raises NotImplementedError, with a message, for an op a dtype lacks; that is the
    student's code failing, not the stub's bare ``raise NotImplementedError``."""

    def integer_softmax(x):
        return torch.softmax(x.long(), -1)  # "... not implemented for 'Long'"

    with pytest.raises(AssertionError, match="not implemented for 'Long'"):
        check("ch02.softmax", integer_softmax)
    assert RESULTS["ch02.softmax"] == "failed"
    assert "not attempted" not in capsys.readouterr().out


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(KeyError, match="ch02.softmax"):
        check("ch02.nope", lambda: None)


def test_results_are_written_for_the_grader(tmp_path, monkeypatch):
    path = tmp_path / "results.jsonl"
    monkeypatch.setenv("RNN2BERT_RESULTS", str(path))
    check("ch02.permutation", lambda Y, perm: Y[perm])
    with pytest.raises(AssertionError):
        check("ch02.permutation", lambda Y, perm: Y)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [l.split('"status": ')[1].split('"')[1] for l in lines] == ["passed", "failed"]


# ---- run_check: the interface the grader builds on ------------------------------------------


def _softmax(x):
    e = (x - x.max(-1, keepdim=True).values).exp()
    return e / e.sum(-1, keepdim=True)


def test_run_check_passes_fails_and_names_the_mistake(capsys):
    RESULTS.clear()
    right = run_check("ch02.softmax", _softmax)
    assert isinstance(right, CheckResult)
    assert (right.status, right.message, right.mistake) == ("passed", "", None)
    wrong = run_check("ch02.softmax", lambda x: torch.softmax(x, dim=0))
    assert wrong.status == "failed" and wrong.mistake and "wrong axis" in wrong.message
    en, zh = wrong.message.split("\n", 1)
    assert not CJK.search(en) and CJK.search(zh)
    assert RESULTS == {}, "run_check records nothing"
    assert capsys.readouterr() == ("", ""), "run_check prints nothing"


# hidden=True repeats every exercise with its hidden variants (about 25 s of endless loops at
# 0.2 s each): make test runs it, make test-fast the public variants only.
@pytest.mark.parametrize("hidden", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_run_check_never_raises(hidden, monkeypatch):
    monkeypatch.setattr(core, "TIME_LIMIT_S", 0.2)

    def stub(*args):
        raise NotImplementedError

    def raises(*args):
        raise ValueError("boom")

    def loops(*args):
        while True:
            pass

    def swallows(*args):  # an endless loop that catches Exception must still stop
        while True:
            try:
                pass
            except Exception:
                pass

    def no_return(*args):
        torch.zeros(3)

    def exits(*args):
        raise SystemExit(3)

    def base_exception(*args):
        raise GeneratorExit

    for exercise_id in REGISTRY:
        cases = {
            "stub": (stub, "not attempted"),
            "none": (None, "error"),
            "value": (torch.zeros(3), "error"),
            "number": (3, "error"),
            "raises": (raises, "error"),
            "loops": (loops, "error"),
            "swallows": (swallows, "error"),
            "no_return": (no_return, "failed"),
            "exits": (exits, "error"),
            "base_exception": (base_exception, "error"),
            "long_list": (lambda *args: list(range(10**5)), ("failed", "error")),
        }
        if exercise_id != "ch04.causal_mask":  # loops cost the time limit each: a sample is enough
            cases.pop("swallows")
        for case, (answer, status) in cases.items():
            result = run_check(exercise_id, answer, hidden=hidden)
            assert result.status in (status if isinstance(status, tuple) else (status,)), (
                exercise_id,
                case,
                result,
            )
            en, zh = result.message.split("\n", 1)
            assert en and CJK.search(zh) and "Traceback" not in result.message, (
                exercise_id,
                case,
                result.message,
            )
    assert run_check("ch02.nope", _softmax).status == "error"


def test_a_raising_answer_shows_its_line_not_the_check():
    def scores(q, K):
        return K @ q.no_such_attribute

    result = run_check("ch02.scores", scores)
    assert result.status == "error" and result.mistake == "raised_exception"
    assert "AttributeError" in result.message and "no_such_attribute" in result.message
    assert "core.py" not in result.message and "ch02.py" not in result.message


def test_check_keeps_the_random_state():
    import random

    import numpy

    torch.manual_seed(123), numpy.random.seed(123), random.seed(123)
    before = torch.rand(3), numpy.random.rand(3), random.random()
    for exercise_id in REGISTRY:
        torch.manual_seed(123), numpy.random.seed(123), random.seed(123)
        run_check(exercise_id, lambda *a: torch.manual_seed(0) and None)
        run_check(exercise_id, lambda *a: (torch.rand(5), numpy.random.rand(5), random.random()))
        after = torch.rand(3), numpy.random.rand(3), random.random()
        assert (
            torch.equal(after[0], before[0])
            and (after[1] == before[1]).all()
            and after[2] == before[2]
        ), exercise_id


def test_check_still_prints_and_raises(capsys):
    check("ch02.softmax", _softmax)
    assert capsys.readouterr().out == "✓ ch02.softmax — passed · 通过\n"
    with pytest.raises(AssertionError) as info:
        check("ch02.softmax", None)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert RESULTS["ch02.softmax"] == "failed"


def test_fit_lines_wraps_english_at_spaces_and_chinese_between_characters():
    en = "you multiplied q and the keys element by element but did not sum over the features"
    zh = "形状是 (L, d_k)：你把 q 与键逐元素相乘，却没有在 d_k 个特征上求和。" * 2
    lines = fit_lines(f"{en}\n{zh}", width=40).split("\n")
    assert all(_columns(line) <= 40 for line in lines), lines
    assert " ".join(lines[:3]) == en  # English is cut only at spaces, nothing lost
    assert "".join(lines[3:]).replace(" ", "") == zh.replace(" ", "")
    assert not any(line[0] in "，。：" for line in lines[3:]), lines  # no line opens with "，"
    assert fit_lines("short\n短", width=40) == "short\n短"
    assert _columns("形状 ab") == 7


def test_hidden_variants_embed_a_padded_row():
    """Zeroing the vectors of id 0 (padding) is not BERT's input embedding: [PAD] is embedded like
    any token, and the attention mask hides it. The hidden variants include a padded row."""

    def zero_padding(ids, tt, W, S, P, ln):
        return ln(W[ids] + S[tt] + P[: ids.shape[1]]) * (ids != 0)[..., None]

    assert run_check("ch08.input_embedding", zero_padding, hidden=True).status == "failed"


def test_inputs_changed_in_place_fail_even_with_the_right_result():
    """A function that returns the right value but overwrites a tensor it was given fails: the
    caller's copy is compared before and after the call."""

    def shift_in_place(target, bos):
        target[:, 1:] = target[:, :-1].clone()
        target[:, 0] = bos
        return target

    for hidden in (False, True):
        result = run_check("ch07.shift_right", shift_in_place, hidden=hidden)
        assert result.status == "failed" and "in place" in result.message, result


def test_hidden_wordpiece_has_long_words_and_pieces():
    """A greedy search that tries at most 5 characters per piece finds the short pieces of the
    public vocabulary; the hidden one has "##running" and "jumprunning"."""

    def capped(word, vocab, cap=5):
        pieces, start = [], 0
        while start < len(word):
            for end in range(min(len(word), start + cap), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    pieces.append(piece)
                    start = end
                    break
            else:
                return ["[UNK]"]
        return pieces

    assert run_check("ch08.wordpiece", capped, hidden=True).status == "failed"
