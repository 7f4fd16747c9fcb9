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


def test_blankable_positions(tool):
    """English: whole words of letters that are one token and touch no apostrophe (not "un" of
    "unto", nor "lord", "s", "o" or "er" of "lord's" and "o'er"); Chinese: CJK characters, not
    punctuation or digits."""
    tokens = ["the", "lord", "'", "s", "un", "##to", ",", "o", "'", "er", "god"]
    assert tool.blankable(tokens, "en") == [0, 10]
    assert tool.blankable(["诸", "葛", "亮", "，", "1", "##9"], "zh") == [0, 1, 2]


def test_held_out_blanks_are_held_out_lines(tool):
    """Seeded; each blank sits at a blankable position of a held-out line of the allowed
    length, and the ids are that line's tokens."""
    from rnn2bert.tokenizer import WordPieceTokenizer

    folder = ROOT / "checkpoints" / "en"
    tokenizer = WordPieceTokenizer.from_pretrained(folder)
    blanks, texts = tool.held_out_blanks("en", tokenizer, folder / "vocab.txt", n=50)
    again, _ = tool.held_out_blanks("en", tokenizer, folder / "vocab.txt", n=50)
    assert blanks == again and len(blanks) == len(texts) == 50
    lo, hi = tool.BLANK_LINE_TOKENS
    test_lines = {s for _, doc in tool.documents("en", "test") for s in doc}
    for (ids, i), text in zip(blanks, texts, strict=True):
        assert text in test_lines and lo <= len(ids) <= hi
        assert tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text)) == ids
        assert i in tool.blankable(tokenizer.convert_ids_to_tokens(ids), "en")


def test_blank_scores_count_first_and_top_five(tool):
    """A model that always ranks tokens 7, 6, 5, 4, 3 first, and bigram counts that put 20
    between 10 and 11 and 7 before 12: top-1 and top-5 hits counted for each."""
    from types import SimpleNamespace

    import torch

    from rnn2bert.baselines import NeighbourModel
    from rnn2bert.tokenizer import WordPieceTokenizer

    tokenizer = WordPieceTokenizer.from_pretrained(ROOT / "checkpoints" / "en")
    V = len(tokenizer.vocab)

    class Fixed(torch.nn.Module):
        def forward(self, input_ids, attention_mask=None, token_type_ids=None):
            logits = torch.zeros(*input_ids.shape, V)
            logits[..., 3:8] = torch.arange(1.0, 6.0)
            return SimpleNamespace(prediction_logits=logits)

    counts = torch.zeros(V, V)
    counts[10, 20] = counts[20, 11] = counts[7, 12] = 100.0
    blanks = [([10, 7, 11], 1), ([10, 5, 11], 1), ([10, 20, 11], 1), ([7, 12], 0)]
    scores = tool.blank_scores(Fixed(), tokenizer, blanks, NeighbourModel(counts), size=3)
    assert scores["model"] == {"top1": 2 / 4, "top5": 3 / 4}
    assert scores["neighbours"]["top1"] == 2 / 4


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_card_reports_random_blanks(lang):
    """The committed card and log carry the random held-out blanks, model and neighbours."""
    folder = ROOT / "checkpoints" / lang
    log = json.loads((folder / "training_log.json").read_text(encoding="utf-8"))
    card = (folder / "README.md").read_text(encoding="utf-8")
    b = log["random_blanks"]
    assert b["lines"] > 1000 and 0 <= b["lines_in_training_text"] < b["lines"]
    assert f"**{b['model']['top5']:.1%}**" in card
    assert f"{b['neighbours']['top5']:.1%}" in card
