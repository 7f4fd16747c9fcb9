"""Checks for chapter 02, self-attention. Each exercise is a function the student writes."""
from __future__ import annotations

import math

import torch

from ..attention import scaled_dot_product_attention
from .core import Mistake, compare, exercise, output_and_weights


def _inputs(*shapes: tuple[int, ...], seed: int = 2) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64) for s in shapes]


def _reference(q, k, v):
    return scaled_dot_product_attention(q, k, v, scale=1.0)


@exercise("ch02.scores", "Scores of one query against every key", "一个查询对所有键的得分")
def check_scores(scores) -> None:
    q, K = _inputs((4,), (5, 4))  # d_k = 4, L = 5
    got = scores(q.clone(), K.clone())
    want = K @ q
    cosine = want / (K.norm(dim=-1) * q.norm())
    compare(got, want, "scores", wrong=[
        (cosine, "You divided by the vector lengths (cosine similarity). Attention scores are the plain dot products q·kⱼ.",
         "你除以了向量长度(余弦相似度)。注意力得分就是点积 q·kⱼ 本身。"),
        (torch.softmax(want, -1), "You applied softmax already. Scores are the numbers *before* the softmax.",
         "你已经做了 softmax。得分(score)是 softmax *之前* 的数。"),
    ], shape_hints=[
        ((5, 4), "Shape (L, d_k): you multiplied q and the keys element by element but did not sum over the d_k features.",
         "形状是 (L, d_k)：你把 q 与键逐元素相乘，却没有在 d_k 个特征上求和。"),
    ])


@exercise("ch02.softmax", "A numerically stable softmax over the last axis", "沿最后一维、数值稳定的 softmax")
def check_softmax(softmax) -> None:
    (x,) = _inputs((3, 5))
    x = 3 * x
    got = softmax(x.clone())
    e = x.exp()
    compare(got, torch.softmax(x, dim=-1), "softmax(x)", wrong=[
        (torch.softmax(x, dim=0), "Softmax over the wrong axis: each row must sum to 1 (normalise over the last axis, dim=-1); yours makes each column sum to 1.",
         "softmax 的维度错了：应当每一行之和为 1(沿最后一维 dim=-1 归一化)；你的结果是每一列之和为 1。"),
        (e / e.sum(), "You normalised over the whole matrix: each row must sum to 1 on its own.",
         "你对整个矩阵一起归一化了：应当每一行各自之和为 1。"),
        (e, "You forgot to divide by the sum: the outputs of a softmax add up to 1.",
         "忘了除以总和：softmax 的输出之和应为 1。"),
    ])
    big = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -999.0]], dtype=torch.float64)
    got_big = torch.as_tensor(softmax(big.clone()), dtype=torch.float64)
    if not torch.isfinite(got_big).all():
        raise Mistake("Overflow: exp(1000) is inf, so large scores give NaN. Subtract each row's maximum first: "
                      "softmax(x) = softmax(x − max x).",
                      "溢出：exp(1000) 为 inf，大的得分会得到 NaN。先减去每一行的最大值：softmax(x) = softmax(x − max x)。")
    compare(got_big, torch.softmax(big, dim=-1), "softmax(large x)")


