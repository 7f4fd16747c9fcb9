"""Checks for chapter 04, masking."""

from __future__ import annotations

import math

import torch

from ..attention import scaled_dot_product_attention
from ..masks import causal_mask, padding_mask
from .core import Mistake, boolean, compare, exercise, generator, output_and_weights


@exercise("ch04.padding_mask", "A padding mask from lengths", "由长度得到填充掩码")
def check_padding_mask(make_padding_mask, hidden: bool = False) -> None:
    cases = (
        [([4, 2, 5], 6), ([6, 0, 1, 5], 6), ([3], 3), ([1, 7], 8)]
        if not hidden
        else [([2, 5, 3], 5), ([7, 1, 0], 7), ([4], 4), ([3, 6, 2, 9], 10)]
    )
    for lengths, max_len in cases:
        lengths = torch.tensor(lengths)
        got = boolean(make_padding_mask(lengths, max_len), "mask")
        want = padding_mask(lengths, max_len)
        real = want[:, 0, 0]
        if got.shape == real.shape and got.shape != want.shape:
            raise Mistake(
                "Shape (B, L): add the two singleton axes for heads and queries, (B, 1, 1, L), so "
                "the mask "
                "broadcasts over (B, num_heads, L_q, L_k).",
                "形状是 (B, L)：要加上头和查询两个长度为 1 的维度，即 (B, 1, 1, L)，才能广播到 (B, "
                "num_heads, L_q, L_k)。",
                "missing_singleton_axes",
            )
        positions = torch.arange(max_len)
        compare(
            got,
            want,
            "mask",
            wrong=[
                (
                    ~want,
                    "You masked the wrong side: True must mean 'may attend', i.e. the real tokens, "
                    "not the padding.",
                    "掩码反了：True 应表示“可以关注”，即真实词元，而不是填充。",
                    "wrong_side",
                ),
                (
                    (positions <= lengths[:, None])[:, None, None, :],
                    "Off by one: a sequence of length n has real tokens at "
                    "positions 0 … n−1 (use <, not <=).",
                    "差了一位：长度为 n 的序列，真实词元在位置 0 … n−1（应用 <，而不是 <=）。",
                    "off_by_one",
                ),
                (
                    (positions < lengths[:, None] - 1)[:, None, None, :],
                    "Off by one: a sequence of length n has real tokens at "
                    "positions 0 … n−1, all n of them.",
                    "差了一位：长度为 n 的序列，真实词元在位置 0 … n−1，共 n 个。",
                    "off_by_one",
                ),
                (
                    (positions >= max_len - lengths[:, None])[:, None, None, :],
                    "You padded on the left: the sequences are "
                    "right-padded, real tokens first (positions 0 … n−1).",
                    "你把填充放在了左边：序列是在右侧填充的，真实词元在前（位置 0 … n−1）。",
                    "left_padding",
                ),
            ],
            shape_hints=[
                (
                    (len(lengths), 1, max_len, 1),
                    "Shape (B, 1, L, 1) masks the queries: the padding mask hides the padded KEYS, "
                    "so the length axis is the last one, (B, 1, 1, L).",
                    "形状 (B, 1, L, 1) 屏蔽的是查询：填充掩码要屏蔽被填充的键，"
                    "所以长度应在最后一维，(B, 1, 1, L)。",
                    "masks_queries",
                ),
                (
                    (len(lengths), 1, max_len),
                    "Shape (B, 1, L): one more singleton axis, (B, 1, 1, L), for heads and "
                    "queries.",
                    "形状是 (B, 1, L)：还差一个长度为 1 的维度，应为 (B, 1, 1, L)。",
                    "missing_singleton_axes",
                ),
            ],
        )


