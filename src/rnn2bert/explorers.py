"""Interactive figures in plain HTML + JavaScript, with their data embedded.

An explorer works the same in Jupyter and on the book's static website: no kernel, no widget
library, nothing fetched from anywhere (the site must make no request outside itself). Each
function returns an :class:`Explorer`; as the last expression of a cell it displays itself.

    attention_explorer(tokens, weights)    weights: (layers, heads, L, L), (heads, L, L) or (L, L)
    scaling_explorer(dims, scores)         scores:  (len(dims), n_keys), raw dot products q·k
    mask_explorer(tokens, scores)          scores:  (L, L)
    positional_explorer(d_model, max_len)  sinusoidal encoding, computed in the page

The JavaScript lives in ``explorers.js`` next to this file; the data travels as JSON inside the
page. Weights are sent as integers in thousandths to keep pages small.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import torch

__all__ = [
    "Explorer",
    "attention_explorer",
    "scaling_explorer",
    "mask_explorer",
    "positional_explorer",
]


class Explorer:
    """An interactive figure: ``html`` is self-contained; ``repr`` is a one-line summary."""

    def __init__(self, kind: str, data: dict, summary: str):
        self.kind, self.data, self.summary = kind, data, summary

    @property
    def element_id(self) -> str:
        digest = hashlib.sha1((self.kind + _json(self.data)).encode()).hexdigest()[:10]
        # the same data gives the same id: outputs stay reproducible
        return f"r2b-{self.kind}-{digest}"

    def _repr_html_(self) -> str:
        return (
            f'<div class="r2b-explorer" id="{self.element_id}" data-kind="{self.kind}"></div>\n'
            f"<style>{_asset('explorers.css')}</style>\n"
            f"<script>\n{_asset('explorers.js')}\n"
            f'R2B.mount("{self.element_id}", "{self.kind}", {_json(self.data)});\n</script>'
        )

    def __repr__(self) -> str:
        return self.summary


def attention_explorer(
    tokens: list[str],
    weights: torch.Tensor,
    *,
    title: str = "",
    layer: int = -1,
    head: int = 0,
    focus: int | None = None,
) -> Explorer:
    """Pick a layer and a head, point at a token, see where it looks.

    tokens: L strings. weights: (layers, heads, L, L), (heads, L, L) or (L, L); row i holds the
    weights of query i over the keys (each row sums to 1, or to 0 where a query was fully masked).
    layer, head: what the explorer shows first (0-based; layer -1 = the last). focus: the index of
    a token to select at the start (None: show every query's lines).
    """
    w = torch.as_tensor(weights, dtype=torch.float64).detach()
    while w.dim() < 4:
        w = w.unsqueeze(0)
    n_layers, n_heads, L, L2 = w.shape
    if L != L2 or L != len(tokens):
        raise ValueError(f"weights end in ({L}, {L2}) but there are {len(tokens)} tokens")
    sums = w.sum(-1)
    if not torch.all((sums - 1).abs().lt(1e-3) | sums.abs().lt(1e-6)):
        raise ValueError(
            "each row of attention weights must sum to 1 (or 0 for a fully masked query)"
        )
    data = {
        "tokens": list(tokens),
        "weights": _thousandths(w),
        "title": title,
        "layer": range(n_layers)[layer],
        "head": range(n_heads)[head],
        "focus": -1 if focus is None else range(L)[focus],
    }
    return Explorer(
        "attention",
        data,
        f"attention explorer: {n_layers} layer(s) × {n_heads} head(s), {L} tokens",
    )


def scaling_explorer(dims: list[int], scores: torch.Tensor) -> Explorer:
    """Move d_k and the temperature T; compare softmax(q·k/T) with softmax(q·k/(T·√d_k)).

    dims: the d_k values offered. scores: (len(dims), n_keys), one query's raw dot products with
    n_keys keys at each d_k.
    """
    s = torch.as_tensor(scores, dtype=torch.float64)
    if s.shape[0] != len(dims):
        raise ValueError(f"scores has {s.shape[0]} rows for {len(dims)} values of d_k")
    data = {
        "dims": [int(d) for d in dims],
        "scores": [[round(float(x), 4) for x in row] for row in s],
    }
    return Explorer("scaling", data, f"scaling explorer: d_k in {list(dims)}, {s.shape[1]} keys")


def mask_explorer(tokens: list[str], scores: torch.Tensor) -> Explorer:
    """Choose padding, causal or both and the real length; the weights are recomputed in the page.

    tokens: L strings (the positions after the chosen length are shown as [PAD]).
    scores: (L, L) raw attention scores of one sentence.
    """
    s = torch.as_tensor(scores, dtype=torch.float64)
    if s.shape != (len(tokens), len(tokens)):
        raise ValueError(f"scores must be ({len(tokens)}, {len(tokens)}), got {tuple(s.shape)}")
    data = {"tokens": list(tokens), "scores": [[round(float(x), 4) for x in row] for row in s]}
    return Explorer("mask", data, f"mask explorer: {len(tokens)} positions")


def positional_explorer(d_model: int = 64, max_len: int = 100) -> Explorer:
    """Choose a dimension pair i: its sine and cosine over the positions, and its wavelength.

    The page computes PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(...).
    """
    if d_model % 2:
        raise ValueError("d_model must be even")
    data = {"d_model": int(d_model), "max_len": int(max_len)}
    return Explorer(
        "positional",
        data,
        f"positional-encoding explorer: d_model = {d_model}, {max_len} positions",
    )


def _thousandths(w: torch.Tensor) -> list:
    return torch.round(w * 1000).to(torch.int64).tolist()


def _json(data: dict) -> str:
    # "</" inside a <script> would end it early; "<\/" means the same to JavaScript.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    return (Path(__file__).with_name(name)).read_text(encoding="utf-8")
