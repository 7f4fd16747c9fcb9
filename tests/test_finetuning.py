"""Fine-tuning heads against Hugging Face's, number for number; spans, labels and scores by hand."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the internet

import pytest
import torch

from conftest import require
from rnn2bert.bert import BertConfig, BertModel, hf_to_book_name
from rnn2bert.finetuning import (
    IGNORE,
    SequenceClassifier,
    SpanExtractor,
    TokenClassifier,
    align_labels,
    batches,
    best_span,
    bio_entities,
    encode_words,
    entity_f1,
    features,
    fine_tune,
    logistic_regression,
    pad,
    predict,
    span_f1,
    span_scores,
    trim,
)
from rnn2bert.tokenizer import WordPieceTokenizer
from test_bert import batch, randomize  # the same random weights and inputs as the BertModel tests

transformers = require("transformers")

SMALL = dict(
    vocab_size=100,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=128,
    max_position_embeddings=32,
)


def hf_and_book(hf_class: str, make_book, num_labels: int = 5):
    """A Hugging Face task model with random weights, and the book's with the same weights."""
    config = BertConfig(**SMALL)
    hf_config = transformers.BertConfig(**config.to_dict(), num_labels=num_labels)
    hf = getattr(transformers, hf_class)._from_config(hf_config, attn_implementation="eager")
    randomize(hf)
    book = make_book(BertModel(config))
    state = {hf_to_book_name(k): v for k, v in hf.state_dict().items() if "position_ids" not in k}
    missing, unexpected = book.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("bert.pooler.") for k in missing), (
        missing,
        unexpected,
    )
    return hf.eval(), book.eval()


def inputs():
    """test_bert's two sentence pairs (the second padded), as keyword arguments."""
    input_ids, token_type_ids, attention_mask = batch()
    return dict(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask)


def close(a, b):
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_sequence_classifier_equals_hugging_face():
    hf, book = hf_and_book(
        "BertForSequenceClassification", lambda bert: SequenceClassifier(bert, 5)
    )
    labels = torch.tensor([1, 4])
    with torch.no_grad():
        want, got = hf(**inputs(), labels=labels), book(**inputs(), labels=labels)
    assert got.logits.shape == (2, 5)
    close(got.logits, want.logits)
    close(got.loss, want.loss)


def test_mean_pooling_classifier():
    """``pooling="mean"``: the classifier reads the mean of Hugging Face's last hidden states over
    the real tokens (the padding of the second pair left out), not the pooler."""
    hf, book = hf_and_book(
        "BertForSequenceClassification", lambda bert: SequenceClassifier(bert, 5, pooling="mean")
    )
    x = inputs()
    with torch.no_grad():
        T = hf.bert(**x).last_hidden_state  # (2, 9, H)
        lengths = x["attention_mask"].sum(1)
        mean = torch.stack([T[b, : int(n)].mean(0) for b, n in enumerate(lengths)])
        close(book(**x).logits, book.classifier(mean))
        # the padding does not count: the second pair alone, unpadded, gives the same logits
        n = int(lengths[1])
        alone = {k: v[1:, :n] for k, v in x.items()}
        close(book(**alone).logits, book(**x).logits[1:])
    assert lengths[1] < x["input_ids"].size(1)  # the second pair is padded
    with pytest.raises(ValueError):
        SequenceClassifier(BertModel(BertConfig(**SMALL)), 2, pooling="max")


def test_token_classifier_equals_hugging_face():
    hf, book = hf_and_book("BertForTokenClassification", lambda bert: TokenClassifier(bert, 5))
    labels = torch.randint(0, 5, (2, 9), generator=torch.Generator().manual_seed(2))
    labels[:, 0] = labels[1, 7:] = IGNORE
    with torch.no_grad():
        want, got = hf(**inputs(), labels=labels), book(**inputs(), labels=labels)
    assert got.logits.shape == (2, 9, 5)
    close(got.logits, want.logits)
    close(got.loss, want.loss)


