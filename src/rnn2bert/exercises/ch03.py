"""Checks for chapter 03, why attention divides by √d_k."""

from __future__ import annotations

import math

import torch

from ..attention import scaled_dot_product_attention
from .core import compare, exercise, generator, output_and_weights, predictions


def _inputs(*shapes: tuple[int, ...], seed: int = 3, hidden: bool = False) -> list[torch.Tensor]:
    g = generator(seed, hidden)
    return [torch.randn(*s, generator=g, dtype=torch.float64) for s in shapes]


@exercise("ch03.scaled_attention", "Scaled dot-product attention", "缩放点积注意力")
def check_scaled_attention(attention, hidden: bool = False) -> None:
    # √d_k, √d_v, d_k, √L_k and √L_q all differ within each case
    shapes = (
        [(3, 25, 4, 9), (4, 9, 16, 1), (1, 4, 9, 16)]
        if not hidden
        else [(2, 16, 9, 4), (5, 4, 25, 1), (1, 9, 4, 16)]
    )
    for n, (L_q, L_k, d_k, d_v) in enumerate(shapes):
        Q, K, V = _inputs((L_q, d_k), (L_k, d_k), (L_k, d_v), seed=3 + 10 * n, hidden=hidden)
        Q, K = 1.5 * Q, 1.5 * K
        output, weights = output_and_weights(attention(Q, K, V))
        want_out, want_w = scaled_dot_product_attention(Q, K, V)
        scores = Q @ K.T

        def by(divisor: float, dim: int = -1) -> torch.Tensor:
            return torch.softmax(scores / divisor, dim=dim)

        compare(
            weights,
            want_w,
            "weights",
            wrong=[
                (
                    lambda: by(1.0),
                    "You forgot to divide by √d_k: the weights are softmax(QKᵀ / √d_k).",
                    "忘了除以 √d_k：权重应为 softmax(QKᵀ / √d_k)。",
                    "no_scaling",
                ),
                (
                    lambda: by(d_k),
                    "You divided by d_k. Divide by its square root: the standard deviation of q·k "
                    "is √d_k.",
                    "你除以了 d_k。应除以它的平方根：q·k 的标准差是 √d_k。",
                    "divided_by_d_k",
                ),
                (
                    lambda: by(d_k**1 / 2),
                    "You divided by d_k ** 1/2, which Python reads as (d_k ** 1) / 2 = d_k / 2: "
                    "write d_k ** 0.5 or math.sqrt(d_k).",
                    "你除以了 d_k ** 1/2，Python 把它读作 (d_k ** 1) / 2 = d_k / 2："
                    "应写 d_k ** 0.5 或 math.sqrt(d_k)。",
                    "precedence_half_power",
                ),
                (
                    lambda: by(math.sqrt(d_v)),
                    "You divided by √d_v. The scale comes from the dot product q·k, whose length "
                    "is d_k.",
                    "你除以了 √d_v。缩放来自点积 q·k，它的长度是 d_k。",
                    "divided_by_sqrt_d_v",
                ),
                (
                    lambda: by(math.sqrt(L_k)),
                    "You divided by √L (the number of keys). The scale is √d_k, the length of each "
                    "query and key.",
                    "你除以了 √L（键的个数）。缩放系数是 √d_k，即每个查询和键的长度。",
                    "divided_by_sqrt_L",
                ),
                (
                    lambda: by(math.sqrt(L_q)),
                    "You divided by the square root of the number of queries. The scale is √d_k, "
                    "the "
                    "length of each query and key.",
                    "你除以了查询个数的平方根。缩放系数是 √d_k，即每个查询和键的长度。",
                    "divided_by_sqrt_L_q",
                ),
                (
                    lambda: by(1 / math.sqrt(d_k)),
                    "You multiplied the scores by √d_k: divide by it.",
                    "你把得分乘以了 √d_k：应除以它。",
                    "multiplied_by_sqrt_d_k",
                ),
                (
                    lambda: by(1.0) / math.sqrt(d_k),
                    "You scaled after the softmax. Divide the scores, then apply softmax, so each "
                    "row still sums to 1.",
                    "你在 softmax 之后才缩放。应先缩放得分，再做 softmax，这样每行之和仍为 1。",
                    "scaled_after_softmax",
                ),
                (
                    lambda: by(math.sqrt(d_k), dim=0),
                    "Softmax over the wrong axis: normalise over the keys (dim=-1).",
                    "softmax 的维度错了：应在键的维度上（dim=-1）归一化。",
                    "wrong_axis",
                ),
            ],
            shape_hints=[
                (
                    (L_k, L_q),
                    "weights has shape (L_k, L_q): the scores are Q Kᵀ, one row per query.",
                    "weights 的形状是 (L_k, L_q)：得分应为 Q Kᵀ，每个查询占一行。",
                    "K_Q_transposed",
                ),
            ],
        )
        compare(
            output,
            want_out,
            "output",
            wrong=[
                (
                    lambda: want_w @ K if d_k == d_v else None,
                    "You mixed the keys; the output is a weighted sum of the values.",
                    "你加权求和的是键；输出应是值的加权和。",
                    "mixed_keys",
                ),
            ],
            shape_hints=[
                (
                    (L_q, d_k),
                    "output has shape (L_q, d_k): you mixed the keys; the output is a weighted sum "
                    "of the values.",
                    "output 的形状是 (L_q, d_k)：你加权求和的是键；输出应是值的加权和。",
                    "mixed_keys",
                ),
            ],
        )


