"""The original Transformer (Vaswani et al., 2017), chapter 07.

Building blocks, each a residual sub-layer wrapped in a LayerNorm:

* ``FeedForward`` — the position-wise two-layer network;
* ``EncoderLayer`` — self-attention + feed-forward;
* ``DecoderLayer`` — masked self-attention + cross-attention + feed-forward;
* ``Encoder`` / ``Decoder`` — stacks of layers;
* ``Transformer`` — embeddings + positional encoding + encoder + decoder + output layer.

Post-LN (the paper, ``norm_first=False``): ``x = LayerNorm(x + Sublayer(x))``.
Pre-LN (most code today, ``norm_first=True``): ``x = x + Sublayer(LayerNorm(x))``, and the
stack ends with one more LayerNorm. The layers match ``torch.nn.TransformerEncoderLayer``
and ``torch.nn.TransformerDecoderLayer`` (``batch_first=True``) number for number.

Attention maps: every forward pass stores the attention weights, detached, on the layer
that computed them — ``EncoderLayer.attn_weights``, ``DecoderLayer.self_attn_weights`` and
``DecoderLayer.cross_attn_weights``, each ``(batch, num_heads, L_q, L_k)``. For example
``model.decoder.layers[-1].cross_attn_weights[0, h]`` is head ``h``'s cross-attention map
for the first sentence after ``model(src, tgt_in)``. ``EncoderLayer.forward_with_weights``
returns them instead, and can skip them (the fast attention path).

BERT (chapter 08, ``rnn2bert.bert``) is a stack of these layers: ``BertLayer`` is
an ``EncoderLayer`` built with BERT's options (GELU, ``eps=1e-12``, no dropout inside the
feed-forward network), nothing more.

Masks are boolean, **True = may attend** (``rnn2bert.masks``). PyTorch's modules take
the opposite convention (True = blocked) in ``src_key_padding_mask`` and boolean
``tgt_mask``.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from .attention import MultiHeadAttention
from .masks import source_mask, target_mask
from .positional import PositionalEncoding

__all__ = [
    "ACTIVATIONS", "get_activation", "at_rows", "FeedForward", "EncoderLayer", "DecoderLayer",
    "Encoder", "Decoder", "Transformer", "source_mask", "target_mask",
]  # fmt: skip

# The one activation table of the library: the Transformer's ReLU, BERT's exact GELU, and the
# tanh approximation of GELU that GPT-2 and some BERT checkpoints use (Hugging Face's names).
ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "gelu_new": partial(nn.GELU, approximate="tanh")}


def get_activation(name: str) -> nn.Module:
    """``"relu"`` (the paper), ``"gelu"`` (BERT: the exact GELU, x·Φ(x) with the normal CDF Φ)
    or ``"gelu_new"`` (GELU's tanh approximation) -> a fresh module."""
    if name not in ACTIVATIONS:
        raise ValueError(
            f"activation {name!r} is not one of {sorted(ACTIVATIONS)} · "
            f"不支持的激活函数 {name!r}(可选 {sorted(ACTIVATIONS)})"
        )
    return ACTIVATIONS[name]()


def at_rows(x: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
    """``x`` ``(B, L, d)`` at the positions ``rows`` ``(B, M)`` -> ``(B, M, d)``; all of ``x``
    when ``rows`` is None."""
    return x if rows is None else x.gather(1, rows[..., None].expand(-1, -1, x.size(-1)))


class FeedForward(nn.Module):
    """Position-wise feed-forward network: ``linear2(dropout(activation(linear1(x))))``.

    The same two-layer network is applied to every token separately.
    ``(batch, L, d_model)`` -> ``(batch, L, d_ff)`` -> ``(batch, L, d_model)``.
    ``activation`` is a name in ``ACTIVATIONS``: ``"relu"`` (the paper) or ``"gelu"`` (BERT).
    """

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0, activation: str = "relu"):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.activation = get_activation(activation)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class EncoderLayer(nn.Module):
    """Self-attention then feed-forward, each with a residual connection and a LayerNorm.

    ``forward(x, mask=None)``: x ``(batch, L, d_model)``; mask bool, broadcastable to
    ``(batch, num_heads, L, L)``, True = may attend (e.g. ``masks.padding_mask`` gives
    ``(batch, 1, 1, L)``). Returns ``(batch, L, d_model)`` and stores the attention weights
    ``(batch, num_heads, L, L)`` in ``self.attn_weights``.

    The options after ``*`` are the ones BERT needs (``rnn2bert.bert.BertLayer`` sets them):
    ``eps``, the LayerNorms' ε (PyTorch's default 1e-5; BERT uses 1e-12); ``attention_dropout``,
    the dropout on the attention weights, and ``ffn_dropout``, the one inside the feed-forward
    network, both ``dropout`` by default as in PyTorch (BERT: 0.1 and 0).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        activation: str = "relu",
        norm_first: bool = False,
        *,
        eps: float = 1e-5,
        attention_dropout: float | None = None,
        ffn_dropout: float | None = None,
    ):
        super().__init__()
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        ffn_dropout = dropout if ffn_dropout is None else ffn_dropout
        self.norm_first = norm_first
        # each sub-layer, then its LayerNorm (the parameters come in this order)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=attention_dropout)
        self.norm1 = nn.LayerNorm(d_model, eps=eps)
        self.ffn = FeedForward(d_model, d_ff, ffn_dropout, activation)
        self.norm2 = nn.LayerNorm(d_model, eps=eps)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.attn_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x, weights = self.forward_with_weights(x, mask)
        self.attn_weights = weights.detach()
        return x

    def forward_with_weights(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        need_weights: bool = True,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The layer, returning ``(x (batch, L, d_model), weights (batch, num_heads, L, L))``.

        ``need_weights=False``: no weights (``None``) and the attention's fast path, same output.
        ``rows`` ``(batch, M)`` long: compute the output only at those positions, whose queries
        still attend to every position -> ``(batch, M, d_model)``. The mask must then be the same
        for every query (a padding mask); pretraining uses it for the last layer.
        """
        h = self.norm1(x) if self.norm_first else x  # what self-attention reads
        query = at_rows(h, rows)
        residual = query if h is x else at_rows(x, rows)
        attended, weights = self.self_attn(query, h, h, mask, need_weights=need_weights)
        if self.norm_first:  # Pre-LN
            x = residual + self.dropout1(attended)
            x = x + self.dropout2(self.ffn(self.norm2(x)))
        else:  # Post-LN, as in the paper (and BERT)
            x = self.norm1(residual + self.dropout1(attended))
            x = self.norm2(x + self.dropout2(self.ffn(x)))
        return x, weights


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention, feed-forward; each residual + LayerNorm.

    In cross-attention the queries come from the decoder (``x``) and the keys and values
    from the encoder output (``memory``).

    ``forward(x, memory, self_mask=None, memory_mask=None)``: x ``(batch, L_tgt, d_model)``,
    memory ``(batch, L_src, d_model)``; ``self_mask`` broadcastable to
    ``(batch, num_heads, L_tgt, L_tgt)`` (causal, e.g. ``masks.causal_mask(L_tgt)``);
    ``memory_mask`` broadcastable to ``(batch, num_heads, L_tgt, L_src)`` (the source
    padding, ``(batch, 1, 1, L_src)``). Returns ``(batch, L_tgt, d_model)``; stores
    ``self.self_attn_weights`` ``(batch, num_heads, L_tgt, L_tgt)`` and
    ``self.cross_attn_weights`` ``(batch, num_heads, L_tgt, L_src)``.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        activation: str = "relu",
        norm_first: bool = False,
        *,
        eps: float = 1e-5,
    ):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.ffn = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model, eps=eps) for _ in range(3))
        self.dropout1, self.dropout2, self.dropout3 = (nn.Dropout(dropout) for _ in range(3))
        self.self_attn_weights: torch.Tensor | None = None
        self.cross_attn_weights: torch.Tensor | None = None

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.norm_first:  # Pre-LN
            x = x + self._self_attention(self.norm1(x), self_mask)
            x = x + self._cross_attention(self.norm2(x), memory, memory_mask)
            x = x + self.dropout3(self.ffn(self.norm3(x)))
        else:  # Post-LN, as in the paper
            x = self.norm1(x + self._self_attention(x, self_mask))
            x = self.norm2(x + self._cross_attention(x, memory, memory_mask))
            x = self.norm3(x + self.dropout3(self.ffn(x)))
        return x

    def _self_attention(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        out, weights = self.self_attn(x, x, x, mask)
        self.self_attn_weights = weights.detach()
        return self.dropout1(out)

    def _cross_attention(
        self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        out, weights = self.cross_attn(x, memory, memory, mask)  # q from x, k and v from memory
        self.cross_attn_weights = weights.detach()
        return self.dropout2(out)


class Encoder(nn.Module):
    """``num_layers`` encoder layers; with ``norm_first=True`` a final LayerNorm, since a
    Pre-LN stack would otherwise hand on an unnormalised sum.

    ``forward(x, mask=None)``: x ``(batch, L_src, d_model)`` -> ``(batch, L_src, d_model)``.
    """

    def __init__(
        self,
        num_layers: int,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        activation: str = "relu",
        norm_first: bool = False,
        *,
        eps: float = 1e-5,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, d_ff, dropout, activation, norm_first, eps=eps)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model, eps=eps) if norm_first else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)


