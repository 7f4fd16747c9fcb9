"""Checks for chapter 05, multi-head attention."""

from __future__ import annotations

import functools
import math

import torch

from ..attention import MultiHeadAttention
from .core import compare, exercise, generator, predictions, require_finite, require_graph

B, L, D, H = 2, 5, 12, 3  # d_k = 4
# (B, L, d_model, h) of the public and the hidden runs: L, h and d_k differ within each shape
SHAPES = [(B, L, D, H), (1, 3, 8, 2), (3, 4, 6, 6), (2, 2, 6, 1)]
HIDDEN_SHAPES = [(3, 4, 10, 2), (2, 6, 9, 3), (1, 5, 4, 4), (2, 3, 5, 1)]


def _x(
    seed: int = 5, shape: tuple[int, int, int] = (B, L, D), hidden: bool = False
) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed) if not hidden else generator(seed, hidden)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _split(x: torch.Tensor, h: int) -> torch.Tensor:
    return x.view(x.shape[0], x.shape[1], h, -1).transpose(1, 2)


@exercise("ch05.split_heads", "Split d_model into heads", "把 d_model 拆成多个头")
def check_split_heads(split_heads, hidden: bool = False) -> None:
    shapes = SHAPES if not hidden else HIDDEN_SHAPES
    for n, (b, length, d, h) in enumerate(shapes):
        x = _x(5 + 10 * n, (b, length, d), hidden)
        d_k = d // h
        last = n == len(shapes) - 1
        got = split_heads(x.requires_grad_(last), h)  # the last input comes from a layer
        with torch.no_grad():
            _check_split(got, x, b, length, h, d_k)
        if last:
            require_graph(got, "the heads")


def _check_split(got, x, b, length, h, d_k) -> None:
    compare(
        got,
        _split(x, h),
        "heads",
        wrong=[
            (
                lambda: x.reshape(b, h, length, d_k),
                "You reshaped straight to (B, h, L, d_k): that cuts the *sequence* into "
                "pieces. Reshape to (B, L, h, d_k) first, then swap the L and h axes.",
                "你直接 reshape 成了 (B, h, L, d_k)：这会把*序列*切成几段。应先 reshape 成 (B, "
                "L, h, d_k)，再交换 L 与 h 两个维度。",
                "reshaped_straight",
            ),
            (
                lambda: x.view(b, length, d_k, h).permute(0, 3, 1, 2),
                "Each head must get a contiguous block of d_k features "
                "(head 0: features 0 … d_k−1); yours takes every h-th feature.",
                "每个头应得到连续的 d_k 个特征（第 0 个头：特征 0 … d_k−1）；你取的是每隔 h "
                "个的特征。",
                "interleaved_features",
            ),
        ],
        shape_hints=[
            (
                (b, length, h, d_k),
                "Shape (B, L, h, d_k): now move the head axis in front of the sequence axis, "
                "(B, h, L, d_k).",
                "形状是 (B, L, h, d_k)：还要把头的维度移到序列维度前面，得到 (B, h, L, d_k)。",
                "head_axis_not_moved",
            ),
            (
                (b, h, d_k, length),
                "Shape (B, h, d_k, L): the sequence axis comes before the features, (B, h, L, "
                "d_k).",
                "形状是 (B, h, d_k, L)：序列维度应在特征之前，(B, h, L, d_k)。",
                "wrong_permutation",
            ),
            (
                (b, d_k, length, h),
                "Shape (B, d_k, L, h): the head axis goes second and d_k last, (B, h, L, d_k).",
                "形状是 (B, d_k, L, h)：头的维度应在第二位，d_k 在最后，(B, h, L, d_k)。",
                "wrong_permutation",
            ),
        ],
    )


@exercise("ch05.merge_heads", "Concatenate the heads again", "把各个头重新拼接起来")
def check_merge_heads(merge_heads, hidden: bool = False) -> None:
    shapes = SHAPES if not hidden else HIDDEN_SHAPES
    for n, (b, length, d, h) in enumerate(shapes):
        last = n == len(shapes) - 1  # the last heads come from a layer: they carry a gradient
        heads = _split(_x(6 + 10 * n, (b, length, d), hidden).requires_grad_(last), h)
        if n % 2 == 0:  # as attention hands them over (weights @ V): contiguous, where .view fails
            heads = heads.contiguous()
        got = merge_heads(heads)
        with torch.no_grad():
            _check_merge(got, heads, b, length, d, h)
        if last:
            require_graph(got, "the merged heads")


