"""Classic wrong answers (and correct alternatives) for the chapter 06 exercises."""

import math

import numpy as np
import torch


def _omega(d):
    return 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)


def _pe(L, d, swap=False, halves=False, exponent=None, start=0):
    pos = torch.arange(start, start + L, dtype=torch.float64)[:, None]
    w = (
        _omega(d)
        if exponent is None
        else 10000.0 ** (-exponent(torch.arange(d // 2, dtype=torch.float64), d))
    )
    s, c = torch.sin(pos * w), torch.cos(pos * w)
    if halves:
        return torch.cat([s, c], -1)
    return torch.stack([c, s] if swap else [s, c], -1).flatten(1)


def _pe_tutorial(max_len, d_model):  # correct: the PyTorch tutorial's float32 form with exp and log
    position = torch.arange(max_len).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


def _pe_loops(max_len, d_model):  # correct: nested Python loops
    return [
        [
            math.sin(p / 10000 ** (j / d_model))
            if j % 2 == 0
            else math.cos(p / 10000 ** ((j - 1) / d_model))
            for j in range(d_model)
        ]
        for p in range(max_len)
    ]


def _shift(k, d, swap=False):
    blocks = []
    for w in _omega(d).tolist():
        c, s = math.cos(k * w), math.sin(k * w)
        blocks.append(
            torch.tensor([[s, c], [c, -s]] if swap else [[c, -s], [s, c]], dtype=torch.float64)
        )
    return torch.block_diag(*blocks)


def _shift_numpy(k, d):  # correct: numpy, filled entry by entry
    M = np.zeros((d, d))
    for i, w in enumerate(_omega(d).tolist()):
        M[2 * i, 2 * i] = M[2 * i + 1, 2 * i + 1] = np.cos(k * w)
        M[2 * i, 2 * i + 1], M[2 * i + 1, 2 * i] = -np.sin(k * w), np.sin(k * w)
    return M


WRONG = {
    "ch06.sinusoidal": [
        (lambda L, d: _pe(L, d, swap=True), "swapped"),
        (lambda L, d: _pe(L, d, halves=True), "first half"),
        (lambda L, d: _pe(L, d, exponent=lambda i, d: i / d), "2i/d_model"),
        (lambda L, d: _pe(L, d, exponent=lambda i, d: -2 * i / d), "negative"),
        (lambda L, d: _pe(L, d, start=1), "Off by one"),
        (lambda L, d: _pe(L, d).T, "(max_len, d_model)"),
        (lambda L, d: _pe(L, d, exponent=lambda i, d: 4 * i / d), "PAIR index"),
    ],
    "ch06.shift_matrix": [
        (lambda k, d: _shift(k, d).T, "shifts by −"),
        (lambda k, d: torch.block_diag(*[_shift(k, 2)] * (d // 2)), "own angle"),
        (lambda k, d: _shift(k, d, swap=True), "swapped"),
        (lambda k, d: _shift(1, d), "k·ω_i"),
        (lambda k, d: torch.eye(d), "M_"),
    ],
    "ch06.embed": [
        (lambda ids, E: E[ids] + _pe(ids.shape[1], E.shape[1]), "forgot to multiply"),
        (
            lambda ids, E: E[ids] + _pe(ids.shape[1], E.shape[1]) * math.sqrt(E.shape[1]),
            "scaled the positional",
        ),
        (lambda ids, E: E[ids] * E.shape[1] + _pe(ids.shape[1], E.shape[1]), "not by d_model"),
        (
            lambda ids, E: (E[ids] + _pe(ids.shape[1], E.shape[1])) * math.sqrt(E.shape[1]),
            "Only the embeddings",
        ),
        (
            lambda ids, E: (
                E[ids] * math.sqrt(E.shape[1]) + _pe(int(ids.max()) + 1, E.shape[1])[ids]
            ),
            "token ids",
        ),
        (
            lambda ids, E: E[ids] * math.sqrt(E.shape[1]) + _pe(ids.shape[1], E.shape[1], start=1),
            "position 0",
        ),
    ],
    "ch06.predict_dot": [
        (lambda k, d: 2 * float(torch.cos(k * _omega(d)).sum()), "d_model/2 terms"),
        (lambda k, d: float(torch.sin(k * _omega(d)).sum()), "not a sine"),
        (lambda k, d: d / 2, "depends on k"),
        (lambda k, d: float(torch.cos(k * _omega(d)).mean()), "average"),
        (lambda k, d: float(torch.cos(k * torch.arange(d // 2)).sum()), "not i"),
    ],
}

CORRECT = {
    "ch06.sinusoidal": [_pe_tutorial, _pe_loops, lambda L, d: np.asarray(_pe(L, d))],
    "ch06.shift_matrix": [
        _shift_numpy,
        lambda k, d: _shift(k, d).float(),
        lambda k, d: _shift(k, d).tolist(),
    ],
    "ch06.embed": [
        lambda ids, E: (
            torch.nn.functional.embedding(ids, E) * E.shape[-1] ** 0.5
            + _pe_tutorial(ids.shape[1], E.shape[1])
        ),
        lambda ids, E: torch.stack(
            [E[row] * math.sqrt(E.shape[1]) + _pe(len(row), E.shape[1]) for row in ids]
        ),
    ],
    "ch06.predict_dot": [
        lambda k, d: sum(math.cos(k / 10000 ** (2 * i / d)) for i in range(d // 2)),
        lambda k, d: torch.cos(k * _omega(d)).sum(),
    ],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _pe_own_index(max_len, d_model):  # the cosine of dimension 2i+1 with exponent (2i+1)/d
    return [
        [
            math.sin(p / 10000 ** (i / d_model))
            if i % 2 == 0
            else math.cos(p / 10000 ** (i / d_model))
            for i in range(d_model)
        ]
        for p in range(max_len)
    ]


def _pe_base(base):
    def positional_encoding(max_len, d_model):
        pos = torch.arange(max_len, dtype=torch.float64)[:, None]
        angles = pos * base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
        return torch.stack([angles.sin(), angles.cos()], -1).flatten(1)

    return positional_encoding


def _shift_with(block):
    def make_shift_matrix(k, d_model):
        omega = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
        return torch.block_diag(*[block(torch.cos(k * w), torch.sin(k * w)) for w in omega])

    return make_shift_matrix


def _pe_ref(L, d):
    return _pe_base(10000.0)(L, d)


WRONG["ch06.sinusoidal"] += [
    (_pe_own_index, "own index"),
    (_pe_base(1000.0), "is wrong"),
    (lambda L, d: _pe_base(10000.0)(L + 1, d), "shape"),
    (lambda L, d: _pe_base(10000.0)(L, d) * (torch.arange(d) % 2 == 0), "is wrong"),  # sin only
]
WRONG["ch06.shift_matrix"] += [
    (_shift_with(lambda c, s: torch.stack([torch.stack([c, s]), torch.stack([s, c])])), "wrong"),
    (_shift_with(lambda c, s: torch.stack([torch.stack([c, -s]), torch.stack([-s, c])])), "wrong"),
    (_shift_with(lambda c, s: torch.diag(torch.stack([c, c]))), "is wrong"),
    (
        lambda k, d: _shift_with(
            lambda c, s: torch.stack([torch.stack([c, -s]), torch.stack([s, c])])
        )(k + 1, d),
        "wrong",
    ),
]
WRONG["ch06.embed"] += [
    (lambda ids, E: E[ids] * math.sqrt(E.shape[0]) + _pe_ref(ids.shape[1], E.shape[1]), "is wrong"),
    (
        lambda ids, E: E[ids] * math.sqrt(E.shape[1]) + _pe_ref(ids.shape[1], E.shape[1])[0],
        "is wrong",
    ),
    (
        lambda ids, E: torch.cat(
            [E[ids], _pe_ref(ids.shape[1], E.shape[1]).expand(len(ids), -1, -1)], -1
        ),
        "shape",
    ),
    (
        lambda ids, E: (
            E[ids] * math.sqrt(E.shape[1]) + _pe_base(10000.0)(ids.shape[1], E.shape[1]).flip(0)
        ),
        "is wrong",
    ),
]
WRONG["ch06.predict_dot"] += [
    (lambda k, d: d / 2 * math.cos(k), "returned"),
    (lambda k, d: sum(math.cos(k / 10000 ** (2 * i / d)) ** 2 for i in range(d // 2)), "returned"),
    (lambda k, d: sum(math.cos(k / 1000 ** (2 * i / d)) for i in range(d // 2)), "returned"),
    (lambda k, d: d / 2 * math.exp(-k / d), "returned"),
]
CORRECT["ch06.predict_dot"] += [
    lambda k, d: float(
        _pe_base(10000.0)(40, d).float()[3] @ _pe_base(10000.0)(40, d).float()[3 + k]
    ),
    lambda k, d: sum(math.cos(k / 10000 ** (2 * i / d)) for i in range(d // 2)),
]

WRONG["ch06.predict_dot"] += [  # d_model = 16 kept from the example
    (lambda k, d: sum(math.cos(k / 10000 ** (2 * i / 16)) for i in range(8)), "returned"),
]
