"""BERT (chapter 08): the encoder stack of chapter 07, read bidirectionally.

The pieces, in the order the data flows through them::

    input_ids, token_type_ids  (B, L)
      └─ BertEmbeddings  word + segment (token type) + position (all
                         learned), LayerNorm, dropout
      └─ BertEncoder     num_hidden_layers × BertLayer, which *is*
                         chapter 07's post-LN transformer.EncoderLayer
                         (self-attention, feed-forward, each wrapped in
                         LayerNorm(x + sublayer(x))), with BERT's options
      └─ BertPooler      dense + tanh on the vector of [CLS]
    BertForPreTraining adds BertPreTrainingHeads: masked-LM logits over
    the vocabulary (through the token-embedding matrix, transposed) and
    next-sentence logits (from the pooled [CLS]).

Shapes: B = batch, L = sequence length, H = ``hidden_size``, V = ``vocab_size``,
h = ``num_attention_heads``. Masks inside the model are boolean, **True = may attend**; the
``attention_mask`` argument of ``forward`` is Hugging Face style, ``(B, L)`` with 1 at real tokens
and 0 at padding.

Checkpoints use the Hugging Face layout (``config.json`` + ``model.safetensors``) and names;
``hf_to_book_name`` / ``book_to_hf_name`` translate between their parameter names and the book's.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .masks import as_attention_mask
from .transformer import EncoderLayer, get_activation

__all__ = [
    "BertConfig", "parameter_breakdown", "count_parameters", "BertEmbeddings", "BertLayer",
    "BertEncoder", "BertPooler", "BertOutput", "init_bert_weights", "as_attention_mask",
    "BertModel", "BertPreTrainingHeads", "BertPreTrainingOutput", "BertForPreTraining",
    "HF_TO_BOOK", "hf_to_book_name", "book_to_hf_name", "read_hf_weights", "load_hf_state_dict",
]  # fmt: skip


# ----------------------------------------------------------------------------- configuration
@dataclass
class BertConfig:
    """The hyper-parameters, with Hugging Face's field names (a ``config.json`` maps 1:1).

    The defaults are BERT-Base: L = 12 layers, H = 768, A = 12 heads, ≈ 110M parameters.
    BERT-Large is ``BertConfig(num_hidden_layers=24, hidden_size=1024, num_attention_heads=16,
    intermediate_size=4096)``, ≈ 340M.
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    # Hugging Face fields that would change the architecture, with the only value built here.
    _REQUIRED: ClassVar[dict] = {
        "position_embedding_type": "absolute",
        "is_decoder": False,
        "add_cross_attention": False,
        "tie_word_embeddings": True,
    }

    @classmethod
    def from_dict(cls, values: dict) -> BertConfig:
        """Keep the fields above; ignore the other keys of a Hugging Face config (``architectures``,
        ``transformers_version``, …). Raise for a setting this BERT does not implement."""
        for key, supported in cls._REQUIRED.items():
            if values.get(key, supported) != supported:
                raise ValueError(
                    f"{key}={values[key]!r} is not supported (only {supported!r}) · "
                    f"不支持 {key}={values[key]!r}(只支持 {supported!r})"
                )
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    @classmethod
    def from_json_file(cls, path) -> BertConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_dict(self) -> dict:
        """The fields plus ``model_type``, so that Hugging Face can read the file too."""
        return {**asdict(self), "model_type": "bert"}

    def to_json_file(self, path, **extra) -> None:
        values = {**self.to_dict(), **extra}
        Path(path).write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def parameter_breakdown(config: BertConfig) -> dict[str, int]:
    """Parameter counts by part, by arithmetic alone (no model is built).

    A linear map from n to m features has n·m weights + m biases; a LayerNorm over H features
    has H gains + H biases.
    """
    H, I, V = config.hidden_size, config.intermediate_size, config.vocab_size

    def linear(n: int, m: int) -> int:
        return n * m + m

    layer_norm = 2 * H
    attention = 4 * linear(H, H) + layer_norm  # W_q, W_k, W_v, W_o; LayerNorm
    feed_forward = linear(H, I) + linear(I, H) + layer_norm  # W_1, W_2; LayerNorm
    per_layer = attention + feed_forward
    tables = V + config.max_position_embeddings + config.type_vocab_size  # rows of the 3 embeddings
    return {
        "embeddings": tables * H + layer_norm,
        "encoder": config.num_hidden_layers * per_layer,
        "pooler": linear(H, H),
        # the decoder's weight is the token-embedding matrix (tied): only its V biases are new
        "pretraining_heads": linear(H, H) + layer_norm + V + linear(H, 2),
    }


