"""The book's WordPiece tokenizer against Hugging Face's BertTokenizer, on the MiniLM vocabulary."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the internet

import pytest
import torch

from conftest import require
from rnn2bert.tokenizer import WordPieceTokenizer, basic_tokenize

transformers = require("transformers")

TEXTS = [
    "my dog is cute",
    "he likes playing",
    "The animal didn't cross the street because it was too tired.",
    "Hello, world! How are you?? (fine) -- thanks; 3.14 $5 50% a+b=c ^_^ `code` #tag @user",
    "café naïve Zürich Ångström résumé façade Crème Brûlée ÉCOLE",
    "unaffable unbelievably transformers tokenization antidisestablishmentarianism",
    "我爱北京天安门。",
    "今天天气很好,我们去公园散步吧!",
    "BERT 是 Google 在 2018 年提出的模型。",
    "混合 mixed 文本 text,with 中文标点「引号」和(括号)…",
    "日本語のテキストとカタカナ",
    "한국어 텍스트",
    "emoji 😀 and symbols ★ ∑ √ ∞ €",
    "tabs\tand\nnewlines\r\nand  many   spaces\u00a0nbsp\u3000ideographic",
    "control\x00chars\x07 and \ufffd replacement \u200b zero-width",
    "x" * 101 + " " + "y" * 100,
    "",
    "   ",
    "the capital of france is [MASK] .",
    "[CLS] already [SEP] there [PAD]",
    "[mask] lower case is not special",
    "http://example.com/path?q=1&r=2 e-mail: someone@example.org",
    "ﬁnancial ﬂow (ligatures) and Ⅻ roman ½ fractions",
    "İstanbul DİKKAT ǅ titlecase ß straße",
]


@pytest.fixture(scope="module")
def tokenizers(minilm_dir):
    folder = minilm_dir
    return (
        WordPieceTokenizer.from_vocab_file(folder / "vocab.txt"),
        transformers.BertTokenizerLegacy(str(folder / "vocab.txt")),  # the slow, pure-Python one
        transformers.BertTokenizer.from_pretrained(folder),  # the fast one (Rust `tokenizers`)
    )


@pytest.mark.parametrize("text", TEXTS)
def test_tokens_and_ids_equal_hugging_face(tokenizers, text):
    mine, slow, fast = tokenizers
    tokens = mine.tokenize(text)
    assert tokens == slow.tokenize(text) == fast.tokenize(text)
    ids = mine.encode(text)["input_ids"]
    assert ids == slow(text)["input_ids"] == fast(text)["input_ids"]
    assert ids[1:-1] == mine.convert_tokens_to_ids(tokens)


def test_examples_from_the_book(tokenizers):
    mine, slow, fast = tokenizers
    assert mine.tokenize("he likes playing") == ["he", "likes", "playing"]
    assert mine.wordpiece("pretraining") == [
        "pre",
        "##train",
        "##ing",
    ]  # "playing" is one token here
    assert mine.wordpiece("embeddings") == ["em", "##bed", "##ding", "##s"]
    assert mine.tokenize("我爱北京") == [
        "我",
        "[UNK]",
        "北",
        "京",
    ]  # 爱 is not in this English vocabulary
    assert mine.tokenize("café naïve Zürich") == ["cafe", "naive", "zurich"]
    assert basic_tokenize("Héllo, 世界!") == ["hello", ",", "世", "界", "!"]
    assert basic_tokenize("Héllo", lowercase=False) == ["Héllo"]
    assert mine.wordpiece("x" * 101) == ["[UNK]"]
    assert (
        (
            mine.pad_token_id,
            mine.unk_token_id,
            mine.cls_token_id,
            mine.sep_token_id,
            mine.mask_token_id,
        )
        == (0, 100, 101, 102, 103)
        == tuple(fast.convert_tokens_to_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    )
    assert len(mine) == len(mine.vocab) == 30522


def test_sentence_pair(tokenizers):
    mine, slow, fast = tokenizers
    enc = mine.encode("my dog is cute", "he likes playing")
    assert mine.convert_ids_to_tokens(enc["input_ids"]) == [
        "[CLS]",
        "my",
        "dog",
        "is",
        "cute",
        "[SEP]",
        "he",
        "likes",
        "playing",
        "[SEP]",
    ]
    assert enc["token_type_ids"] == [0] * 6 + [1] * 4
    assert enc["attention_mask"] == [1] * 10
    assert enc == dict(fast("my dog is cute", "he likes playing"))
    assert enc["input_ids"] == slow("my dog is cute", "he likes playing")["input_ids"]


@pytest.mark.parametrize("max_length", [5, 8, 12, 40])
def test_truncation_equals_original_bert(tokenizers, max_length):
    """One token at a time from the end of the longer sentence, as the original BERT and the slow
    tokenizer do. (The fast one instead gives the shorter sentence at most half of the room.)"""
    mine, slow, fast = tokenizers
    a, b = TEXTS[2], TEXTS[5]
    assert mine.encode(a, max_length=max_length) == dict(
        fast(a, truncation=True, max_length=max_length)
    )
    for x, y in ((a, b), (b, a), (TEXTS[0], TEXTS[3])):
        want = slow(x, y, truncation=True, max_length=max_length)["input_ids"]
        assert mine.encode(x, y, max_length=max_length)["input_ids"] == want
    assert (
        mine.decode(
            mine.encode("a b c d e f g h i j", "k l m n o p q r s t", max_length=8)["input_ids"]
        )
        == "[CLS] a b c [SEP] k l [SEP]"
    )


def test_batch_encoding_equals_hugging_face(tokenizers):
    mine, slow, fast = tokenizers
    texts, pairs = ["my dog is cute", TEXTS[2], "我爱北京天安门。"], ["he likes playing", "", "x"]
    batch = mine.encode_batch(texts, pairs)
    want = fast(texts, pairs, padding=True, return_tensors="pt")
    assert batch.keys() == {"input_ids", "token_type_ids", "attention_mask"}
    for key, value in batch.items():
        assert value.dtype == torch.long and torch.equal(value, want[key]), key
    assert torch.equal(
        mine.encode_batch(texts)["input_ids"],
        fast(texts, padding=True, return_tensors="pt")["input_ids"],
    )


def test_decode_round_trip(tokenizers):
    mine, slow, fast = tokenizers
    for text in ["my dog is cute", "he likes playing", "unaffable tokenization of transformers"]:
        ids = mine.encode(text)["input_ids"]
        assert mine.decode(ids, skip_special_tokens=True) == text
        assert mine.decode(ids) == f"[CLS] {text} [SEP]"
    for text in TEXTS:
        ids = mine.encode(text)["input_ids"]
        assert mine.decode(ids) == slow.decode(ids, clean_up_tokenization_spaces=False)
        assert mine.decode(torch.tensor(ids), skip_special_tokens=True) == slow.decode(
            ids, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )


def test_cased_character_vocabulary(tmp_path):
    """A small Chinese-style vocabulary without lowercasing, saved and read back, against HF."""
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
        "A",
        "##B",
        "a",
        "，",
        "é",
    ]
    tokenizer = WordPieceTokenizer({t: i for i, t in enumerate(vocab)}, lowercase=False)
    tokenizer.save_pretrained(tmp_path)
    loaded = WordPieceTokenizer.from_pretrained(tmp_path)
    assert not loaded.lowercase and loaded.vocab == tokenizer.vocab
    reference = transformers.BertTokenizer.from_pretrained(tmp_path)
    for text in ["我爱北京,AB a é", "我爱[MASK]京", "Ab ab ée"]:
        assert loaded.tokenize(text) == reference.tokenize(text)
        assert loaded.encode(text)["input_ids"] == reference(text)["input_ids"]
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        WordPieceTokenizer({t: i for i, t in enumerate(vocab[:4])})
