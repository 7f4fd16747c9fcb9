"""Checks for chapter 02, self-attention. Each exercise is a function the student writes."""

from __future__ import annotations

import math

import torch

from ..attention import scaled_dot_product_attention
from .core import Mistake, as_tensor, compare, exercise, generator, output_and_weights


def _inputs(*shapes: tuple[int, ...], seed: int = 2, hidden: bool = False) -> list[torch.Tensor]:
    """Random float64 inputs; the notebook's examples use the default seed (the grader's tests
    too)."""
    g = generator(seed, hidden)
    return [torch.randn(*s, generator=g, dtype=torch.float64) for s in shapes]


def _reference(q, k, v):
    return scaled_dot_product_attention(q, k, v, scale=1.0)


@exercise("ch02.scores", "Scores of one query against every key", "一个查询对所有键的得分")
def check_scores(scores, hidden: bool = False) -> None:
    shapes = (
        [(4, 5), (3, 7), (4, 4), (1, 1), (6, 2)]
        if not hidden
        else [(5, 3), (2, 6), (3, 3), (1, 4), (8, 5)]
    )
    for n, (d_k, L) in enumerate(shapes):
        q, K = _inputs((d_k,), (L, d_k), seed=2 + 10 * n, hidden=hidden)
        got = scores(q, K)
        want = K @ q
        compare(
            got,
            want,
            "scores",
            wrong=[
                (
                    lambda: want / (K.norm(dim=-1) * q.norm()),
                    "You divided by the vector lengths (cosine similarity). Attention "
                    "scores are the plain dot products q·kⱼ.",
                    "你除以了向量长度（余弦相似度）。注意力得分就是点积 q·kⱼ 本身。",
                    "cosine",
                ),
                (
                    lambda: torch.softmax(want, -1),
                    "You applied softmax already. Scores are the numbers *before* the softmax.",
                    "你已经做了 softmax。得分（score）是 softmax *之前* 的数。",
                    "softmax_applied",
                ),
                (
                    lambda: want / math.sqrt(d_k),
                    "You divided by √d_k: that comes in chapter 03; here the score is the plain "
                    "q·kⱼ.",
                    "你除以了 √d_k：那是第 03 章的内容；这里得分就是 q·kⱼ。",
                    "scaled",
                ),
                (
                    lambda: K.T @ q,
                    "You summed over the keys instead of the features: the score of key j is Σᵢ "
                    "q_i K[j, i], i.e. K @ q.",
                    "你在键的维度上求和了，而不是特征维度：第 j 个键的得分是 Σᵢ q_i K[j, i]，即 K "
                    "@ q。",
                    "transposed_K",
                ),
            ],
            shape_hints=[
                (
                    (L, d_k),
                    "Shape (L, d_k): you multiplied q and the keys element by element but did not "
                    "sum over the d_k features.",
                    "形状是 (L, d_k)：你把 q 与键逐元素相乘，却没有在 d_k 个特征上求和。",
                    "no_sum_over_features",
                ),
                (
                    (),
                    "One number: you summed over the keys too. Return one score per key, shape "
                    "(L,).",
                    "只得到一个数：你把所有键也加在一起了。应每个键一个得分，形状 (L,)。",
                    "summed_everything",
                ),
            ],
        )


