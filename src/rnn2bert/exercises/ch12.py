"""Checks for chapter 12, review questions: predict a number, then verify it."""
from __future__ import annotations

import math
import numbers

import torch

from .core import Mistake, compare, exercise


def _number(answer, name: str) -> float:
    """A single number, or a message saying that one was expected."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        return float(answer)
    if isinstance(answer, numbers.Real) and not isinstance(answer, bool):
        return float(answer)
    if answer is None:
        raise Mistake(f"{name} is None: did you forget to `return` it?", f"{name} 是 None：是不是忘了 `return`？")
    raise Mistake(f"{name} should be one number, got {type(answer).__name__}.",
                  f"{name} 应该是一个数，却得到 {type(answer).__name__}。")


@exercise("ch12.qk_std", "Predict the spread of q·k, before and after scaling", "预测 q·k 的离散程度(缩放前后)")
def check_qk_std(qk_std) -> None:
    for d_k, sigma in ((64, 1.0), (16, 0.5), (256, 2.0)):
        got = qk_std(d_k, sigma)
        s2 = sigma**2
        want = torch.tensor([math.sqrt(d_k) * s2, s2])
        compare(got, want, f"qk_std({d_k}, {sigma})", wrong=[
            (torch.tensor([d_k * s2**2, s2**2]), "You returned the variance: Var(q·k) = d_k σ⁴, but the standard deviation is its square root, √d_k σ².",
             "你返回的是方差：Var(q·k) = d_k σ⁴，而标准差是它的平方根 √d_k σ²。"),
            (torch.tensor([math.sqrt(d_k) * sigma, sigma]), "Each product q_i k_i multiplies two numbers of standard deviation σ: its variance is σ²·σ² = σ⁴, so the std of q·k is √d_k σ², not √d_k σ.",
             "每个乘积 q_i k_i 是两个标准差为 σ 的数相乘：方差为 σ²·σ² = σ⁴，所以 q·k 的标准差是 √d_k σ²，而不是 √d_k σ。"),
            (torch.tensor([d_k * s2, math.sqrt(d_k) * s2]), "The variance grows like d_k, so the standard deviation grows like √d_k, not d_k (sqrt vs not).",
             "方差随 d_k 增长，所以标准差随 √d_k 增长，而不是随 d_k(注意开平方)。"),
            (torch.tensor([math.sqrt(d_k) * s2, s2 / math.sqrt(d_k)]), "After dividing by √d_k the std is √d_k σ² / √d_k = σ²: you divided by d_k instead.",
             "除以 √d_k 之后，标准差是 √d_k σ² / √d_k = σ²：你除的是 d_k。"),
        ], shape_hints=[
            ((), "Return a pair: (std of q·k, std of q·k / √d_k).", "请返回一对数：(q·k 的标准差, q·k / √d_k 的标准差)。"),
        ])


def _macs(L: int, d: int) -> int:
    return 4 * L * d * d + 2 * L * L * d


@exercise("ch12.attention_macs", "Predict the multiply-adds of a self-attention layer", "预测自注意力层的乘加次数")
def check_attention_macs(attention_macs) -> None:
    for L, d, h in ((128, 768, 12), (512, 64, 8), (10, 32, 4)):
        name = f"attention_macs({L}, {d}, {h})"
        got = torch.tensor([_number(attention_macs(L, d, h), name)])
        compare(got, torch.tensor([_macs(L, d)]), name, wrong=[
            (torch.tensor([2 * L * L * d]), "You counted only QKᵀ and the weighted sum: the four projections W_Q, W_K, W_V, W_O cost 4·L·d_model² more.",
             "你只算了 QKᵀ 和加权求和：四个投影 W_Q、W_K、W_V、W_O 还要 4·L·d_model² 次。"),
            (torch.tensor([3 * L * d * d + 2 * L * L * d]), "You forgot the output projection W_O: there are four d_model × d_model projections, not three.",
             "你忘了输出投影 W_O：一共有四个 d_model × d_model 的投影，不是三个。"),
            (torch.tensor([4 * L * d * d + L * L * d]), "You counted QKᵀ (L²·d_model) but not the weighted sum of the values, weights·V, which costs as much again.",
             "你算了 QKᵀ(L²·d_model)，却漏了对值的加权求和 weights·V，它的开销与前者相同。"),
            (torch.tensor([4 * L * d * d + 2 * h * L * L * d]), "You multiplied the attention part by the number of heads: each head works in d_model / h dimensions, so h heads together cost h · L² · d_model/h = L² · d_model.",
             "你把注意力部分乘上了头数：每个头只在 d_model / h 维中计算，h 个头合起来是 h · L² · d_model/h = L² · d_model。"),
            (torch.tensor([4 * L * d * d + 2 * L * L * d // h]), "You divided the attention part by the number of heads: h heads of d_model / h dimensions cost as much as one head of d_model.",
             "你把注意力部分除以了头数：h 个 d_model / h 维的头，开销与一个 d_model 维的头相同。"),
            (torch.tensor([2 * _macs(L, d)]), "You counted FLOPs (a multiply and an add, 2 per multiply-add): the question asks for multiply-adds.",
             "你算的是浮点运算次数(每次乘加算 2 次)：题目问的是乘加次数。"),
        ])


@exercise("ch12.doubling_ratio", "Predict the cost of twice the length", "预测长度加倍后的开销")
def check_doubling_ratio(doubling_ratio) -> None:
    cases = ((128, 768), (4096, 768), (512, 64))
    got = torch.tensor([_number(doubling_ratio(L, d), f"doubling_ratio({L}, {d})") for L, d in cases])
    want = torch.tensor([_macs(2 * L, d) / _macs(L, d) for L, d in cases])
    compare(got, want, "doubling_ratio", wrong=[
        (torch.full((3,), 4.0), "4 holds only for the L² part: the projections grow linearly (×2), and while L is small next to d_model they dominate. Use attention_macs(2L) / attention_macs(L).",
         "4 倍只适用于 L² 那一部分：投影是线性增长的(×2)，当 L 比 d_model 小时它们占大头。应计算 attention_macs(2L) / attention_macs(L)。"),
        (torch.full((3,), 2.0), "2 would be a linear cost, like an RNN's: self-attention also has the L²·d_model term, which quadruples.",
         "2 倍是线性开销，像 RNN 那样：自注意力还有 L²·d_model 这一项，它会变成 4 倍。"),
        (torch.full((3,), 8.0), "Doubling L doubles the projections and quadruples the L² term; nothing grows eightfold.",
         "L 加倍时，投影变成 2 倍，L² 项变成 4 倍；没有任何一项会变成 8 倍。"),
    ])


@exercise("ch12.new_position_parameters", "Predict the parameters for longer inputs", "预测加长输入所需的新参数")
def check_new_position_parameters(new_position_parameters) -> None:
    for H, layers, old, new in ((768, 12, 512, 1024), (384, 6, 512, 2048), (64, 2, 128, 130)):
        name = f"new_position_parameters({H}, {layers}, {old}, {new})"
        got = torch.tensor([_number(new_position_parameters(H, layers, old, new), name)])
        compare(got, torch.tensor([(new - old) * H]), name, wrong=[
            (torch.tensor([0]), "BERT's positions are LEARNED: one trained vector of H numbers per position (sinusoids would need none). The attention weights do not depend on the length.",
             "BERT 的位置是“学出来的”：每个位置一个 H 维的训练向量(正弦编码才不需要参数)。注意力的权重与长度无关。"),
            (torch.tensor([layers * (new - old) * H]), "The position embeddings are added once, at the input, not in every layer: do not multiply by the number of layers.",
             "位置嵌入只在输入处加一次，而不是每层都加：不要乘以层数。"),
            (torch.tensor([new * H]), "The first old_max rows already exist: only new_max − old_max rows are new.",
             "前 old_max 行已经存在：新增的只有 new_max − old_max 行。"),
        ])


@exercise("ch12.loss_positions", "Predict how many positions the masked-LM loss sees", "预测掩码语言模型的损失覆盖多少个位置")
def check_loss_positions(loss_positions) -> None:
    for lengths, max_len, p, m in (([12, 7, 20], 20, 0.15, 0.8), ([30, 64, 9, 41], 64, 0.2, 0.5)):
        name = f"loss_positions({lengths}, {max_len}, {p}, {m})"
        got = torch.tensor([_number(loss_positions(list(lengths), max_len, p, m), name)])
        real = sum(n - 3 for n in lengths)
        compare(got, torch.tensor([p * real]), name, wrong=[
            (torch.tensor([p * m * real]), "The loss is computed at ALL chosen positions, not only those replaced by [MASK]: the random and unchanged ones count too (the 0.8 plays no part here).",
             "损失覆盖“所有”被选中的位置，而不只是换成 [MASK] 的那些：换成随机词元的和保持不变的也算(这里与 0.8 无关)。"),
            (torch.tensor([p * sum(lengths)]), "Special tokens ([CLS] and the two [SEP]) are never chosen: subtract 3 from each length.",
             "特殊词元([CLS] 和两个 [SEP])永远不会被选中：每个长度都要减去 3。"),
            (torch.tensor([p * len(lengths) * max_len]), "Padding is never chosen: count the real tokens, not max_len per example.",
             "填充永远不会被选中：应数真实的词元，而不是每个样本都按 max_len 算。"),
            (torch.tensor([p * len(lengths) * (max_len - 3)]), "Padding is never chosen: use each example's own length, not max_len.",
             "填充永远不会被选中：应使用每个样本自己的长度，而不是 max_len。"),
        ])
