"""Checks for chapter 12, review questions: predict a number, then verify it."""

from __future__ import annotations

import math

import torch

from .core import compare, exercise, number, pair, predictions


def _number(answer, name: str) -> float:
    """A single number, or a message saying that one was expected (kept for older callers)."""
    return number(answer, name)


@exercise(
    "ch12.qk_std",
    "Predict the spread of q·k, before and after scaling",
    "预测 q·k 的离散程度（缩放前后）",
)
def check_qk_std(qk_std, hidden: bool = False) -> None:
    cases = (
        ((64, 1.0), (16, 0.6), (256, 2.0), (9, 3.0), (1, 0.7))
        if not hidden
        else ((128, 1.0), (4, 2.5), (100, 0.3), (25, 1.5), (1, 4.0))
    )
    for d_k, sigma in cases:
        name = f"qk_std({d_k}, {sigma})"
        got = pair(
            qk_std(d_k, sigma),
            "Return a pair: (std of q·k, std of q·k / √d_k).",
            "请返回一对数：（q·k 的标准差，q·k / √d_k 的标准差）。",
            numeric=True,
        )
        got = [number(got[0], name + "[0]"), number(got[1], name + "[1]")]
        s2 = sigma**2
        want = torch.tensor([math.sqrt(d_k) * s2, s2])
        compare(
            got,
            want,
            name,
            inputs=f"d_k={d_k}, sigma={sigma}",
            wrong=[
                (
                    torch.tensor([d_k * s2**2, s2**2]),
                    "You returned the variance: Var(q·k) = d_k σ⁴, but the standard deviation is "
                    "its square root, √d_k σ².",
                    "你返回的是方差：Var(q·k) = d_k σ⁴，而标准差是它的平方根 √d_k σ²。",
                    "variance",
                ),
                (
                    torch.tensor([math.sqrt(d_k) * sigma, sigma]),
                    "Each product q_i k_i multiplies two numbers of standard deviation "
                    "σ: its variance is σ²·σ² = σ⁴, so the std of q·k is √d_k σ², not √d_k σ.",
                    "每个乘积 q_i k_i 是两个标准差为 σ 的数相乘：方差为 σ²·σ² = σ⁴，所以 q·k "
                    "的标准差是 √d_k σ²，而不是 √d_k σ。",
                    "sigma_not_squared",
                ),
                (
                    torch.tensor([d_k * s2, math.sqrt(d_k) * s2]),
                    "The variance grows like d_k, so the standard deviation grows like "
                    "√d_k, not d_k (sqrt vs not).",
                    "方差随 d_k 增长，所以标准差随 √d_k 增长，而不是随 d_k（注意开平方）。",
                    "d_k_not_sqrt",
                ),
                (
                    torch.tensor([math.sqrt(d_k) * s2, s2 / math.sqrt(d_k)]),
                    "After dividing by √d_k the std is √d_k σ² / √d_k = "
                    "σ²: you divided by d_k instead.",
                    "除以 √d_k 之后，标准差是 √d_k σ² / √d_k = σ²：你除的是 d_k。",
                    "divided_by_d_k",
                ),
                (
                    torch.tensor([s2, math.sqrt(d_k) * s2]),
                    "Swapped: return (std of q·k, std of q·k / √d_k), the unscaled one first.",
                    "顺序反了：应返回（q·k 的标准差，q·k / √d_k 的标准差），未缩放的在前。",
                    "swapped",
                ),
                (
                    torch.tensor([math.sqrt(d_k), 1.0]),
                    "That holds only for σ = 1: each product q_i k_i has standard deviation σ², "
                    "so √d_k σ² and σ².",
                    "只有 σ = 1 时才对：每个乘积 q_i k_i 的标准差是 σ²，所以是 √d_k σ² 和 σ²。",
                    "sigma_ignored",
                ),
            ],
        )


def _macs(L: int, d: int) -> int:
    return 4 * L * d * d + 2 * L * L * d


