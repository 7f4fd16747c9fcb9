"""rnn2bert.pretraining: the masking rule, NSP pairs and packing, and a tiny training run."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from rnn2bert.bert import BertConfig, BertForPreTraining
from rnn2bert.pretraining import (
    IGNORE,
    SentencePair,
    chunk_segments,
    collate,
    evaluate,
    fill_mask,
    mask_tokens,
    nsp_pairs,
    pack_pair,
    pack_pairs,
    pretrain,
    pretraining_batches,
    pretraining_loss,
    tokenize_words,
    truncate_pair,
    unigram_baseline,
    unigram_counts,
    whole_word_mask,
)
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
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    other = masked(ids, generator=torch.Generator().manual_seed(8))
    assert not torch.equal(other[1], first[1])  # another seed, another mask
    inputs, labels = masked(
        ids, mask_frac=1.0, random_frac=0.0, generator=torch.Generator().manual_seed(7)
    )
    assert torch.equal(inputs[labels != IGNORE], torch.full_like(inputs[labels != IGNORE], MASK))


def test_whole_word_mask_takes_whole_words():
    tokens, word_ids = tokenize_words(["我", "喜欢", "北京", "天安门"], list)
    assert tokens == list("我喜欢北京天安门") and word_ids == [0, 1, 1, 2, 2, 3, 3, 3]
    g = torch.Generator().manual_seed(0)
    # 40 words, 2.5 tokens each
    words = torch.randint(0, 40, (256, 100), generator=g).sort(dim=1).values
    ids = torch.randint(len(SPECIAL), V, words.shape, generator=g)
    inputs, labels = whole_word_mask(
        ids, words, vocab_size=V, mask_token_id=MASK, special_token_ids=SPECIAL, generator=g
    )
    chosen = labels != IGNORE
    # 15 % of the tokens, as before
    assert chosen.float().mean().item() == pytest.approx(0.15, abs=0.02)
    for row_words, row_chosen in zip(words, chosen, strict=True):
        for w in row_words.unique():
            assert row_chosen[row_words == w].unique().numel() == 1  # all of a word, or none
    no_word = torch.full_like(words, -1)
    _, labels = whole_word_mask(
        ids, no_word, vocab_size=V, mask_token_id=MASK, special_token_ids=SPECIAL
    )
    assert (labels == IGNORE).all()


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
    assert chunk_segments([[1] * 3, [2] * 3, [3] * 5, [4] * 9], 6) == [
        [1, 1, 1, 2, 2, 2],
        [3] * 5,
        [4] * 9,
    ]
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
    pairs = [
        SentencePair("my dog is cute", "he likes playing", True),
        SentencePair("the cat sat on the mat", "she is cute", False),
    ]
    batch = pack_pairs(pairs, tokenizer, max_len=9)
    first = tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    # b truncated
    assert first == ["[CLS]", "[UNK]", "dog", "is", "[SEP]", "he", "likes", "play", "[SEP]"]
    assert batch["token_type_ids"][0].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    # 0 = is next, as in BERT and Hugging Face
    assert batch["next_sentence_label"].tolist() == [0, 1]
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
    sequences = [
        pack_pair(x.tolist(), y.tolist(), max_len=length, cls_id=CLS, sep_id=SEP)
        for x, y in zip(a, b, strict=True)
    ]
    examples = collate(sequences, pad_id=PAD, length=length)
    examples["next_sentence_label"] = (~is_next).long()
    return examples


# A BERT small enough to train in seconds on tiny_examples (ids below 60), and its masking rule.
TINY = dict(
    vocab_size=60,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=32,
)


def tiny_mask():
    return functools.partial(
        mask_tokens,
        vocab_size=60,
        mask_token_id=MASK,
        special_token_ids=SPECIAL,
        generator=torch.Generator().manual_seed(0),
    )


def test_pretraining_reduces_the_loss():
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**TINY))
    mask = tiny_mask()
    batches = pretraining_batches(
        tiny_examples(), mask, batch_size=32, generator=torch.Generator().manual_seed(0)
    )
    batch = next(batches)
    model.eval()  # no dropout: the two computations see the same network
    assert pretraining_loss(model, batch)[0].item() == pytest.approx(
        model(**batch).loss.item(), rel=1e-5
    )
    history = pretrain(model, batches, steps=60, lr=1e-2, progress=False)
    assert len(history["loss"]) == 60 and history["seconds"] > 0
    assert sum(history["loss"][-10:]) / 10 < sum(history["loss"][:10]) / 10 - 0.1
    assert not model.training

    test = tiny_examples(n=128, seed=1)
    test["input_ids"], test["labels"] = mask(test["input_ids"])
    scores = evaluate(model, [test])
    chosen = test["labels"] != IGNORE
    assert scores["masked_positions"] == chosen.sum()
    with torch.no_grad():  # the reference: the full forward pass, every position scored
        out = model(**test)
    mlm, labels = out.prediction_logits[chosen], test["labels"][chosen]
    nsp_hits = out.seq_relationship_logits.argmax(-1) == test["next_sentence_label"]
    assert scores["mlm_accuracy"] == pytest.approx(
        (mlm.argmax(-1) == labels).double().mean().item()
    )
    assert scores["nsp_accuracy"] == pytest.approx(nsp_hits.double().mean().item())
    assert scores["mlm_loss"] == pytest.approx(F.cross_entropy(mlm, labels).item(), rel=1e-5)
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
    mask = tiny_mask()
    for dynamic, same in ((False, True), (True, False)):
        stream = pretraining_batches(
            examples,
            mask,
            batch_size=64,
            dynamic=dynamic,
            generator=torch.Generator().manual_seed(0),
        )
        first, second = next(stream), next(stream)  # two epochs: the same 64 examples, reshuffled
        masks = [sorted(map(tuple, batch["labels"].tolist())) for batch in (first, second)]
        assert (masks[0] == masks[1]) == same


def test_fill_mask(tokenizer):
    """Each [MASK] gets the top-k of the model's own distribution at its position (the reference:
    the full forward's logits there), best first, as tokens with probabilities."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
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