@exercise("ch03.predict_variance", "Predict Var(q·k)", "预测 Var(q·k)")
def check_predict_variance(predict_variance, hidden: bool = False) -> None:
    cases = (
        [
            (16, 1.0, 1.0),
            (64, 2.0, 0.5),
            (8, 3.0, 1.0),
            (128, 0.5, 0.5),
            (1, 2.0, 3.0),
            (32, 1.0, 4.0),
        ]
        if not hidden
        else [
            (32, 1.5, 1.0),
            (4, 0.5, 3.0),
            (256, 1.0, 0.25),
            (1, 5.0, 1.0),
            (9, 2.0, 2.0),
            (50, 0.3, 1.0),
        ]
    )
    predictions(
        predict_variance,
        cases,
        [d * sq**2 * sk**2 for d, sq, sk in cases],
        "predict_variance",
        [
            (
                lambda d, sq, sk: d,
                "That is right only for unit variance: the variances of the components multiply "
                "in, "
                "d_k·σ_q²·σ_k².",
                "只有方差为 1 时才对：各分量的方差要乘进去，即 d_k·σ_q²·σ_k²。",
                "unit_variance_only",
            ),
            (
                lambda d, sq, sk: d * sq * sk,
                "You used standard deviations where variances belong: Var(q_i k_i) = σ_q²·σ_k².",
                "你用了标准差，应当用方差：Var(q_i k_i) = σ_q²·σ_k²。",
                "standard_deviations",
            ),
            (
                lambda d, sq, sk: math.sqrt(d) * sq * sk,
                "That is the standard deviation of q·k; the question asks for the variance.",
                "这是 q·k 的标准差；题目问的是方差。",
                "standard_deviation_of_q_k",
            ),
            (
                lambda d, sq, sk: d**2 * sq**2 * sk**2,
                "Variances of independent terms add: d_k terms give d_k times, not d_k².",
                "独立项的方差相加：d_k 项得到 d_k 倍，而不是 d_k²。",
                "d_k_squared",
            ),
            (
                lambda d, sq, sk: d * (sq**2 + sk**2),
                "The variances multiply (Var(q_i k_i) = σ_q²·σ_k² for independent, "
                "zero-mean factors), they do not add.",
                "方差是相乘的（独立、均值为 0 时 Var(q_i k_i) = σ_q²·σ_k²），不是相加。",
                "variances_added",
            ),
        ],
    )
    if not hidden:  # verify the prediction by sampling, as the chapter does
        g = torch.Generator().manual_seed(0)
        d_k, s_q, s_k = cases[1]
        q, k = (
            s_q * torch.randn(50_000, d_k, generator=g),
            s_k * torch.randn(50_000, d_k, generator=g),
        )
        measured = float((q * k).sum(-1).var())
        print(
            f"  sampled Var(q·k) for d_k={d_k}, σ_q={s_q}, σ_k={s_k}: {measured:.1f} "
            f"(predicted {d_k * s_q**2 * s_k**2:.1f})"
        )


@exercise("ch03.softmax_jacobian", "The Jacobian of softmax", "softmax 的雅可比矩阵")
def check_softmax_jacobian(softmax_jacobian, hidden: bool = False) -> None:
    (a,) = _inputs((5,), seed=4, hidden=hidden)
    (b,) = _inputs((3,), seed=5, hidden=hidden)
    cases = [
        a,
        2 * b,
        torch.tensor([0.7], dtype=torch.float64),
        torch.tensor(
            [0.0, 40.0, 0.0] if not hidden else [-30.0, 0.0, 0.0, -30.0], dtype=torch.float64
        ),
        torch.tensor(
            [1000.0, 1000.0, 999.0] if not hidden else [800.0, 799.0, 801.0], dtype=torch.float64
        ),
    ]
    for s in cases:
        p = torch.softmax(s, dim=-1)
        got = softmax_jacobian(s)
        want = torch.autograd.functional.jacobian(lambda x: torch.softmax(x, -1), s)
        compare(
            got,
            want,
            "J",
            wrong=[
                (
                    lambda: torch.diag(p),
                    "You kept only diag(p): every weight also depends on every other score, "
                    "J = diag(p) − p pᵀ.",
                    "你只保留了 diag(p)：每个权重还依赖于其他所有得分，J = diag(p) − p pᵀ。",
                    "only_diag_p",
                ),
                (
                    lambda: torch.outer(p, p) - torch.diag(p),
                    "The sign is flipped: J = diag(p) − p pᵀ (raising a score raises its "
                    "own weight).",
                    "符号反了：J = diag(p) − p pᵀ（提高一个得分会提高它自己的权重）。",
                    "sign_flipped",
                ),
                (
                    lambda: torch.diag(p * (1 - p)),
                    "You kept only the diagonal p_i(1 − p_i); the off-diagonal entries are −p_i "
                    "p_j.",
                    "你只算了对角线 p_i(1 − p_i)；非对角元素是 −p_i p_j。",
                    "only_diagonal",
                ),
                (
                    lambda: -torch.outer(p, p),
                    "You forgot diag(p): J = diag(p) − p pᵀ.",
                    "忘了 diag(p)：J = diag(p) − p pᵀ。",
                    "no_diag_p",
                ),
                (
                    lambda: torch.diag(s) - torch.outer(s, s),
                    "You used the scores s where the probabilities p = softmax(s) belong: "
                    "J = diag(p) − p pᵀ.",
                    "你用了得分 s，应当用概率 p = softmax(s)：J = diag(p) − p pᵀ。",
                    "used_scores",
                ),
                (
                    lambda: torch.diag(p) - p @ p,
                    "p pᵀ is the OUTER product (an L × L matrix), not the dot product p·p.",
                    "p pᵀ 是外积（L × L 矩阵），而不是点积 p·p。",
                    "dot_not_outer",
                ),
            ],
        )