@exercise(
    "ch12.attention_macs",
    "Predict the multiply-adds of a self-attention layer",
    "预测自注意力层的乘加次数",
)
def check_attention_macs(attention_macs, hidden: bool = False) -> None:
    cases = (
        ((128, 768, 12), (512, 64, 8), (10, 32, 4), (1, 6, 2), (7, 9, 3))
        if not hidden
        else ((256, 1024, 16), (2048, 128, 4), (3, 12, 6), (1, 2, 1), (50, 20, 5))
    )
    predictions(
        attention_macs,
        cases,
        [_macs(L, d) for L, d, h in cases],
        "attention_macs",
        [
            (
                lambda L, d, h: 2 * L * L * d,
                "You counted only QKᵀ and the weighted sum: the four projections W_Q, W_K, W_V, "
                "W_O cost 4·L·d_model² more.",
                "你只算了 QKᵀ 和加权求和：四个投影 W_Q、W_K、W_V、W_O 还要 4·L·d_model² 次。",
                "no_projections",
            ),
            (
                lambda L, d, h: 3 * L * d * d + 2 * L * L * d,
                "You forgot the output projection W_O: there are four "
                "d_model × d_model projections, not three.",
                "你忘了输出投影 W_O：一共有四个 d_model × d_model 的投影，不是三个。",
                "no_output_projection",
            ),
            (
                lambda L, d, h: 4 * L * d * d + L * L * d,
                "You counted QKᵀ (L²·d_model) but not the weighted sum of the values, "
                "weights·V, which costs as much again.",
                "你算了 QKᵀ(L²·d_model)，却漏了对值的加权求和 weights·V，它的开销与前者相同。",
                "no_weighted_sum",
            ),
            (
                lambda L, d, h: 4 * L * d * d + 2 * h * L * L * d,
                "You multiplied the attention part by the number of heads: each "
                "head works in d_model / h dimensions, so h heads together cost h · L² · d_model/h "
                "= L² · d_model.",
                "你把注意力部分乘上了头数：每个头只在 d_model / h 维中计算，h 个头合起来是 h · L² "
                "· d_model/h = L² · d_model。",
                "heads_multiply",
            ),
            (
                lambda L, d, h: 4 * L * d * d + 2 * L * L * d / h,
                "You divided the attention part by the number of heads: h heads "
                "of d_model / h dimensions cost as much as one head of d_model.",
                "你把注意力部分除以了头数：h 个 d_model / h 维的头，开销与一个 d_model "
                "维的头相同。",
                "heads_divide",
            ),
            (
                lambda L, d, h: 2 * _macs(L, d),
                "You counted FLOPs (a multiply and an add, 2 per multiply-add): the question asks "
                "for multiply-adds.",
                "你算的是浮点运算次数（每次乘加算 2 次）：题目问的是乘加次数。",
                "flops",
            ),
            (
                lambda L, d, h: 4 * L * d + 2 * L * L * d,
                "Each projection multiplies L vectors by a d_model × d_model matrix: "
                "L·d_model² each, not L·d_model.",
                "每个投影是 L 个向量乘以 d_model × d_model 的矩阵：每个 L·d_model² 次，而不是 "
                "L·d_model。",
                "projection_L_d",
            ),
        ],
        rtol=0,
        atol=0.5,
    )


@exercise("ch12.doubling_ratio", "Predict the cost of twice the length", "预测长度加倍后的开销")
def check_doubling_ratio(doubling_ratio, hidden: bool = False) -> None:
    cases = (
        ((128, 768), (4096, 768), (512, 64), (1, 16), (768, 768))
        if not hidden
        else ((256, 1024), (8192, 512), (64, 64), (2, 8), (1000, 100))
    )
    predictions(
        doubling_ratio,
        cases,
        [_macs(2 * L, d) / _macs(L, d) for L, d in cases],
        "doubling_ratio",
        [
            (
                lambda L, d: 4.0,
                "4 holds only for the L² part: the projections grow linearly (×2), and while L is "
                "small next to "
                "d_model they dominate. Use attention_macs(2L) / attention_macs(L).",
                "4 倍只适用于 L² 那一部分：投影是线性增长的（×2），当 L 比 d_model 小时它们占大头。"
                "应计算 attention_macs(2L) / attention_macs(L)。",
                "only_quadratic",
            ),
            (
                lambda L, d: 2.0,
                "2 would be a linear cost, like an RNN's: self-attention also has the L²·d_model "
                "term, which "
                "quadruples.",
                "2 倍是线性开销，像 RNN 那样：自注意力还有 L²·d_model 这一项，它会变成 4 倍。",
                "only_linear",
            ),
            (
                lambda L, d: 8.0,
                "Doubling L doubles the projections and quadruples the L² term; nothing grows "
                "eightfold.",
                "L 加倍时，投影变成 2 倍，L² 项变成 4 倍；没有任何一项会变成 8 倍。",
                "eightfold",
            ),
            (
                lambda L, d: _macs(L, d) / _macs(2 * L, d),
                "Upside down: the ratio is attention_macs(2L) / attention_macs(L), "
                "which is more than 1.",
                "比值倒过来了：应是 attention_macs(2L) / attention_macs(L)，它大于 1。",
                "inverted",
            ),
            (
                lambda L, d: (4 * 2 * L * d + 2 * (2 * L) ** 2 * d) / (4 * L * d + 2 * L * L * d),
                "Each projection costs "
                "L·d_model² (a d_model × d_model matrix per token), not L·d_model.",
                "每个投影的开销是 L·d_model²（每个词元乘一个 d_model × d_model 的矩阵），而不是 "
                "L·d_model。",
                "projection_L_d",
            ),
        ],
    )


