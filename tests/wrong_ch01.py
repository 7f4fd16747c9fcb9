"""Classic wrong answers (and correct alternatives) for the chapter 01 exercises.

WRONG: exercise id -> [(answer, phrase its message must contain)]; CORRECT: exercise id -> answers
that must pass, public and hidden variants alike. Loaded by tests/test_exercises.py.
"""

import math

import numpy as np
import torch


def _rnn(x, W_x, W_h, b, feed_back=True, transpose=False, states=slice(1, None), act=torch.tanh):
    h = torch.zeros(x.shape[0], W_h.shape[0], dtype=x.dtype)
    out = [h]
    for t in range(x.shape[1]):
        h = act(x[:, t] @ W_x + (h @ (W_h.T if transpose else W_h) if feed_back else 0) + b)
        out.append(h)
    return torch.stack(out, dim=1)[:, states]


def _rnn_first_token(x, W_x, W_h, b):
    return _rnn(x[:, :1].expand_as(x), W_x, W_h, b)


def _rnn_loop_float32(x, W_x, W_h, b):  # correct: a Python loop over a list, then torch.stack
    h, states = torch.zeros(x.shape[0], W_h.shape[0]), []
    for t in range(x.shape[1]):
        h = torch.tanh(torch.einsum("bi,ih->bh", x[:, t], W_x) + h @ W_h + b)
        states.append(h)
    return torch.stack(states, 1)


def _layers_loop(n, k):  # correct: count layers until the window is wide enough
    layers, field = 0, 1
    while field < n + 1:
        layers, field = layers + 1, field + k - 1
    return layers