def _shifted(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    e = (x - shift).exp()
    return e / e.sum(-1, keepdim=True)


@exercise(
    "ch02.softmax",
    "A numerically stable softmax over the last axis",
    "沿最后一维、数值稳定的 softmax",
)
def check_softmax(softmax, hidden: bool = False) -> None:
    shapes = (
        [(3, 5), (2, 3, 4), (6,), (2, 2, 3, 5)]
        if not hidden
        else [(4, 3), (3, 2, 5), (7,), (2, 3, 2, 4)]
    )
    for n, shape in enumerate(shapes):
        (x,) = _inputs(shape, seed=2 + n, hidden=hidden)
        x = 3 * x
        got = softmax(x)
        e = x.exp()
        compare(
            got,
            torch.softmax(x, dim=-1),
            "softmax(x)",
            wrong=[
                (
                    lambda: torch.softmax(x, dim=0),
                    "Softmax over the wrong axis: each row must sum to 1 (normalise over the last "
                    "axis, dim=-1); yours normalises over the first axis.",
                    "softmax 的维度错了：应当每一行之和为 1（沿最后一维 dim=-1 归一化）；"
                    "你的结果是沿第一维归一化。",
                    "wrong_axis",
                ),
                (
                    lambda: torch.softmax(x, dim=1),
                    "Softmax over a fixed axis (dim=1): that is the last axis only for 2-D inputs. "
                    "Use dim=-1, so that any (..., L) works.",
                    "softmax 用了固定的维度 dim=1：只有二维输入时它才是最后一维。应使用 dim=-1，"
                    "这样任何 (..., L) 都能用。",
                    "fixed_axis",
                ),
                (
                    lambda: e / e.sum(),
                    "You normalised over the whole tensor: each row must sum to 1 on its own.",
                    "你对整个张量一起归一化了：应当每一行各自之和为 1。",
                    "whole_tensor",
                ),
                (
                    lambda: torch.log_softmax(x, dim=-1),
                    "You returned log-probabilities (log-softmax): return the probabilities "
                    "themselves, exp(x − max) divided by their sum.",
                    "你返回的是对数概率（log-softmax）：应返回概率本身，即 exp(x − max) 除以其和。",
                    "log_probabilities",
                ),
                (
                    e,
                    "You forgot to divide by the sum: the outputs of a softmax add up to 1.",
                    "忘了除以总和：softmax 的输出之和应为 1。",
                    "no_division",
                ),
            ],
        )
    big = torch.tensor(
        [
            [1000.0, 1001.0, 1002.0],
            [-1000.0, -1000.0, -999.0],
            [0.0, 1000.0, -1000.0],
            [5.0, 5.0, 5.0],
            [-800.0, 900.0, 900.0],
        ],
        dtype=torch.float64,
    )
    if hidden:
        big = torch.cat([big.flip(-1) * 0.9, big[:, :2] - 300.0], -1)
    got_big = softmax(big)
    overflow = (
        "Overflow: exp of a large score is inf, so large scores give NaN. Subtract each row's "
        "MAXIMUM first "
        "(not the minimum, the mean or the maximum of the whole tensor): softmax(x) = softmax(x − "
        "max x).",
        "溢出：大得分的 exp 是 inf，会得到 NaN。先减去每一行的最大值（不是最小值、平均值，"
        "也不是整个张量的最大值）："
        "softmax(x) = softmax(x − max x)。",
    )
    try:
        compare(
            got_big,
            torch.softmax(big, dim=-1),
            "softmax(large x)",
            wrong=[
                (lambda: big.exp() / big.exp().sum(-1, keepdim=True), *overflow, "overflow"),
                (
                    lambda: _shifted(big, big.min(-1, keepdim=True).values),
                    *overflow,
                    "overflow_row_min",
                ),
                (lambda: _shifted(big, big.mean(-1, keepdim=True)), *overflow, "overflow_row_mean"),
                (lambda: _shifted(big, big.max()), *overflow, "overflow_global_max"),
                (
                    lambda: _shifted(big, big.max(0, keepdim=True).values),
                    *overflow,
                    "overflow_column_max",
                ),
            ],
        )
    except Mistake as m:
        got_big = as_tensor(got_big, "softmax(large x)")
        if m.name is None and not torch.isfinite(got_big).all():  # another wrong shift
            raise Mistake(*overflow, "overflow_wrong_shift") from None
        raise


@exercise(
    "ch02.attention",
    "Self-attention in matrix form: softmax(QKᵀ)V",
    "矩阵形式的注意力：softmax(QKᵀ)V",
)
def check_attention(attention, hidden: bool = False) -> None:
    shapes = (
        [(3, 5, 4, 6), (4, 4, 3, 2), (1, 1, 2, 3), (6, 2, 5, 1)]
        if not hidden
        else [(5, 3, 2, 4), (3, 3, 4, 5), (1, 4, 3, 2), (2, 1, 6, 3)]
    )
    for n, (L_q, L_k, d_k, d_v) in enumerate(shapes):
        Q, K, V = _inputs((L_q, d_k), (L_k, d_k), (L_k, d_v), seed=2 + 10 * n, hidden=hidden)
        output, weights = output_and_weights(attention(Q, K, V))
        want_out, want_w = _reference(Q, K, V)
        scores = Q @ K.T
        compare(
            weights,
            want_w,
            "weights",
            wrong=[
                (
                    lambda: torch.softmax(scores, dim=0),
                    "Softmax over the wrong axis: each row (one query) must sum to 1 over the "
                    "keys; yours makes each column sum to 1.",
                    "softmax 的维度错了：每一行（一个查询）应在所有键上归一化、和为 1；"
                    "你的结果是每一列和为 1。",
                    "wrong_axis",
                ),
                (
                    scores,
                    "You forgot the softmax: the weights are softmax(QKᵀ), not the raw scores QKᵀ.",
                    "忘了 softmax：权重是 softmax(QKᵀ)，而不是原始得分 QKᵀ。",
                    "no_softmax",
                ),
                (
                    lambda: torch.softmax(scores / math.sqrt(d_k), dim=-1),
                    "You divided by √d_k. The Transformer does (chapter 03 "
                    "explains why), but this exercise asks for the plain softmax(QKᵀ)V.",
                    "你除以了 √d_k。Transformer 确实这样做（第 03 章解释原因），"
                    "但本题要求的是不缩放的 softmax(QKᵀ)V。",
                    "scaled",
                ),
                (
                    lambda: torch.softmax(K @ Q.T, dim=-1),
                    "You computed K Qᵀ. The scores are Q Kᵀ, one row per query.",
                    "你算的是 K Qᵀ。得分应为 Q Kᵀ，每个查询占一行。",
                    "K_Q_transposed",
                ),
                (
                    lambda: torch.softmax(K @ Q.T, dim=-1).T,
                    "You computed K Qᵀ. The scores are Q Kᵀ, one row per query.",
                    "你算的是 K Qᵀ。得分应为 Q Kᵀ，每个查询占一行。",
                    "K_Q_transposed",
                ),
                (
                    lambda: torch.softmax(scores, dim=0).T,
                    "Softmax over the wrong axis: each row (one query) must sum to 1.",
                    "softmax 的维度错了：每一行（一个查询）之和应为 1。",
                    "wrong_axis",
                ),
            ],
            shape_hints=[
                (
                    (L_k, L_q),
                    "weights has shape (L_k, L_q): you computed K Qᵀ. The scores are Q Kᵀ, one row "
                    "per query.",
                    "weights 的形状是 (L_k, L_q)：你算的是 K Qᵀ。得分应为 Q Kᵀ，每个查询占一行。",
                    "K_Q_transposed",
                ),
                (
                    (L_q, d_v),
                    "The pair is in the wrong order: return (output, weights).",
                    "顺序反了：应返回 (output, weights)。",
                    "swapped_pair",
                ),
            ],
        )
        compare(
            output,
            want_out,
            "output",
            wrong=[
                (
                    lambda: torch.softmax(scores, dim=0) @ V,
                    "The output was mixed with column-normalised weights: softmax over the "
                    "keys (dim=-1).",
                    "输出用的是按列归一化的权重：softmax 应在键的维度上（dim=-1）。",
                    "wrong_axis",
                ),
                (
                    lambda: want_w @ K if d_k == d_v else None,
                    "You mixed the keys. The output is a weighted sum of the values V.",
                    "你加权求和的是键。输出应是值 V 的加权和。",
                    "mixed_keys",
                ),
                (
                    lambda: scores @ V,
                    "The output must use the softmax weights, not the raw scores.",
                    "输出要用 softmax 之后的权重，而不是原始得分。",
                    "output_without_softmax",
                ),
            ],
            shape_hints=[
                (
                    (L_q, d_k),
                    "output has shape (L_q, d_k): you mixed the keys. The output is a weighted sum "
                    "of the values V.",
                    "output 的形状是 (L_q, d_k)：你加权求和的是键。输出应是值 V 的加权和。",
                    "mixed_keys",
                ),
            ],
        )


@exercise("ch02.self_attention", "Q, K, V as three projections of X", "Q、K、V：X 的三个投影")
def check_self_attention(self_attention, hidden: bool = False) -> None:
    shapes = (
        [(5, 4, 4), (3, 6, 2), (1, 3, 5), (4, 2, 3)]
        if not hidden
        else [(4, 3, 3), (6, 5, 2), (1, 2, 4), (3, 4, 6)]
    )
    for n, (L, d_model, d) in enumerate(shapes):
        X, W_q, W_k, W_v = _inputs(
            (L, d_model), (d_model, d), (d_model, d), (d_model, d), seed=3 + 10 * n, hidden=hidden
        )
        got = self_attention(X, W_q, W_k, W_v)
        want, _ = _reference(X @ W_q, X @ W_k, X @ W_v)
        if isinstance(got, (tuple, list)) and len(got) == 2:
            raise Mistake(
                "You returned a pair (output, weights): this exercise asks for the output only.",
                "你返回了一对（output, weights）：本题只要输出。",
                "returned_a_pair",
            )
        compare(
            got,
            want,
            "output",
            wrong=[
                (
                    lambda: _reference(X, X, X)[0],
                    "You used X itself as Q, K and V. Self-attention projects X three times: "
                    "Q = X W_q, K = X W_k, V = X W_v.",
                    "你直接把 X 当作 Q、K、V。自注意力要对 X 做三次不同的投影：Q = X W_q，K = X "
                    "W_k，V = X W_v。",
                    "X_itself",
                ),
                (
                    lambda: _reference(X @ W_q, X @ W_q, X @ W_q)[0],
                    "You used W_q for all three. Q, K and V each have their own "
                    "matrix (W_q, W_k, W_v).",
                    "三者都用了 W_q。Q、K、V 各有自己的矩阵（W_q、W_k、W_v）。",
                    "W_q_for_all",
                ),
                (
                    lambda: _reference(X @ W_q.T, X @ W_k.T, X @ W_v.T)[0],
                    "You multiplied by the transposed matrices. In this book "
                    "a token is a row, so Q = X W_q (not X W_qᵀ).",
                    "你乘的是转置矩阵。本书中一个词元（token）是一行，所以 Q = X W_q（而不是 X "
                    "W_qᵀ）。",
                    "transposed_weights",
                ),
                (
                    lambda: _reference(X @ W_q, X @ W_k, X)[0],
                    "You used X as the values. V is a projection too: V = X W_v.",
                    "你把 X 当作了值。V 也是投影：V = X W_v。",
                    "X_as_values",
                ),
                (
                    lambda: scaled_dot_product_attention(X @ W_q, X @ W_k, X @ W_v)[0],
                    "You divided the scores by √d: this exercise "
                    "asks for the plain softmax(QKᵀ)V (chapter 03 adds the scaling).",
                    "你把得分除以了 √d：本题要求不缩放的 softmax(QKᵀ)V（第 03 章才加上缩放）。",
                    "scaled",
                ),
                (
                    lambda: _reference(X @ W_k, X @ W_q, X @ W_v)[0],
                    "Q and K are swapped: Q = X W_q, K = X W_k (the weights are "
                    "softmax(Q Kᵀ), one row per query).",
                    "Q 和 K 弄反了：Q = X W_q，K = X W_k（权重是 softmax(Q Kᵀ)，每个查询一行）。",
                    "swapped_q_k",
                ),
                (
                    lambda: torch.softmax((X @ W_q) @ (X @ W_k).T, 0) @ (X @ W_v),
                    "Softmax over the wrong axis: normalise over the keys (dim=-1).",
                    "softmax 的维度错了：应在键的维度上（dim=-1）归一化。",
                    "wrong_axis",
                ),
            ],
        )


@exercise("ch02.permutation", "Predict the output for shuffled tokens", "预测打乱词元顺序后的输出")
def check_permutation(permuted_output, hidden: bool = False) -> None:
    perms = (
        [[2, 0, 5, 1, 3, 4], [1, 2, 3, 0], [3, 1, 0, 2]]
        if not hidden
        else [[4, 2, 0, 1, 3], [1, 2, 0], [2, 3, 1, 0]]
    )
    for n, perm in enumerate(perms):
        L = len(perm)
        d = 4 if n < 2 else L  # the last case is square: permuting the features would fit
        X, W_q, W_k, W_v = _inputs((L, d), (d, d), (d, d), (d, d), seed=4 + 10 * n, hidden=hidden)
        Y, _ = _reference(X @ W_q, X @ W_k, X @ W_v)
        perm = torch.tensor(perm)
        got = permuted_output(Y, perm)
        want, _ = _reference(X[perm] @ W_q, X[perm] @ W_k, X[perm] @ W_v)
        compare(
            got,
            want,
            "prediction",
            wrong=[
                (
                    Y,
                    "The outputs do move: without positions, shuffling the tokens shuffles their "
                    "outputs the same way (row i of "
                    "the new output is row perm[i] of Y).",
                    "输出会跟着移动：没有位置信息时，打乱词元就会以同样方式打乱输出（新输出的第 i "
                    "行是 Y 的第 perm[i] 行）。",
                    "outputs_do_not_move",
                ),
                (
                    lambda: Y[torch.argsort(perm)],
                    "You applied the inverse permutation. The new token i is the old token "
                    "perm[i], "
                    "so its output is Y[perm[i]].",
                    "你用的是逆置换。新的第 i 个词元就是原来的第 perm[i] 个，所以它的输出是 "
                    "Y[perm[i]]。",
                    "inverse_permutation",
                ),
                (
                    lambda: Y[:, perm],
                    "You shuffled the features (columns); the tokens are the rows: Y[perm].",
                    "你打乱的是特征（列）；词元是行：Y[perm]。",
                    "permuted_columns",
                ),
                (
                    lambda: Y[perm][perm],
                    "You applied the permutation twice: Y[perm] once.",
                    "你把置换用了两次：只需 Y[perm] 一次。",
                    "permuted_twice",
                ),
            ],
        )