@exercise(
    "ch12.new_position_parameters",
    "Predict the parameters for longer inputs",
    "预测加长输入所需的新参数",
)
def check_new_position_parameters(new_position_parameters, hidden: bool = False) -> None:
    cases = (
        ((768, 12, 512, 1024), (384, 6, 512, 2048), (64, 2, 128, 130), (16, 1, 8, 9))
        if not hidden
        else ((1024, 24, 512, 4096), (256, 4, 128, 512), (32, 3, 64, 65), (8, 2, 10, 12))
    )
    predictions(
        new_position_parameters,
        cases,
        [(new - old) * H for H, layers, old, new in cases],
        "new_position_parameters",
        [
            (
                lambda H, layers, old, new: 0,
                "BERT's positions are LEARNED: one trained vector of H numbers per position "
                "(sinusoids would need none). The attention weights do not depend on the length.",
                "BERT 的位置是“学出来的”：每个位置一个 H 维的训练向量（正弦编码才不需要参数）。"
                "注意力的权重与长度无关。",
                "zero",
            ),
            (
                lambda H, layers, old, new: layers * (new - old) * H,
                "The position embeddings are added once, at the input, not "
                "in every layer: do not multiply by the number of layers.",
                "位置嵌入只在输入处加一次，而不是每层都加：不要乘以层数。",
                "per_layer",
            ),
            (
                lambda H, layers, old, new: new * H,
                "The first old_max rows already exist: only new_max − old_max rows are new.",
                "前 old_max 行已经存在：新增的只有 new_max − old_max 行。",
                "whole_table",
            ),
            (
                lambda H, layers, old, new: new - old,
                "Each new position is a vector of H numbers: (new_max − old_max) · H.",
                "每个新位置是一个 H 维向量：(new_max − old_max) · H。",
                "forgot_H",
            ),
            (
                lambda H, layers, old, new: (new * new - old * old) * H,
                "The position table grows linearly, one row per position "
                "(attention's cost grows with L², its parameters do not).",
                "位置表是线性增长的，每个位置一行（注意力的开销随 L² 增长，它的参数不会）。",
                "quadratic",
            ),
        ],
        rtol=0,
        atol=0.5,
    )


@exercise(
    "ch12.loss_positions",
    "Predict how many positions the masked-LM loss sees",
    "预测掩码语言模型的损失覆盖多少个位置",
)
def check_loss_positions(loss_positions, hidden: bool = False) -> None:
    cases = [
        ([12, 7, 20], 20, 0.15, 0.8),
        ([30, 64, 9, 41], 64, 0.2, 0.5),
        ([5], 8, 0.5, 1.0),
        ([10, 10], 16, 0.1, 0.9),
    ]
    if hidden:
        cases = [
            ([16, 9, 32], 32, 0.15, 0.8),
            ([4, 50, 21], 64, 0.3, 0.6),
            ([8], 8, 0.25, 0.5),
            ([6, 20, 13, 3], 24, 0.2, 1.0),
        ]
    predictions(
        lambda lengths, max_len, p, m: loss_positions(list(lengths), max_len, p, m),
        [tuple(c) for c in cases],
        [p * sum(n - 3 for n in lengths) for lengths, max_len, p, m in cases],
        "loss_positions",
        [
            (
                lambda lengths, max_len, p, m: p * m * sum(n - 3 for n in lengths),
                "The loss is computed at ALL chosen positions, "
                "not only those replaced by [MASK]: the random and unchanged ones count too (the "
                "0.8 plays no part here).",
                "损失覆盖“所有”被选中的位置，而不只是换成 [MASK] 的那些："
                "换成随机词元的和保持不变的也算（这里与 0.8 无关）。",
                "only_masked",
            ),
            (
                lambda lengths, max_len, p, m: p * sum(lengths),
                "Special tokens ([CLS] and the two [SEP]) are never chosen: "
                "subtract 3 from each length.",
                "特殊词元（[CLS] 和两个 [SEP]）永远不会被选中：每个长度都要减去 3。",
                "special_tokens",
            ),
            (
                lambda lengths, max_len, p, m: p * len(lengths) * max_len,
                "Padding is never chosen: count the real tokens, not max_len per example.",
                "填充永远不会被选中：应数真实的词元，而不是每个样本都按 max_len 算。",
                "padding_counted",
            ),
            (
                lambda lengths, max_len, p, m: p * len(lengths) * (max_len - 3),
                "Padding is never chosen: use each example's own length, not max_len.",
                "填充永远不会被选中：应使用每个样本自己的长度，而不是 max_len。",
                "max_len_per_example",
            ),
            (
                lambda lengths, max_len, p, m: p * sum(n - 2 for n in lengths),
                "A pair has THREE special tokens: [CLS] and two [SEP] (subtract 3, not 2).",
                "一个句子对有三个特殊词元：[CLS] 和两个 [SEP]（减去 3，而不是 2）。",
                "two_special_tokens",
            ),
            (
                lambda lengths, max_len, p, m: p * sum(n - 1 for n in lengths),
                "A pair has THREE special tokens: [CLS] and two [SEP] (subtract 3, not 1).",
                "一个句子对有三个特殊词元：[CLS] 和两个 [SEP]（减去 3，而不是 1）。",
                "one_special_token",
            ),
        ],
        rtol=1e-6,
        atol=1e-9,
    )
