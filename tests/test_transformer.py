"""rnn2bert.transformer against torch.nn.Transformer*Layer / Encoder / Decoder (weights copied,
eval mode, dropout 0), and the seq2seq model's masks, decoding and training."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnn2bert.masks import causal_mask, padding_mask
from rnn2bert.transformer import (
    Decoder,
    DecoderLayer,
    Encoder,
    EncoderLayer,
    FeedForward,
    Transformer,
    get_activation,
    source_mask,
    target_mask,
)

D_MODEL, HEADS, D_FF = 16, 4, 32
SRC_LENGTHS, TGT_LENGTHS = [7, 4, 1], [5, 5, 2]


def randomize_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random values in every parameter (PyTorch starts biases at 0 and LayerNorm at 1, 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return module.eval()


def from_torch(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a torch.nn.Transformer* state dict to ours, splitting ``in_proj`` into q, k, v."""
    ours = {}
    for name, t in state.items():
        name = name.replace("multihead_attn.", "cross_attn.").replace("out_proj.", "w_o.")
        name = re.sub(r"\blinear([12])\.", r"ffn.linear\1.", name)
        if "in_proj_" in name:
            prefix, kind = name.split("in_proj_")
            ours.update(
                {f"{prefix}w_{part}.{kind}": w for part, w in zip("qkv", t.chunk(3), strict=True)}
            )
        else:
            ours[name] = t
    return ours


def copy_from(ours: nn.Module, reference: nn.Module) -> nn.Module:
    ours.load_state_dict(from_torch(reference.state_dict()))  # strict: every weight mapped
    return ours.eval()


@pytest.fixture
def src():
    return torch.randn(
        len(SRC_LENGTHS), max(SRC_LENGTHS), D_MODEL, generator=torch.Generator().manual_seed(1)
    )


@pytest.fixture
def tgt():
    return torch.randn(
        len(TGT_LENGTHS), max(TGT_LENGTHS), D_MODEL, generator=torch.Generator().manual_seed(2)
    )


def torch_encoder_layer(norm_first, activation="relu"):
    return randomize_(
        nn.TransformerEncoderLayer(
            D_MODEL,
            HEADS,
            D_FF,
            dropout=0.0,
            activation=activation,
            batch_first=True,
            norm_first=norm_first,
        )
    )


def torch_decoder_layer(norm_first):
    return randomize_(
        nn.TransformerDecoderLayer(
            D_MODEL, HEADS, D_FF, dropout=0.0, batch_first=True, norm_first=norm_first
        )
    )


# --- layers against PyTorch ---------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_feed_forward_is_position_wise(activation):
    ffn = FeedForward(D_MODEL, D_FF, activation=activation)
    x = torch.randn(2, 5, D_MODEL)
    act = F.relu if activation == "relu" else F.gelu
    torch.testing.assert_close(ffn(x), ffn.linear2(act(ffn.linear1(x))))
    torch.testing.assert_close(ffn(x[:, 3:4]), ffn(x)[:, 3:4])  # each token on its own
    with pytest.raises(ValueError, match="activation"):
        FeedForward(D_MODEL, D_FF, activation="tanh")


