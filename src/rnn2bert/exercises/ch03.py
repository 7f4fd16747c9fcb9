"""Checks for chapter 03, why attention divides by √d_k."""
from __future__ import annotations

import math

import torch

from ..attention import scaled_dot_product_attention
from .core import Mistake, as_tensor, compare, exercise, output_and_weights


def _inputs(*shapes: tuple[int, ...], seed: int = 3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64) for s in shapes]


@exercise("ch03.scaled_attention", "Scaled dot-product attention", "缩放点积注意力")
def check_scaled_attention(attention) -> None:
    Q, K, V = _inputs((3, 4), (25, 4), (25, 9))  # √d_k = 2, √d_v = 3, d_k = 4, √L_k = 5: all differ
    output, weights = output_and_weights(attention(Q.clone(), K.clone(), V.clone()))
    want_out, want_w = scaled_dot_product_attention(Q, K, V)
    scores = Q @ K.T

    def by(divisor: float) -> torch.Tensor:
        return torch.softmax(scores / divisor, dim=-1)

    compare(weights, want_w, "weights", wrong=[
        (by(1.0), "You forgot to divide by √d_k: the weights are softmax(QKᵀ / √d_k).",
         "忘了除以 √d_k：权重应为 softmax(QKᵀ / √d_k)。"),
        (by(4.0), "You divided by d_k. Divide by its square root: the standard deviation of q·k is √d_k.",
         "你除以了 d_k。应除以它的平方根：q·k 的标准差是 √d_k。"),
        (by(3.0), "You divided by √d_v. The scale comes from the dot product q·k, whose length is d_k.",
         "你除以了 √d_v。缩放来自点积 q·k，它的长度是 d_k。"),
        (by(math.sqrt(25)), "You divided by √L (the number of keys). The scale is √d_k, the length of each query and key.",
         "你除以了 √L(键的个数)。缩放系数是 √d_k，即每个查询和键的长度。"),
        (by(1.0) / 2.0, "You scaled after the softmax. Divide the scores, then apply softmax, so each row still sums to 1.",
         "你在 softmax 之后才缩放。应先缩放得分，再做 softmax，这样每行之和仍为 1。"),
        (torch.softmax(scores / 2.0, dim=0), "Softmax over the wrong axis: normalise over the keys (dim=-1).",
         "softmax 的维度错了：应在键的维度上(dim=-1)归一化。"),
    ])
    compare(output, want_out, "output", shape_hints=[
        ((3, 4), "output has shape (L_q, d_k): you mixed the keys; the output is a weighted sum of the values.",
         "output 的形状是 (L_q, d_k)：你加权求和的是键；输出应是值的加权和。"),
    ])


@exercise("ch03.predict_variance", "Predict Var(q·k)", "预测 Var(q·k)")
def check_predict_variance(predict_variance) -> None:
    cases = [(16, 1.0, 1.0), (64, 2.0, 0.5), (8, 3.0, 1.0), (128, 0.5, 0.5)]
    got = [predict_variance(d_k, s_q, s_k) for d_k, s_q, s_k in cases]
    want = torch.tensor([d * sq**2 * sk**2 for d, sq, sk in cases])
    compare(got, want, "your predictions", wrong=[
        (torch.tensor([float(d) for d, _, _ in cases]), "That is right only for unit variance: the variances of the components multiply in, d_k·σ_q²·σ_k².",
         "只有方差为 1 时才对：各分量的方差要乘进去，即 d_k·σ_q²·σ_k²。"),
        (torch.tensor([d * sq * sk for d, sq, sk in cases]), "You used standard deviations where variances belong: Var(q_i k_i) = σ_q²·σ_k².",
         "你用了标准差，应当用方差：Var(q_i k_i) = σ_q²·σ_k²。"),
        (torch.tensor([math.sqrt(d) * sq * sk for d, sq, sk in cases]), "That is the standard deviation of q·k; the question asks for the variance.",
         "这是 q·k 的标准差；题目问的是方差。"),
        (torch.tensor([d**2 * sq**2 * sk**2 for d, sq, sk in cases]), "Variances of independent terms add: d_k terms give d_k times, not d_k².",
         "独立项的方差相加：d_k 项得到 d_k 倍，而不是 d_k²。"),
    ])
    # verify the prediction by sampling, as the chapter does
    g = torch.Generator().manual_seed(0)
    d_k, s_q, s_k = cases[1]
    q, k = s_q * torch.randn(50_000, d_k, generator=g), s_k * torch.randn(50_000, d_k, generator=g)
    measured = float((q * k).sum(-1).var())
    print(f"  sampled Var(q·k) for d_k={d_k}, σ_q={s_q}, σ_k={s_k}: {measured:.1f} (predicted {float(got[1]):.1f})")


@exercise("ch03.softmax_jacobian", "The Jacobian of softmax", "softmax 的雅可比矩阵")
def check_softmax_jacobian(softmax_jacobian) -> None:
    (s,) = _inputs((5,), seed=4)
    p = torch.softmax(s, dim=-1)
    got = softmax_jacobian(s.clone())
    want = torch.autograd.functional.jacobian(lambda x: torch.softmax(x, -1), s)
    compare(got, want, "J", wrong=[
        (torch.diag(p), "You kept only diag(p): every weight also depends on every other score, J = diag(p) − p pᵀ.",
         "你只保留了 diag(p)：每个权重还依赖于其他所有得分，J = diag(p) − p pᵀ。"),
        (torch.outer(p, p) - torch.diag(p), "The sign is flipped: J = diag(p) − p pᵀ (raising a score raises its own weight).",
         "符号反了：J = diag(p) − p pᵀ(提高一个得分会提高它自己的权重)。"),
        (torch.diag(p * (1 - p)), "You kept only the diagonal p_i(1 − p_i); the off-diagonal entries are −p_i p_j.",
         "你只算了对角线 p_i(1 − p_i)；非对角元素是 −p_i p_j。"),
    ])
    sharp = as_tensor(softmax_jacobian(torch.tensor([0.0, 40.0, 0.0], dtype=torch.float64)), "J")
    if float(sharp.abs().max()) > 1e-6:
        raise Mistake("For a one-hot softmax the Jacobian should be (almost) zero.", "softmax 接近 one-hot 时，雅可比矩阵应(几乎)为零。")


@exercise("ch03.temperature", "Softmax with a temperature", "带温度的 softmax")
def check_temperature(softmax_with_temperature) -> None:
    (s,) = _inputs((6,), seed=5)
    for T in (0.25, 1.0, 4.0):
        got = softmax_with_temperature(s.clone(), T)
        compare(got, torch.softmax(s / T, dim=-1), f"softmax(s / {T})", wrong=[
            (torch.softmax(s * T, dim=-1), "You multiplied by T. The temperature divides the scores: a high T flattens the weights.",
             "你乘以了 T。温度是除在得分上的：T 越高，权重越平。"),
            (torch.softmax(s, dim=-1) / T, "You divided after the softmax; divide the scores first, so the weights still sum to 1.",
             "你在 softmax 之后才除；应先除得分，这样权重之和仍为 1。"),
        ])
