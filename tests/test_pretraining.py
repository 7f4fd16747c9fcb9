"""rnn2bert.pretraining: the masking rule, NSP pairs and packing, and a tiny training run."""
from __future__ import annotations

import functools

import pytest
import torch

from rnn2bert.bert import BertConfig, BertForPreTraining
from rnn2bert.pretraining import (
    IGNORE, SentencePair, chunk_segments, collate, evaluate, fill_mask, mask_tokens, nsp_pairs,
    pack_pair, pack_pairs, pretrain, pretraining_batches, pretraining_loss, tokenize_words,
    truncate_pair, unigram_baseline, unigram_counts, whole_word_mask)
from rnn2bert.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer

PAD, UNK, CLS, SEP, MASK = range(5)
SPECIAL = [PAD, UNK, CLS, SEP, MASK]
V = 1000


def padded_batch(batch: int = 256, length: int = 128, seed: int = 0) -> torch.Tensor:
    """(batch, length) ids: [CLS] words [SEP] then padding, with random lengths."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(len(SPECIAL), V, (batch, length), generator=g)
    lengths = torch.randint(length // 4, length, (batch,), generator=g)
    ids[:, 0] = CLS
    ids[torch.arange(batch), lengths - 1] = SEP
    ids[torch.arange(length) >= lengths[:, None]] = PAD
    return ids


def masked(ids, **kwargs):
    return mask_tokens(ids, vocab_size=V, mask_token_id=MASK, special_token_ids=SPECIAL, **kwargs)


def test_mask_tokens_statistics():
    ids = padded_batch()
    inputs, labels = masked(ids, generator=torch.Generator().manual_seed(1))
    chosen = labels != IGNORE
    special = torch.isin(ids, torch.tensor(SPECIAL))
    assert not (chosen & special).any()  # [CLS], [SEP], [PAD] are never chosen
    assert chosen.sum() / (~special).sum() == pytest.approx(0.15, abs=0.01)
    assert torch.equal(labels[chosen], ids[chosen])  # labels: the original ids
    assert torch.equal(inputs[~chosen], ids[~chosen])  # nothing else changes
    n = chosen.sum()
    to_mask = (inputs == MASK) & chosen
    unchanged = (inputs == ids) & chosen
    to_random = chosen & ~to_mask & ~unchanged
    assert to_mask.sum() / n == pytest.approx(0.8, abs=0.02)
    # a random token equals the original 1 time in ~995: "unchanged" is 10 % + a hair
    assert unchanged.sum() / n == pytest.approx(0.1, abs=0.015)
    assert to_random.sum() / n == pytest.approx(0.1, abs=0.015)
    assert not torch.isin(inputs[to_random], torch.tensor(SPECIAL)).any()


def test_mask_tokens_is_reproducible_and_configurable():
    ids = padded_batch(32)
    first = masked(ids, generator=torch.Generator().manual_seed(7))
    second = masked(ids, generator=torch.Generator().manual_seed(7))
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    inputs, labels = masked(ids, mask_frac=1.0, random_frac=0.0, generator=torch.Generator().manual_seed(7))
    assert torch.equal(inputs[labels != IGNORE], torch.full_like(inputs[labels != IGNORE], MASK))


def test_whole_word_mask_takes_whole_words():
    tokens, word_ids = tokenize_words(["我", "喜欢", "北京", "天安门"], list)
    assert tokens == list("我喜欢北京天安门") and word_ids == [0, 1, 1, 2, 2, 3, 3, 3]
    g = torch.Generator().manual_seed(0)
    words = torch.randint(0, 40, (256, 100), generator=g).sort(dim=1).values  # 40 words, 2.5 tokens each
    ids = torch.randint(len(SPECIAL), V, words.shape, generator=g)
    inputs, labels = whole_word_mask(ids, words, vocab_size=V, mask_token_id=MASK, special_token_ids=SPECIAL,
                                     generator=g)
    chosen = labels != IGNORE
    assert chosen.float().mean().item() == pytest.approx(0.15, abs=0.02)  # 15 % of the tokens, as before
    for row_words, row_chosen in zip(words, chosen):
        for w in row_words.unique():
            assert row_chosen[row_words == w].unique().numel() == 1  # all of a word, or none
    no_word = torch.full_like(words, -1)
    assert (whole_word_mask(ids, no_word, vocab_size=V, mask_token_id=MASK, special_token_ids=SPECIAL)[1]
            == IGNORE).all()


def documents(n_docs: int = 40, n_segments: int = 30) -> list[list[str]]:
    return [[f"d{d}s{s}" for s in range(n_segments)] for d in range(n_docs)]


def test_nsp_pairs_are_half_real_half_random():
    docs = documents()
    pairs = nsp_pairs(docs, seed=0)
    assert pairs == nsp_pairs(docs, seed=0) and pairs != nsp_pairs(docs, seed=1)
    assert len(pairs) == 40 * 29
    assert sum(p.is_next for p in pairs) / len(pairs) == pytest.approx(0.5, abs=0.05)
    for a, b, is_next in pairs:
        doc_a, seg_a = a[1:].split("s")
        doc_b, seg_b = b[1:].split("s")
        if is_next:
            assert doc_a == doc_b and int(seg_b) == int(seg_a) + 1
        else:
            assert doc_a != doc_b  # negatives always come from another document
    with pytest.raises(ValueError):
        nsp_pairs(docs[:1])


def test_chunks_and_truncation():
    assert chunk_segments([[1] * 3, [2] * 3, [3] * 5, [4] * 9], 6) == [[1, 1, 1, 2, 2, 2], [3] * 5, [4] * 9]
    assert truncate_pair([1] * 10, [2] * 4, 8) == ([1] * 4, [2] * 4)
    assert truncate_pair([1] * 3, [2] * 9, 8) == ([1] * 3, [2] * 5)
    ids, types = pack_pair([7, 8], [9], max_len=10, cls_id=CLS, sep_id=SEP)
    assert ids == [CLS, 7, 8, SEP, 9, SEP] and types == [0, 0, 0, 0, 1, 1]
    batch = collate([(ids, types), ([CLS, 5, SEP], [0, 0, 0])], pad_id=PAD)
    assert batch["input_ids"].tolist() == [ids, [CLS, 5, SEP, PAD, PAD, PAD]]
    assert batch["attention_mask"].tolist() == [[1] * 6, [1, 1, 1, 0, 0, 0]]
    assert batch["token_type_ids"][1].tolist() == [0] * 6


@pytest.fixture(scope="module")
def tokenizer() -> WordPieceTokenizer:
    words = "the a dog cat is cute he she likes play ##ing sat on mat".split()
    return WordPieceTokenizer({t: i for i, t in enumerate(list(SPECIAL_TOKENS) + words)})


def test_pack_pairs_layout(tokenizer):
    pairs = [SentencePair("my dog is cute", "he likes playing", True),
             SentencePair("the cat sat on the mat", "she is cute", False)]
    batch = pack_pairs(pairs, tokenizer, max_len=9)
    first = tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    assert first == ["[CLS]", "[UNK]", "dog", "is", "[SEP]", "he", "likes", "play", "[SEP]"]  # b truncated
    assert batch["token_type_ids"][0].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert batch["next_sentence_label"].tolist() == [0, 1]  # 0 = is next, as in BERT and Hugging Face
    assert batch["attention_mask"].shape == (2, 9)


def tiny_examples(n: int = 512, length: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    """Learnable toy data: A counts up from a random start (mod 55); B continues the count
    when the pair is "next", else counts from another random start."""
    g = torch.Generator().manual_seed(seed)
    half = (length - 3) // 2
    count = lambda start, offset: len(SPECIAL) + (start[:, None] + offset + torch.arange(half)) % 55  # noqa: E731
    start, other = torch.randint(0, 55, (2, n), generator=g)
    is_next = torch.rand(n, generator=g) < 0.5
    a, b = count(start, 0), torch.where(is_next[:, None], count(start, half), count(other, 0))
    sequences = [pack_pair(x.tolist(), y.tolist(), max_len=length, cls_id=CLS, sep_id=SEP) for x, y in zip(a, b)]
    examples = collate(sequences, pad_id=PAD, length=length)
    examples["next_sentence_label"] = (~is_next).long()
    return examples


def test_pretraining_reduces_the_loss():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32)
    model = BertForPreTraining(config)
    mask = functools.partial(mask_tokens, vocab_size=60, mask_token_id=MASK, special_token_ids=SPECIAL,
                             generator=torch.Generator().manual_seed(0))
    batches = pretraining_batches(tiny_examples(), mask, batch_size=32, generator=torch.Generator().manual_seed(0))
    batch = next(batches)
    model.eval()  # no dropout: the two computations see the same network
    assert pretraining_loss(model, batch)[0].item() == pytest.approx(model(**batch).loss.item(), rel=1e-5)
    history = pretrain(model, batches, steps=60, lr=1e-2, progress=False)
    assert len(history["loss"]) == 60 and history["seconds"] > 0
    assert sum(history["loss"][-10:]) / 10 < sum(history["loss"][:10]) / 10 - 0.1
    assert not model.training

    test = tiny_examples(n=128, seed=1)
    test["input_ids"], test["labels"] = mask(test["input_ids"])
    scores = evaluate(model, [test])
    assert scores["masked_positions"] == (test["labels"] != IGNORE).sum()
    assert 0 <= scores["mlm_accuracy"] <= 1 and 0 <= scores["nsp_accuracy"] <= 1
    assert scores["mlm_loss"] < 4.2  # below log(60), the loss of a uniform guess


def test_unigram_baseline():
    ids = torch.tensor([[CLS, 5, 5, 5, 6, SEP, PAD]])
    counts = unigram_counts(ids, vocab_size=8, special_token_ids=SPECIAL)
    assert counts.tolist() == [0, 0, 0, 0, 0, 3, 1, 0]
    labels = torch.tensor([[IGNORE, 5, IGNORE, 6, 6, IGNORE, 7]])
    baseline = unigram_baseline(counts, labels)
    assert baseline["accuracy"] == pytest.approx(1 / 4)  # "5" is right at one of four positions
    p = (counts + 1) / (counts + 1).sum()  # add-one smoothing: 7 never occurred
    assert baseline["loss"] == pytest.approx(-(p[5].log() + 2 * p[6].log() + p[7].log()).item() / 4)


def test_static_masking_repeats_the_mask():
    examples = tiny_examples(n=64)
    mask = functools.partial(mask_tokens, vocab_size=60, mask_token_id=MASK, special_token_ids=SPECIAL,
                             generator=torch.Generator().manual_seed(0))
    for dynamic, same in ((False, True), (True, False)):
        stream = pretraining_batches(examples, mask, batch_size=64, dynamic=dynamic,
                                     generator=torch.Generator().manual_seed(0))
        first, second = next(stream), next(stream)  # two epochs: the same 64 examples, reshuffled
        masks = [sorted(map(tuple, batch["labels"].tolist())) for batch in (first, second)]
        assert (masks[0] == masks[1]) == same


def test_fill_mask(tokenizer):
    """Each [MASK] gets the top-k of the model's own distribution at its position (the reference:
    the full forward's logits there), best first, as tokens with probabilities."""
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16)
    model = BertForPreTraining(config)
    text = "the [MASK] is [MASK]"
    tops = fill_mask(model, tokenizer, text, top_k=3)
    ids = torch.tensor([tokenizer.encode(text)["input_ids"]])
    with torch.no_grad():
        logits = model.eval()(ids).prediction_logits[0]  # (L, V)
    positions = (ids[0] == tokenizer.mask_token_id).nonzero().flatten().tolist()
    assert len(positions) == 2
    for top, position in zip(tops, positions, strict=True):
        want = logits[position].softmax(-1).topk(3)
        assert [token for token, _ in top] == tokenizer.convert_ids_to_tokens(want.indices.tolist())
        assert [p for _, p in top] == pytest.approx(want.values.tolist(), abs=1e-4)
    assert tops[0] != tops[1]  # each position has its own distribution