def count_parameters(config: BertConfig, *, pretraining_heads: bool = False) -> int:
    """Number of parameters of ``BertModel(config)`` (``BertForPreTraining`` when
    ``pretraining_heads``): 109,482,240 for BERT-Base, 335,141,888 for BERT-Large."""
    parts = parameter_breakdown(config)
    if not pretraining_heads:
        del parts["pretraining_heads"]
    return sum(parts.values())


# ----------------------------------------------------------------------------- the model
class BertEmbeddings(nn.Module):
    """Token + segment + position embeddings (all three learned), then LayerNorm and dropout.

    ``forward(input_ids (B, L), token_type_ids (B, L))`` -> ``(B, L, H)``. The segment ids are
    0 (sentence A) or 1 (sentence B); each picks one learned vector, E_A or E_B.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        H = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, H, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, H)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, H)
        self.layer_norm = nn.LayerNorm(H, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        length = input_ids.size(1)
        if length > self.position_embeddings.num_embeddings:
            raise ValueError(
                f"sequence of {length} tokens, but only "
                f"{self.position_embeddings.num_embeddings} positions are learned · "
                f"序列长 {length},超过了学到的位置数 {self.position_embeddings.num_embeddings}"
            )
        positions = torch.arange(length, device=input_ids.device)  # (L,), broadcast over the batch
        x = (
            self.word_embeddings(input_ids)
            + self.token_type_embeddings(token_type_ids)
            + self.position_embeddings(positions)
        )
        return self.dropout(self.layer_norm(x))


class BertLayer(EncoderLayer):
    """One encoder layer: chapter 07's ``EncoderLayer``, post-LN, with BERT's options::

        # ε = layer_norm_eps (1e-12); no dropout inside the FFN
        x = LayerNorm(x + Dropout(MultiHeadAttention(x, x, x)))
        x = LayerNorm(x + Dropout(W_2 · GELU(W_1 x + b_1) + b_2))

    The parameters are the ``EncoderLayer``'s (``self_attn``, ``norm1``, ``ffn``, ``norm2``), so
    an ``EncoderLayer(H, A, I, activation="gelu", eps=1e-12)`` loads a ``BertLayer``'s state dict
    and computes the same function. Only the call differs, as in Hugging Face: the attention
    weights are returned, not stored.

    ``forward(x (B, L, H), mask (B, 1, 1, L) bool)`` -> ``(x (B, L, H), weights (B, h, L, L))``;
    with ``output_attentions=False`` the weights are ``None`` and the attention takes its fast path.
    ``rows`` (B, M) long: compute the output only at those positions (their queries attend to
    every position's keys and values) -> ``(B, M, H)``; the last layer of pretraining needs no more.
    """

    def __init__(self, config: BertConfig):
        super().__init__(
            config.hidden_size,
            config.num_attention_heads,
            config.intermediate_size,
            dropout=config.hidden_dropout_prob,
            activation=config.hidden_act,
            eps=config.layer_norm_eps,
            attention_dropout=config.attention_probs_dropout_prob,
            ffn_dropout=0.0,
        )
        self.register_load_state_dict_pre_hook(_rename_old_layer_parameters)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        output_attentions: bool = True,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.forward_with_weights(x, mask, need_weights=output_attentions, rows=rows)


# Until December 2026 BertLayer had names of its own. Training states saved then (``torch.save``
# of a state dict, e.g. to resume pretraining) still load: the parameters keep their order.
OLD_LAYER_NAMES = {
    "attention.": "self_attn.",
    "attention_norm.": "norm1.",
    "ffn_in.": "ffn.linear1.",
    "ffn_out.": "ffn.linear2.",
    "ffn_norm.": "norm2.",
}


def _rename_old_layer_parameters(module, state_dict, prefix, *args) -> None:
    for key in [k for k in state_dict if k.startswith(prefix)]:
        for old, new in OLD_LAYER_NAMES.items():
            if key.startswith(prefix + old):
                state_dict[prefix + new + key[len(prefix + old) :]] = state_dict.pop(key)


class BertEncoder(nn.Module):
    """``num_hidden_layers`` BertLayers in a row.

    ``forward(x (B, L, H), mask)`` -> ``(x (B, L, H), attentions)``: one ``(B, h, L, L)`` per layer
    (``None`` with ``output_attentions=False``). ``last_rows`` (B, M): the last layer computes only
    those positions (see ``BertLayer``), and ``x`` is ``(B, M, H)``.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layers = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        output_attentions: bool = True,
        last_rows: torch.Tensor | None = None,
    ):
        attentions = []
        for i, layer in enumerate(self.layers):
            rows = last_rows if i == len(self.layers) - 1 else None
            x, weights = layer(x, mask, output_attentions, rows)
            attentions.append(weights)
        return x, tuple(attentions) if output_attentions else None


