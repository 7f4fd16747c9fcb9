"""Fine-tuning BERT (chapter 10): one pretrained encoder, a small head per task · 微调。

The four task shapes of the BERT paper (Devlin et al., 2019, figure 4), each a BERT plus
one linear layer:

* ``SequenceClassifier`` — one label per sequence (a sentence or a pair ``[CLS] A [SEP] B
  [SEP]``): dropout and a linear layer on the pooled ``[CLS]`` vector (or, ``pooling="mean"``,
  on the mean of the token vectors, ``mean_pool``).
* ``TokenClassifier`` — one label per token (named entities): a linear layer on every
  token's vector. ``align_labels`` gives a word's label to its first WordPiece and -100
  (ignored) to the others, to ``[CLS]``, ``[SEP]`` and the padding.
* ``SpanExtractor`` — extractive question answering: a start vector S and an end vector E;
  the span i..j scores ``S·T_i + E·T_j``; ``best_span`` finds the best one with j ≥ i.

The heads use Hugging Face's parameter names (``classifier``, ``qa_outputs``) and give the
same numbers as ``BertForSequenceClassification``, ``BertForTokenClassification`` and
``BertForQuestionAnswering`` with the same weights (tested). ``fine_tune`` trains any of
them, ``predict`` runs one over a data set; ``entity_f1`` and ``span_f1`` score the results;
``logistic_regression`` is the simple classifier of the feature-based (frozen) approach.

Shapes: B = batch, L = sequence length, H = hidden size, C = number of labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .bert import BertModel
from .training import IGNORE, TrainConfig, train

# -- the heads ---------------------------------------------------------------------------


@dataclass
class TaskOutput:
    """``loss`` (None without labels); ``logits`` (B, C) or (B, L, C)."""

    loss: torch.Tensor | None
    logits: torch.Tensor


@dataclass
class SpanOutput:
    """``loss`` (None without positions); ``start_logits`` and ``end_logits`` (B, L)."""

    loss: torch.Tensor | None
    start_logits: torch.Tensor
    end_logits: torch.Tensor


class SequenceClassifier(nn.Module):
    """BERT + dropout + ``Linear(H, C)`` on one vector that summarises the sequence.

    ``pooling="cls"`` (BERT's): the pooled ``[CLS]`` vector ``tanh(W h_[CLS] + b)``, the same
    numbers as Hugging Face's ``BertForSequenceClassification``. ``pooling="mean"``: the mean of
    the last layer's vectors of the real tokens (padding left out), as Sentence-BERT (Reimers &
    Gurevych, 2019) reads a sentence; it skips the pooler, which pretraining fitted to NSP only.

    ``forward(input_ids (B, L), token_type_ids, attention_mask, labels (B,) = None)`` ->
    ``TaskOutput(loss, logits (B, C))``; the loss is the mean cross-entropy.
    """

    def __init__(
        self, bert: BertModel, num_labels: int, dropout: float | None = None, pooling: str = "cls"
    ):
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(
                f'pooling must be "cls" or "mean", not {pooling!r} · pooling 只能是 "cls" 或 "mean"'
            )
        self.bert, self.pooling = bert, pooling
        self.dropout = nn.Dropout(bert.config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(bert.config.hidden_size, num_labels)
        _init_head(self.classifier, bert)

    def forward(
        self, input_ids, token_type_ids=None, attention_mask=None, labels=None
    ) -> TaskOutput:
        out = self.bert(input_ids, token_type_ids, attention_mask)
        if self.pooling == "cls":
            pooled = out.pooler_output  # (B, H)
        else:
            pooled = mean_pool(out.last_hidden_state, attention_mask)  # (B, H)
        logits = self.classifier(self.dropout(pooled))  # (B, C)
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return TaskOutput(loss, logits)


def mean_pool(T: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The mean of the vectors ``T`` (B, L, H) over the positions where ``attention_mask``
    (B, L) is 1 (all of them without a mask) -> (B, H)."""
    if attention_mask is None:
        return T.mean(1)
    m = attention_mask.unsqueeze(-1).to(T.dtype)  # (B, L, 1)
    return (T * m).sum(1) / m.sum(1).clamp(min=1)


