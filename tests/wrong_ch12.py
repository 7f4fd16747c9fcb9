"""Classic wrong answers to chapter 12's exercises, each with a phrase its message must contain."""
import math

WRONG = {
    "ch12.qk_std": [
        (lambda d_k, s: (d_k * s**4, s**4), "returned the variance"),
        (lambda d_k, s: (math.sqrt(d_k) * s, s), "σ²·σ² = σ⁴"),
        (lambda d_k, s: (d_k * s**2, math.sqrt(d_k) * s**2), "sqrt vs not"),
        (lambda d_k, s: (math.sqrt(d_k) * s**2, s**2 / math.sqrt(d_k)), "divided by d_k"),
        (lambda d_k, s: math.sqrt(d_k) * s**2, "Return a pair"),
    ],
    "ch12.attention_macs": [
        (lambda L, d, h: 2 * L * L * d, "four projections"),
        (lambda L, d, h: 3 * L * d * d + 2 * L * L * d, "forgot the output projection"),
        (lambda L, d, h: 4 * L * d * d + L * L * d, "weighted sum of the values"),
        (lambda L, d, h: 4 * L * d * d + 2 * h * L * L * d, "multiplied the attention part by the number of heads"),
        (lambda L, d, h: 2 * (4 * L * d * d + 2 * L * L * d), "counted FLOPs"),
    ],
    "ch12.doubling_ratio": [
        (lambda L, d: 4, "only for the L² part"),
        (lambda L, d: 2.0, "linear cost"),
        (lambda L, d: 8, "nothing grows eightfold"),
    ],
    "ch12.new_position_parameters": [
        (lambda H, layers, old, new: 0, "LEARNED"),
        (lambda H, layers, old, new: layers * (new - old) * H, "added once"),
        (lambda H, layers, old, new: new * H, "only new_max − old_max rows"),
    ],
    "ch12.loss_positions": [
        (lambda lengths, max_len, p, m: p * m * sum(n - 3 for n in lengths), "ALL chosen positions"),
        (lambda lengths, max_len, p, m: p * sum(lengths), "subtract 3"),
        (lambda lengths, max_len, p, m: p * len(lengths) * max_len, "count the real tokens"),
        (lambda lengths, max_len, p, m: p * len(lengths) * (max_len - 3), "own length"),
    ],
}