@pytest.mark.parametrize("grad", [True, False], ids=["slow-path", "fast-path"])
@pytest.mark.parametrize("padded", [False, True], ids=["no-mask", "padding-mask"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_encoder_layer_equals_torch(src, norm_first, activation, padded, grad):
    """``grad=False`` runs PyTorch under ``no_grad``, where it may take its fused fast path."""
    reference = torch_encoder_layer(norm_first, activation)
    ours = copy_from(
        EncoderLayer(D_MODEL, HEADS, D_FF, activation=activation, norm_first=norm_first), reference
    )
    mask = padding_mask(SRC_LENGTHS) if padded else None
    with torch.set_grad_enabled(grad):
        want = reference(src, src_key_padding_mask=None if mask is None else ~mask[:, 0, 0])
        got = ours(src, mask)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_encoder_layer_at_rows_and_without_weights(src, norm_first):
    """``forward_with_weights``: the same output as ``forward`` with the maps, without them (the
    fast attention path), and at chosen rows only (what pretraining's last layer computes)."""
    layer = randomize_(EncoderLayer(D_MODEL, HEADS, D_FF, norm_first=norm_first))
    mask = padding_mask(SRC_LENGTHS)
    full = layer(src, mask)
    out, weights = layer.forward_with_weights(src, mask)
    fast, none = layer.forward_with_weights(src, mask, need_weights=False)
    assert none is None and torch.equal(weights, layer.attn_weights) and torch.equal(out, full)
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=1e-5)
    rows = torch.tensor([[0, 6, 2], [0, 3, 3], [0, 0, 0]])  # (B, M)
    at_rows, _ = layer.forward_with_weights(src, mask, need_weights=False, rows=rows)
    want = torch.stack([full[b, r] for b, r in enumerate(rows)])
    torch.testing.assert_close(at_rows, want, atol=1e-5, rtol=1e-5)


def test_encoder_layer_options_for_bert():
    layer = EncoderLayer(
        D_MODEL,
        HEADS,
        D_FF,
        dropout=0.1,
        activation="gelu",
        eps=1e-12,
        attention_dropout=0.2,
        ffn_dropout=0.0,
    )
    assert (layer.dropout1.p, layer.dropout2.p, layer.self_attn.dropout.p, layer.ffn.dropout.p) == (
        0.1,
        0.1,
        0.2,
        0.0,
    )
    assert layer.norm1.eps == layer.norm2.eps == 1e-12
    default = EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.3)  # PyTorch's defaults
    assert (default.self_attn.dropout.p, default.ffn.dropout.p, default.norm1.eps) == (
        0.3,
        0.3,
        1e-5,
    )
    reference = nn.TransformerEncoderLayer(
        D_MODEL, HEADS, D_FF, dropout=0.0, activation="gelu", layer_norm_eps=1e-12, batch_first=True
    )
    assert reference.norm1.eps == layer.norm1.eps