class TokenClassifier(nn.Module):
    """BERT + dropout + ``Linear(H, C)`` on every token's vector T_i.

    ``forward(input_ids (B, L), token_type_ids, attention_mask, labels (B, L) = None)`` ->
    ``TaskOutput(loss, logits (B, L, C))``; the loss averages over the labels that are not -100.
    ``label_weights`` (C,), optional: the weighted cross-entropy, ``Σ w_y · CE / Σ w_y`` (e.g. a
    small weight for a label as frequent as ``O``).
    """

    def __init__(
        self,
        bert: BertModel,
        num_labels: int,
        dropout: float | None = None,
        label_weights: torch.Tensor | None = None,
    ):
        super().__init__()
        self.bert = bert
        self.dropout = nn.Dropout(bert.config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(bert.config.hidden_size, num_labels)
        _init_head(self.classifier, bert)
        self.register_buffer("label_weights", label_weights, persistent=False)  # (C,) or None

    def forward(
        self, input_ids, token_type_ids=None, attention_mask=None, labels=None
    ) -> TaskOutput:
        T = self.bert(input_ids, token_type_ids, attention_mask).last_hidden_state  # (B, L, H)
        logits = self.classifier(self.dropout(T))  # (B, L, C)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(
                logits.flatten(0, 1),
                labels.flatten(),
                weight=self.label_weights,
                ignore_index=IGNORE,
            )
        return TaskOutput(loss, logits)


class SpanExtractor(nn.Module):
    """BERT + a start vector S and an end vector E (the rows of ``qa_outputs``, ``Linear(H, 2)``).

    ``forward(input_ids (B, L), token_type_ids, attention_mask, start_positions (B,) = None,
    end_positions (B,) = None)`` -> ``SpanOutput(loss, start_logits (B, L), end_logits (B, L))``
    with ``start_logits[b, i] = S·T_i + b_S`` and ``end_logits[b, j] = E·T_j + b_E``. The loss is
    the mean of the start and the end cross-entropies (softmax over the L positions).
    """

    def __init__(self, bert: BertModel):
        super().__init__()
        self.bert = bert
        self.qa_outputs = nn.Linear(bert.config.hidden_size, 2)
        _init_head(self.qa_outputs, bert)

    @property
    def S(self) -> torch.Tensor:
        """The start vector, (H,)."""
        return self.qa_outputs.weight[0]

    @property
    def E(self) -> torch.Tensor:
        """The end vector, (H,)."""
        return self.qa_outputs.weight[1]

    def forward(
        self,
        input_ids,
        token_type_ids=None,
        attention_mask=None,
        start_positions=None,
        end_positions=None,
    ) -> SpanOutput:
        T = self.bert(input_ids, token_type_ids, attention_mask).last_hidden_state  # (B, L, H)
        start_logits, end_logits = self.qa_outputs(T).unbind(-1)  # (B, L) each
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = (
                F.cross_entropy(start_logits, start_positions)
                + F.cross_entropy(end_logits, end_positions)
            ) / 2
        return SpanOutput(loss, start_logits, end_logits)


def _init_head(linear: nn.Linear, bert: BertModel) -> None:
    """A new head starts as BERT's other layers do: weights ~ N(0, 0.02²), bias 0."""
    nn.init.normal_(linear.weight, std=bert.config.initializer_range)
    nn.init.zeros_(linear.bias)


# -- spans -------------------------------------------------------------------------------


def span_scores(
    start_logits: torch.Tensor, end_logits: torch.Tensor, max_len: int | None = None
) -> torch.Tensor:
    """``scores[b, i, j] = start_logits[b, i] + end_logits[b, j]`` where the span is allowed
    (``i ≤ j`` and, with ``max_len``, ``j - i < max_len``), ``-inf`` elsewhere.

    ``start_logits``, ``end_logits`` (B, L) -> ``(B, L, L)``.
    """
    L = start_logits.size(-1)
    scores = start_logits[..., :, None] + end_logits[..., None, :]  # (B, L, L)
    i = torch.arange(L, device=start_logits.device)
    allowed = i[None, :] >= i[:, None]  # j ≥ i
    if max_len is not None:
        allowed &= i[None, :] - i[:, None] < max_len
    return scores.masked_fill(~allowed, float("-inf"))


