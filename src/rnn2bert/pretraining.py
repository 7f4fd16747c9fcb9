"""BERT pretraining (chapter 09): masked LM + next sentence prediction · BERT 预训练。

The data side:

* ``mask_tokens`` — the masked-LM rule: choose 15 % of the (non-special) positions; of the
  chosen, 80 % become ``[MASK]``, 10 % a random token, 10 % stay unchanged. The labels hold
  the original id at the chosen positions and -100 (ignored) elsewhere.
* ``whole_word_mask`` — the same, but a word is chosen or left as a whole (Chinese BERT-wwm).
* ``nsp_pairs`` / ``pack_pairs`` — next sentence prediction: pairs (A, B) with B the real
  next segment half of the time and a segment of *another* document otherwise, packed as
  ``[CLS] A [SEP] B [SEP]`` with segment ids 0…0 1…1.

The training side: ``pretraining_batches`` (dynamic or static masking), ``pretrain`` (AdamW,
linear warm-up and decay), ``evaluate`` and ``unigram_baseline`` (held-out accuracy against
the best context-free guess), and ``fill_mask``.

Shapes: B = batch, L = sequence length, V = vocabulary size, N = number of masked positions.
"""

from __future__ import annotations

import random
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

import torch
import torch.nn.functional as F

from .training import IGNORE, TrainConfig, linear_schedule, make_optimizer, train  # noqa: F401

# -- masked language model ---------------------------------------------------------------


def _draw_on(like: torch.Tensor, generator: torch.Generator | None) -> torch.device:
    """Where random numbers for ``like`` are drawn: on a seeded ``generator``'s own device (they
    then move to ``like``'s, so a seed gives the same mask wherever the batch lives), else on
    ``like``'s device."""
    return like.device if generator is None else generator.device


