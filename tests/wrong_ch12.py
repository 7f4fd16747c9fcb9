"""Classic wrong answers (and correct alternatives) for the chapter 12 exercises."""

import math

import numpy as np
import torch

WRONG = {
    "ch12.qk_std": [
        (lambda d_k, s: (d_k * s**4, s**4), "returned the variance"),
        (lambda d_k, s: (math.sqrt(d_k) * s, s), "σ²·σ² = σ⁴"),
        (lambda d_k, s: (d_k * s**2, math.sqrt(d_k) * s**2), "sqrt vs not"),
        (lambda d_k, s: (math.sqrt(d_k) * s**2, s**2 / math.sqrt(d_k)), "divided by d_k"),
        (lambda d_k, s: math.sqrt(d_k) * s**2, "Return a pair"),
        (lambda d_k, s: (s**2, math.sqrt(d_k) * s**2), "Swapped"),
        (lambda d_k, s: (math.sqrt(d_k), 1.0), "only for σ = 1"),
    ],
    "ch12.attention_macs": [
        (lambda L, d, h: 2 * L * L * d, "four projections"),
        (lambda L, d, h: 3 * L * d * d + 2 * L * L * d, "forgot the output projection"),
        (lambda L, d, h: 4 * L * d * d + L * L * d, "weighted sum of the values"),
        (
            lambda L, d, h: 4 * L * d * d + 2 * h * L * L * d,
            "multiplied the attention part by the number of heads",
        ),
        (lambda L, d, h: 2 * (4 * L * d * d + 2 * L * L * d), "counted FLOPs"),
    ],
    "ch12.doubling_ratio": [
        (lambda L, d: 4, "only for the L² part"),
        (lambda L, d: 2.0, "linear cost"),
        (lambda L, d: 8, "nothing grows eightfold"),
        (
            lambda L, d: (4 * L * d * d + 2 * L * L * d) / (4 * 2 * L * d * d + 2 * 4 * L * L * d),
            "Upside down",
        ),
        (lambda L, d: (8 * L * d + 8 * L * L * d) / (4 * L * d + 2 * L * L * d), "not L·d_model"),
    ],
    "ch12.new_position_parameters": [
        (lambda H, layers, old, new: 0, "LEARNED"),
        (lambda H, layers, old, new: layers * (new - old) * H, "added once"),
        (lambda H, layers, old, new: new * H, "only new_max − old_max rows"),
        (lambda H, layers, old, new: new - old, "vector of H numbers"),
        (lambda H, layers, old, new: 393216, "new_position_parameters("),
    ],
    "ch12.loss_positions": [
        (
            lambda lengths, max_len, p, m: p * m * sum(n - 3 for n in lengths),
            "ALL chosen positions",
        ),
        (lambda lengths, max_len, p, m: p * sum(lengths), "subtract 3"),
        (lambda lengths, max_len, p, m: p * len(lengths) * max_len, "count the real tokens"),
        (lambda lengths, max_len, p, m: p * len(lengths) * (max_len - 3), "own length"),
        (lambda lengths, max_len, p, m: p * sum(n - 2 for n in lengths), "THREE special tokens"),
    ],
}

CORRECT = {
    "ch12.qk_std": [
        lambda d_k, s: [d_k**0.5 * s * s, s * s],
        lambda d_k, s: torch.tensor([math.sqrt(d_k) * s**2, s**2]),
        lambda d_k, s: (np.float64(math.sqrt(d_k * s**4)), np.array([s**2])),
    ],
    "ch12.attention_macs": [
        lambda L, d, h: 4 * L * d**2 + 2 * L**2 * d,
        lambda L, d, h: float(3 * L * d * d + h * (2 * L * L * (d // h)) + L * d * d + 0 * h),
    ],
    "ch12.doubling_ratio": [
        lambda L, d: (4 * d + 4 * L) / (2 * d + L),
        lambda L, d: torch.tensor((4 * d + 4 * L) / (2 * d + L)),
    ],
    "ch12.new_position_parameters": [
        lambda H, layers, old, new: H * (new - old),
        lambda H, layers, old, new: np.int64(H * new - H * old),
    ],
    "ch12.loss_positions": [
        lambda lengths, max_len, p, m: sum(p * (n - 3) for n in lengths),
        lambda lengths, max_len, p, m: torch.tensor(lengths).sub(3).sum() * p,
    ],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _macs(L, d):
    return 4 * L * d * d + 2 * L * L * d


WRONG["ch12.qk_std"] += [
    (lambda d, s: (math.sqrt(d) * s**2, 1.0), "qk_std"),
    (lambda d, s: (math.sqrt(d) * s**2, s), "qk_std"),
    (lambda d, s: {"before": math.sqrt(d) * s**2, "after": s**2}, "pair"),
    (lambda d, s: math.sqrt(d) * s**2, "pair"),
]
WRONG["ch12.attention_macs"] += [
    (lambda L, d, h: 4 * L * L * d + 2 * L * d * d, "returned"),
    (lambda L, d, h: 4 * L * d * d + 2 * L * L * d + L * L * h, "returned"),
    (lambda L, d, h: 3 * L * d * d + L * L * d, "returned"),
    (lambda L, d, h: 4 * L * d * (d // h) + 2 * L * L * d, "returned"),
]
WRONG["ch12.doubling_ratio"] += [
    (lambda L, d: _macs(2 * L, d) - _macs(L, d), "returned"),
    (lambda L, d: (4 * L * d * d + 2 * (2 * L) ** 2 * d) / _macs(L, d), "returned"),
    (lambda L, d: _macs(2 * L, d) // _macs(L, d), "returned"),
    (lambda L, d: round(_macs(2 * L, d) / _macs(L, d), 2), "returned"),
]
WRONG["ch12.new_position_parameters"] += [
    (lambda H, layers, old, new: (new - old + 1) * H, "returned"),
    (lambda H, layers, old, new: 2 * (new - old) * H, "returned"),
    (lambda H, layers, old, new: (new - old) * H * H, "returned"),
    (lambda H, layers, old, new: 393216, "returned"),  # the first example, hard-coded
]
WRONG["ch12.loss_positions"] += [
    (lambda lengths, m, p, f: int(p * sum(n - 3 for n in lengths)), "returned"),
    (lambda lengths, m, p, f: math.ceil(p * sum(n - 3 for n in lengths)), "returned"),
    (lambda lengths, m, p, f: sum(int(p * (n - 3)) for n in lengths), "returned"),
    (lambda lengths, m, p, f: round(p * sum(n - 3 for n in lengths)), "returned"),
]
CORRECT["ch12.doubling_ratio"] = CORRECT.get("ch12.doubling_ratio", []) + [
    lambda L, d: (8 * d + 8 * L) / (4 * d + 2 * L),
]