@exercise("ch02.attention", "Self-attention in matrix form: softmax(QKᵀ)V", "矩阵形式的注意力：softmax(QKᵀ)V")
def check_attention(attention) -> None:
    Q, K, V = _inputs((3, 4), (5, 4), (5, 6))  # L_q = 3, L_k = 5, d_k = 4, d_v = 6
    output, weights = output_and_weights(attention(Q.clone(), K.clone(), V.clone()))
    want_out, want_w = _reference(Q, K, V)
    scores = Q @ K.T
    compare(weights, want_w, "weights", wrong=[
        (torch.softmax(scores, dim=0), "Softmax over the wrong axis: each row (one query) must sum to 1 over the keys; yours makes each column sum to 1.",
         "softmax 的维度错了：每一行(一个查询)应在所有键上归一化、和为 1；你的结果是每一列和为 1。"),
        (scores, "You forgot the softmax: the weights are softmax(QKᵀ), not the raw scores QKᵀ.",
         "忘了 softmax：权重是 softmax(QKᵀ)，而不是原始得分 QKᵀ。"),
        (torch.softmax(scores / math.sqrt(4), dim=-1), "You divided by √d_k. The Transformer does (chapter 03 explains why), but this exercise asks for the plain softmax(QKᵀ)V.",
         "你除以了 √d_k。Transformer 确实这样做(第 03 章解释原因)，但本题要求的是不缩放的 softmax(QKᵀ)V。"),
    ], shape_hints=[
        ((5, 3), "weights has shape (L_k, L_q): you computed K Qᵀ. The scores are Q Kᵀ, one row per query.",
         "weights 的形状是 (L_k, L_q)：你算的是 K Qᵀ。得分应为 Q Kᵀ，每个查询占一行。"),
    ])
    compare(output, want_out, "output", wrong=[
        (torch.softmax(scores, dim=0) @ V, "The output was mixed with column-normalised weights: softmax over the keys (dim=-1).",
         "输出用的是按列归一化的权重：softmax 应在键的维度上(dim=-1)。"),
    ], shape_hints=[
        ((3, 4), "output has shape (L_q, d_k): you mixed the keys. The output is a weighted sum of the values V.",
         "output 的形状是 (L_q, d_k)：你加权求和的是键。输出应是值 V 的加权和。"),
    ])


@exercise("ch02.self_attention", "Q, K, V as three projections of X", "Q、K、V：X 的三个投影")
def check_self_attention(self_attention) -> None:
    X, W_q, W_k, W_v = _inputs((5, 4), (4, 4), (4, 4), (4, 4), seed=3)
    got = self_attention(X.clone(), W_q.clone(), W_k.clone(), W_v.clone())
    want, _ = _reference(X @ W_q, X @ W_k, X @ W_v)
    compare(got, want, "output", wrong=[
        (_reference(X, X, X)[0], "You used X itself as Q, K and V. Self-attention projects X three times: Q = X W_q, K = X W_k, V = X W_v.",
         "你直接把 X 当作 Q、K、V。自注意力要对 X 做三次不同的投影：Q = X W_q，K = X W_k，V = X W_v。"),
        (_reference(X @ W_q, X @ W_q, X @ W_q)[0], "You used W_q for all three. Q, K and V each have their own matrix (W_q, W_k, W_v).",
         "三者都用了 W_q。Q、K、V 各有自己的矩阵(W_q、W_k、W_v)。"),
        (_reference(X @ W_q.T, X @ W_k.T, X @ W_v.T)[0], "You multiplied by the transposed matrices. In this book a token is a row, so Q = X W_q (not X W_qᵀ).",
         "你乘的是转置矩阵。本书中一个词元(token)是一行，所以 Q = X W_q(而不是 X W_qᵀ)。"),
        (_reference(X @ W_q, X @ W_k, X)[0], "You used X as the values. V is a projection too: V = X W_v.",
         "你把 X 当作了值。V 也是投影：V = X W_v。"),
    ])


@exercise("ch02.permutation", "Predict the output for shuffled tokens", "预测打乱词元顺序后的输出")
def check_permutation(permuted_output) -> None:
    X, W_q, W_k, W_v = _inputs((6, 4), (4, 4), (4, 4), (4, 4), seed=4)
    Y, _ = _reference(X @ W_q, X @ W_k, X @ W_v)
    perm = torch.tensor([2, 0, 5, 1, 3, 4])
    got = permuted_output(Y.clone(), perm.clone())
    want, _ = _reference(X[perm] @ W_q, X[perm] @ W_k, X[perm] @ W_v)
    compare(got, want, "prediction", wrong=[
        (Y, "The outputs do move: without positions, shuffling the tokens shuffles their outputs the same way (row i of the new output is row perm[i] of Y).",
         "输出会跟着移动：没有位置信息时，打乱词元就会以同样方式打乱输出(新输出的第 i 行是 Y 的第 perm[i] 行)。"),
        (Y[torch.argsort(perm)], "You applied the inverse permutation. The new token i is the old token perm[i], so its output is Y[perm[i]].",
         "你用的是逆置换。新的第 i 个词元就是原来的第 perm[i] 个，所以它的输出是 Y[perm[i]]。"),
    ])
