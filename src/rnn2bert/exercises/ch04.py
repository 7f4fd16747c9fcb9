"""Checks for chapter 04, masking."""
from __future__ import annotations

import math

import torch

from ..attention import scaled_dot_product_attention
from ..masks import causal_mask, padding_mask
from .core import Mistake, as_tensor, compare, exercise, output_and_weights


def _as_bool(x, name: str) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    if t.dtype != torch.bool:
        raise Mistake(f"{name} should be a boolean tensor (True = may attend), got dtype {t.dtype}. "
                      "An additive 0/−∞ mask is another convention; this book uses booleans.",
                      f"{name} 应为布尔张量(True 表示可以关注)，却得到 {t.dtype}。加性的 0/−∞ 掩码是另一种约定；本书使用布尔值。")
    return t


@exercise("ch04.padding_mask", "A padding mask from lengths", "由长度得到填充掩码")
def check_padding_mask(make_padding_mask) -> None:
    lengths, max_len = torch.tensor([4, 2, 5]), 6
    got = _as_bool(make_padding_mask(lengths.clone(), max_len), "mask")
    want = padding_mask(lengths, max_len)
    real = want[:, 0, 0]
    if got.shape == real.shape:
        raise Mistake("Shape (B, L): add the two singleton axes for heads and queries, (B, 1, 1, L), so the mask "
                      "broadcasts over (B, num_heads, L_q, L_k).",
                      "形状是 (B, L)：要加上头和查询两个长度为 1 的维度，即 (B, 1, 1, L)，才能广播到 (B, num_heads, L_q, L_k)。")
    compare(got, want, "mask", wrong=[
        (~want, "You masked the wrong side: True must mean 'may attend', i.e. the real tokens, not the padding.",
         "掩码反了：True 应表示“可以关注”，即真实词元，而不是填充。"),
        ((torch.arange(max_len) <= lengths[:, None])[:, None, None, :], "Off by one: a sequence of length n has real tokens at positions 0 … n−1 (use <, not <=).",
         "差了一位：长度为 n 的序列，真实词元在位置 0 … n−1(应用 <，而不是 <=)。"),
    ])


@exercise("ch04.causal_mask", "A causal (look-ahead) mask", "因果(前瞻)掩码")
def check_causal_mask(make_causal_mask) -> None:
    got = _as_bool(make_causal_mask(5), "mask")
    want = causal_mask(5)
    compare(got, want, "mask", wrong=[
        (want.T, "Your mask lets every token see the future (upper triangle) and hides the past. Position i may attend to 0 … i: the lower triangle.",
         "你的掩码让每个词元看到未来(上三角)、却看不到过去。位置 i 可以关注 0 … i：应是下三角。"),
        (want & ~torch.eye(5, dtype=torch.bool), "The diagonal is False: a token must be able to attend to itself (otherwise the first token sees nothing).",
         "对角线是 False：词元必须能关注自己(否则第一个词元什么也看不到)。"),
        (~want, "You masked the wrong side: True must mean 'may attend'.", "掩码反了：True 应表示“可以关注”。"),
    ])


@exercise("ch04.masked_attention", "Attention with a mask", "带掩码的注意力")
def check_masked_attention(masked_attention) -> None:
    g = torch.Generator().manual_seed(7)
    Q, K, V = (torch.randn(n, 6, generator=g, dtype=torch.float64) * 2 for n in (4, 6, 6))  # L_q = 4, L_k = 6
    mask = padding_mask(torch.tensor([3]), 6)[0, 0] & causal_mask(6)[:4]  # (4, 6): no row fully masked
    output, weights = output_and_weights(masked_attention(Q.clone(), K.clone(), V.clone(), mask.clone()))
    want_out, want_w = scaled_dot_product_attention(Q, K, V, mask)
    scores = Q @ K.T / math.sqrt(6)
    zero_filled = torch.softmax(scores.masked_fill(~mask, 0.0), -1)
    after = torch.softmax(scores, -1) * mask
    compare(weights, want_w, "weights", wrong=[
        (zero_filled, "You set masked scores to 0. exp(0) = 1, so masked keys still get weight: set them to −∞ (weight exactly 0).",
         "你把被屏蔽的得分设成了 0。exp(0) = 1，被屏蔽的键仍会分到权重：应设为 −∞(权重恰为 0)。"),
        (after, "You masked after the softmax without renormalising: the rows no longer sum to 1. Mask the scores, then softmax.",
         "你在 softmax 之后才屏蔽且没有重新归一化：每行之和不再是 1。应先屏蔽得分，再做 softmax。"),
        (torch.softmax(scores.masked_fill(mask, float("-inf")), -1), "You masked the wrong side: True means 'may attend', so fill the scores where the mask is False.",
         "掩码用反了：True 表示“可以关注”，应在掩码为 False 的位置填充得分。"),
        (torch.softmax((Q @ K.T).masked_fill(~mask, float("-inf")), -1), "You forgot to divide the scores by √d_k.", "忘了把得分除以 √d_k。"),
    ])
    compare(output, want_out, "output")


@exercise("ch04.combine_masks", "Padding and causal masks together", "同时使用填充掩码与因果掩码")
def check_combine(combine) -> None:
    lengths, L = torch.tensor([3, 5]), 5
    pad, causal = padding_mask(lengths, L), causal_mask(L)
    got = _as_bool(combine(pad.clone(), causal.clone()), "mask")
    full = (2, 1, L, L)
    try:
        got = got.broadcast_to(full)
    except RuntimeError:
        raise Mistake(f"The mask has shape {tuple(got.shape)}; it must broadcast to (B, 1, L, L) = {full}.",
                      f"掩码形状为 {tuple(got.shape)}；它必须能广播到 (B, 1, L, L) = {full}。") from None
    want = (pad & causal).broadcast_to(full)
    compare(got, want, "mask", wrong=[
        ((pad | causal).broadcast_to(full), "You combined with OR: a key must be allowed by BOTH masks (use &).",
         "你用了“或”：键必须同时被两个掩码允许(应使用 &)。"),
        (causal.broadcast_to(full), "Only the causal mask: the padded keys of the shorter sentence are still visible.",
         "只用了因果掩码：较短句子中的填充键仍然可见。"),
        (pad.broadcast_to(full), "Only the padding mask: every token can still see the future.",
         "只用了填充掩码：每个词元仍能看到未来。"),
    ])


@exercise("ch04.predict_visible", "Predict how many keys each query sees", "预测每个查询能看到几个键")
def check_predict_visible(visible_keys) -> None:
    for length, L in ((3, 5), (5, 5), (1, 4)):
        got = as_tensor(visible_keys(length, L), "visible keys")
        want = (padding_mask(torch.tensor([length]), L)[0, 0] & causal_mask(L)).sum(-1).to(torch.float64)
        compare(got, want, f"visible keys (length={length}, L={L})", wrong=[
            (torch.arange(1, L + 1, dtype=torch.float64), "You forgot the padding: query i sees keys 0 … i, but only those < length.",
             "忘了填充：查询 i 看到键 0 … i，但只有位置小于 length 的才算。"),
            (torch.full((L,), float(length), dtype=torch.float64), "You forgot the causal mask: query i cannot see keys after i.",
             "忘了因果掩码：查询 i 看不到 i 之后的键。"),
        ])