def choose_positions(
    input_ids: torch.Tensor,
    special_token_ids: Sequence[int],
    *,
    mask_prob: float = 0.15,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Each non-special position independently with probability ``mask_prob``.

    ``input_ids`` (B, L) -> ``chosen`` (B, L) bool. Special tokens ([CLS], [SEP], [PAD], …)
    are never chosen, so about ``mask_prob`` of the *real* tokens are.
    """
    specials = torch.as_tensor(
        list(special_token_ids), dtype=input_ids.dtype, device=input_ids.device
    )
    special = torch.isin(input_ids, specials)
    u = torch.rand(input_ids.shape, generator=generator, device=_draw_on(input_ids, generator))
    return (u.to(input_ids.device) < mask_prob) & ~special


def replace_chosen(
    input_ids: torch.Tensor,
    chosen: torch.Tensor,
    *,
    vocab_size: int,
    mask_token_id: int,
    special_token_ids: Sequence[int],
    mask_frac: float = 0.8,
    random_frac: float = 0.1,
    generator: torch.Generator | None = None,
):
    """Corrupt the chosen positions: ``mask_frac`` -> [MASK], ``random_frac`` -> a random
    token, the rest unchanged. Returns ``(inputs (B, L), labels (B, L))``.

    The random token is drawn uniformly from the vocabulary *without* the special tokens,
    so that it is always a real word piece, never [PAD] or [CLS].
    """
    on = _draw_on(input_ids, generator)
    u = torch.rand(input_ids.shape, generator=generator, device=on).to(input_ids.device)
    to_mask = chosen & (u < mask_frac)
    to_random = chosen & (u >= mask_frac) & (u < mask_frac + random_frac)
    ordinary = torch.ones(vocab_size, dtype=torch.bool, device=input_ids.device)
    ordinary[list(special_token_ids)] = False
    candidates = ordinary.nonzero().squeeze(1)  # (V - #special,)
    picks = torch.randint(len(candidates), input_ids.shape, generator=generator, device=on)
    random_ids = candidates[picks.to(input_ids.device)]
    inputs = torch.where(to_mask, mask_token_id, input_ids)
    inputs = torch.where(to_random, random_ids.to(input_ids.dtype), inputs)
    labels = torch.where(chosen, input_ids, IGNORE)
    return inputs, labels


def mask_tokens(
    input_ids: torch.Tensor,
    *,
    vocab_size: int,
    mask_token_id: int,
    special_token_ids: Sequence[int],
    mask_prob: float = 0.15,
    mask_frac: float = 0.8,
    random_frac: float = 0.1,
    generator: torch.Generator | None = None,
):
    """BERT's masking rule: ``(inputs (B, L), labels (B, L))`` from ``input_ids (B, L)``.

    Choose ``mask_prob`` of the non-special positions (``special_token_ids`` must include
    the padding id); of those, ``mask_frac`` become ``mask_token_id``, ``random_frac`` a
    random non-special token, the rest stay. ``labels`` = the original id where chosen,
    -100 elsewhere. ``mask_frac=1, random_frac=0`` is the "always [MASK]" variant. Pass a
    seeded ``torch.Generator`` for reproducible masks.
    """
    chosen = choose_positions(
        input_ids, special_token_ids, mask_prob=mask_prob, generator=generator
    )
    return replace_chosen(
        input_ids,
        chosen,
        vocab_size=vocab_size,
        mask_token_id=mask_token_id,
        special_token_ids=special_token_ids,
        mask_frac=mask_frac,
        random_frac=random_frac,
        generator=generator,
    )


def tokenize_words(words: Iterable[str], tokenize: Callable[[str], list[str]]):
    """Tokenize word by word: ``(tokens, word_ids)``, ``word_ids[i]`` = the word of token i.

    With ``words = jieba.lcut(text)`` this gives the word boundaries that whole-word
    masking needs, e.g. ["我", "喜欢", "北京"] -> tokens 我 喜 欢 北 京, word_ids 0 1 1 2 2.
    """
    tokens, word_ids = [], []
    for index, word in enumerate(w for w in words if w.strip()):
        pieces = tokenize(word)
        tokens += pieces
        word_ids += [index] * len(pieces)
    return tokens, word_ids


def whole_word_mask(
    input_ids: torch.Tensor,
    word_ids: torch.Tensor,
    *,
    vocab_size: int,
    mask_token_id: int,
    special_token_ids: Sequence[int],
    mask_prob: float = 0.15,
    mask_frac: float = 0.8,
    random_frac: float = 0.1,
    generator: torch.Generator | None = None,
):
    """Whole-word masking: a word is chosen with all its tokens, or not at all.

    ``input_ids`` (B, L); ``word_ids`` (B, L) the word index of each token, -1 at special
    tokens and padding. Each word is chosen with probability ``mask_prob``, so on average
    ``mask_prob`` of the tokens are chosen, as with ``mask_tokens``, but a chosen word
    cannot be guessed from its own other characters. Each chosen token is then replaced by
    the 80/10/10 rule. Returns ``(inputs (B, L), labels (B, L))``.
    """
    is_word = word_ids >= 0
    num_words = int(word_ids.max()) + 1 if is_word.any() else 1
    u = torch.rand(
        word_ids.size(0), num_words, generator=generator, device=_draw_on(word_ids, generator)
    )
    chosen_word = u.to(word_ids.device) < mask_prob  # (B, words)
    chosen = chosen_word.gather(1, word_ids.clamp(min=0)) & is_word
    return replace_chosen(
        input_ids,
        chosen,
        vocab_size=vocab_size,
        mask_token_id=mask_token_id,
        special_token_ids=special_token_ids,
        mask_frac=mask_frac,
        random_frac=random_frac,
        generator=generator,
    )


# -- next sentence prediction ------------------------------------------------------------


class SentencePair(NamedTuple):
    a: object  # a segment: text, or a list of token ids
    b: object
    is_next: bool  # True: b follows a in its document; False: b is from another document


def nsp_pairs(
    documents: Sequence[Sequence], *, p_next: float = 0.5, seed: int = 0
) -> list[SentencePair]:
    """One pair per pair of neighbouring segments ``(a, next)`` of each document.

    With probability ``p_next`` the pair keeps the true next segment (``is_next=True``);
    otherwise ``b`` is a random segment of a random *other* document. Needs at least two
    documents; segments may be texts or token-id lists. Deterministic for a given ``seed``.
    """
    if len(documents) < 2:
        raise ValueError(
            "next sentence prediction needs at least two documents · NSP 至少需要两篇文档"
        )
    rng = random.Random(seed)
    pairs = []
    for d, document in enumerate(documents):
        for a, b in zip(document, document[1:], strict=False):
            if rng.random() < p_next:
                pairs.append(SentencePair(a, b, True))
                continue
            other = rng.randrange(len(documents) - 1)
            other += other >= d  # any document but this one
            pairs.append(SentencePair(a, rng.choice(documents[other]), False))
    return pairs


def chunk_segments(segments: Sequence[list[int]], max_tokens: int) -> list[list[int]]:
    """Join neighbouring segments (token-id lists) into chunks of at most ``max_tokens``.

    BERT's "sentences" are spans of text, not linguistic sentences: short verses and
    speeches are joined so that a pair fills the sequence. A segment longer than
    ``max_tokens`` stays alone (``pack_pair`` truncates it).
    """
    chunks, chunk = [], []
    for segment in segments:
        if chunk and len(chunk) + len(segment) > max_tokens:
            chunks.append(chunk)
            chunk = []
        chunk = chunk + list(segment)
    if chunk:
        chunks.append(chunk)
    return chunks


def truncate_pair(a: list[int], b: list[int], max_tokens: int) -> tuple[list[int], list[int]]:
    """Drop tokens from the end of the longer segment until ``len(a) + len(b) <= max_tokens``."""
    a, b = list(a), list(b)
    while len(a) + len(b) > max_tokens:
        (a if len(a) > len(b) else b).pop()
    return a, b


def pack_pair(a: list[int], b: list[int], *, max_len: int, cls_id: int, sep_id: int):
    """``[CLS] a [SEP] b [SEP]`` truncated to ``max_len``: ``(input_ids, token_type_ids)``.

    Segment (token type) ids are 0 for [CLS], a and the first [SEP]; 1 for b and the last
    [SEP]. No padding (``collate`` pads a batch).
    """
    a, b = truncate_pair(a, b, max_len - 3)
    input_ids = [cls_id, *a, sep_id, *b, sep_id]
    token_type_ids = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    return input_ids, token_type_ids


def collate(
    sequences: Sequence[tuple[list[int], list[int]]], *, pad_id: int, length: int | None = None
) -> dict[str, torch.Tensor]:
    """Pad ``(input_ids, token_type_ids)`` pairs to one length (the longest, or ``length``).

    Returns ``input_ids``, ``token_type_ids`` and ``attention_mask`` (1 real, 0 padding),
    each (B, L) long.
    """
    length = length or max(len(ids) for ids, _ in sequences)
    batch = {
        name: torch.zeros(len(sequences), length, dtype=torch.long)
        for name in ("input_ids", "token_type_ids", "attention_mask")
    }
    batch["input_ids"].fill_(pad_id)
    for i, (ids, types) in enumerate(sequences):
        batch["input_ids"][i, : len(ids)] = torch.tensor(ids)
        batch["token_type_ids"][i, : len(types)] = torch.tensor(types)
        batch["attention_mask"][i, : len(ids)] = 1
    return batch


def pack_pairs(
    pairs: Sequence[SentencePair], tokenizer, *, max_len: int = 128, length: int | None = None
) -> dict[str, torch.Tensor]:
    """Sentence pairs -> BERT inputs, padded: ``input_ids``, ``token_type_ids``,
    ``attention_mask`` (B, L) and ``next_sentence_label`` (B,).

    Segments are texts (tokenized with ``tokenizer``) or token-id lists. The label follows
    Google's BERT and Hugging Face: **0 = B is the next segment, 1 = B is random**.
    """

    def ids(segment) -> list[int]:
        return (
            tokenizer.convert_tokens_to_ids(tokenizer.tokenize(segment))
            if isinstance(segment, str)
            else segment
        )

    sequences = [
        pack_pair(
            ids(p.a),
            ids(p.b),
            max_len=max_len,
            cls_id=tokenizer.cls_token_id,
            sep_id=tokenizer.sep_token_id,
        )
        for p in pairs
    ]
    batch = collate(sequences, pad_id=tokenizer.pad_token_id, length=length)
    batch["next_sentence_label"] = torch.tensor([0 if p.is_next else 1 for p in pairs])
    return batch


# -- training ----------------------------------------------------------------------------


def pretraining_batches(
    examples: dict[str, torch.Tensor],
    mask: Callable,
    *,
    batch_size: int = 32,
    dynamic: bool = True,
    generator: torch.Generator | None = None,
) -> Iterator[dict[str, torch.Tensor]]:
    """An endless stream of shuffled batches with ``labels``, for ``pretrain``; each epoch
    is a new permutation, and its last incomplete batch is dropped.

    ``examples``: tensors with first dimension N (from ``pack_pairs``); ``mask``:
    ``input_ids (B, L) -> (inputs, labels)``, e.g. ``functools.partial(mask_tokens, ...)``.
    ``dynamic=True`` masks every batch afresh (RoBERTa's dynamic masking: each epoch sees a
    new mask); ``dynamic=False`` masks every example once, up front (BERT's static masking).
    """
    examples = dict(examples)
    if not dynamic:
        examples["input_ids"], examples["labels"] = mask(examples["input_ids"])
    n = len(examples["input_ids"])
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            batch = {name: t[order[start : start + batch_size]] for name, t in examples.items()}
            if dynamic:
                batch["input_ids"], batch["labels"] = mask(batch["input_ids"])
            yield batch


def rows_for_heads(chosen: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The positions the pretraining heads read: [CLS] (position 0, for NSP) and the labelled ones.

    ``chosen`` (B, L) bool -> ``rows`` (B, M) long, ``valid`` (B, M) bool, M = 1 + the most labels
    in a sequence. Row b lists 0, then the labelled positions of sequence b in increasing order,
    then (where ``valid`` is False) filler positions. So ``h[:, 1:][valid[:, 1:]]`` lists the
    labelled rows in the order of ``labels[chosen]``.
    """
    needed = chosen.clone()
    needed[:, 0] = True
    counts = needed.sum(1, keepdim=True)  # (B, 1)
    width = int(counts.max())
    rows = torch.argsort((~needed).to(torch.int8), dim=1, stable=True)[
        :, :width
    ]  # needed ones first, in order
    return rows, torch.arange(width, device=chosen.device) < counts


def heads_at_labels(model, batch: dict[str, torch.Tensor]):
    """``(mlm_logits (N, V), nsp_logits (B, 2), mlm_labels (N,))`` at the N labelled positions,
    computing no more than the heads read: no attention maps (fused attention), the last encoder
    layer at [CLS] and the labelled positions only, the MLM transform and the ``(·, V)`` decoder at
    the N labelled rows only. Same values as ``model(**batch)`` at those positions."""
    chosen = batch["labels"] != IGNORE  # (B, L)
    args = batch["input_ids"], batch["token_type_ids"], batch["attention_mask"]
    if bool(chosen[:, 0].any()):  # a label on [CLS] itself: compute the last layer everywhere
        out = model.bert(*args, output_attentions=False)
        hidden = out.last_hidden_state[chosen]
    else:
        rows, valid = rows_for_heads(chosen)
        out = model.bert(*args, output_attentions=False, last_rows=rows)  # (B, M, H)
        hidden = out.last_hidden_state[:, 1:][
            valid[:, 1:]
        ]  # (N, H), in the order of labels[chosen]
    mlm_logits, nsp_logits = model.heads(hidden, out.pooler_output)  # (N, V), (B, 2)
    return mlm_logits, nsp_logits, batch["labels"][chosen]


def pretraining_loss(model, batch: dict[str, torch.Tensor]):
    """``(loss, mlm_loss, nsp_loss)`` for ``BertForPreTraining``, computing the vocabulary
    scores only at the N masked positions: ``(N, V)`` logits instead of ``(B, L, V)``.

    Same value (and gradients) as ``model(**batch).loss``, several times cheaper when V is large;
    see ``heads_at_labels`` for what is skipped. With dropout the random masks of the last layer
    differ from the full forward's (it has fewer rows), as two runs' masks differ anyway.
    """
    mlm_logits, nsp_logits, labels = heads_at_labels(model, batch)
    mlm_loss = F.cross_entropy(mlm_logits, labels)
    nsp_loss = F.cross_entropy(nsp_logits, batch["next_sentence_label"])
    return mlm_loss + nsp_loss, mlm_loss, nsp_loss


def pretraining_optimizer(
    model, *, lr: float = 1e-3, weight_decay: float = 0.01
) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices only (not on biases, LayerNorm, …), as BERT;
    fused (``training.make_optimizer``)."""
    return make_optimizer(model, lr=lr, weight_decay=weight_decay)


def pretraining_step(
    model,
    batch: dict[str, torch.Tensor],
    optimizer,
    *,
    max_grad_norm: float = 1.0,
    precision: str = "auto",
):
    """One update: ``pretraining_loss`` (under bf16 autocast where this machine has bf16 units,
    ``training.best_precision``; fp32 elsewhere), backward, gradient clipping, ``optimizer.step()``.
    Returns ``(loss, mlm_loss, nsp_loss)`` (tensors, detached)."""
    from .training import autocast, best_precision

    device = next(model.parameters()).device
    with autocast(device, best_precision(device) if precision == "auto" else precision):
        loss, mlm_loss, nsp_loss = pretraining_loss(model, batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return loss.detach(), mlm_loss.detach(), nsp_loss.detach()


def pretrain(
    model,
    batches: Iterator[dict[str, torch.Tensor]],
    *,
    steps: int,
    lr: float = 1e-3,
    warmup: float | int = 0.06,
    weight_decay: float = 0.01,
    max_grad_norm: float = 1.0,
    precision: str = "auto",
    progress: bool = True,
    desc: str = "pretraining · 预训练",
    **options,
) -> dict[str, list[float]]:
    """Train ``model`` (``BertForPreTraining``) for ``steps`` batches of ``batches`` with
    ``training.train`` and ``pretraining_loss``.

    AdamW (no weight decay on biases and LayerNorm), learning rate warmed up linearly over
    ``warmup`` (a fraction of the steps, or a number of steps) and then decayed linearly to 0,
    gradients clipped to norm ``max_grad_norm``, the best precision of this machine (``"auto"``).
    ``options``: more ``training.TrainConfig`` fields (``checkpoint``, ``accumulate``, …).
    Returns the history: ``loss``, ``mlm_loss``, ``nsp_loss`` and ``tokens`` per step, and
    ``seconds`` (wall time), ``precision``, ``world_size``.
    """
    config = TrainConfig(
        steps=steps,
        lr=lr,
        warmup=warmup,
        weight_decay=weight_decay,
        max_grad_norm=max_grad_norm,
        precision=precision,
        progress=progress,
        desc=desc,
        **options,
    )
    return train(
        model, batches, pretraining_loss, config, loss_names=("loss", "mlm_loss", "nsp_loss")
    )


# -- evaluation --------------------------------------------------------------------------


@torch.no_grad()
def evaluate(
    model,
    batches: Iterable[dict[str, torch.Tensor]],
    *,
    mask_token_id: int | None = None,
    precision: str = "fp32",
) -> dict[str, float]:
    """Held-out ``mlm_accuracy`` and ``mlm_loss`` over the masked positions, ``nsp_accuracy``
    over the pairs. ``batches``: a finite iterable of masked batches (with ``labels``).

    With ``mask_token_id``, also ``mask_accuracy`` and ``mask_loss``: the same at the positions
    whose input is ``[MASK]`` only (80 % of the chosen ones), where nothing can be copied from the
    input: the honest measure of how much the model reads the context (``baselines``).
    """
    from .training import autocast, to_device

    model.eval()
    totals = dict.fromkeys(
        ("correct", "total", "loss", "m_correct", "m_total", "m_loss", "nsp", "pairs"), 0.0
    )
    device = next(model.parameters()).device
    for batch in batches:
        batch = to_device(batch, device)
        with autocast(device, precision):
            mlm_logits, nsp_logits, labels = heads_at_labels(model, batch)
        mlm_logits = mlm_logits.float()
        losses = F.cross_entropy(mlm_logits, labels, reduction="none")
        hits = mlm_logits.argmax(-1) == labels
        totals["loss"] += losses.sum().item()
        totals["correct"] += hits.sum().item()
        totals["total"] += len(labels)
        if mask_token_id is not None:
            at_mask = batch["input_ids"][batch["labels"] != IGNORE] == mask_token_id
            totals["m_loss"] += losses[at_mask].sum().item()
            totals["m_correct"] += hits[at_mask].sum().item()
            totals["m_total"] += at_mask.sum().item()
        totals["nsp"] += (nsp_logits.argmax(-1) == batch["next_sentence_label"]).sum().item()
        totals["pairs"] += len(nsp_logits)
    scores = {
        "mlm_accuracy": totals["correct"] / totals["total"],
        "mlm_loss": totals["loss"] / totals["total"],
        "nsp_accuracy": totals["nsp"] / totals["pairs"],
        "masked_positions": int(totals["total"]),
    }
    if mask_token_id is not None:
        scores |= {
            "mask_accuracy": totals["m_correct"] / max(1, totals["m_total"]),
            "mask_loss": totals["m_loss"] / max(1, totals["m_total"]),
            "mask_positions": int(totals["m_total"]),
        }
    return scores


def unigram_counts(
    input_ids: torch.Tensor, *, vocab_size: int, special_token_ids: Sequence[int]
) -> torch.Tensor:
    """How often each token occurs in ``input_ids`` (any shape), specials excluded: (V,)."""
    counts = torch.bincount(input_ids.flatten(), minlength=vocab_size).double()
    counts[list(special_token_ids)] = 0
    return counts


def unigram_baseline(counts: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """The best guesses that ignore the context, scored on the masked positions of ``labels``.

    ``accuracy``: always predict the most frequent training token. ``loss``: the cross-
    entropy of the unigram distribution (add-one smoothed), comparable with ``mlm_loss``.
    """
    targets = labels[labels != IGNORE]
    log_p = torch.log((counts + 1) / (counts + 1).sum())
    return {
        "accuracy": (targets == counts.argmax()).double().mean().item(),
        "loss": -log_p[targets].mean().item(),
    }


@torch.no_grad()
def fill_mask(model, tokenizer, text: str, *, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """The ``top_k`` tokens (with probabilities) for each ``[MASK]`` in ``text``."""
    device = next(model.parameters()).device
    input_ids = torch.tensor([tokenizer.encode(text)["input_ids"]], device=device)  # (1, L)
    model.eval()
    out = model(input_ids)
    where = (input_ids[0] == tokenizer.mask_token_id).nonzero().squeeze(1)
    p = out.prediction_logits[0, where].softmax(-1)  # (masks, V)
    top = p.topk(top_k, dim=-1)
    return [
        [
            (tokenizer.convert_ids_to_tokens([i])[0], round(q, 4))
            for i, q in zip(ids.tolist(), qs.tolist(), strict=True)
        ]
        for ids, qs in zip(top.indices, top.values, strict=True)
    ]
