"""Attention: the scaled dot product (chapters 02–03) and single-head self-attention.

Notation (row vectors, one token per row):

* ``q`` ``(..., L_q, d_k)`` — queries: what each token is looking for;
* ``k`` ``(..., L_k, d_k)`` — keys: what each token offers to be matched against;
* ``v`` ``(..., L_k, d_v)`` — values: what each token hands over when it is attended to.

``softmax(q kᵀ · scale) v`` with ``scale = 1/√d_k`` by default (chapter 03 explains why).
Masks are boolean and mean **True = may attend**, as in
``torch.nn.functional.scaled_dot_product_attention``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attend from every query to every key and mix the values.

    Args:
        q: ``(..., L_q, d_k)``; k: ``(..., L_k, d_k)``; v: ``(..., L_k, d_v)``.
        mask: bool, broadcastable to ``(..., L_q, L_k)``; True where a query may attend.
        scale: multiplies the scores; ``None`` means ``1/√d_k``. Chapter 02 uses ``1.0``.

    Returns:
        ``(output, weights)``: output ``(..., L_q, d_v)``, weights ``(..., L_q, L_k)``,
        each row of ``weights`` summing to 1 over the keys.
    """
    d_k = q.size(-1)
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., L_q, L_k)
    weights = masked_softmax(scores, mask)
    return weights @ v, weights


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax over the last axis, with masked scores set to −∞ first (chapter 04).

    A query that may attend to nothing (a fully masked row) would get ``0/0 = NaN``; its
    weights are set to 0 instead, so its output is 0, as in PyTorch's
    ``scaled_dot_product_attention``. NaN from any other cause is left visible.
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)


class SelfAttention(nn.Module):
    """Single-head self-attention: Q, K and V are three learned projections of the same X.

    ``forward(x)`` with x ``(batch, seq_len, d_model)`` returns
    ``(output (batch, seq_len, d_v), weights (batch, seq_len, seq_len))``.
    """

    def __init__(
        self, d_model: int, d_k: int, d_v: int | None = None, *, scale: float | None = None
    ):
        super().__init__()
        d_v = d_k if d_v is None else d_v
        self.w_q = nn.Linear(d_model, d_k, bias=False)
        self.w_k = nn.Linear(d_model, d_k, bias=False)
        self.w_v = nn.Linear(d_model, d_v, bias=False)
        self.scale = scale

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        q, k, v = self.w_q(x), self.w_k(x), self.w_v(x)
        return scaled_dot_product_attention(q, k, v, mask, scale=self.scale)


