"""Checks for chapter 05, multi-head attention."""
from __future__ import annotations

import math

import torch

from ..attention import MultiHeadAttention
from .core import compare, exercise

B, L, D, H = 2, 5, 12, 3  # d_k = 4


def _x(seed: int = 5) -> torch.Tensor:
    return torch.randn(B, L, D, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _split(x: torch.Tensor, h: int) -> torch.Tensor:
    return x.view(x.shape[0], x.shape[1], h, -1).transpose(1, 2)


@exercise("ch05.split_heads", "Split d_model into heads", "把 d_model 拆成多个头")
def check_split_heads(split_heads) -> None:
    x = _x()
    compare(split_heads(x.clone(), H), _split(x, H), "heads", wrong=[
        (x.reshape(B, H, L, D // H), "You reshaped straight to (B, h, L, d_k): that cuts the *sequence* into pieces. "
         "Reshape to (B, L, h, d_k) first, then swap the L and h axes.",
         "你直接 reshape 成了 (B, h, L, d_k)：这会把*序列*切成几段。应先 reshape 成 (B, L, h, d_k)，再交换 L 与 h 两个维度。"),
        (x.view(B, L, D // H, H).permute(0, 3, 1, 2), "Each head must get a contiguous block of d_k features (head 0: features 0 … d_k−1); "
         "yours takes every h-th feature.", "每个头应得到连续的 d_k 个特征(第 0 个头：特征 0 … d_k−1)；你取的是每隔 h 个的特征。"),
    ], shape_hints=[
        ((B, L, H, D // H), "Shape (B, L, h, d_k): now move the head axis in front of the sequence axis, (B, h, L, d_k).",
         "形状是 (B, L, h, d_k)：还要把头的维度移到序列维度前面，得到 (B, h, L, d_k)。"),
    ])


@exercise("ch05.merge_heads", "Concatenate the heads again", "把各个头重新拼接起来")
def check_merge_heads(merge_heads) -> None:
    heads = _split(_x(6), H)
    want = heads.transpose(1, 2).reshape(B, L, D)
    compare(merge_heads(heads.clone()), want, "merged", wrong=[
        (heads.reshape(B, L, D), "You reshaped (B, h, L, d_k) straight to (B, L, d_model): that mixes tokens. "
         "Swap h and L back first (transpose(1, 2)), then reshape.",
         "你把 (B, h, L, d_k) 直接 reshape 成了 (B, L, d_model)：这会把不同词元混在一起。应先换回 h 与 L(transpose(1, 2))，再 reshape。"),
        (heads.permute(0, 2, 3, 1).reshape(B, L, D), "The features come out interleaved (feature j of every head, then j + 1): "
         "move the head axis next to the sequence axis, (B, L, h, d_k), so each head's d_k features stay together.",
         "特征被交错排列了(每个头的第 j 个特征放在一起)：应把头的维度移到序列维度之后，得到 (B, L, h, d_k)，让每个头的 d_k 个特征连在一起。",
         "interleaved_heads"),
    ])


@exercise("ch05.multi_head_attention", "Multi-head attention from its matrices", "由权重矩阵实现多头注意力")
def check_multi_head_attention(multi_head_attention) -> None:
    torch.manual_seed(0)
    mha = MultiHeadAttention(D, H, bias=False).double().eval()
    W_q, W_k, W_v, W_o = (m.weight.detach().T.clone() for m in (mha.w_q, mha.w_k, mha.w_v, mha.w_o))
    x = _x(7)
    got = multi_head_attention(x.clone(), W_q, W_k, W_v, W_o, H)
    with torch.no_grad():
        want, _ = mha(x, x, x)

    def variant(scale: float, project: bool = True, dim: int = -1) -> torch.Tensor:
        q, k, v = _split(x @ W_q, H), _split(x @ W_k, H), _split(x @ W_v, H)
        heads = torch.softmax(q @ k.transpose(-2, -1) / scale, dim=dim) @ v
        concat = heads.transpose(1, 2).reshape(B, L, D)
        return concat @ W_o if project else concat

    d_k = D // H
    compare(got, want, "output", wrong=[
        (variant(math.sqrt(d_k), project=False), "You forgot the output projection W_o after concatenating the heads.",
         "拼接各个头之后，忘了输出投影 W_o。"),
        (variant(math.sqrt(D)), "You scaled by √d_model. Each head works in d_k = d_model / h dimensions, so scale by √d_k.",
         "你除以了 √d_model。每个头工作在 d_k = d_model / h 维中，所以应除以 √d_k。"),
        (variant(1.0), "You forgot to scale the scores by 1/√d_k.", "忘了把得分乘以 1/√d_k。"),
        (variant(math.sqrt(d_k), dim=-2), "Softmax over the wrong axis: normalise over the keys (dim=-1).",
         "softmax 的维度错了：应在键的维度上(dim=-1)归一化。"),
    ])


@exercise("ch05.count_parameters", "Predict the parameter count", "预测参数个数")
def check_count_parameters(count_parameters) -> None:
    for d_model, h in ((512, 8), (768, 12), (64, 1)):
        want = sum(p.numel() for p in MultiHeadAttention(d_model, h).parameters())
        got = count_parameters(d_model, h)
        compare([got], torch.tensor([float(want)]), f"count_parameters({d_model}, {h})", wrong=[
            (torch.tensor([float(4 * d_model * d_model * h + 4 * d_model * h)]), "More heads do not add parameters: the h heads *split* d_model, each getting d_k = d_model / h.",
             "头越多并不会增加参数：h 个头是*分割* d_model，每个头得到 d_k = d_model / h。"),
            (torch.tensor([float(4 * d_model * d_model)]), "You forgot the biases: each of the four nn.Linear layers has d_model of them.",
             "忘了偏置：四个 nn.Linear 层各有 d_model 个偏置。"),
            (torch.tensor([float(3 * d_model * d_model + 3 * d_model)]), "You forgot the output projection W_o (and its bias).",
             "忘了输出投影 W_o(及其偏置)。"),
        ])
