"""Classic wrong answers (and correct alternatives) for the chapter 02 exercises."""

import math

import numpy as np
import torch


def _softmax_shift(shift):
    def softmax(x):
        e = (x - shift(x)).exp()
        return e / e.sum(-1, keepdim=True)

    return softmax


def _softmax_loops(x):  # correct: plain Python over the rows of a flattened view
    rows = x.reshape(-1, x.shape[-1])
    out = []
    for row in rows:
        m = max(row.tolist())
        e = [math.exp(v - m) for v in row.tolist()]
        out.append([v / sum(e) for v in e])
    return torch.tensor(out, dtype=x.dtype).reshape(x.shape)


def _attention_list(Q, K, V):  # correct: a list instead of a tuple, einsum
    w = torch.softmax(torch.einsum("qd,kd->qk", Q, K), -1)
    return [w @ V, w]


WRONG = {
    "ch02.scores": [
        (lambda q, K: q * K, "did not sum over the d_k"),
        (lambda q, K: (K @ q) / (K.norm(dim=-1) * q.norm()), "cosine"),
        (lambda q, K: torch.softmax(K @ q, -1), "before"),
        (lambda q, K: K @ q / math.sqrt(q.shape[0]), "√d_k"),
        (lambda q, K: (K @ q).sum(), "summed over the keys too"),
        (lambda q, K: K.T @ q if K.shape[0] == K.shape[1] else K @ q, "instead of the features"),
        (
            lambda q, K: torch.tensor(
                [1.3426, -1.0131, -0.4567, 1.1210, 0.0386], dtype=torch.float64
            ),
            "scores",
        ),
    ],
    "ch02.softmax": [
        (lambda x: torch.softmax(x, dim=0), "wrong axis"),
        (lambda x: x.exp() / x.exp().sum(), "whole"),
        (lambda x: x.exp(), "divide by the sum"),
        (lambda x: x.exp() / x.exp().sum(-1, keepdim=True), "Overflow"),
        (_softmax_shift(lambda x: x.min(-1, keepdim=True).values), "MAXIMUM"),
        (_softmax_shift(lambda x: x.mean(-1, keepdim=True)), "MAXIMUM"),
        (_softmax_shift(lambda x: x.max()), "MAXIMUM"),
        (lambda x: torch.softmax(x, dim=1), "fixed axis"),
        (
            lambda x: _softmax_shift(lambda y: y.max(-1, keepdim=True).values)(x.float()).half(),
            "softmax(x)",
        ),
    ],
    "ch02.attention": [
        (lambda Q, K, V: (torch.softmax(Q @ K.T, 0) @ V, torch.softmax(Q @ K.T, 0)), "wrong axis"),
        (lambda Q, K, V: ((Q @ K.T) @ V, Q @ K.T), "forgot the softmax"),
        (
            lambda Q, K, V: (
                torch.softmax(Q @ K.T / math.sqrt(Q.shape[-1]), -1) @ V,
                torch.softmax(Q @ K.T / math.sqrt(Q.shape[-1]), -1),
            ),
            "√d_k",
        ),
        (lambda Q, K, V: (torch.softmax(K @ Q.T, -1), torch.softmax(K @ Q.T, -1)), "K Qᵀ"),
        (lambda Q, K, V: (torch.softmax(Q @ K.T, -1) @ K, torch.softmax(Q @ K.T, -1)), "values V"),
        (lambda Q, K, V: torch.softmax(Q @ K.T, -1) @ V, "pair"),
        (
            lambda Q, K, V: (torch.softmax(Q @ K.T, -1), torch.softmax(Q @ K.T, -1) @ V),
            "wrong order",
        ),
    ],
    "ch02.self_attention": [
        (lambda X, Wq, Wk, Wv: torch.softmax(X @ X.T, -1) @ X, "X itself"),
        (
            lambda X, Wq, Wk, Wv: torch.softmax((X @ Wq) @ (X @ Wq).T, -1) @ (X @ Wq),
            "W_q for all three",
        ),
        (
            lambda X, Wq, Wk, Wv: torch.softmax((X @ Wq.T) @ (X @ Wk.T).T, -1) @ (X @ Wv.T),
            "transposed",
        ),
        (lambda X, Wq, Wk, Wv: torch.softmax((X @ Wq) @ (X @ Wk).T, -1) @ X, "X as the values"),
        (
            lambda X, Wq, Wk, Wv: (
                torch.softmax((X @ Wq) @ (X @ Wk).T / math.sqrt(Wq.shape[1]), -1) @ (X @ Wv)
            ),
            "√d",
        ),
        (lambda X, Wq, Wk, Wv: torch.softmax((X @ Wk) @ (X @ Wq).T, -1) @ (X @ Wv), "swapped"),
        (lambda X, Wq, Wk, Wv: torch.softmax((X @ Wq) @ (X @ Wk).T, 0) @ (X @ Wv), "wrong axis"),
    ],
    "ch02.permutation": [
        (lambda Y, perm: Y, "outputs do move"),
        (lambda Y, perm: Y[torch.argsort(perm)], "inverse permutation"),
        (lambda Y, perm: Y[:, perm], "features"),
        (lambda Y, perm: Y[perm][perm], "twice"),
        (lambda Y, perm: Y.flip(0), "prediction"),
    ],
}