class MultiHeadAttention(nn.Module):
    """Multi-head attention (chapter 05): ``num_heads`` attentions in ``d_model / num_heads``
    dimensions each, concatenated and projected by ``w_o``.

    ``forward(query, key, value, mask=None)`` with query ``(B, L_q, d_model)`` and key/value
    ``(B, L_k, d_model)``; ``mask`` bool, broadcastable to ``(B, num_heads, L_q, L_k)``, True =
    may attend (e.g. ``masks.padding_mask`` gives ``(B, 1, 1, L_k)``). Returns
    ``(output (B, L_q, d_model), weights (B, num_heads, L_q, L_k))``.

    ``need_weights=False`` takes a faster path with the same output (tested equal) and returns
    ``(output, None)``: see ``fast_attention``. The plain path above is the one the chapters teach.
    """

    def __init__(self, d_model: int, num_heads: int, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(
                f"d_model={d_model} is not divisible by num_heads={num_heads} · "
                f"d_model={d_model} 不能被 num_heads={num_heads} 整除"
            )
        self.d_model, self.num_heads, self.d_k = d_model, num_heads, d_model // num_heads
        self.w_q = nn.Linear(d_model, d_model, bias=bias)
        self.w_k = nn.Linear(d_model, d_model, bias=bias)
        self.w_v = nn.Linear(d_model, d_model, bias=bias)
        self.w_o = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, L, d_model)`` -> ``(B, num_heads, L, d_k)``."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.d_k).transpose(1, 2)

    def merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, num_heads, L, d_k)`` -> ``(B, L, d_model)`` (the concatenation of the heads)."""
        batch, _, length, _ = x.shape
        return x.transpose(1, 2).reshape(batch, length, self.d_model)

    def forward(
        self, query, key, value, mask: torch.Tensor | None = None, *, need_weights: bool = True
    ):
        if not need_weights:
            return fast_attention(self, query, key, value, mask), None
        q = self.split_heads(self.w_q(query))
        k = self.split_heads(self.w_k(key))
        v = self.split_heads(self.w_v(value))
        d_k = self.d_k
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d_k)  # (B, h, L_q, L_k)
        weights = masked_softmax(scores, mask)
        heads = self.dropout(weights) @ v  # (B, h, L_q, d_k)
        return self.w_o(self.merge_heads(heads)), weights


# ----------------------------------------------------------------------------- the fast path
def fast_attention(
    mha: MultiHeadAttention, query, key, value, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``mha(query, key, value, mask)[0]`` computed faster, for training and inference when
    nobody looks at the attention maps (``need_weights=False``). Same parameters, same result
    up to float rounding; dropout (in training) is the same Bernoulli dropout on the weights.

    * self-attention (``query is key is value``): one matmul with ``[W_q; W_k; W_v]`` (the three
      weight matrices stacked at call time: the parameters stay ``w_q``, ``w_k``, ``w_v``) instead
      of three (``[W_k; W_v]`` when only ``key is value``), and ``1/√d_k`` folded into ``W_q`` and
      ``b_q`` instead of dividing every score;
    * a mask that allows everything is dropped (no masking passes over the scores);
    * without dropout (``eval()``, or ``dropout=0``) the heads run in PyTorch's fused
      ``F.scaled_dot_product_attention``, which never stores the ``(L_q, L_k)`` weights;
      with dropout, in the explicit softmax -> dropout -> ``@ v`` (PyTorch's fused kernel on CPU
      has no dropout and falls back to the same unfused steps, plus two extra scaling passes).

    Returns ``(B, L_q, d_model)``.
    """
    batch, length, _ = query.shape
    h, d_k = mha.num_heads, mha.d_k
    if mask is not None and bool(mask.all()):
        mask = None  # everybody may attend everywhere: masking would change nothing
    dropout_p = mha.dropout.p if mha.training else 0.0
    scale = 1.0 / math.sqrt(d_k)
    if query is key and key is value:  # self-attention: one fused projection
        # (3·d_model, d_model): [W_q/√d_k; W_k; W_v], and the biases alike
        weight = torch.cat([mha.w_q.weight * scale, mha.w_k.weight, mha.w_v.weight])
        bias = None
        if mha.w_q.bias is not None:
            bias = torch.cat([mha.w_q.bias * scale, mha.w_k.bias, mha.w_v.bias])
        qkv = F.linear(query, weight, bias).view(batch, length, 3, h, d_k)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).contiguous().unbind(0)  # 3 × (B, h, L, d_k)
    else:  # queries from elsewhere (cross-attention, or only some positions)
        q_bias = None if mha.w_q.bias is None else mha.w_q.bias * scale
        q = mha.split_heads(F.linear(query, mha.w_q.weight * scale, q_bias))
        if key is value:  # one fused projection for K and V
            weight = torch.cat([mha.w_k.weight, mha.w_v.weight])
            bias = None if mha.w_k.bias is None else torch.cat([mha.w_k.bias, mha.w_v.bias])
            kv = F.linear(key, weight, bias).view(batch, key.size(1), 2, h, d_k)
            k, v = kv.permute(2, 0, 3, 1, 4).contiguous().unbind(0)  # 2 × (B, h, L_k, d_k)
        else:
            k, v = mha.split_heads(mha.w_k(key)), mha.split_heads(mha.w_v(value))
    if dropout_p == 0.0:
        # the scale is already in q
        heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
    else:
        weights = masked_softmax(q @ k.transpose(-2, -1), mask)  # (B, h, L_q, L_k)
        heads = F.dropout(weights, dropout_p) @ v
    return mha.w_o(mha.merge_heads(heads))
