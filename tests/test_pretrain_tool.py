"""tools/pretrain.py's bookkeeping: the histories of three stages join end to end, with every
evaluation at its global step; the model card names each stage that ran; the committed logs
agree with their cards."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("pretrain_tool", ROOT / "tools" / "pretrain.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def stage(n: int, first_loss: float, seconds: float) -> dict:
    return {
        "loss": [first_loss + i for i in range(n)],
        "mlm_loss": [0.0] * n,
        "nsp_loss": [0.0] * n,
        "tokens": [10] * n,
        "eval": [{"step": n, "mask_accuracy": first_loss}],
        "seconds": seconds,
        "precision": "fp32",
        "world_size": 1,
    }


def test_three_stages_join_end_to_end(tool):
    a, b, c = stage(3, 100.0, 30.0), stage(2, 200.0, 20.0), stage(4, 300.0, 40.0)
    joined = tool.join_stages(tool.join_stages(a, b, offset=3), c, offset=5)
    assert joined["loss"] == a["loss"] + b["loss"] + c["loss"]
    assert joined["stage_steps"] == [3, 2, 4]
    assert joined["stage_seconds"] == [30.0, 20.0, 40.0]
    assert joined["seconds"] == 90.0
    assert [e["step"] for e in joined["eval"]] == [3, 5, 9]
    assert sum(joined["tokens"]) == 90


def test_card_names_each_stage(tool):
    r = {"stage_steps": [3500, 4500, 6000], "stage_minutes": [26.0, 40.0, 55.0], "lr": 1e-3}
    text = tool.stage_one(r) + tool.stage_two(r) + tool.stage_three(r)
    assert "Stage 1, 3,500 steps" in text and "Stage 2, 4,500" in text and "Stage 3, 6,000" in text
    assert tool.stage_three({**r, "stage_steps": [3500, 4500]}) == ""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_committed_log_matches_card(lang):
    folder = ROOT / "checkpoints" / lang
    log = json.loads((folder / "training_log.json").read_text(encoding="utf-8"))
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert sum(log["stage_steps"]) == log["steps"] == len(log["loss"])
    assert f"**{log['test']['mask_accuracy']:.1%}**" in card
    for i, steps in enumerate(log["stage_steps"], start=1):
        assert f"Stage {i}, {steps:,}" in card
    assert [e["step"] for e in log["eval"]] == sorted(e["step"] for e in log["eval"])
    assert log["eval"][-1]["step"] == log["steps"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_committed_card_answers_every_example(tool, lang, tmp_path):
    """The committed card lists every example of ``EXAMPLES`` with the committed model's own
    answers: rewriting it from the saved weights (``--card-only``) changes nothing."""
    import shutil

    folder = tmp_path / lang
    shutil.copytree(ROOT / "checkpoints" / lang, folder)
    tool.rewrite_card(lang, folder)
    card = (ROOT / "checkpoints" / lang / "README.md").read_text(encoding="utf-8")
    assert (folder / "README.md").read_text(encoding="utf-8") == card
    assert card.count(" | ✓ | ") + card.count(" | ✗ | ") == len(tool.EXAMPLES[lang])


def test_plain_words(tool):
    assert tool.plain_words("To be, or not to be: that is the question.", "en") == (
        "to be or not to be that is the question"
    )
    assert tool.plain_words("all the world's a stage,", "en") == "all the world's a stage"
    assert tool.plain_words("诸葛亮出师北伐。", "zh") == "诸葛亮出师北伐"


def test_in_training_text_finds_whole_lines_only(tool):
    """Genesis 1 is in the training split, word for word, case and punctuation aside; a line
    with one word changed is not, nor is half a word."""
    found = tool.in_training_text(
        "en",
        [
            "in the beginning god created the heaven and the earth",
            "In the beginning God created the heaven and the moon.",
            "in the beginning god created the heaven and the ear",
        ],
    )
    assert found == [True, False, False]