def _check_merge(got, heads, b, length, d, h) -> None:
    want = heads.transpose(1, 2).reshape(b, length, d)
    compare(
        got,
        want,
        "merged",
        wrong=[
            (
                lambda: heads.reshape(b, length, d),
                "You reshaped (B, h, L, d_k) straight to (B, L, d_model): that mixes "
                "tokens. Swap h and L back first (transpose(1, 2)), then reshape.",
                "你把 (B, h, L, d_k) 直接 reshape 成了 (B, L, d_model)："
                "这会把不同词元混在一起。应先换回 h 与 L(transpose(1, 2))，再 reshape。",
                "reshaped_straight",
            ),
            (
                lambda: heads.permute(0, 2, 3, 1).reshape(b, length, d),
                "The features come out interleaved (feature j of every "
                "head, then j + 1): move the head axis next to the sequence axis, (B, L, h, "
                "d_k), so each head's d_k features "
                "stay together.",
                "特征被交错排列了（每个头的第 j 个特征放在一起）："
                "应把头的维度移到序列维度之后，"
                "得到 (B, L, h, d_k)，让每个头的 d_k 个特征连在一起。",
                "interleaved_heads",
            ),
        ],
        shape_hints=[
            (
                (b, length, h, d // h),
                "Shape (B, L, h, d_k): now reshape to (B, L, h·d_k), the heads side by side.",
                "形状是 (B, L, h, d_k)：还要 reshape 成 (B, L, h·d_k)，把各个头并排放在一起。",
                "not_reshaped",
            ),
            (
                (b, length, d // h),
                "You averaged (or summed) the heads: concatenate them, (B, L, h·d_k).",
                "你把各个头平均（或求和）了：应把它们拼接起来，(B, L, h·d_k)。",
                "averaged_heads",
            ),
        ],
    )


def _mha(x, W_q, W_k, W_v, W_o, h, scale, project=True, dim=-1, split=_split, merge=None):
    b, length, d = x.shape
    q, k, v = split(x @ W_q, h), split(x @ W_k, h), split(x @ W_v, h)
    heads = torch.softmax(q @ k.transpose(-2, -1) / scale, dim=dim) @ v
    concat = heads.transpose(1, 2).reshape(b, length, d) if merge is None else merge(heads)
    return concat @ W_o if project else concat


@exercise(
    "ch05.multi_head_attention",
    "Multi-head attention from its matrices",
    "由权重矩阵实现多头注意力",
)
def check_multi_head_attention(multi_head_attention, hidden: bool = False) -> None:
    shapes = (
        [(B, L, D, H), (1, 4, 8, 2), (2, 3, 6, 1), (1, 6, 8, 4)]
        if not hidden
        else [(1, 5, 12, 4), (2, 3, 10, 2), (3, 2, 4, 1), (1, 7, 9, 3)]
    )
    # the last case in float32 with large inputs: scores above 100, where exp(s) overflows to inf
    # and a softmax written as exp(s) / sum(exp(s)) gives NaN (torch.softmax subtracts the max)
    for n, (b, length, d, h) in enumerate([*shapes, (1, 5, 8, 2)]):
        large = n == len(shapes)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(n + (50 if hidden else 0))
            mha = MultiHeadAttention(d, h, bias=False).to(torch.float32 if large else torch.float64)
            mha.eval()
        W_q, W_k, W_v, W_o = (
            m.weight.detach().T.clone() for m in (mha.w_q, mha.w_k, mha.w_v, mha.w_o)
        )
        x = _x(7 + 10 * n, (b, length, d), hidden) * 1.5
        if large:
            x = (x * 40).float()
        got = multi_head_attention(x, W_q, W_k, W_v, W_o, h)
        if large:
            require_finite(got, "output")
        with torch.no_grad():
            want, _ = mha(x, x, x)
        d_k = d // h
        args = (x, W_q, W_k, W_v, W_o, h)
        compare(
            got,
            want,
            "output",
            wrong=[
                (
                    lambda: _mha(*args, math.sqrt(d_k), project=False),
                    "You forgot the output projection W_o after concatenating the heads.",
                    "拼接各个头之后，忘了输出投影 W_o。",
                    "no_output_projection",
                ),
                (
                    lambda: _mha(*args, math.sqrt(d)),
                    "You scaled by √d_model. Each head works in d_k = d_model / h dimensions, "
                    "so scale by √d_k.",
                    "你除以了 √d_model。每个头工作在 d_k = d_model / h 维中，所以应除以 √d_k。",
                    "scaled_by_sqrt_d_model",
                ),
                (
                    lambda: _mha(*args, 1.0),
                    "You forgot to scale the scores by 1/√d_k.",
                    "忘了把得分乘以 1/√d_k。",
                    "no_scaling",
                ),
                (
                    lambda: _mha(*args, d_k),
                    "You divided the scores by d_k; divide by √d_k.",
                    "你把得分除以了 d_k；应除以 √d_k。",
                    "divided_by_d_k",
                ),
                (
                    lambda: _mha(*args, math.sqrt(d_k), dim=-2),
                    "Softmax over the wrong axis: normalise over the keys (dim=-1).",
                    "softmax 的维度错了：应在键的维度上（dim=-1）归一化。",
                    "wrong_axis",
                ),
                (
                    lambda: _mha(
                        *args,
                        math.sqrt(d_k),
                        split=lambda t, hh: t.reshape(t.shape[0], hh, t.shape[1], -1),
                    ),
                    "Your heads mix tokens: split (B, L, d_model) into (B, L, h, d_k) first, then "
                    "swap L and h.",
                    "你的头把不同词元混在了一起：应先把 (B, L, d_model) 拆成 (B, L, h, d_k)，"
                    "再交换 L 与 h。",
                    "reshaped_straight",
                ),
                (
                    lambda: _mha(
                        *args,
                        math.sqrt(d_k),
                        merge=lambda t: t.reshape(t.shape[0], t.shape[2], -1),
                    ),
                    "Your merge mixes tokens: (B, h, L, d_k) must become (B, L, h, d_k) "
                    "(transpose(1, 2)) before the reshape to (B, L, d_model).",
                    "你的合并把不同词元混在了一起：(B, h, L, d_k) 要先变成 (B, L, h, d_k)"
                    "（transpose(1, 2)），再 reshape 成 (B, L, d_model)。",
                    "merged_straight",
                ),
                (
                    lambda: _mha(x, W_q.T, W_k.T, W_v.T, W_o.T, h, math.sqrt(d_k)),
                    "You multiplied by the transposed matrices (x @ W.T, as nn.Linear stores "
                    "them): here the matrices are given as (in, out), so x @ W.",
                    "你乘的是转置矩阵（x @ W.T，nn.Linear 就是这样存储的）：这里矩阵按 (in, out) "
                    "给出，应为 x @ W。",
                    "transposed_weights",
                ),
                (
                    lambda: _mha(x, W_q.T, W_k.T, W_v.T, W_o, h, math.sqrt(d_k)),
                    "You multiplied by the transposed matrices (x @ W_q.T, as nn.Linear stores "
                    "them): here the matrices are given as (in, out), so x @ W_q.",
                    "你乘的是转置矩阵（x @ W_q.T，nn.Linear 就是这样存储的）：这里矩阵按 (in, out) "
                    "给出，应为 x @ W_q。",
                    "transposed_weights",
                ),
                (
                    lambda: _mha(x, W_q, W_k, W_v, W_o, 1, math.sqrt(d)),
                    "That is single-head attention: split into h heads of "
                    "d_k = d_model / h features, each with its own softmax.",
                    "这是单头注意力：应拆成 h 个头，每个头 d_k = d_model / h 个特征，各自做 "
                    "softmax。",
                    "one_head",
                ),
            ],
        )


@functools.lru_cache(maxsize=None)
def _attention_parameters(d_model: int, h: int) -> int:
    """Counted on a real module, built once (on the meta device: no memory, no time)."""
    with torch.device("meta"):
        return sum(p.numel() for p in MultiHeadAttention(d_model, h).parameters())


@exercise("ch05.count_parameters", "Predict the parameter count", "预测参数个数")
def check_count_parameters(count_parameters, hidden: bool = False) -> None:
    cases = (
        [(512, 8), (768, 12), (64, 1), (10, 2), (6, 3)]
        if not hidden
        else [(256, 4), (1024, 16), (32, 1), (12, 3), (9, 9)]
    )
    want = [_attention_parameters(d, h) for d, h in cases]
    predictions(
        count_parameters,
        cases,
        want,
        "count_parameters",
        [
            (
                lambda d, h: 4 * d * d * h + 4 * d * h,
                "More heads do not add parameters: the h heads *split* d_model, each getting "
                "d_k = d_model / h.",
                "头越多并不会增加参数：h 个头是*分割* d_model，每个头得到 d_k = d_model / h。",
                "heads_multiply",
            ),
            (
                lambda d, h: 4 * d * d,
                "You forgot the biases: each of the four nn.Linear layers has d_model of them.",
                "忘了偏置：四个 nn.Linear 层各有 d_model 个偏置。",
                "no_biases",
            ),
            (
                lambda d, h: 3 * d * d + 3 * d,
                "You forgot the output projection W_o (and its bias).",
                "忘了输出投影 W_o（及其偏置）。",
                "no_output_projection",
            ),
            (
                lambda d, h: 3 * d * d,
                "You forgot the output projection W_o and the biases.",
                "忘了输出投影 W_o 和偏置。",
                "no_output_projection",
            ),
            (
                lambda d, h: 4 * d * d + d,
                "Each of the four nn.Linear layers has its own bias of d_model numbers: 4·d_model.",
                "四个 nn.Linear 层各有自己的 d_model 个偏置：共 4·d_model。",
                "one_bias",
            ),
            (
                lambda d, h: 4 * (d * (d // h) + d // h),
                "That counts one head only: the h heads together span d_model, so each "
                "projection is d_model × d_model.",
                "这只算了一个头：h 个头合起来覆盖 d_model，所以每个投影都是 d_model × d_model。",
                "one_head_only",
            ),
        ],
    )
