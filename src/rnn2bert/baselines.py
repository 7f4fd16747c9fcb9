"""Count-based baselines for the masked LM (chapter 09) · 掩码语言模型的计数基线。

A pretrained model "uses context" only if it beats the best predictors that count instead of
learn. Three of them, scored at the same corrupted positions as the model:

* **unigram**: always the most frequent training token (the context-free guess);
* **copy**: the token shown at the position if it is not ``[MASK]`` (right at the 10 % of chosen
  positions left unchanged), else the unigram guess;
* **neighbours**: a first-order Markov chain read in both directions. With bigram counts
  ``C[a, b]`` (how often b follows a), the token between a visible left neighbour ``l`` and right
  neighbour ``r`` is the ``t`` maximising ``P(t | l) · P(r | t)`` (Bayes' rule under the chain);
  a neighbour that is ``[MASK]`` or special contributes nothing.

Positions come in three kinds (``position_kinds``): ``mask`` (the input shows ``[MASK]``, 80 %),
``random`` (another token, 10 %) and ``same`` (the original token, 10 %). The honest headline is
the ``mask`` kind, where nothing can be copied.

Shapes: B = batch, L = sequence length, V = vocabulary size, N = labelled positions.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch

from .training import IGNORE

KINDS = ("mask", "random", "same")


def position_kinds(
    inputs: torch.Tensor, labels: torch.Tensor, mask_token_id: int
) -> dict[str, torch.Tensor]:
    """``inputs``, ``labels`` (B, L) -> one (B, L) bool tensor per kind of labelled position:
    ``mask`` (input is [MASK]), ``same`` (input is the label itself), ``random`` (another token)."""
    chosen = labels != IGNORE
    is_mask = chosen & (inputs == mask_token_id)
    same = chosen & ~is_mask & (inputs == labels)
    return {"mask": is_mask, "random": chosen & ~is_mask & ~same, "same": same}


def bigram_counts(
    sequences: Iterable[Sequence[int]] | torch.Tensor,
    vocab_size: int,
    special_token_ids: Sequence[int],
) -> torch.Tensor:
    """``C`` (V, V) float: ``C[a, b]`` = how often token b directly follows token a in the
    training sequences (rows of ids; pairs with a special token, e.g. padding, are skipped)."""
    rows = (
        sequences
        if isinstance(sequences, torch.Tensor)
        else [torch.as_tensor(s) for s in sequences]
    )
    a = torch.cat([row[:-1] for row in rows])
    b = torch.cat([row[1:] for row in rows])
    special = torch.tensor(sorted(special_token_ids), device=a.device)
    keep = ~torch.isin(a, special) & ~torch.isin(b, special)
    counts = torch.bincount(a[keep] * vocab_size + b[keep], minlength=vocab_size * vocab_size)
    return counts.view(vocab_size, vocab_size).float()


class NeighbourModel:
    """The two-sided bigram predictor ``argmax_t P(t | l) · P(r | t)``.

    ``P(b | a) = (C[a, b] + alpha · P(b)) / (C[a].sum() + alpha)`` (bigram counts smoothed
    towards the unigram ``P``). ``log_scores(left, right)`` with ``left``, ``right`` (N,) ids
    (-1 = unknown neighbour) -> (N, V) log scores, up to a constant per row.
    """

    def __init__(self, counts: torch.Tensor, *, alpha: float = 1.0):
        unigram = counts.sum(1) + counts.sum(0) + 1.0  # (V,) every token at least once
        self.log_unigram = (unigram / unigram.sum()).log()
        p = (counts + alpha * unigram / unigram.sum()) / (counts.sum(1, keepdim=True) + alpha)
        self.log_next = p.log()  # (V, V): log P(b | a)

    def log_scores(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        scores = torch.where(
            (left >= 0)[:, None], self.log_next[left.clamp(min=0)], self.log_unigram
        )
        from_right = self.log_next[:, right.clamp(min=0)].T  # (N, V): log P(r | t) for every t
        return scores + torch.where((right >= 0)[:, None], from_right, 0.0)


def neighbours(
    inputs: torch.Tensor, chosen: torch.Tensor, unknown_ids: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The visible left and right neighbours of the chosen positions: ``(left (N,), right (N,))``,
    -1 where the neighbour is outside the sequence or one of ``unknown_ids`` ([MASK], specials)."""
    B, L = inputs.shape
    padded = torch.full((B, L + 2), -1, dtype=inputs.dtype, device=inputs.device)
    unknown = torch.tensor(sorted(unknown_ids), device=inputs.device)
    padded[:, 1:-1] = torch.where(torch.isin(inputs, unknown), -1, inputs)
    b, i = chosen.nonzero(as_tuple=True)
    return padded[b, i], padded[b, i + 2]


@torch.no_grad()
def score_baselines(
    batches: Iterable[dict[str, torch.Tensor]],
    *,
    unigram: torch.Tensor,
    neighbour: NeighbourModel,
    mask_token_id: int,
    special_token_ids: Sequence[int],
) -> dict:
    """Accuracy of the three baselines by kind of position, over masked ``batches`` (with
    ``input_ids`` = the corrupted inputs and ``labels``). ``unigram`` (V,) training counts.
    Returns ``{baseline: {kind: accuracy, "all": accuracy}}`` and the ``count`` of each kind."""
    top = int(unigram.argmax())
    unknown = set(special_token_ids) | {mask_token_id}
    hits = {name: dict.fromkeys((*KINDS, "all"), 0) for name in ("unigram", "copy", "neighbours")}
    count = dict.fromkeys((*KINDS, "all"), 0)
    for batch in batches:
        inputs, labels = batch["input_ids"], batch["labels"]
        kinds = position_kinds(inputs, labels, mask_token_id)
        chosen = labels != IGNORE
        target = labels[chosen]
        left, right = neighbours(inputs, chosen, sorted(unknown))
        shown = inputs[chosen]
        guesses = {
            "unigram": torch.full_like(target, top),
            "copy": torch.where(shown == mask_token_id, top, shown),
            "neighbours": neighbour.log_scores(left, right).argmax(-1),
        }
        for kind in KINDS:
            at = kinds[kind][chosen]
            count[kind] += int(at.sum())
            for name, guess in guesses.items():
                hits[name][kind] += int((guess[at] == target[at]).sum())
        count["all"] += len(target)
        for name, guess in guesses.items():
            hits[name]["all"] += int((guess == target).sum())
    scores = {name: {k: h / max(1, count[k]) for k, h in per.items()} for name, per in hits.items()}
    return {**scores, "count": count}