# ----------------------------------------------------------------------------- devices
def made_on_the_input_device(compute):
    """``compute()`` (CPU inputs) run again while the default device is ``meta``: a tensor made
    without ``device=`` lands on ``meta``, and mixing it with the CPU inputs fails, or leaves a
    result on ``meta``. Returns both runs' tensors, flattened, for comparison."""

    def tensors(result):
        if isinstance(result, torch.Tensor):
            return [result]
        return [t for part in result for t in tensors(part)]

    want = tensors(compute())
    with torch.device("meta"):
        got = tensors(compute())
    assert [t.device.type for t in got] == ["cpu"] * len(want)
    return got, want


def test_masking_and_the_heads_make_their_tensors_on_the_input_device(tokenizer):
    """What runs on a batch (masking, the rows the heads read, the loss, the count baselines,
    fill-mask) makes every tensor on the batch's (or the model's) device, so the same code runs
    on a GPU. Checked without one: the default device is moved away and the results must stay
    on the inputs' device with the same values."""
    from rnn2bert.baselines import bigram_counts, neighbours
    from rnn2bert.pretraining import rows_for_heads

    ids = padded_batch(8, 16)
    words = torch.arange(16).expand(8, 16) // 2  # two tokens a word
    torch.manual_seed(0)
    model, filler = (
        BertForPreTraining(
            BertConfig(
                vocab_size=n,
                hidden_size=16,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=32,
                max_position_embeddings=16,
            )
        ).eval()
        for n in (V, len(tokenizer))
    )
    batch = {
        "input_ids": ids,
        "token_type_ids": torch.zeros_like(ids),
        "attention_mask": (ids != PAD).long(),
        "next_sentence_label": torch.tensor([0, 1] * 4),
    }
    seeded = lambda: torch.Generator().manual_seed(3)
    batch["input_ids"], batch["labels"] = masked(ids, generator=seeded())
    chosen = batch["labels"] != IGNORE
    chosen[:, 0] = False  # the heads' fast path: no label on [CLS]
    batch["labels"][:, 0] = IGNORE
    runs = {
        "mask_tokens": lambda: masked(ids, generator=seeded()),
        "mask_tokens, unseeded": lambda: masked(ids)[1] == IGNORE,  # which: random; the device
        "whole_word_mask": lambda: whole_word_mask(
            ids,
            words,
            vocab_size=V,
            mask_token_id=MASK,
            special_token_ids=SPECIAL,
            generator=seeded(),
        ),
        "rows_for_heads": lambda: rows_for_heads(chosen),
        "pretraining_loss": lambda: pretraining_loss(model, batch),
        "neighbours": lambda: neighbours(batch["input_ids"], chosen, SPECIAL),
        "bigram_counts": lambda: bigram_counts(ids, V, SPECIAL),
    }
    for name, compute in runs.items():
        got, want = made_on_the_input_device(compute)
        if name != "mask_tokens, unseeded":
            for g, w in zip(got, want, strict=True):
                torch.testing.assert_close(g, w, msg=name)
    want = fill_mask(filler, tokenizer, "the [MASK]")  # a model on the CPU reads a CPU input
    with torch.device("meta"):
        assert fill_mask(filler, tokenizer, "the [MASK]") == want