class BertPooler(nn.Module):
    """``tanh(W h_[CLS] + b)``: a summary vector of the sequence, for sentence-level tasks.

    ``forward(x (B, L, H))`` -> ``(B, H)``.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(x[:, 0]))  # [CLS] is always the first token


@dataclass
class BertOutput:
    """``last_hidden_state`` (B, L, H): one contextual vector per token; ``pooler_output`` (B, H);
    ``attentions``: one ``(B, h, L, L)`` per layer, each row summing to 1 over the keys
    (``None`` when the model was called with ``output_attentions=False``)."""

    last_hidden_state: torch.Tensor
    pooler_output: torch.Tensor
    attentions: tuple[torch.Tensor, ...] | None


def init_bert_weights(module: nn.Module, std: float) -> None:
    """BERT's initialisation: weights ~ N(0, std²) (std = ``initializer_range``), biases 0,
    LayerNorm gain 1 and bias 0, the [PAD] embedding 0. Use with ``model.apply``."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=std)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.Embedding) and module.padding_idx is not None:
        nn.init.zeros_(module.weight[module.padding_idx])
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class HFCheckpoint:
    """``from_pretrained`` / ``save_pretrained`` in the Hugging Face layout, for the models
    below."""

    config: BertConfig

    @classmethod
    def from_pretrained(cls, folder):
        """Build the model from ``folder/config.json`` and load ``model.safetensors`` (or
        ``pytorch_model.bin``) into it, strictly. Returned in eval mode (dropout off), as HF
        does."""
        folder = Path(folder)
        model = cls(BertConfig.from_json_file(folder / "config.json"))
        load_hf_state_dict(model, read_hf_weights(folder))
        return model.eval()

    def save_pretrained(self, folder) -> None:
        """Write ``config.json`` and ``model.safetensors`` with Hugging Face's names, which
        ``transformers`` loads as well. The tied decoder weight is stored once, as the
        embeddings."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.config.to_json_file(folder / "config.json", architectures=[type(self).__name__])
        tensors = {
            book_to_hf_name(name): tensor.detach().contiguous()
            for name, tensor in self.state_dict().items()
            if name not in TIED
        }
        save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


class BertModel(HFCheckpoint, nn.Module):
    """Embeddings -> encoder -> pooler.

    ``forward(input_ids (B, L), token_type_ids (B, L) = all 0, attention_mask (B, L) = all 1)``
    -> ``BertOutput(last_hidden_state (B, L, H), pooler_output (B, H), attentions)``.
    ``output_attentions=False`` skips the attention maps (``attentions=None``) and runs the
    attention's fast path (fused Q/K/V projection, PyTorch's fused attention): same outputs, faster.
    ``last_rows`` (B, M) long, first column 0 ([CLS], which the pooler reads): the last layer
    computes only those positions and ``last_hidden_state`` is ``(B, M, H)``
    (``pretraining.pretraining_loss`` uses it: the heads read [CLS] and the masked positions only).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)
        self.apply(lambda module: init_bert_weights(module, config.initializer_range))

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = True,
        last_rows: torch.Tensor | None = None,
    ) -> BertOutput:
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)  # everything is sentence A
        if last_rows is not None and bool((last_rows[:, 0] != 0).any()):
            raise ValueError(
                "last_rows[:, 0] must be 0, the [CLS] position · last_rows 的第一列必须是 0([CLS])"
            )
        x = self.embeddings(input_ids, token_type_ids)
        x, attentions = self.encoder(
            x, as_attention_mask(attention_mask), output_attentions, last_rows
        )
        return BertOutput(x, self.pooler(x), attentions)