@exercise("ch03.temperature", "Softmax with a temperature", "带温度的 softmax")
def check_temperature(softmax_with_temperature, hidden: bool = False) -> None:
    (s,) = _inputs((6,), seed=5, hidden=hidden)
    (batch,) = _inputs((3, 4), seed=6, hidden=hidden)
    cases = (
        [(s, 0.25), (s, 1.0), (s, 4.0), (2 * batch, 0.5), (batch, 3.0)]
        if not hidden
        else [(s, 0.5), (s, 2.0), (s, 10.0), (2 * batch, 0.2), (batch, 1.5)]
    )
    # a low temperature makes the scores large: exp overflows unless each row's maximum goes first
    spread = torch.tensor(
        [[2.0, 9.0, 8.5, -3.0], [-9.0, -8.0, -9.5, -12.0], [0.0, 0.0, 0.0, 0.0]]
        if not hidden
        else [[-7.0, -6.5, -11.0, -8.0], [4.0, 1.0, 9.0, 9.2], [1.0, 1.0, 1.0, 1.0]],
        dtype=torch.float64,
    )
    cases.append((spread, 0.01))
    for x, T in cases:
        got = softmax_with_temperature(x, T)
        compare(
            got,
            torch.softmax(x / T, dim=-1),
            f"softmax(s / {T})",
            wrong=[
                (
                    lambda: torch.softmax(x * T, dim=-1),
                    "You multiplied by T. The temperature divides the scores: a high T "
                    "flattens the weights.",
                    "你乘以了 T。温度是除在得分上的：T 越高，权重越平。",
                    "multiplied_by_T",
                ),
                (
                    lambda: torch.softmax(x, dim=-1) / T,
                    "You divided after the softmax; divide the scores first, so the weights "
                    "still sum to 1.",
                    "你在 softmax 之后才除；应先除得分，这样权重之和仍为 1。",
                    "divided_after_softmax",
                ),
                (
                    lambda: torch.softmax(x, dim=-1),
                    "You ignored T: the weights are softmax(s / T).",
                    "你忽略了 T：权重应为 softmax(s / T)。",
                    "ignored_T",
                ),
                (
                    lambda: torch.softmax(x - T, dim=-1),
                    "You subtracted T; the temperature divides the scores (subtracting a "
                    "constant changes nothing in a softmax).",
                    "你减去了 T；温度是除在得分上的（softmax 中减去常数不会改变任何东西）。",
                    "subtracted_T",
                ),
                (
                    lambda: torch.softmax(x / T, dim=0),
                    "Softmax over the wrong axis: normalise over the last axis (dim=-1).",
                    "softmax 的维度错了：应沿最后一维（dim=-1）归一化。",
                    "wrong_axis",
                ),
                (
                    lambda: torch.log_softmax(x / T, dim=-1),
                    "You returned log-probabilities (log-softmax): return the weights themselves.",
                    "你返回的是对数概率（log-softmax）：应返回权重本身。",
                    "log_probabilities",
                ),
                (
                    lambda: (x / T).exp() / (x / T).exp().sum(-1, keepdim=True),
                    "Overflow at a low temperature: s / T is large and its exp is inf. Subtract "
                    "each row's maximum before the exp (or use torch.softmax).",
                    "低温时溢出：s / T 很大，它的 exp 是 inf。取 exp 之前先减去每一行的最大值"
                    "（或用 torch.softmax）。",
                    "overflow",
                ),
                (
                    lambda: torch.softmax(x, dim=-1) ** (1 / T),
                    "You raised the probabilities to the power 1/T without "
                    "renormalising: the weights must sum to 1.",
                    "你把概率取了 1/T 次幂却没有重新归一化：权重之和必须为 1。",
                    "power_without_renormalising",
                ),
            ],
        )