def test_span_extractor_equals_hugging_face():
    hf, book = hf_and_book("BertForQuestionAnswering", SpanExtractor, num_labels=2)
    start, end = torch.tensor([2, 3]), torch.tensor([4, 3])
    with torch.no_grad():
        want = hf(**inputs(), start_positions=start, end_positions=end)
        got = book(**inputs(), start_positions=start, end_positions=end)
        T = book.bert(**inputs()).last_hidden_state
    close(got.start_logits, want.start_logits)
    close(got.end_logits, want.end_logits)
    close(got.loss, want.loss)
    # S and E are the two rows of qa_outputs: start score S·T_i + b_S
    close(got.start_logits, T @ book.S + book.qa_outputs.bias[0])
    close(got.end_logits, T @ book.E + book.qa_outputs.bias[1])


def brute_force_span(s, e, max_len=None, allowed=None):
    best, arg = -float("inf"), None
    for i, j in itertools.product(range(len(s)), repeat=2):
        ok = j >= i and (max_len is None or j - i < max_len)
        ok = ok and (allowed is None or (allowed[i] and allowed[j]))
        if ok and s[i] + e[j] > best:
            best, arg = s[i] + e[j], (i, j)
    return arg


@pytest.mark.parametrize("max_len", [None, 1, 3])
def test_best_span_equals_brute_force(max_len):
    g = torch.Generator().manual_seed(3)
    s, e = torch.randn(20, 11, generator=g), torch.randn(20, 11, generator=g)
    allowed = torch.rand(20, 11, generator=g) < 0.7
    allowed[:, 5] = True
    for mask in (None, allowed):
        starts, ends = best_span(s, e, max_len, mask)
        for b in range(20):
            want = brute_force_span(
                s[b].tolist(), e[b].tolist(), max_len, None if mask is None else mask[b].tolist()
            )
            assert (starts[b].item(), ends[b].item()) == want
            assert ends[b] >= starts[b]


def test_best_span_never_ends_before_it_starts():
    start = torch.tensor([[0.0, 0.0, 9.0, 0.0]])  # the best start comes after the best end
    end = torch.tensor([[0.0, 8.0, 0.0, 0.0]])
    assert [t.item() for t in best_span(start, end)] == [2, 2]
    assert span_scores(start, end)[0, 2, 1] == float("-inf")


def test_align_labels():
    assert align_labels([None, 0, 1, 1, 2, None], [3, 0, 5]) == [IGNORE, 3, 0, IGNORE, 5, IGNORE]
    assert align_labels([None, 0, 0, 0, None, None], [7]) == [
        IGNORE,
        7,
        IGNORE,
        IGNORE,
        IGNORE,
        IGNORE,
    ]
    # two words, same label
    assert align_labels([None, 0, 1, None], [1, 1]) == [IGNORE, 1, 1, IGNORE]


def test_encode_words_with_wordpieces():
    vocab = {
        t: i
        for i, t in enumerate(
            [
                "[PAD]",
                "[UNK]",
                "[CLS]",
                "[SEP]",
                "[MASK]",
                "john",
                "lives",
                "in",
                "new",
                "york",
                "play",
                "##ing",
            ]
        )
    }
    tokenizer = WordPieceTokenizer(vocab)
    e = encode_words(["John", "playing", "in", "York"], [1, 0, 0, 3], tokenizer)
    assert tokenizer.convert_ids_to_tokens(e["input_ids"]) == [
        "[CLS]",
        "john",
        "play",
        "##ing",
        "in",
        "york",
        "[SEP]",
    ]
    assert e["word_ids"] == [None, 0, 1, 1, 2, 3, None]
    assert e["labels"] == [IGNORE, 1, 0, IGNORE, 0, 3, IGNORE]
    padded = pad([e, encode_words(["in"], [0], tokenizer)])
    assert padded["labels"][1].tolist() == [IGNORE, 0, IGNORE] + [IGNORE] * 4
    assert padded["attention_mask"][1].tolist() == [1, 1, 1, 0, 0, 0, 0]
    assert "word_ids" not in padded