class Decoder(nn.Module):
    """``num_layers`` decoder layers, each attending to the same encoder ``memory``; with
    ``norm_first=True`` a final LayerNorm.

    ``forward(x, memory, self_mask=None, memory_mask=None)``: x ``(batch, L_tgt, d_model)``,
    memory ``(batch, L_src, d_model)`` -> ``(batch, L_tgt, d_model)``.
    """

    def __init__(
        self,
        num_layers: int,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        activation: str = "relu",
        norm_first: bool = False,
        *,
        eps: float = 1e-5,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, num_heads, d_ff, dropout, activation, norm_first, eps=eps)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model, eps=eps) if norm_first else nn.Identity()

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, memory, self_mask, memory_mask)
        return self.norm(x)


class Transformer(nn.Module):
    """The encoder–decoder Transformer for sequence-to-sequence tasks.

    Token ids are embedded, scaled by ``√d_model`` and added to the sinusoidal encoding;
    the encoder reads the source, the decoder reads the shifted target (teacher forcing:
    ``tgt_in`` starts with BOS) and attends to the encoder output, and a final linear
    layer gives a score for every target word. The sizes default to the paper's base
    model; ``dropout`` defaults to 0 (the paper trains with 0.1). ``tie_embeddings=True``
    shares the target embedding matrix with the output layer, as the paper does. Weight
    matrices start Xavier-uniform, as in ``torch.nn.Transformer``.

    ``forward(src, tgt_in)``: src ``(batch, L_src)``, tgt_in ``(batch, L_tgt)`` token ids
    -> logits ``(batch, L_tgt, tgt_vocab_size)``. The masks are built from ``pad_id``.
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        d_model: int = 512,
        num_heads: int = 8,
        num_layers: int = 6,
        d_ff: int = 2048,
        dropout: float = 0.0,
        max_len: int = 5000,
        pad_id: int = 0,
        activation: str = "relu",
        norm_first: bool = False,
        tie_embeddings: bool = False,
    ):
        super().__init__()
        self.pad_id = pad_id
        self.src_embed = nn.Embedding(src_vocab_size, d_model)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, d_model)
        self.positional = PositionalEncoding(d_model, max_len, dropout)  # scales by √d_model
        sizes = dict(
            num_layers=num_layers,
            d_model=d_model,
            num_heads=num_heads,
            d_ff=d_ff,
            dropout=dropout,
            activation=activation,
            norm_first=norm_first,
        )
        self.encoder, self.decoder = Encoder(**sizes), Decoder(**sizes)
        self.output_layer = nn.Linear(d_model, tgt_vocab_size)
        if tie_embeddings:
            self.output_layer.weight = self.tgt_embed.weight
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """Source ids ``(batch, L_src)`` -> memory ``(batch, L_src, d_model)``."""
        x = self.positional(self.src_embed(src))
        return self.encoder(x, source_mask(src, self.pad_id))

    def decode(
        self, tgt_in: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor
    ) -> torch.Tensor:
        """Target ids ``(batch, L_tgt)``, memory ``(batch, L_src, d_model)`` and
        ``src_mask = source_mask(src, pad_id)`` -> logits ``(batch, L_tgt, tgt_vocab_size)``."""
        y = self.positional(self.tgt_embed(tgt_in))
        y = self.decoder(y, memory, target_mask(tgt_in, self.pad_id), src_mask)
        return self.output_layer(y)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode(tgt_in, self.encode(src), source_mask(src, self.pad_id))

    @torch.no_grad()
    def greedy_decode(
        self, src: torch.Tensor, bos_id: int, eos_id: int, max_len: int
    ) -> torch.Tensor:
        """Translate by taking the most likely next token, one step at a time.

        src ``(batch, L_src)`` -> ids ``(batch, T)`` with ``T <= max_len``: column 0 is
        ``bos_id``; each row continues with its predicted tokens up to and including its
        first ``eos_id``, then ``pad_id``. Stops when every row has produced ``eos_id``
        or ``T == max_len``. Call ``model.eval()`` first, so that dropout is off.
        """
        memory, src_mask = self.encode(src), source_mask(src, self.pad_id)
        ys = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)
        done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
        while ys.size(1) < max_len and not done.all():
            next_id = self.decode(ys, memory, src_mask)[:, -1].argmax(-1)  # (batch,)
            next_id = next_id.masked_fill(done, self.pad_id)
            ys = torch.cat([ys, next_id[:, None]], dim=1)
            done |= next_id == eos_id
        return ys
