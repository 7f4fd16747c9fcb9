"""Classic wrong answers (and correct alternatives) for the chapter 03 exercises."""

import math

import torch


def _attend(Q, K, V, divisor, dim=-1):
    weights = torch.softmax(Q @ K.T / divisor, dim)
    return weights @ V, weights


def _jacobian_loops(s):  # correct: entry by entry
    p = torch.softmax(s, -1).tolist()
    return [[p[i] * ((i == j) - p[j]) for j in range(len(p))] for i in range(len(p))]


WRONG = {
    "ch03.scaled_attention": [
        (lambda Q, K, V: _attend(Q, K, V, 1.0), "forgot to divide by √d_k"),
        (lambda Q, K, V: _attend(Q, K, V, Q.shape[-1]), "divided by d_k"),
        (lambda Q, K, V: _attend(Q, K, V, math.sqrt(V.shape[-1])), "√d_v"),
        (lambda Q, K, V: _attend(Q, K, V, math.sqrt(K.shape[0])), "√L"),
        (
            lambda Q, K, V: tuple(x / math.sqrt(Q.shape[-1]) for x in _attend(Q, K, V, 1.0)),
            "after the softmax",
        ),
        (lambda Q, K, V: _attend(Q, K, V, math.sqrt(Q.shape[0])), "number of queries"),
        (lambda Q, K, V: _attend(Q, K, V, math.sqrt(Q.shape[-1]), dim=0), "wrong axis"),
        (lambda Q, K, V: _attend(Q, K, V, 1 / math.sqrt(Q.shape[-1])), "multiplied"),
    ],
    "ch03.predict_variance": [
        (lambda d_k, s_q, s_k: d_k, "multiply in"),
        (lambda d_k, s_q, s_k: d_k * s_q * s_k, "standard deviations where variances"),
        (lambda d_k, s_q, s_k: math.sqrt(d_k) * s_q * s_k, "the standard deviation of q·k"),
        (lambda d_k, s_q, s_k: d_k**2 * s_q**2 * s_k**2, "not d_k²"),
        (lambda d_k, s_q, s_k: d_k * (s_q**2 + s_k**2), "not add"),
        (lambda d_k, s_q, s_k: 16.0, "predict_variance("),
    ],
    "ch03.softmax_jacobian": [
        (lambda s: torch.diag(torch.softmax(s, -1)), "only diag(p)"),
        (
            lambda s: (
                torch.outer(torch.softmax(s, -1), torch.softmax(s, -1))
                - torch.diag(torch.softmax(s, -1))
            ),
            "sign is flipped",
        ),
        (
            lambda s: torch.diag(torch.softmax(s, -1) * (1 - torch.softmax(s, -1))),
            "only the diagonal",
        ),
        (lambda s: -torch.outer(torch.softmax(s, -1), torch.softmax(s, -1)), "forgot diag(p)"),
        (lambda s: torch.diag(s) - torch.outer(s, s), "scores s"),
        (
            lambda s: (
                torch.diag(s.exp() / s.exp().sum())
                - torch.outer(s.exp() / s.exp().sum(), s.exp() / s.exp().sum())
            ),
            "NaN",
        ),
    ],
    "ch03.temperature": [
        (lambda s, T: torch.softmax(s * T, -1), "multiplied by T"),
        (lambda s, T: torch.softmax(s, -1) / T, "after the softmax"),
        (lambda s, T: torch.softmax(s, -1), "ignored T"),
        (lambda s, T: torch.softmax(s / T, 0), "wrong axis"),
        (lambda s, T: torch.softmax(s, -1) ** (1 / T), "renormalising"),
    ],
}