@exercise("ch04.causal_mask", "A causal (look-ahead) mask", "因果（前瞻）掩码")
def check_causal_mask(make_causal_mask, hidden: bool = False) -> None:
    for size in (5, 1, 2, 7) if not hidden else (3, 6, 1, 9):
        got = boolean(make_causal_mask(size), "mask")
        while got.dim() > 2 and got.shape[0] == 1:  # (1, 1, L, L) broadcasts like (L, L)
            got = got[0]
        want = causal_mask(size)
        eye = torch.eye(size, dtype=torch.bool)
        compare(
            got,
            want,
            f"mask({size})",
            wrong=[
                (
                    want.T,
                    "Your mask lets every token see the future (upper triangle) and hides the "
                    "past. Position i may attend "
                    "to 0 … i: the lower triangle.",
                    "你的掩码让每个词元看到未来（上三角）、却看不到过去。位置 i 可以关注 0 … i："
                    "应是下三角。",
                    "sees_the_future",
                ),
                (
                    want & ~eye,
                    "The diagonal is False: a token must be able to attend to itself (otherwise "
                    "the first token sees "
                    "nothing).",
                    "对角线是 False：词元必须能关注自己（否则第一个词元什么也看不到）。",
                    "no_diagonal",
                ),
                (
                    ~want,
                    "You masked the wrong side: True must mean 'may attend'.",
                    "掩码反了：True 应表示“可以关注”。",
                    "wrong_side",
                ),
                (
                    ~want | eye,
                    "You masked the wrong side: True must mean 'may attend' (keys 0 … i for query "
                    "i).",
                    "掩码反了：True 应表示“可以关注”（查询 i 可以关注键 0 … i）。",
                    "wrong_side",
                ),
                (
                    torch.ones(size, size, dtype=torch.bool).tril(1),
                    "Off by one: query i may attend to keys 0 … i, not i + 1.",
                    "差了一位：查询 i 可以关注键 0 … i，而不是 i + 1。",
                    "off_by_one",
                ),
                (
                    torch.ones(size, size, dtype=torch.bool),
                    "Every entry is True: that mask hides nothing (the lower triangle, "
                    "keys 0 … i, is allowed).",
                    "所有元素都是 True：这个掩码什么也没有屏蔽（只允许下三角，即键 0 … i）。",
                    "all_true",
                ),
            ],
        )