def best_span(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    max_len: int | None = None,
    allowed: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The span (i, j), j ≥ i, with the highest ``start_logits[i] + end_logits[j]``.

    ``start_logits``, ``end_logits`` (B, L); ``allowed`` (B, L) bool, optional: positions a span
    may start and end at (e.g. the passage, not the question). Returns ``(starts (B,), ends (B,))``.
    """
    if allowed is not None:
        start_logits = start_logits.masked_fill(~allowed, float("-inf"))
        end_logits = end_logits.masked_fill(~allowed, float("-inf"))
    scores = span_scores(start_logits, end_logits, max_len)  # (B, L, L)
    flat = scores.flatten(1).argmax(-1)  # (B,)
    L = start_logits.size(-1)
    return flat // L, flat % L


# -- labels for WordPieces ---------------------------------------------------------------


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """One label per token: a word's label goes to its *first* WordPiece; later pieces of
    the same word and tokens of no word (``None``: ``[CLS]``, ``[SEP]``, padding) get -100.

    ``align_labels([None, 0, 1, 1, 2, None], [3, 0, 5])`` -> ``[-100, 3, 0, -100, 5, -100]``.
    """
    labels, previous = [], None
    for word in word_ids:
        labels.append(IGNORE if word is None or word == previous else word_labels[word])
        previous = word
    return labels


def encode_words(
    words: Sequence[str], word_labels: Sequence[int], tokenizer, max_length: int | None = None
) -> dict[str, list[int]]:
    """A pre-split sentence -> ``[CLS] pieces… [SEP]`` with ``input_ids``, ``token_type_ids``,
    ``attention_mask``, ``word_ids`` (None for [CLS]/[SEP]) and aligned ``labels``.
    ``max_length`` cuts the pieces (not whole words) so that at most that many ids remain."""
    pieces, word_ids = [], []
    for w, word in enumerate(words):
        word_pieces = tokenizer.tokenize(word)
        pieces += word_pieces
        word_ids += [w] * len(word_pieces)
    if max_length is not None:
        pieces, word_ids = pieces[: max_length - 2], word_ids[: max_length - 2]
    ids = [tokenizer.cls_token_id, *tokenizer.convert_tokens_to_ids(pieces), tokenizer.sep_token_id]
    word_ids = [None, *word_ids, None]
    return {
        "input_ids": ids,
        "token_type_ids": [0] * len(ids),
        "attention_mask": [1] * len(ids),
        "word_ids": word_ids,
        "labels": align_labels(word_ids, word_labels),
    }


def pad(
    encodings: Sequence[dict[str, list[int]]], pad_id: int = 0, length: int | None = None
) -> dict[str, torch.Tensor]:
    """Pad lists of ids to one length (the longest, or ``length``): ``input_ids`` with ``pad_id``,
    ``labels`` with -100, the rest with 0. Keys with non-list values (``word_ids``) are left out."""
    length = length or max(len(e["input_ids"]) for e in encodings)
    fill = {"input_ids": pad_id, "labels": IGNORE}
    keys = [k for k, v in encodings[0].items() if isinstance(v, list) and k != "word_ids"]
    return {
        k: torch.tensor([e[k] + [fill.get(k, 0)] * (length - len(e[k])) for e in encodings])
        for k in keys
    }


# -- scores ------------------------------------------------------------------------------


def bio_entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """BIO tags -> the set of entities ``(type, first, last)`` (inclusive positions).

    An ``I-X`` that does not continue an entity of type X starts a new one (as conlleval does).
    """
    entities, start, kind = set(), None, None
    for n, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        continues = prefix == "I" and name == kind
        if start is not None and not continues:
            entities.add((kind, start, n - 1))
            start, kind = None, None
        if prefix == "B" or (prefix == "I" and not continues):
            start, kind = n, name
    return entities


def entity_f1(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Entity-level precision, recall and F1: an entity counts only if its type and both ends
    are right. ``gold``, ``predicted``: one BIO tag sequence per sentence."""
    tp = n_pred = n_gold = 0
    for g, p in zip(gold, predicted, strict=True):
        g, p = bio_entities(g), bio_entities(p)
        tp, n_pred, n_gold = tp + len(g & p), n_pred + len(p), n_gold + len(g)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def span_f1(predicted: Sequence[str], gold: Sequence[str]) -> dict[str, float]:
    """SQuAD's two scores, averaged over questions: ``exact_match`` (the answer strings are
    equal) and ``f1`` (overlap of their whitespace tokens). Strings are compared lowercased."""
    exact = f1 = 0.0
    for p, g in zip(predicted, gold, strict=True):
        p_tokens, g_tokens = p.lower().split(), g.lower().split()
        exact += p_tokens == g_tokens
        common = sum(min(p_tokens.count(t), g_tokens.count(t)) for t in set(p_tokens))
        if common:
            precision, recall = common / len(p_tokens), common / len(g_tokens)
            f1 += 2 * precision * recall / (precision + recall)
    return {"exact_match": exact / len(gold), "f1": f1 / len(gold)}


# -- training ----------------------------------------------------------------------------


def batches(
    examples: dict[str, torch.Tensor],
    batch_size: int = 32,
    generator: torch.Generator | None = None,
) -> Iterator[dict[str, torch.Tensor]]:
    """An endless stream of shuffled batches from tensors with first dimension N; each epoch
    is a new permutation, its last incomplete batch dropped. Columns of padding shared by the
    whole batch are cut off (shorter sequences, faster steps)."""
    n = len(examples["input_ids"])
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield trim({name: t[order[start : start + batch_size]] for name, t in examples.items()})


def trim(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cut the columns where every sequence of the batch is padding (``attention_mask`` 0)."""
    length = int(batch["attention_mask"].sum(1).max())
    return {
        name: t[:, :length] if t.ndim == 2 and t.size(1) == batch["attention_mask"].size(1) else t
        for name, t in batch.items()
    }


def task_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The loss a task model computes itself from the ``labels`` in the batch."""
    return model(**batch).loss


def fine_tune(
    model: nn.Module,
    stream: Iterator[dict[str, torch.Tensor]],
    *,
    steps: int,
    lr: float = 5e-5,
    head_lr: float | None = None,
    warmup: float = 0.1,
    weight_decay: float = 0.01,
    max_grad_norm: float = 1.0,
    precision: str = "auto",
    progress: bool = True,
    desc: str = "fine-tuning · 微调",
) -> dict[str, list[float]]:
    """Train ``model`` on ``steps`` batches of ``stream``: ``model(**batch).loss`` (only the
    parameters with ``requires_grad``), with ``training.train``. AdamW (no weight decay on biases
    and LayerNorm), linear warm-up over the first ``warmup`` fraction of the steps then linear decay
    to 0, gradients clipped to ``max_grad_norm``: the recipe of the BERT paper. ``head_lr``
    (optional): a separate peak learning rate for the new head (every parameter outside
    ``model.bert``), which starts from random weights while the encoder starts from pretrained ones.
    Returns ``{"loss": [...], "tokens": [...], "seconds": s, …}``.
    """
    config = TrainConfig(
        steps=steps,
        lr=lr,
        head_lr=head_lr,
        warmup=warmup,
        weight_decay=weight_decay,
        max_grad_norm=max_grad_norm,
        precision=precision,
        progress=progress,
        desc=desc,
    )
    return train(model, stream, task_loss, config)


@torch.no_grad()
def predict(model: nn.Module, examples: dict[str, torch.Tensor], batch_size: int = 64) -> list:
    """Run ``model`` (eval mode, no labels) over ``examples`` in order; return its outputs per
    batch, a list of ``TaskOutput`` / ``SpanOutput`` (each batch trimmed of shared padding)."""
    model.eval()
    inputs = ("input_ids", "token_type_ids", "attention_mask")
    n = len(examples["input_ids"])
    return [
        model(**trim({k: examples[k][s : s + batch_size] for k in inputs}))
        for s in range(0, n, batch_size)
    ]


@torch.no_grad()
def features(
    bert: BertModel, examples: dict[str, torch.Tensor], pooling: str = "cls", batch_size: int = 64
) -> torch.Tensor:
    """Frozen sentence features from ``bert`` (the feature-based approach): ``"cls"`` the
    final vector of ``[CLS]``, ``"mean"`` the mean of the final vectors of the real tokens.
    Returns ``(N, H)``."""
    bert.eval()
    out = []
    for s in range(0, len(examples["input_ids"]), batch_size):
        b = trim(
            {
                k: examples[k][s : s + batch_size]
                for k in ("input_ids", "token_type_ids", "attention_mask")
            }
        )
        T = bert(**b).last_hidden_state  # (B, L, H)
        out.append(T[:, 0] if pooling == "cls" else mean_pool(T, b["attention_mask"]))
    return torch.cat(out)


def logistic_regression(
    X: torch.Tensor,
    y: torch.Tensor,
    num_classes: int | None = None,
    *,
    weight_decay: float = 1e-3,
    steps: int = 100,
) -> nn.Linear:
    """Multinomial logistic regression, ``softmax(W x + b)``, trained full-batch with L-BFGS on
    the mean cross-entropy + ``weight_decay`` times the squared norm of W. Features are used as
    given (standardise them first). ``X`` (N, D) float, ``y`` (N,) -> the fitted ``Linear(D,
    C)``."""
    num_classes = num_classes or int(y.max()) + 1
    model = nn.Linear(X.size(1), num_classes, dtype=X.dtype)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    optimizer = torch.optim.LBFGS(model.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X), y) + weight_decay * model.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return model
