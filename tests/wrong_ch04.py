"""Classic wrong answers (and correct alternatives) for the chapter 04 exercises."""

import math

import numpy as np
import torch


def _masked(Q, K, V, mask, fill=float("-inf"), after=False, scale=None):
    scores = Q @ K.T / (math.sqrt(Q.shape[-1]) if scale is None else scale)
    weights = (
        torch.softmax(scores, -1) * mask
        if after
        else torch.softmax(scores.masked_fill(~mask, fill), -1)
    )
    return weights @ V, weights


def _masked_where(Q, K, V, mask):  # correct: torch.where with a large negative number, float32
    scores = (Q.float() @ K.float().T) / Q.shape[-1] ** 0.5
    weights = torch.softmax(torch.where(mask, scores, torch.tensor(-1e9)), dim=-1)
    return weights @ V.float(), weights


def _masked_renormalised(Q, K, V, mask):  # correct: mask after the softmax, then renormalise
    w = torch.softmax(Q @ K.T / math.sqrt(Q.shape[-1]), -1) * mask
    w = w / w.sum(-1, keepdim=True)
    return (w @ V, w)


def _causal_loops(n):  # correct: nested loops into a list of lists
    return torch.tensor([[j <= i for j in range(n)] for i in range(n)])


def _no_return(lengths, max_len):
    mask = (torch.arange(max_len) < lengths[:, None])[:, None, None, :]  # noqa: F841 (forgot the return)


WRONG = {
    "ch04.padding_mask": [
        (lambda lengths, L: torch.arange(L) < lengths[:, None], "singleton axes"),
        (lambda lengths, L: ~(torch.arange(L) < lengths[:, None])[:, None, None, :], "wrong side"),
        (lambda lengths, L: (torch.arange(L) <= lengths[:, None])[:, None, None, :], "Off by one"),
        (
            lambda lengths, L: (torch.arange(L) < lengths[:, None]).float()[:, None, None, :],
            "boolean",
        ),
        (lambda lengths, L: (torch.arange(L) < lengths[:, None])[:, None, :, None], "KEYS"),
        (lambda lengths, L: (torch.arange(L) >= L - lengths[:, None])[:, None, None, :], "left"),
        (
            lambda lengths, L: (torch.arange(L) < lengths[:, None] - 1)[:, None, None, :],
            "Off by one",
        ),
        (_no_return, "return"),
    ],
    "ch04.causal_mask": [
        (lambda n: torch.ones(n, n, dtype=torch.bool).triu(), "see the future"),
        (lambda n: torch.ones(n, n, dtype=torch.bool).tril(-1), "attend to itself"),
        (
            lambda n: torch.zeros(n, n).masked_fill(
                torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf")
            ),
            "boolean",
        ),
        (lambda n: torch.ones(n, n, dtype=torch.bool).tril(1), "Off by one"),
        (lambda n: torch.ones(n, n, dtype=torch.bool).triu(1), "wrong side"),
        (lambda n: torch.ones(n, n).tril(), "boolean"),
        (lambda n: torch.ones(5, 5, dtype=torch.bool).tril(), "shape"),
        (lambda n: None, "return"),
    ],
    "ch04.masked_attention": [
        (lambda Q, K, V, m: _masked(Q, K, V, m, fill=0.0), "set masked scores to 0"),
        (lambda Q, K, V, m: _masked(Q, K, V, m, after=True), "after the softmax"),
        (lambda Q, K, V, m: _masked(Q, K, V, m.logical_not()), "wrong side"),
        (lambda Q, K, V, m: _masked(Q, K, V, m, scale=1.0), "√d_k"),
        (lambda Q, K, V, m: _masked(Q, K, V, m, scale=Q.shape[-1]), "d_k"),
        (lambda Q, K, V, m: _masked(Q, K, V, m, fill=-1.0), "−∞"),
        (lambda Q, K, V, m: _masked(Q, K, V, m)[1], "pair"),
    ],
    "ch04.combine_masks": [
        (lambda pad, causal: pad | causal, "OR"),
        (lambda pad, causal: causal, "Only the causal"),
        (lambda pad, causal: pad, "Only the padding"),
        (lambda pad, causal: pad & causal.T, "transposed"),
        (lambda pad, causal: pad.transpose(-1, -2) & causal, "QUERIES"),
        (lambda pad, causal: (pad & causal).float(), "boolean"),
        (lambda pad, causal: (pad & causal)[:, 0, 0], "broadcast"),
    ],
    "ch04.predict_visible": [
        (lambda length, L: list(range(1, L + 1)), "forgot the padding"),
        (lambda length, L: [length] * L, "forgot the causal"),
        (lambda length, L: [i + 1 if i < length else 0 for i in range(L)], "KEYS, not queries"),
        (lambda length, L: [min(i, length) for i in range(L)], "Off by one"),
        (lambda length, L: [min(i + 1, length) for i in range(length)], "padded ones included"),
        (lambda length, L: sum(min(i + 1, length) for i in range(L)), "not the total"),
        (lambda length, L: [1, 2, 3, 3, 3], "visible keys"),
    ],
}