def _allowed_rows(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The rows of queries that may attend to at least one key (a fully masked row's output is
    up to the implementation: NaN, 0 or a uniform mix)."""
    return x[mask.any(-1)]


@exercise("ch04.masked_attention", "Attention with a mask", "带掩码的注意力")
def check_masked_attention(masked_attention, hidden: bool = False) -> None:
    g = generator(7, hidden)
    cases = []
    for n, (L_q, L_k, d_k, d_v) in enumerate(
        [(4, 6, 6, 6), (5, 3, 4, 2), (3, 5, 9, 4), (2, 7, 1, 3), (3, 4, 2, 3)]
    ):
        if n == 0 and not hidden:
            g0 = torch.Generator().manual_seed(7)
            Q, K, V = (torch.randn(m, 6, generator=g0, dtype=torch.float64) * 2 for m in (4, 6, 6))
            # (4, 6): no row fully masked
            mask = padding_mask(torch.tensor([3]), 6)[0, 0] & causal_mask(6)[:4]
        else:
            Q, K, V = (
                # the last case has small scores: a fill value that is merely low shows
                torch.randn(m, d, generator=g, dtype=torch.float64) * (3 if n < 4 else 0.3)
                for m, d in ((L_q, d_k), (L_k, d_k), (L_k, d_v))
            )
            mask = torch.rand(L_q, L_k, generator=g) < 0.6
            mask[0, 0] = True
            if n == 2:
                mask[1] = (
                    False  # a query that may attend to nothing: only the other rows are compared
                )
        cases.append((Q, K, V, mask))
    # Queries that point away from every key: all the visible scores are about -60 (d_k 4), so a
    # fill value that is merely low (-20, -50) would outweigh them. -inf (or a dtype's minimum,
    # or -1e9) leaves the masked keys at exactly 0 whatever the scores.
    K = 5 + 0.3 * torch.randn(5, 4, generator=g, dtype=torch.float64)
    Q = -(5 + 0.3 * torch.randn(3, 4, generator=g, dtype=torch.float64))
    V = torch.randn(5, 3, generator=g, dtype=torch.float64)
    mask = torch.tensor([[1, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 0, 0, 1]], dtype=torch.bool)
    cases.append((Q, K, V, mask))
    for Q, K, V, mask in cases:
        output, weights = output_and_weights(masked_attention(Q, K, V, mask))
        want_out, want_w = scaled_dot_product_attention(Q, K, V, mask)
        d_k = Q.shape[-1]
        scores = Q @ K.T / math.sqrt(d_k)

        def rows(x):
            return (
                _allowed_rows(torch.as_tensor(x).to(torch.float64), mask)
                if torch.is_tensor(x)
                else x
            )

        def filled(s, m, value=float("-inf")):
            return torch.softmax(s.masked_fill(~m, value), -1)

        compare(
            rows(weights),
            rows(want_w),
            "weights",
            wrong=[  # the all-negative case first: there a fill of 0 looks like one of -20
                (
                    lambda: rows(filled(scores, mask, -20.0)) if scores.max() < -30 else None,
                    "Every visible score here is below −30, and your masked keys still got "
                    "weight: a fill value that is merely low (−10, −20, …) is not enough. Use −∞ "
                    "(or torch.finfo(scores.dtype).min).",
                    "这里所有可见得分都低于 −30，而被屏蔽的键仍分到了权重：只是“比较低”的填充值"
                    "（−10、−20……）不够。请用 −∞（或 torch.finfo(scores.dtype).min）。",
                    "fill_not_negative_enough",
                ),
                (
                    lambda: rows(filled(scores, mask, 0.0)),
                    "You set masked scores to 0. exp(0) = 1, so masked keys still get "
                    "weight: set them to −∞ (weight exactly 0).",
                    "你把被屏蔽的得分设成了 0。exp(0) = 1，被屏蔽的键仍会分到权重：应设为 "
                    "−∞（权重恰为 0）。",
                    "filled_with_zero",
                ),
                (
                    lambda: rows(torch.softmax(scores, -1) * mask),
                    "You masked after the softmax without renormalising: the rows "
                    "no longer sum to 1. Mask the scores, then softmax.",
                    "你在 softmax 之后才屏蔽且没有重新归一化：每行之和不再是 1。应先屏蔽得分，再做 "
                    "softmax。",
                    "masked_after_softmax",
                ),
                (
                    lambda: rows(filled(scores, ~mask)),
                    "You masked the wrong side: True means 'may attend', so fill the scores "
                    "where the mask is False.",
                    "掩码用反了：True 表示“可以关注”，应在掩码为 False 的位置填充得分。",
                    "wrong_side",
                ),
                (
                    lambda: rows(filled(Q @ K.T, mask)),
                    "You forgot to divide the scores by √d_k.",
                    "忘了把得分除以 √d_k。",
                    "no_scaling",
                ),
                (
                    lambda: rows(filled(Q @ K.T / d_k, mask)),
                    "You divided the scores by d_k; divide by √d_k.",
                    "你把得分除以了 d_k；应除以 √d_k。",
                    "divided_by_d_k",
                ),
                (
                    lambda: rows(filled(scores, mask, -1.0)),
                    "The masked scores must be −∞ (or a very large negative number), so "
                    "that their weights are exactly 0.",
                    "被屏蔽的得分必须是 −∞（或非常大的负数），这样它们的权重才恰为 0。",
                    "fill_not_negative_enough",
                ),
                (
                    lambda: (
                        rows(filled(scores, mask).T) if mask.shape[0] == mask.shape[1] else None
                    ),
                    "Transposed weights: one row per query.",
                    "权重被转置了：每个查询一行。",
                    "transposed",
                ),
            ],
        )
        compare(
            rows(output),
            rows(want_out),
            "output",
            shape_hints=[
                (
                    (int(mask.any(-1).sum()), K.shape[-1]),
                    "output mixes the keys; it is a weighted sum of the values, weights @ V.",
                    "output 加权求和的是键；应是值的加权和，weights @ V。",
                    "mixed_keys",
                ),
            ]
            if K.shape[-1] != V.shape[-1]
            else [],
        )


@exercise("ch04.combine_masks", "Padding and causal masks together", "同时使用填充掩码与因果掩码")
def check_combine(combine, hidden: bool = False) -> None:
    cases = (
        [([3, 5], 5), ([1, 4, 4], 4), ([6, 2], 6)]
        if not hidden
        else [([2, 4], 4), ([5, 1, 3], 5), ([3, 3], 3)]
    )
    for lengths, L in cases:
        lengths = torch.tensor(lengths)
        pad, causal = padding_mask(lengths, L), causal_mask(L)
        got = boolean(combine(pad, causal), "mask")
        full = (len(lengths), 1, L, L)
        try:
            got = got.broadcast_to(full)
        except RuntimeError:
            raise Mistake(
                f"The mask has shape {tuple(got.shape)}; it must broadcast to (B, 1, L, L) = "
                f"{full}.",
                f"掩码形状为 {tuple(got.shape)}；它必须能广播到 (B, 1, L, L) = {full}。",
                "does_not_broadcast",
            ) from None
        want = (pad & causal).broadcast_to(full)
        compare(
            got,
            want,
            "mask",
            wrong=[
                (
                    (pad | causal).broadcast_to(full),
                    "You combined with OR: a key must be allowed by BOTH masks (use &).",
                    "你用了“或”：键必须同时被两个掩码允许（应使用 &）。",
                    "combined_with_or",
                ),
                (
                    causal.broadcast_to(full),
                    "Only the causal mask: the padded keys of the shorter sentence are still "
                    "visible.",
                    "只用了因果掩码：较短句子中的填充键仍然可见。",
                    "only_causal",
                ),
                (
                    pad.broadcast_to(full),
                    "Only the padding mask: every token can still see the future.",
                    "只用了填充掩码：每个词元仍能看到未来。",
                    "only_padding",
                ),
                (
                    (pad & causal.T).broadcast_to(full),
                    "The causal mask is transposed: query i may see keys 0 … i (lower triangle).",
                    "因果掩码被转置了：查询 i 可以看到键 0 … i（下三角）。",
                    "transposed_causal",
                ),
                (
                    (pad.transpose(-1, -2) & causal).broadcast_to(full),
                    "You masked the padded QUERIES (rows); the padding mask "
                    "hides the padded KEYS (columns): pad & causal, with pad (B, 1, 1, L).",
                    "你屏蔽的是被填充的查询（行）；填充掩码要屏蔽的是被填充的键（列）："
                    "pad & causal，"
                    "其中 pad 为 (B, 1, 1, L)。",
                    "masked_queries",
                ),
                (
                    (pad & pad.transpose(-1, -2) & causal).broadcast_to(full),
                    "You also masked the padded queries: only the keys "
                    "are masked (a padded query's output is simply ignored later).",
                    "你把被填充的查询也屏蔽了：只需屏蔽键（被填充的查询的输出之后会被忽略）。",
                    "masked_queries_too",
                ),
            ],
        )


@exercise(
    "ch04.predict_visible", "Predict how many keys each query sees", "预测每个查询能看到几个键"
)
def check_predict_visible(visible_keys, hidden: bool = False) -> None:
    cases = (
        ((3, 5), (5, 5), (1, 4), (4, 7), (1, 1), (6, 8))
        if not hidden
        else ((2, 6), (4, 4), (1, 3), (5, 9), (2, 2))
    )
    for length, L in cases:
        got = visible_keys(length, L)
        want = (
            (padding_mask(torch.tensor([length]), L)[0, 0] & causal_mask(L))
            .sum(-1)
            .to(torch.float64)
        )
        i = torch.arange(L, dtype=torch.float64)
        compare(
            got,
            want,
            f"visible keys (length={length}, L={L})",
            wrong=[
                (
                    i + 1,
                    "You forgot the padding: query i sees keys 0 … i, but only those < length.",
                    "忘了填充：查询 i 看到键 0 … i，但只有位置小于 length 的才算。",
                    "forgot_padding",
                ),
                (
                    torch.full((L,), float(length), dtype=torch.float64),
                    "You forgot the causal mask: query i cannot see keys after i.",
                    "忘了因果掩码：查询 i 看不到 i 之后的键。",
                    "forgot_causal",
                ),
                (
                    torch.where(i < length, i + 1, 0.0),
                    "A padded query still attends to the real keys: the padding mask hides "
                    "padded KEYS, not queries, so queries i ≥ length see all `length` real keys.",
                    "被填充的查询仍然关注真实的键：填充掩码屏蔽的是被填充的键，而不是查询，所以 i "
                    "≥ length 的查询能看到全部 length 个真实键。",
                    "padded_queries_see_nothing",
                ),
                (
                    torch.clamp(i, max=length),
                    "Off by one: query i sees keys 0 … i, that is i + 1 keys (itself included).",
                    "差了一位：查询 i 看到键 0 … i，共 i + 1 个（包括它自己）。",
                    "off_by_one",
                ),
                (
                    torch.clamp(i + 1, max=length - 1),
                    "Off by one: there are `length` real keys, positions 0 … length − 1.",
                    "差了一位：真实的键共有 length 个，位置 0 … length − 1。",
                    "off_by_one",
                ),
                (
                    torch.clamp(i + 2, max=length),
                    "Off by one: query i sees keys 0 … i, that is i + 1 keys.",
                    "差了一位：查询 i 看到键 0 … i，共 i + 1 个。",
                    "off_by_one",
                ),
            ],
            shape_hints=[
                (
                    (length,),
                    "Return one count for each of the L queries, padded ones included.",
                    "要为全部 L 个查询（包括被填充的）各返回一个数。",
                    "only_real_queries",
                ),
                (
                    (),
                    "Return one count per query (a list of L numbers), not the total.",
                    "每个查询返回一个数（共 L 个数的列表），而不是总数。",
                    "returned_total",
                ),
            ],
        )
