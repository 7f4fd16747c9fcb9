"""Attention masks (chapter 04). Boolean, **True = may attend**, as in PyTorch's
``scaled_dot_product_attention``; combine masks with ``&``.
"""
from __future__ import annotations

import torch


def padding_mask(lengths, max_len: int | None = None) -> torch.Tensor:
    """True at the real tokens of each sequence, False at its padding.

    ``lengths`` ``(B,)`` -> mask ``(B, 1, 1, max_len)``, which broadcasts over
    ``(B, num_heads, L_q, L_k)``: every query may attend to the real keys only.
    """
    lengths = torch.as_tensor(lengths)
    max_len = int(lengths.max()) if max_len is None else max_len
    real = torch.arange(max_len, device=lengths.device) < lengths[:, None]  # (B, L)
    return real[:, None, None, :]


def causal_mask(size: int, device=None) -> torch.Tensor:
    """``(size, size)``, lower triangle True: position i may attend to positions 0..i only."""
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()