CORRECT = {
    "ch04.padding_mask": [
        lambda lengths, L: lengths.view(-1, 1, 1, 1) > torch.arange(L),
        lambda lengths, L: (
            np.arange(L)[None, None, None, :] < np.asarray(lengths)[:, None, None, None]
        ),
        lambda lengths, L: (
            torch.stack([torch.arange(L) < n for n in lengths]).unsqueeze(1).unsqueeze(1)
        ),
    ],
    "ch04.causal_mask": [
        _causal_loops,
        lambda n: torch.tril(torch.ones(n, n)).bool(),
        lambda n: ~torch.ones(n, n, dtype=torch.bool).triu(1),
        lambda n: np.tri(n, dtype=bool),
    ],
    "ch04.masked_attention": [
        _masked_where,
        _masked_renormalised,
        lambda Q, K, V, m: list(_masked(Q, K, V, m, fill=torch.finfo(Q.dtype).min)),
    ],
    "ch04.combine_masks": [
        lambda pad, causal: torch.logical_and(pad, causal),
        lambda pad, causal: pad * causal,
        lambda pad, causal: (pad & causal).expand(pad.shape[0], 1, *causal.shape),
    ],
    "ch04.predict_visible": [
        lambda length, L: torch.arange(1, L + 1).clamp(max=length),
        lambda length, L: tuple(min(i, length) for i in range(1, L + 1)),
        lambda length, L: np.minimum(np.arange(L) + 1, length),
    ],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _masked_with(fill):
    def masked_attention(Q, K, V, mask):
        scores = Q @ K.T / math.sqrt(Q.shape[-1])
        weights = torch.softmax(scores.masked_fill(~mask, fill(scores)), -1)
        return weights @ V, weights

    return masked_attention


def _output_unmasked(Q, K, V, mask):  # the weights are masked, the output is not
    scores = Q @ K.T / math.sqrt(Q.shape[-1])
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
    return torch.softmax(scores, -1) @ V, weights


WRONG["ch04.padding_mask"] += [
    (lambda l, m: (torch.arange(int(l.max())) < l[:, None])[:, None, None, :], "shape"),
    (lambda l, m: (torch.arange(m) < l[0])[None, None, None, :].expand(len(l), 1, 1, m), "wrong"),
    (
        lambda l, m: (lambda r: r[:, None, :, None] & r[:, None, None, :])(
            torch.arange(m) < l[:, None]
        ),
        "shape",
    ),
    (lambda l, m: (torch.arange(1, m + 1) < l[:, None])[:, None, None, :], "Off by one"),
]
WRONG["ch04.causal_mask"] += [
    (lambda n: torch.eye(n, dtype=torch.bool), "is wrong"),
    (lambda n: torch.ones(5, 5, dtype=torch.bool).tril(), "shape"),  # the notebook's size
    (lambda n: torch.ones(n, n, dtype=torch.bool).tril().flip(-1), "is wrong"),
    (lambda n: torch.full((n, n), float("-inf")).triu(1), "boolean"),
]
WRONG["ch04.masked_attention"] += [
    (_masked_with(lambda s: s.min()), "is wrong"),  # the smallest score is not small enough
    (_masked_with(lambda s: -10.0), "is wrong"),
    (_masked_with(lambda s: -20.0), "merely low"),  # passed before the all-negative case
    (_masked_with(lambda s: -30.0), "merely low"),
    (_output_unmasked, "is wrong"),
    (_masked_with(lambda s: 0.0 * s[0, 0] + float("inf")), "NaN"),  # +∞ instead of −∞
]
WRONG["ch04.combine_masks"] += [
    (lambda pad, causal: pad ^ causal, "is wrong"),
    (lambda pad, causal: pad & ~causal, "is wrong"),
    (lambda pad, causal: pad[:1] & causal, "is wrong"),
    (lambda pad, causal: pad & pad.transpose(-1, -2) & causal, "QUERIES"),
]
WRONG["ch04.predict_visible"] += [
    (lambda n, L: [max(i + 1, n) for i in range(L)], "expected"),
    (lambda n, L: [L - min(i + 1, n) for i in range(L)], "expected"),
    (lambda n, L: [1, 2, 3, 3, 3], "is wrong"),  # the notebook's example
]
CORRECT["ch04.causal_mask"] += [lambda n: torch.ones(n, n, dtype=torch.bool).tril()[None, None]]
CORRECT["ch04.masked_attention"] += [_masked_with(lambda s: -1e9)]

WRONG["ch04.padding_mask"] += [  # max_len = 6 kept from the example
    (lambda lengths, max_len: (torch.arange(6) < lengths[:, None])[:, None, None, :], "mask"),
]