def test_neighbours_of_the_chosen_positions():
    """The count baselines read the visible neighbours: -1 outside the sequence or at a token
    in ``unknown_ids``."""
    from rnn2bert.baselines import neighbours

    inputs = torch.tensor([[CLS, 5, MASK, 6, SEP], [CLS, 7, 8, SEP, PAD]])
    chosen = torch.tensor([[False, True, True, False, False], [True, False, True, False, False]])
    left, right = neighbours(inputs, chosen, SPECIAL)
    assert left.tolist() == [-1, 5, -1, 7]
    assert right.tolist() == [-1, 6, 7, -1]


def first_steps(device: str) -> list[float]:
    """Two pretraining steps and two fine-tuning steps of the same small models (no dropout, fp32,
    a small learning rate: AdamW's first steps amplify rounding in near-zero gradients)
    on ``device``, fed CPU batches (``training.train`` moves them): the losses of each step, the
    eval scores, and the seeded masks of a batch that lives on ``device``."""
    from rnn2bert.finetuning import SequenceClassifier, batches, fine_tune, predict

    config = BertConfig(**TINY, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    model = BertForPreTraining(config).to(device)
    mask = tiny_mask()
    stream = pretraining_batches(
        tiny_examples(n=64), mask, batch_size=32, generator=torch.Generator().manual_seed(0)
    )
    history = pretrain(model, stream, steps=2, lr=1e-4, precision="fp32", progress=False)
    test = tiny_examples(n=32, seed=1)
    test["input_ids"], test["labels"] = mask(test["input_ids"])
    scores = evaluate(model, [{k: t.to(device) for k, t in test.items()}])
    on_device = masked(padded_batch(8, 16).to(device), generator=torch.Generator().manual_seed(7))
    assert all(t.device.type == device for t in on_device)

    torch.manual_seed(0)
    classifier = SequenceClassifier(model.bert, 2, dropout=0.0)
    examples = {k: test[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    examples["labels"] = test["next_sentence_label"]
    tuned = fine_tune(
        classifier,
        batches(examples, 16, torch.Generator().manual_seed(0)),
        steps=2,
        lr=1e-4,
        precision="fp32",
        progress=False,
    )
    logits = torch.cat(
        [
            o.logits.cpu()
            for o in predict(classifier, {k: t.to(device) for k, t in examples.items()})
        ]
    )
    return [
        *history["loss"],
        scores["mlm_loss"],
        *tuned["loss"],
        *logits.flatten().tolist(),
        *torch.cat([t.cpu().flatten() for t in on_device]).tolist(),
    ]


@pytest.mark.cuda
def test_a_pretraining_and_a_fine_tuning_step_on_cuda():
    """The same steps on the GPU as on the CPU: masking, the pretraining loss at the labelled
    rows, evaluation, fine-tuning and prediction run there and give the CPU's numbers."""
    assert first_steps("cuda") == pytest.approx(first_steps("cpu"), abs=1e-3)