class BertPreTrainingHeads(nn.Module):
    """The two pretraining tasks (chapter 09).

    Masked LM: ``LayerNorm(GELU(W h + b))``, then scores against every token embedding,
    ``· Eᵀ + bias`` (E = the token-embedding matrix, shared: ``mlm_decoder.weight`` *is*
    ``word_embeddings.weight``). Next sentence: a linear classifier on the pooled [CLS].

    ``forward(x (B, L, H), pooled (B, H))`` -> ``(prediction_logits (B, L, V),
    seq_relationship_logits (B, 2))``. ``x`` may also be ``(N, H)``, e.g. only the N masked
    positions, which spares computing ``(B, L, V)`` scores nobody needs.
    """

    def __init__(self, config: BertConfig, word_embeddings: nn.Embedding):
        super().__init__()
        H = config.hidden_size
        self.mlm_dense = nn.Linear(H, H)
        self.activation = get_activation(config.hidden_act)
        self.mlm_norm = nn.LayerNorm(H, eps=config.layer_norm_eps)
        self.mlm_decoder = nn.Linear(H, config.vocab_size)
        self.nsp = nn.Linear(H, 2)  # 0 = B follows A, 1 = B is a random sentence
        self.apply(lambda module: init_bert_weights(module, config.initializer_range))
        self.mlm_decoder.weight = word_embeddings.weight  # tied: (V, H), the same tensor

    def forward(self, x: torch.Tensor, pooled: torch.Tensor):
        prediction_logits = self.mlm_decoder(self.mlm_norm(self.activation(self.mlm_dense(x))))
        return prediction_logits, self.nsp(pooled)


@dataclass
class BertPreTrainingOutput:
    """``loss`` = ``mlm_loss`` + ``nsp_loss`` (each ``None`` without its labels);
    ``prediction_logits`` (B, L, V); ``seq_relationship_logits`` (B, 2);
    ``last_hidden_state`` (B, L, H); ``attentions``: one ``(B, h, L, L)`` per layer (``None`` with
    ``output_attentions=False``)."""

    loss: torch.Tensor | None
    mlm_loss: torch.Tensor | None
    nsp_loss: torch.Tensor | None
    prediction_logits: torch.Tensor
    seq_relationship_logits: torch.Tensor
    last_hidden_state: torch.Tensor
    attentions: tuple[torch.Tensor, ...] | None