WRONG = {
    "ch01.rnn_step": [
        (lambda x, h, Wx, Wh, b: x @ Wx + h @ Wh + b, "forgot the tanh"),
        (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + h @ Wh.T + b), "transposed"),
        (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + h @ Wh), "bias"),
        (lambda x, h, Wx, Wh, b: torch.sigmoid(x @ Wx + h @ Wh + b), "sigmoid"),
        (lambda x, h, Wx, Wh, b: torch.relu(x @ Wx + h @ Wh + b), "ReLU"),
        (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + h @ Wh) + b, "inside the tanh"),
        (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + b), "previous state"),
        (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + b) + h @ Wh, "whole sum"),
    ],
    "ch01.rnn_forward": [
        (lambda x, Wx, Wh, b: _rnn(x, Wx, Wh, b, feed_back=False), "previous state"),
        (lambda x, Wx, Wh, b: _rnn(x, Wx, Wh, b, states=slice(0, -1)), "Off by one"),
        (lambda x, Wx, Wh, b: _rnn(x, Wx, Wh, b, states=slice(0, None)), "L + 1 states"),
        (lambda x, Wx, Wh, b: _rnn(x, Wx, Wh, b)[:, -1], "only the last state"),
        (lambda x, Wx, Wh, b: _rnn(x, Wx, Wh, b, transpose=True), "transposed"),
        (lambda x, Wx, Wh, b: _rnn(x, Wx, Wh, b, act=lambda z: z), "forgot the tanh"),
        (_rnn_first_token, "first token"),
        (lambda x, Wx, Wh, b: _rnn(x.flip(1), Wx, Wh, b), "backwards"),
        (lambda x, Wx, Wh, b: _rnn(x, Wx, Wh, b).transpose(0, 1), "(L, B, d_h)"),
    ],
    "ch01.gradient_factor": [
        (lambda w, n: w * n, "*multiplies*"),
        (lambda w, n: w ** (n - 1), "Off by one"),
        (lambda w, n: w ** (n + 1), "Off by one"),
        (lambda w, n: n * w ** (n - 1), "with respect to w"),
        (lambda w, n: abs(w) ** n, "sign"),
        (lambda w, n: 0.5**10, "gradient_factor("),  # hard-coded from the first example
    ],
    "ch01.receptive_field": [
        (lambda L, k: L * k, "twice"),
        (lambda L, k: L * (k - 1), "Off by one"),
        (lambda L, k: k**L, "multiplicatively"),
        (lambda L, k: 1 + L * k, "not k"),
        (lambda L, k: L + k - 1, "not just the first"),
    ],
    "ch01.layers_to_connect": [
        (lambda n, k: math.ceil(n / k), "not by k"),
        (lambda n, k: n // (k - 1), "Rounded down"),
        (lambda n, k: n, "RNN's answer"),
        (lambda n, k: n // (k - 1) + 1, "divides the distance exactly"),
        (lambda n, k: n / (k - 1), "whole number"),
    ],
}

CORRECT = {
    "ch01.rnn_step": [
        lambda x, h, Wx, Wh, b: torch.tanh(
            torch.einsum("bi,ih->bh", x, Wx) + torch.einsum("bh,hk->bk", h, Wh) + b
        ),
        lambda x, h, Wx, Wh, b: torch.nn.functional.linear(x, Wx.T, b).add(h @ Wh).tanh().numpy(),
    ],
    "ch01.rnn_forward": [
        _rnn_loop_float32,
        lambda x, Wx, Wh, b: _rnn(x.double(), Wx.double(), Wh.double(), b.double()),
    ],
    "ch01.gradient_factor": [
        lambda w, n: math.prod([w] * n),
        lambda w, n: np.float64(w) ** n,
        lambda w, n: torch.tensor(w, dtype=torch.float64) ** n,
    ],
    "ch01.receptive_field": [lambda L, k: L * k - L + 1, lambda L, k: np.int64(1 + L * (k - 1))],
    "ch01.layers_to_connect": [
        _layers_loop,
        lambda n, k: -(-n // (k - 1)),
        lambda n, k: float(math.ceil(n / (k - 1))),
    ],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _rnn_in_place(x, W_x, W_h, b):  # one tensor h, changed in place, appended L times
    h, states = torch.zeros(x.shape[0], W_h.shape[0]), []
    for t in range(x.shape[1]):
        h[:] = torch.tanh(x[:, t] @ W_x + h @ W_h + b)
        states.append(h)
    return torch.stack(states, 1)


def _rnn_reshaped(x, W_x, W_h, b):  # stacked along dim=0, then reshaped instead of transposed
    return _rnn(x, W_x, W_h, b).transpose(0, 1).reshape(x.shape[0], x.shape[1], -1)


def _rnn_h0_is_b(x, W_x, W_h, b):
    h, states = b.expand(x.shape[0], -1), []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ W_x + h @ W_h + b)
        states.append(h)
    return torch.stack(states, 1)


def _rnn_first_sequence(x, W_x, W_h, b):  # the first sequence's states for every batch entry
    return _rnn(x[:1], W_x, W_h, b).expand(x.shape[0], -1, -1)


WRONG["ch01.rnn_step"] += [
    (lambda x, h, Wx, Wh, b: torch.nn.functional.hardtanh(x @ Wx + h @ Wh + b), "is wrong"),
    (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + b) + torch.tanh(h @ Wh), "is wrong"),
    (lambda x, h, Wx, Wh, b: torch.tanh(x[0] @ Wx + h @ Wh + b), "is wrong"),
    (lambda x, h, Wx, Wh, b: torch.tanh(x @ Wx + h + b), "is wrong"),
]
WRONG["ch01.rnn_forward"] += [
    (_rnn_in_place, "same tensor L times"),
    (_rnn_reshaped, "reshape does not swap axes"),
    (_rnn_h0_is_b, "is wrong"),
    (_rnn_first_sequence, "is wrong"),
]
WRONG["ch01.gradient_factor"] += [
    (lambda w, n: n**w, "returned"),
    (lambda w, n: 1 / w**n, "returned"),
    (lambda w, n: sum(w**t for t in range(1, n + 1)), "returned"),
    (lambda w, n: round(w**n, 4), "returned"),
]
WRONG["ch01.receptive_field"] += [
    (lambda L, k: 2 * L * (k // 2) + 1, "returned"),  # right for odd k only
    (lambda L, k: L * (k - 1) + k, "returned"),
    (lambda L, k: max(L * (k - 1), 1), "returned"),
]
WRONG["ch01.layers_to_connect"] += [
    (lambda n, k: math.ceil((n - 1) / (k - 1)), "returned"),
    (lambda n, k: n // k + 1, "returned"),
    (lambda n, k: math.ceil(math.log(n + 1, k)), "returned"),
]
CORRECT["ch01.rnn_forward"] += [lambda x, Wx, Wh, b: _rnn(x, Wx, Wh, b).tolist()]
CORRECT["ch01.gradient_factor"] += [
    lambda w, n: torch.tensor(w) ** n,  # float32
    lambda w, n: np.float32(w) ** n,
]
CORRECT["ch01.layers_to_connect"] += [lambda n, k: (n + k - 2) // (k - 1)]
