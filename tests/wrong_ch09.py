"""Classic wrong answers (and correct alternatives) for the chapter 09 exercises."""

import numpy as np
import torch


def _replace(
    x, chosen, u, random_ids, mask_id, mask_frac=0.8, random_end=0.9, random_everywhere=False
):
    out = torch.where(chosen & (u < mask_frac), mask_id, x)
    to_random = (u >= mask_frac) & (u < random_end)
    return torch.where(to_random if random_everywhere else chosen & to_random, random_ids, out)


def _replace_loops(x, chosen, u, random_ids, mask_id):  # correct: element by element, on lists
    out = x.tolist()
    for b, row in enumerate(out):
        for t in range(len(row)):
            if chosen[b, t] and u[b, t] < 0.8:
                row[t] = mask_id
            elif chosen[b, t] and u[b, t] < 0.9:
                row[t] = int(random_ids[b, t])
    return out


WRONG = {
    "ch09.mlm_labels": [
        (lambda orig, corrupted, chosen: orig, "labels everywhere"),
        (lambda orig, corrupted, chosen: torch.where(chosen, orig, 0), "0 instead of -100"),
        (lambda orig, corrupted, chosen: torch.where(chosen, corrupted, -100), "corrupted input"),
        (
            lambda orig, corrupted, chosen: torch.where(~chosen, orig, -100),
            "inverted the selection",
        ),
        (
            lambda orig, corrupted, chosen: torch.where(corrupted == 4, orig, -100),
            "EVERY chosen position",
        ),
        (
            lambda orig, corrupted, chosen: torch.where(corrupted != orig, orig, -100),
            "whose token changed",
        ),
        (lambda orig, corrupted, chosen: torch.where(chosen, orig, -1), "ignore_index"),
    ],
    "ch09.apply_80_10_10": [
        (lambda x, c, u, r, m: _replace(x, c, u, r, m, 0.1, 0.2), "swapped the shares"),
        (lambda x, c, u, r, m: _replace(x, c, u, r, m, 1.0, 1.0), "masking all chosen"),
        (
            lambda x, c, u, r, m: _replace(x, c, u, r, m, random_everywhere=True),
            "not only at the chosen",
        ),
        (lambda x, c, u, r, m: _replace(x, c, u, r, 4), "mask_id argument"),
        (
            lambda x, c, u, r, m: torch.where(c & (u > 0.9), r, torch.where(c & (u <= 0.8), m, x)),
            "swapped random and",
        ),
        (
            lambda x, c, u, r, m: torch.where(
                c & (u > 0.8) & (u <= 0.9), r, torch.where(c & (u <= 0.8), m, x)
            ),
            "boundaries",
        ),
        (
            lambda x, c, u, r, m: torch.where(
                c & (u >= 0.8) & (u < 0.9), r, torch.where(u < 0.8, m, x)
            ),
            "everywhere u < 0.8",
        ),
    ],
    "ch09.nsp_labels": [
        (lambda is_next: torch.tensor([int(n) for n in is_next]), "Inverted"),
        (lambda is_next: torch.tensor([[1, 0] if n else [0, 1] for n in is_next]), "one-hot"),
        (lambda is_next: [1 if n else 2 for n in is_next], "0 and 1"),
        (lambda is_next: torch.tensor(is_next), "Inverted"),
        (lambda is_next: torch.tensor([0, 1, 1, 0, 0, 1]), "next_sentence_label"),
    ],
    "ch09.tied_logits": [
        (lambda h, E, b: h @ E.T, "forgot the output bias"),
        (lambda h, E, b: torch.softmax(h @ E.T + b, -1), "probabilities"),
        (lambda h, E, b: h, "(N, V)"),
        (lambda h, E, b: E @ h.T + b[:, None], "E hᵀ"),
        (lambda h, E, b: torch.log_softmax(h @ E.T + b, -1), "log_softmax"),
    ],
    "ch09.predict_share": [
        (lambda p, m, r: p, "CHOSEN tokens"),
        (lambda p, m, r: m, "among the chosen"),
        (lambda p, m, r: p * (m + r), "random replacements too"),
        (lambda p, m, r: p * r, "RANDOM replacements"),
        (lambda p, m, r: 100 * p * m, "percentage"),
        (lambda p, m, r: 0.12, "predict_share("),
    ],
}

