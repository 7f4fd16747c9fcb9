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
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # normalise over the keys
    return weights @ v, weights


class SelfAttention(nn.Module):
    """Single-head self-attention: Q, K and V are three learned projections of the same X.

    ``forward(x)`` with x ``(batch, seq_len, d_model)`` returns
    ``(output (batch, seq_len, d_v), weights (batch, seq_len, seq_len))``.
    """

    def __init__(self, d_model: int, d_k: int, d_v: int | None = None, *, scale: float | None = None):
        super().__init__()
        d_v = d_k if d_v is None else d_v
        self.w_q = nn.Linear(d_model, d_k, bias=False)
        self.w_k = nn.Linear(d_model, d_k, bias=False)
        self.w_v = nn.Linear(d_model, d_v, bias=False)
        self.scale = scale

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        q, k, v = self.w_q(x), self.w_k(x), self.w_v(x)
        return scaled_dot_product_attention(q, k, v, mask, scale=self.scale)