CORRECT = {
    "ch03.scaled_attention": [
        lambda Q, K, V: [
            torch.softmax(torch.einsum("qd,kd->qk", Q, K) * Q.shape[-1] ** -0.5, -1) @ V,
            torch.softmax(torch.einsum("qd,kd->qk", Q, K) * Q.shape[-1] ** -0.5, -1),
        ],
        lambda Q, K, V: _attend(Q.float(), K.float(), V.float(), math.sqrt(Q.shape[-1])),
    ],
    "ch03.predict_variance": [
        lambda d_k, s_q, s_k: d_k * (s_q * s_k) ** 2,
        lambda d_k, s_q, s_k: torch.tensor(d_k * s_q**2 * s_k**2),
    ],
    "ch03.softmax_jacobian": [
        _jacobian_loops,
        lambda s: torch.autograd.functional.jacobian(lambda x: x.softmax(-1), s),
    ],
    "ch03.temperature": [
        lambda s, T: torch.exp(s / T - (s / T).logsumexp(-1, keepdim=True)),
        lambda s, T: torch.nn.functional.softmax(s * (1 / T), dim=s.dim() - 1),
    ],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _scaled_by(divisor):
    def scaled_attention(Q, K, V):
        weights = torch.softmax(Q @ K.T / divisor(Q, K), -1)
        return weights @ V, weights

    return scaled_attention


def _naive_temperature(x, T):  # no shift: exp(s / T) overflows at a low temperature
    e = (x / T).exp()
    return e / e.sum(-1, keepdim=True)


def _global_shift_temperature(x, T):  # shifted by the maximum of the whole tensor
    e = ((x - x.max()) / T).exp()
    return e / e.sum(-1, keepdim=True)


def _jacobian_naive(s):  # exp without the shift: NaN for large scores
    p = s.exp() / s.exp().sum()
    return torch.diag(p) - torch.outer(p, p)


WRONG["ch03.scaled_attention"] += [
    (_scaled_by(lambda Q, K: Q.shape[-1] ** 1 / 2), "d_k / 2"),
    (_scaled_by(lambda Q, K: math.sqrt(Q.shape[-1]) + 0.1), "is wrong"),
    (_scaled_by(lambda Q, K: 8.0), "is wrong"),  # √64 from the paper
    (_scaled_by(lambda Q, K: (Q @ K.T).std()), "is wrong"),
]
WRONG["ch03.predict_variance"] += [
    (lambda d, sq, sk: sq**2 * sk**2, "returned"),
    (lambda d, sq, sk: math.sqrt(d) * sq**2 * sk**2, "returned"),
    (lambda d, sq, sk: d * sq**2, "returned"),
    (lambda d, sq, sk: d * (sq + sk) ** 2, "returned"),
]
WRONG["ch03.softmax_jacobian"] += [
    (_jacobian_naive, "NaN"),
    (lambda s: torch.eye(len(s)) - torch.softmax(s, -1)[None, :].expand(len(s), -1), "is wrong"),
    (
        lambda s: torch.eye(len(s)) - torch.outer(torch.softmax(s, -1), torch.softmax(s, -1)),
        "wrong",
    ),
    (lambda s: torch.outer(torch.softmax(s, -1), 1 - torch.softmax(s, -1)), "is wrong"),
]
WRONG["ch03.temperature"] += [
    (_naive_temperature, "Overflow at a low temperature"),
    (_global_shift_temperature, "NaN"),
    (lambda x, T: torch.log_softmax(x / T, -1), "log-probabilities"),
    (lambda x, T: torch.softmax(x / T**2, -1), "is wrong"),
    (lambda x, T: torch.softmax(x / math.sqrt(T), -1), "is wrong"),
]
CORRECT["ch03.softmax_jacobian"] += [
    lambda s: torch.softmax(s, -1)[:, None] * (torch.eye(len(s)) - torch.softmax(s, -1)[None, :]),
]
CORRECT["ch03.temperature"] += [
    lambda x, T: (lambda p: p / p.sum(-1, keepdim=True))(torch.softmax(x, -1) ** (1 / T)),
    lambda x, T: torch.softmax(x.float() / T, -1),
]