CORRECT = {
    "ch09.mlm_labels": [
        lambda o, c, ch: o.masked_fill(~ch, -100),
        lambda o, c, ch: np.where(ch.numpy(), o.numpy(), -100),
        lambda o, c, ch: [
            [int(a) if s else -100 for a, s in zip(r, m, strict=True)]
            for r, m in zip(o, ch, strict=True)
        ],
    ],
    "ch09.apply_80_10_10": [_replace_loops, lambda x, c, u, r, m: _replace(x, c, u, r, m)],
    "ch09.nsp_labels": [
        lambda is_next: [int(not n) for n in is_next],
        lambda is_next: (~torch.tensor(is_next)).long(),
        lambda is_next: np.array([0 if n else 1 for n in is_next]),
    ],
    "ch09.tied_logits": [
        lambda h, E, b: torch.nn.functional.linear(h, E, b),
        lambda h, E, b: torch.addmm(b, h, E.T),
        lambda h, E, b: torch.einsum("nh,vh->nv", h.float(), E.float()) + b,
    ],
    "ch09.predict_share": [lambda p, m, r: m * p, lambda p, m, r: torch.tensor(p) * m],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _rule(to_mask, to_random):
    def apply_80_10_10(input_ids, chosen, u, random_ids, mask_id):
        out = torch.where(to_mask(chosen, u), mask_id, input_ids)
        return torch.where(to_random(chosen, u), random_ids, out)

    return apply_80_10_10


def _rule_loop(input_ids, chosen, u, random_ids, mask_id):  # correct: Python floats, row by row
    rows = zip(input_ids.tolist(), chosen.tolist(), u.tolist(), random_ids.tolist(), strict=True)
    return [
        [
            mask_id if c and v < 0.8 else (r if c and v < 0.9 else x)
            for x, c, v, r in zip(*row, strict=True)
        ]
        for row in rows
    ]


WRONG["ch09.mlm_labels"] += [
    (lambda o, c, chosen: torch.where(c == 103, o, -100), "is wrong"),
    (lambda o, c, chosen: torch.where(chosen[0], o, -100), "is wrong"),
    (lambda o, c, chosen: chosen.long(), "is wrong"),
]
WRONG["ch09.apply_80_10_10"] += [
    (_rule(lambda ch, u: ch & (u >= 0.2), lambda ch, u: ch & (u < 0.1)), "is wrong"),
    (_rule(lambda ch, u: ch & (u < 0.8), lambda ch, u: ch & (u >= 0.8) & (u <= 0.9)), "is wrong"),
    (_rule(lambda ch, u: ch & (u < 0.8), lambda ch, u: ch & (u > 0.8) & (u < 0.9)), "is wrong"),
    (_rule(lambda ch, u: ch & (u < 0.8), lambda ch, u: ch & (u >= 0.8)), "is wrong"),
    (
        _rule(
            lambda ch, u: ch & ((u < 0.8) | (u >= 0.9)), lambda ch, u: ch & (u >= 0.8) & (u < 0.9)
        ),
        "wrong",
    ),
]
WRONG["ch09.nsp_labels"] += [
    (lambda is_next: torch.tensor([0, 1, 1, 0, 0, 1]), "shape"),  # the first example, hard-coded
    (lambda is_next: torch.zeros(len(is_next), dtype=torch.long), "is wrong"),
    (lambda is_next: torch.tensor([-1 if n else 1 for n in is_next]), "is wrong"),
    (lambda is_next: sum(not n for n in is_next), "shape"),
]
WRONG["ch09.tied_logits"] += [
    (lambda h, E, b: h @ E.T / h.shape[-1] ** 0.5 + b, "is wrong"),
    (lambda h, E, b: h @ E.T + b.mean(), "is wrong"),
    (lambda h, E, b: h @ torch.nn.functional.normalize(E, dim=-1).T + b, "is wrong"),
    (lambda h, E, b: (h @ E.T + b).argmax(-1), "shape"),
]
WRONG["ch09.predict_share"] += [
    (lambda p, m, r: p * m + r, "returned"),
    (lambda p, m, r: p * (1 - r), "returned"),
    (lambda p, m, r: 0.12, "returned"),  # BERT's 0.15 · 0.8, hard-coded
    (lambda p, m, r: p * m * (1 - p), "returned"),
]
CORRECT["ch09.apply_80_10_10"] += [_rule_loop]

WRONG["ch09.apply_80_10_10"] += [  # BERT's [MASK] id 103 instead of the mask_id given
    (
        lambda ids, chosen, u, rnd, mask_id: _rule(
            lambda c, v: c & (v < 0.8), lambda c, v: c & (v >= 0.8) & (v < 0.9)
        )(ids, chosen, u, rnd, 103),
        "fixed id",
    ),
]

WRONG["ch09.nsp_labels"] += [  # right values, but not class ids cross_entropy can take
    (lambda is_next: torch.tensor([not n for n in is_next]), "integer class ids"),
    (lambda is_next: [not n for n in is_next], "integer class ids"),
    (lambda is_next: torch.tensor([0.0 if n else 1.0 for n in is_next]), "integer class ids"),
]


def _replace_in_place(x, chosen, u, random_ids, mask_id):  # destroys the original ids
    to_random = chosen & (u >= 0.8) & (u < 0.9)
    x[to_random] = random_ids[to_random]
    x[chosen & (u < 0.8)] = mask_id
    return x


WRONG["ch09.apply_80_10_10"] += [
    (_replace_in_place, "in place"),
    (lambda ids, chosen, u, rnd, mask_id: _replace(ids, chosen, u, rnd, mask_id).float(), "float"),
]
WRONG["ch09.mlm_labels"] += [  # right values, but cross_entropy needs int64 class ids
    (lambda orig, corrupted, chosen: torch.where(chosen, orig, -100).int(), "int64"),
    (lambda orig, corrupted, chosen: torch.where(chosen, orig.float(), -100.0), "int64"),
]
WRONG["ch09.nsp_labels"] += [
    (lambda is_next: torch.tensor([0 if n else 1 for n in is_next], dtype=torch.int), "int64"),
]