def test_bio_entities_and_f1():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "I-ORG", "O", "I-PER"]
    assert bio_entities(tags) == {
        ("PER", 0, 1),
        ("LOC", 3, 3),
        ("LOC", 4, 5),
        ("ORG", 6, 6),
        ("PER", 8, 8),
    }
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["O", "B-ORG", "O"]]  # 1 right, 1 missed, 1 wrong end
    scores = entity_f1(gold, pred)
    assert scores["precision"] == pytest.approx(1 / 2) and scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(0.4)
    assert entity_f1([["O"]], [["O"]])["f1"] == 0.0


def test_span_f1():
    scores = span_f1(["Lord Hamlet", "Horatio", "the ghost"], ["Hamlet", "Horatio", "Ghost"])
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)


def test_batches_trim_shared_padding():
    examples = {
        "input_ids": torch.tensor([[2, 5, 3, 0, 0], [2, 6, 7, 3, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]]),
        "labels": torch.tensor([0, 1]),
    }
    batch = next(batches(examples, batch_size=2, generator=torch.Generator().manual_seed(0)))
    assert batch["input_ids"].shape == (2, 4) and batch["labels"].shape == (2,)
    assert trim(examples)["attention_mask"].shape == (2, 4)


def test_fine_tune_learns_a_toy_task():
    """Label = is token 7 in the sequence? A small BERT learns it; predict returns the batches."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    input_ids = torch.randint(5, 20, (256, 8), generator=g)
    input_ids[:, 0] = 2
    labels = (input_ids == 7).any(1).long()
    examples = {
        "input_ids": input_ids,
        "token_type_ids": torch.zeros_like(input_ids),
        "attention_mask": torch.ones_like(input_ids),
        "labels": labels,
    }
    model = SequenceClassifier(BertModel(BertConfig(**SMALL)), 2)
    history = fine_tune(model, batches(examples, 32, g), steps=150, lr=3e-3, progress=False)
    assert history["loss"][-1] < history["loss"][0]
    logits = torch.cat([o.logits for o in predict(model, examples)])
    assert (logits.argmax(-1) == labels).float().mean() > 0.9
    assert not model.training


def test_features_and_logistic_regression():
    bert = BertModel(BertConfig(**SMALL)).eval()
    b = inputs()
    assert features(bert, b, "cls").shape == (2, 64)
    mean = features(bert, b, "mean")
    with torch.no_grad():
        T = bert(**b).last_hidden_state
    close(mean[1], T[1, :7].mean(0))  # padding left out of the mean
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 3, generator=g)
    y = (X[:, 0] - 2 * X[:, 1] > 0).long()
    classifier = logistic_regression(X, y, weight_decay=1e-4)
    assert (classifier(X).argmax(-1) == y).float().mean() > 0.97


def test_token_classifier_label_weights_equal_weighted_cross_entropy():
    """``label_weights`` gives PyTorch's weighted mean cross-entropy over the labels that are not
    -100."""
    torch.manual_seed(0)
    weights = torch.tensor([0.2, 1.0, 1.0, 2.0, 1.0])
    model = TokenClassifier(BertModel(BertConfig(**SMALL)), 5, label_weights=weights).eval()
    x = inputs()
    labels = torch.randint(0, 5, x["input_ids"].shape, generator=torch.Generator().manual_seed(2))
    labels[:, 0] = IGNORE
    out = model(**x, labels=labels)
    logits = out.logits.flatten(0, 1)
    keep = labels.flatten() != IGNORE
    nll = -logits.log_softmax(-1)[keep].gather(1, labels.flatten()[keep, None]).squeeze(1)
    w = weights[labels.flatten()[keep]]
    close(out.loss, (w * nll).sum() / w.sum())
    assert "label_weights" not in model.state_dict()


def test_fine_tune_head_lr_is_the_rate_of_the_head_only():
    """With ``head_lr`` the head (outside ``model.bert``) gets its own peak learning rate."""
    torch.manual_seed(0)
    model = SequenceClassifier(BertModel(BertConfig(**SMALL)), 2)
    examples = {**inputs(), "labels": torch.tensor([0, 1])}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fine_tune(
        model, batches(examples, 2), steps=1, lr=0.0, head_lr=1e-2, warmup=0.0, progress=False
    )
    moved = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert moved == {"classifier.weight", "classifier.bias"}