CORRECT = {
    "ch02.scores": [
        lambda q, K: torch.einsum("d,ld->l", q, K),
        lambda q, K: (q * K).sum(-1),
        lambda q, K: [float(q @ k) for k in K],
        lambda q, K: K.numpy() @ q.numpy(),
    ],
    "ch02.softmax": [
        _softmax_loops,
        lambda x: torch.softmax(x, -1),
        lambda x: (x - x.logsumexp(-1, keepdim=True)).exp(),
    ],
    "ch02.attention": [
        _attention_list,
        lambda Q, K, V: (
            tuple(reversed((torch.softmax(Q @ K.mT, -1),) * 1))
            and (torch.softmax(Q @ K.mT, -1) @ V, torch.softmax(Q @ K.mT, -1))
        ),
    ],
    "ch02.self_attention": [
        lambda X, Wq, Wk, Wv: _attention_list(X @ Wq, X @ Wk, X @ Wv)[0],
        lambda X, Wq, Wk, Wv: torch.nn.functional.scaled_dot_product_attention(
            X @ Wq, X @ Wk, X @ Wv, scale=1.0
        ),
    ],
    "ch02.permutation": [
        lambda Y, perm: Y.index_select(0, perm),
        lambda Y, perm: np.asarray(Y)[np.asarray(perm)],
        lambda Y, perm: torch.stack([Y[int(i)] for i in perm]),
    ],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _sm(x):
    return torch.softmax(x, -1)


def _shifted_softmax(shift):
    def softmax(x):
        e = (x - shift(x)).exp()
        return e / e.sum(-1, keepdim=True)

    return softmax


WRONG["ch02.scores"] += [
    (lambda q, K: K @ q / K.shape[0], "is wrong"),
    (lambda q, K: (K @ q).round(decimals=2), "is wrong"),
    (lambda q, K: -((K - q) ** 2).sum(-1), "is wrong"),
    (lambda q, K: (K[0] @ q).expand(K.shape[0]), "is wrong"),
]
WRONG["ch02.softmax"] += [
    (lambda x: torch.log_softmax(x, -1), "log-probabilities"),
    (_shifted_softmax(lambda x: x[..., :1]), "Overflow"),  # shifted by the first entry
    (_shifted_softmax(lambda x: x.abs().max(-1, keepdim=True).values), "Overflow"),
    (_shifted_softmax(lambda x: x.median(-1, keepdim=True).values), "Overflow"),
    (lambda x: torch.softmax(x, -2) if x.dim() > 1 else torch.softmax(x, -1), "wrong axis"),
    (lambda x: x / x.sum(-1, keepdim=True), "is wrong"),
]
WRONG["ch02.attention"] += [
    (lambda Q, K, V: (_sm(Q @ K.T) @ V, Q @ K.T), "forgot the softmax"),
    (lambda Q, K, V: (_sm(Q @ K.T / Q.shape[-1]) @ V, _sm(Q @ K.T / Q.shape[-1])), "is wrong"),
    (lambda Q, K, V: (torch.sigmoid(Q @ K.T) @ V, torch.sigmoid(Q @ K.T)), "is wrong"),
    (lambda Q, K, V: {"output": _sm(Q @ K.T) @ V, "weights": _sm(Q @ K.T)}, "pair"),
]
WRONG["ch02.self_attention"] += [
    (lambda X, Wq, Wk, Wv: (_sm(X @ Wq @ (X @ Wk).T) @ (X @ Wv), _sm(X @ Wq @ (X @ Wk).T)), "pair"),
    (lambda X, Wq, Wk, Wv: _sm(X @ Wq @ (X @ Wv).T) @ (X @ Wv), "is wrong"),
    (lambda X, Wq, Wk, Wv: _sm(X @ Wq @ (X @ Wk).T) @ (X @ Wk), "is wrong"),
    (lambda X, Wq, Wk, Wv: _sm(X @ Wq @ (X @ Wk).T) @ (X @ Wv) + X @ Wv, "is wrong"),
    (lambda X, Wq, Wk, Wv: _sm(X @ Wq @ (X @ Wq).T) @ (X @ Wv), "is wrong"),
]
WRONG["ch02.permutation"] += [
    (lambda Y, perm: Y[perm.flip(0)], "is wrong"),
    (lambda Y, perm: Y[perm - 1], "is wrong"),
    (lambda Y, perm: Y[perm.sort().values], "do move"),
    (lambda Y, perm: torch.zeros_like(Y).index_copy(0, perm, Y), "inverse permutation"),
]
CORRECT["ch02.softmax"] += [lambda x: (x - torch.logsumexp(x, -1, keepdim=True)).exp()]
CORRECT["ch02.attention"] += [lambda Q, K, V: [_sm(Q @ K.T) @ V, _sm(Q @ K.T)]]
CORRECT["ch02.self_attention"] += [lambda X, Wq, Wk, Wv: _sm(X @ Wq @ Wk.T @ X.T) @ X @ Wv]
CORRECT["ch02.permutation"] += [lambda Y, perm: [Y[i] for i in perm.tolist()]]
