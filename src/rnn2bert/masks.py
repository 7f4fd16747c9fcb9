"""Attention masks. Boolean, **True = may attend**, as in PyTorch's
``scaled_dot_product_attention``; combine masks with ``&``.

Every mask of the book is here, in the order the chapters meet them:

* chapter 04: ``padding_mask`` (from lengths) and ``causal_mask``;
* chapter 07: ``source_mask`` and ``target_mask`` (from token ids, for the seq2seq Transformer);
* chapter 08: ``as_attention_mask`` (from Hugging Face's 1/0 ``attention_mask``, for BERT);
* chapter 11: ``prefix_mask`` (UniLM) and ``permutation_mask`` (XLNet).

The three padding masks are one shape, ``key_mask``: ``(B, 1, 1, L_k)``, which broadcasts over
``(B, num_heads, L_q, L_k)``: every query may attend to the real keys only. Every mask is created
on the device of its input (or the ``device`` given).
"""

from __future__ import annotations

import torch


def key_mask(real: torch.Tensor) -> torch.Tensor:
    """``(B, L_k)``, True (or 1) at the keys that may be attended -> bool ``(B, 1, 1, L_k)``."""
    return real.bool()[:, None, None, :]


def padding_mask(lengths, max_len: int | None = None) -> torch.Tensor:
    """True at the real tokens of each sequence, False at its padding.

    ``lengths`` ``(B,)`` -> mask ``(B, 1, 1, max_len)``, which broadcasts over
    ``(B, num_heads, L_q, L_k)``: every query may attend to the real keys only.
    """
    lengths = torch.as_tensor(lengths)
    max_len = int(lengths.max()) if max_len is None else max_len
    real = torch.arange(max_len, device=lengths.device) < lengths[:, None]  # (B, L)
    return key_mask(real)


def causal_mask(size: int, device=None) -> torch.Tensor:
    """``(size, size)``, lower triangle True: position i may attend to positions 0..i only."""
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


def source_mask(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Token ids ``(B, L_src)`` -> bool ``(B, 1, 1, L_src)``: True at real tokens, so that no
    query attends to the source padding (chapter 07)."""
    return key_mask(ids != pad_id)


def target_mask(ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Token ids ``(B, L_tgt)`` -> bool ``(B, 1, L_tgt, L_tgt)``: position ``i`` may attend to
    the real (non-padding) tokens at positions ``0 … i`` (chapter 07)."""
    return causal_mask(ids.size(1), device=ids.device) & source_mask(ids, pad_id)


def as_attention_mask(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """Hugging Face's ``attention_mask`` ``(B, L)``, 1 at real tokens and 0 at padding -> the
    book's bool ``(B, 1, 1, L)`` (chapter 08); ``None`` stays ``None`` (attend everywhere)."""
    return None if attention_mask is None else key_mask(attention_mask)


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

    With ``order = 0..L-1``, ``content`` is ``causal_mask(L)`` and ``query`` its strict lower
    triangle.
    """
    order = torch.as_tensor(order, device=device)
    if sorted(order.tolist()) != list(range(len(order))):
        raise ValueError(
            f"order must be a permutation of 0..{len(order) - 1} · "
            f"order 必须是 0..{len(order) - 1} 的一个排列"
        )
    rank = torch.empty_like(order)
    # rank[position] = its step in the order
    rank[order] = torch.arange(len(order), device=order.device)
    return rank[None, :] <= rank[:, None], rank[None, :] < rank[:, None]
