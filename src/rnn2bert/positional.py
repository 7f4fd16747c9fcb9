"""Positional encodings (chapter 06): telling attention *where* each token is.

Attention treats its input as a set; the order of the tokens only reaches it through a
vector added to each token embedding:

* the fixed sinusoidal encoding of the original Transformer (Vaswani et al., 2017), in
  which ``PE(pos + k)`` is a fixed rotation of ``PE(pos)`` (``shift_matrix``);
* the learned position embeddings of BERT (Devlin et al., 2019), one trained vector per
  position.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _angular_frequencies(d_model: int) -> torch.Tensor:
    """``(d_model // 2,)`` float64: ``ω_i = 1 / 10000^(2i / d_model)``, for
    ``i = 0 … d_model/2 - 1``."""
    if d_model % 2:
        raise ValueError(
            f"d_model={d_model} must be even: the sinusoidal encoding uses dimensions in "
            f"(sin, cos) pairs · d_model={d_model} 必须是偶数：正弦编码按 (sin, cos) 成对使用维度"
        )
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    return torch.exp(-math.log(10000.0) * two_i / d_model)


def sinusoidal_encoding(max_len: int, d_model: int) -> torch.Tensor:
    """The sinusoidal positional encoding, ``(max_len, d_model)`` float32::

        PE[pos, 2i]     = sin(pos / 10000^(2i / d_model))
        PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))

    ``pos`` is the token position (the row); ``i`` indexes the *dimension* (the column),
    not the position: even dimensions hold sines, odd dimensions cosines, and the pair
    ``(2i, 2i + 1)`` turns at angular frequency ``ω_i = 10000^(-2i / d_model)``. The
    wavelengths ``2π / ω_i`` grow geometrically from ``2π`` (dimensions 0–1) towards
    ``10000 · 2π`` (the last pair). ``d_model`` must be even.
    """
    omega = _angular_frequencies(d_model)  # (d_model/2,)
    angles = torch.arange(max_len, dtype=torch.float64)[:, None] * omega  # (max_len, d_model/2)
    pe = torch.empty(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe.float()


def shift_matrix(k: int, d_model: int) -> torch.Tensor:
    """The fixed ``(d_model, d_model)`` matrix ``M_k`` with ``PE[pos + k] = PE[pos] @ M_k``
    for every ``pos`` (row vectors, float32).

    It is block diagonal: the block of the pair ``(2i, 2i + 1)`` is the rotation by
    ``k·ω_i``, ``[[cos kω_i, -sin kω_i], [sin kω_i, cos kω_i]]``, because
    ``sin(a + b) = sin a cos b + cos a sin b`` and ``cos(a + b) = cos a cos b - sin a sin b``.
    ``M_k`` depends on the offset ``k`` only, never on ``pos``: a relative position is a
    linear map of the absolute encoding.
    """
    theta = k * _angular_frequencies(d_model)  # (d_model/2,)
    cos, sin = torch.cos(theta), torch.sin(theta)
    m = torch.zeros(d_model, d_model, dtype=torch.float64)
    even, odd = torch.arange(0, d_model, 2), torch.arange(1, d_model, 2)
    m[even, even], m[even, odd] = cos, -sin  # row 2i: how sin(pos·ω) feeds the new pair
    m[odd, even], m[odd, odd] = sin, cos  # row 2i+1: how cos(pos·ω) feeds the new pair
    return m.float()


class PositionalEncoding(nn.Module):
    """Embeddings in, position-aware embeddings out, as in the original Transformer:
    ``dropout(x · √d_model + PE[:L])``.

    The scale ``√d_model`` (``scale_embeddings=True``) lifts embeddings to the size of the
    encoding (chapter 06 measures both norms). ``forward(x)``: x ``(batch, L, d_model)``
    with ``L <= max_len`` -> ``(batch, L, d_model)``. ``self.pe`` ``(max_len, d_model)`` is
    a non-persistent buffer: it follows ``.to(device)`` but is not saved in a state dict.
    """

    def __init__(
        self, d_model: int, max_len: int = 5000, dropout: float = 0.0, scale_embeddings: bool = True
    ):
        super().__init__()
        self.d_model, self.scale_embeddings = d_model, scale_embeddings
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.size(1)
        if length > self.pe.size(0):
            raise ValueError(
                f"sequence length {length} exceeds max_len={self.pe.size(0)} · "
                f"序列长度 {length} 超过了 max_len={self.pe.size(0)}"
            )
        if self.scale_embeddings:
            x = x * math.sqrt(self.d_model)
        return self.dropout(x + self.pe[:length])


class LearnedPositionalEmbedding(nn.Module):
    """BERT's learned positions: one trained vector per position, ``x + P[:L]``.

    ``self.embedding`` is an ``nn.Embedding(max_len, d_model)`` initialised as BERT does,
    ``N(0, 0.02²)``; positions beyond ``max_len`` (512 in BERT) have no vector at all.
    ``forward(x)``: x ``(batch, L, d_model)`` -> ``(batch, L, d_model)``.
    """

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.embedding = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.size(1)
        if length > self.embedding.num_embeddings:
            raise ValueError(
                f"sequence length {length} exceeds max_len={self.embedding.num_embeddings} · "
                f"序列长度 {length} 超过了 max_len={self.embedding.num_embeddings}"
            )
        positions = torch.arange(length, device=x.device)  # (L,)
        return x + self.embedding(positions)
