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


def prefix_mask(size: int, prefix_len: int, device=None) -> torch.Tensor:
    """``(size, size)``: the sequence-to-sequence mask of UniLM (chapter 11), also called a
    prefix-LM mask. The first ``prefix_len`` positions (the source) attend to the whole source,
    in both directions; every later position (the target) attends to the source and to the
    target up to itself. ``prefix_len=0`` is ``causal_mask``; ``prefix_len=size`` is all True.
    """
    mask = causal_mask(size, device=device)
    mask[:, :prefix_len] = True
    return mask


def permutation_mask(order, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """XLNet's two masks for one factorisation order (chapter 11).

    ``order`` ``(L,)``: a permutation of ``0..L-1``; ``order[t]`` is the position predicted at
    step t. Returns ``(content, query)``, each ``(L, L)`` indexed by positions (query i, key j):

    * ``content[i, j]``: j comes no later than i in the order (i sees itself), the content stream;
    * ``query[i, j]``: j comes strictly before i (i must not see its own token), the query stream.

    With ``order = 0..L-1``, ``content`` is ``causal_mask(L)`` and ``query`` its strict lower triangle.
    """
    order = torch.as_tensor(order, device=device)
    if sorted(order.tolist()) != list(range(len(order))):
        raise ValueError(f"order must be a permutation of 0..{len(order) - 1} · order 必须是 0..{len(order) - 1} 的一个排列")
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order), device=order.device)  # rank[position] = its step in the order
    return rank[None, :] <= rank[:, None], rank[None, :] < rank[:, None]