def test_one_activation_table():
    x = torch.linspace(-4, 4, 101)
    torch.testing.assert_close(get_activation("relu")(x), F.relu(x))
    torch.testing.assert_close(
        get_activation("gelu")(x), x * torch.distributions.Normal(0, 1).cdf(x)
    )
    torch.testing.assert_close(get_activation("gelu_new")(x), F.gelu(x, approximate="tanh"))
    assert get_activation("gelu") is not get_activation("gelu")  # a fresh module each time
    with pytest.raises(ValueError, match="不支持"):
        get_activation("swish")


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_decoder_layer_equals_torch(src, tgt, norm_first):
    reference = torch_decoder_layer(norm_first)
    ours = copy_from(DecoderLayer(D_MODEL, HEADS, D_FF, norm_first=norm_first), reference)
    memory_mask = padding_mask(SRC_LENGTHS)
    want = reference(
        tgt, src, tgt_mask=~causal_mask(tgt.size(1)), memory_key_padding_mask=~memory_mask[:, 0, 0]
    )
    got = ours(tgt, src, self_mask=causal_mask(tgt.size(1)), memory_mask=memory_mask)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("grad", [True, False], ids=["slow-path", "fast-path"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_encoder_stack_equals_torch(src, norm_first, grad):
    """Pre-LN stacks end with a LayerNorm, which PyTorch takes as ``norm=``. With its default
    ``enable_nested_tensor=True`` PyTorch returns zeros at padded positions on the fast
    path; it is switched off so that every position is compared."""
    reference = randomize_(
        nn.TransformerEncoder(
            torch_encoder_layer(norm_first),
            num_layers=2,
            norm=nn.LayerNorm(D_MODEL) if norm_first else None,
            enable_nested_tensor=False,
        )
    )
    ours = copy_from(Encoder(2, D_MODEL, HEADS, D_FF, norm_first=norm_first), reference)
    mask = padding_mask(SRC_LENGTHS)
    with torch.set_grad_enabled(grad):
        want = reference(src, src_key_padding_mask=~mask[:, 0, 0])
        got = ours(src, mask)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")
def test_encoder_stack_equals_torch_nested_fast_path_at_real_tokens(src):
    """PyTorch's default: padded positions become a nested tensor, compare the real tokens."""
    reference = randomize_(nn.TransformerEncoder(torch_encoder_layer(False), num_layers=2))
    ours = copy_from(Encoder(2, D_MODEL, HEADS, D_FF), reference)
    mask = padding_mask(SRC_LENGTHS)
    with torch.no_grad():
        want = reference(src, src_key_padding_mask=~mask[:, 0, 0])
        got = ours(src, mask)
    real = mask[:, 0, 0]
    torch.testing.assert_close(got[real], want[real], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_decoder_stack_equals_torch(src, tgt, norm_first):
    reference = randomize_(
        nn.TransformerDecoder(
            torch_decoder_layer(norm_first),
            num_layers=2,
            norm=nn.LayerNorm(D_MODEL) if norm_first else None,
        )
    )
    ours = copy_from(Decoder(2, D_MODEL, HEADS, D_FF, norm_first=norm_first), reference)
    memory_mask, tgt_real = padding_mask(SRC_LENGTHS), padding_mask(TGT_LENGTHS)[:, 0, 0]
    self_mask = causal_mask(tgt.size(1)) & tgt_real[:, None, None, :]
    want = reference(
        tgt,
        src,
        tgt_mask=~causal_mask(tgt.size(1)),
        tgt_key_padding_mask=~tgt_real,
        memory_key_padding_mask=~memory_mask[:, 0, 0],
    )
    got = ours(tgt, src, self_mask, memory_mask)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_layers_keep_their_attention_maps(src, tgt):
    enc, dec = EncoderLayer(D_MODEL, HEADS, D_FF).eval(), DecoderLayer(D_MODEL, HEADS, D_FF).eval()
    mask = padding_mask(SRC_LENGTHS)
    memory = enc(src, mask)
    dec(tgt, memory, causal_mask(tgt.size(1)), mask)
    b, l_src, l_tgt = len(SRC_LENGTHS), src.size(1), tgt.size(1)
    assert enc.attn_weights.shape == (b, HEADS, l_src, l_src)
    assert dec.self_attn_weights.shape == (b, HEADS, l_tgt, l_tgt)
    assert dec.cross_attn_weights.shape == (b, HEADS, l_tgt, l_src)
    assert not dec.cross_attn_weights.requires_grad
    torch.testing.assert_close(dec.cross_attn_weights.sum(-1), torch.ones(b, HEADS, l_tgt))
    assert (dec.cross_attn_weights[2, :, :, 1:] == 0).all()  # source 2 has one real token
    assert (dec.self_attn_weights.triu(1) == 0).all()  # no peeking at later targets


# --- the seq2seq model ----------------------------------------------------------------------

PAD, BOS, EOS = 0, 1, 2


def tiny_model(seed=0, **kwargs):
    torch.manual_seed(seed)
    return Transformer(
        11,
        13,
        d_model=D_MODEL,
        num_heads=HEADS,
        num_layers=2,
        d_ff=D_FF,
        max_len=20,
        pad_id=PAD,
        **kwargs,
    ).eval()


def test_masks_from_token_ids():
    ids = torch.tensor([[5, 6, 0], [7, 0, 0]])
    assert source_mask(ids, PAD).shape == (2, 1, 1, 3)
    assert source_mask(ids, PAD)[:, 0, 0].tolist() == [[True, True, False], [True, False, False]]
    want = causal_mask(3) & torch.tensor([[True, True, False], [True, False, False]])[:, None, None]
    assert torch.equal(target_mask(ids, PAD), want)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_transformer_shapes_and_attention_maps(norm_first):
    model = tiny_model(norm_first=norm_first)
    src, tgt_in = torch.randint(3, 11, (2, 6)), torch.randint(3, 13, (2, 5))
    assert model(src, tgt_in).shape == (2, 5, 13)
    assert model.encode(src).shape == (2, 6, D_MODEL)
    assert model.decoder.layers[-1].cross_attn_weights.shape == (2, HEADS, 5, 6)


def test_target_mask_is_causal():
    model = tiny_model()
    src, tgt_in = torch.randint(3, 11, (2, 6)), torch.randint(3, 13, (2, 5))
    changed = tgt_in.clone()
    changed[:, 3] = (changed[:, 3] - 2) % 10 + 3  # another token at position 3
    before, after = model(src, tgt_in), model(src, changed)
    torch.testing.assert_close(after[:, :3], before[:, :3])  # the past cannot see the future
    assert not torch.allclose(after[:, 3:], before[:, 3:])


def test_source_padding_changes_nothing():
    model = tiny_model()
    g = torch.Generator().manual_seed(3)
    short, other = (
        torch.randint(3, 11, (1, 4), generator=g),
        torch.randint(3, 11, (1, 7), generator=g),
    )
    batch = torch.cat([F.pad(short, (0, 3), value=PAD), other])  # (2, 7), row 0 padded
    tgt_in = torch.randint(3, 13, (2, 5), generator=g)
    together = model(batch, tgt_in)
    torch.testing.assert_close(together[:1], model(short, tgt_in[:1]), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(together[1:], model(other, tgt_in[1:]), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        model.encode(batch)[:1, :4], model.encode(short), atol=1e-5, rtol=1e-5
    )


def test_tied_embeddings_share_one_matrix():
    model = tiny_model(tie_embeddings=True)
    assert model.output_layer.weight is model.tgt_embed.weight
    untied = tiny_model()
    assert untied.output_layer.weight is not untied.tgt_embed.weight


def test_greedy_decode_format():
    model = tiny_model()
    src = torch.randint(3, 11, (3, 6))
    with torch.no_grad():
        model.output_layer.bias[EOS] = 1e4  # always predicts EOS
    assert model.greedy_decode(src, BOS, EOS, max_len=10).tolist() == [[BOS, EOS]] * 3
    with torch.no_grad():
        model.output_layer.bias[EOS] = 0.0
        model.output_layer.bias[7] = 1e4  # never stops
    assert model.greedy_decode(src, BOS, EOS, max_len=10).tolist() == [[BOS] + [7] * 9] * 3


def copy_task(n: int, g: torch.Generator):
    """Random digit strings (tokens 3–9) of length 3–6: src padded to 6, tgt = BOS src EOS."""
    src, tgt = torch.zeros(n, 6, dtype=torch.long), torch.zeros(n, 8, dtype=torch.long)
    for i, length in enumerate(torch.randint(3, 7, (n,), generator=g).tolist()):
        digits = torch.randint(3, 10, (length,), generator=g)
        src[i, :length], tgt[i, 1 : length + 1] = digits, digits
        tgt[i, 0], tgt[i, length + 1] = BOS, EOS
    return src, tgt


@pytest.fixture
def one_thread():
    """Tiny matrices train several times faster on one thread when the cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow  # 200 training steps: make test runs it, make test-fast skips it
def test_tiny_transformer_learns_to_copy(one_thread):
    torch.manual_seed(0)
    src, tgt = copy_task(32, torch.Generator().manual_seed(0))
    model = Transformer(10, 10, d_model=32, num_heads=4, num_layers=2, d_ff=64, max_len=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(200):  # teacher forcing: read tgt[:, :-1], predict tgt[:, 1:]
        logits = model(src, tgt[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 10), tgt[:, 1:].reshape(-1), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    model.eval()
    out = model.greedy_decode(src, BOS, EOS, max_len=8)
    assert torch.equal(out, tgt[:, : out.size(1)]), "greedy decoding should copy the source"
    # greedy decoding agrees with the teacher-forced argmax on its own output
    generated = out[:, 1:] != PAD
    assert torch.equal(model(src, out[:, :-1]).argmax(-1)[generated], out[:, 1:][generated])