class BertForPreTraining(HFCheckpoint, nn.Module):
    """``BertModel`` + ``BertPreTrainingHeads``.

    ``forward(input_ids, token_type_ids=None, attention_mask=None, labels=None,
    next_sentence_label=None)``: ``labels`` (B, L) holds the original token id at the chosen
    (masked) positions and -100 everywhere else (ignored by the loss); ``next_sentence_label`` (B,)
    is 0 (B follows A) or 1 (random). ``loss`` is the mean cross-entropy of the masked LM plus that
    of the next-sentence task, for the labels given. ``output_attentions=False``: no attention
    maps, the fast attention path (see ``BertModel``). For training,
    ``pretraining.pretraining_loss`` gives the same loss and also skips the vocabulary scores of
    the positions without a label.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.bert = BertModel(config)
        self.heads = BertPreTrainingHeads(config, self.bert.embeddings.word_embeddings)

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        output_attentions: bool = True,
    ) -> BertPreTrainingOutput:
        out = self.bert(input_ids, token_type_ids, attention_mask, output_attentions)
        prediction_logits, seq_relationship_logits = self.heads(
            out.last_hidden_state, out.pooler_output
        )
        mlm_loss = nsp_loss = None
        if labels is not None:
            mlm_loss = F.cross_entropy(
                prediction_logits.flatten(0, 1), labels.flatten(), ignore_index=-100
            )
        if next_sentence_label is not None:
            nsp_loss = F.cross_entropy(seq_relationship_logits, next_sentence_label)
        losses = [loss for loss in (mlm_loss, nsp_loss) if loss is not None]
        return BertPreTrainingOutput(
            sum(losses) if losses else None,
            mlm_loss,
            nsp_loss,
            prediction_logits,
            seq_relationship_logits,
            out.last_hidden_state,
            out.attentions,
        )


# ----------------------------------------------------------------------------- Hugging Face names
# fmt: off
HF_TO_BOOK = (
    # Hugging Face name fragment               the book's
    ("embeddings.LayerNorm.",                  "embeddings.layer_norm."),
    ("encoder.layer.",                         "encoder.layers."),
    ("attention.self.query.",                  "self_attn.w_q."),
    ("attention.self.key.",                    "self_attn.w_k."),
    ("attention.self.value.",                  "self_attn.w_v."),
    ("attention.output.dense.",                "self_attn.w_o."),
    ("attention.output.LayerNorm.",            "norm1."),
    ("intermediate.dense.",                    "ffn.linear1."),
    ("output.dense.",                          "ffn.linear2."),
    ("output.LayerNorm.",                      "norm2."),
    ("cls.predictions.transform.dense.",       "heads.mlm_dense."),
    ("cls.predictions.transform.LayerNorm.",   "heads.mlm_norm."),
    ("cls.predictions.bias",                   "heads.mlm_decoder.bias"),
    ("cls.seq_relationship.",                  "heads.nsp."),
)
# fmt: on
TIED = {"heads.mlm_decoder.weight"}  # = bert.embeddings.word_embeddings.weight, never stored
# In Hugging Face files but not parameters here: a buffer of 0..511, copies of tied tensors.
HF_IGNORED = re.compile(
    r"(^|\.)embeddings\.(position_ids|token_type_ids)$"
    r"|^cls\.predictions\.decoder\.(weight|bias)$"
)


def hf_to_book_name(name: str) -> str:
    """Hugging Face's parameter name -> the book's, e.g.
    ``"encoder.layer.0.attention.self.query.weight"`` ->
    ``"encoder.layers.0.self_attn.w_q.weight"``.
    Old checkpoints call the LayerNorm parameters ``gamma``/``beta``: read them as
    ``weight``/``bias``."""
    name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)
    name = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)
    for hf, book in HF_TO_BOOK:
        name = name.replace(hf, book)
    return name


def book_to_hf_name(name: str) -> str:
    """The inverse of ``hf_to_book_name``."""
    for hf, book in reversed(HF_TO_BOOK):
        name = name.replace(book, hf)
    return name


def read_hf_weights(folder) -> dict[str, torch.Tensor]:
    """The state dict in ``folder``: ``model.safetensors`` if present, else
    ``pytorch_model.bin``."""
    folder = Path(folder)
    if (folder / "model.safetensors").exists():
        from safetensors.torch import load_file

        return load_file(folder / "model.safetensors")
    if (folder / "pytorch_model.bin").exists():
        return torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise FileNotFoundError(
        f"no model.safetensors or pytorch_model.bin in {folder} · "
        f"{folder} 中没有 model.safetensors 或 pytorch_model.bin"
    )


def load_hf_state_dict(
    model: BertModel | BertForPreTraining, hf_state_dict: dict[str, torch.Tensor]
) -> None:
    """Copy a Hugging Face state dict into ``model``, translating the names; strict.

    A ``BertModel`` also accepts a pretraining checkpoint (``bert.*`` plus heads ``cls.*``): it
    takes the ``bert.*`` part and leaves the heads, as Hugging Face does. Any other missing or
    unexpected parameter raises ``KeyError`` naming it.
    """
    state = {hf_to_book_name(k): v for k, v in hf_state_dict.items() if not HF_IGNORED.search(k)}
    if isinstance(model, BertModel) and any(k.startswith("bert.") for k in state):
        state = {k.removeprefix("bert."): v for k, v in state.items() if k.startswith("bert.")}
    if isinstance(model, BertForPreTraining) and "bert.embeddings.word_embeddings.weight" in state:
        state["heads.mlm_decoder.weight"] = state["bert.embeddings.word_embeddings.weight"]  # tied
    expected = model.state_dict().keys()
    missing = sorted(expected - state.keys())
    unexpected = sorted(state.keys() - expected)
    if missing or unexpected:
        raise KeyError(
            f"checkpoint does not match {type(model).__name__} · 检查点与模型不匹配: "
            f"missing 缺少 {missing}, unexpected 多余 {unexpected}"
        )
    model.load_state_dict(state)
