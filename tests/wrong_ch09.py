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
