"""The library against PyTorch's own implementations, and the notebook setup."""

import math

import matplotlib
import pytest
import torch
import torch.nn.functional as F

import rnn2bert
from rnn2bert.attention import MultiHeadAttention, SelfAttention, scaled_dot_product_attention
from rnn2bert.masks import as_attention_mask, causal_mask, key_mask, padding_mask, source_mask


@pytest.fixture
def qkv():
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(2, 3, 5, 8, generator=g),
        torch.randn(2, 3, 7, 8, generator=g),
        torch.randn(2, 3, 7, 6, generator=g),
    )


@pytest.mark.parametrize("scale", [None, 1.0, 0.3])
def test_sdpa_equals_torch(qkv, scale):
    q, k, v = qkv
    out, weights = scaled_dot_product_attention(q, k, v, scale=scale)
    assert out.shape == (2, 3, 5, 6) and weights.shape == (2, 3, 5, 7)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, scale=scale))
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))


def test_sdpa_default_scale_is_inverse_sqrt_dk(qkv):
    q, k, v = qkv
    _, w = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(w, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), -1))


def test_sdpa_boolean_mask_true_means_may_attend(qkv):
    q, k, v = qkv
    mask = torch.rand(5, 7, generator=torch.Generator().manual_seed(1)) > 0.4
    mask[:, 0] = True  # no fully masked row
    out, w = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    assert (w[..., ~mask] == 0).all()


def test_self_attention_module_equals_functional():
    torch.manual_seed(0)
    layer = SelfAttention(d_model=8, d_k=4, d_v=6)
    x = torch.randn(2, 5, 8)
    out, w = layer(x)
    want = F.scaled_dot_product_attention(layer.w_q(x), layer.w_k(x), layer.w_v(x))
    torch.testing.assert_close(out, want)
    assert w.shape == (2, 5, 5)


def test_setup_seeds_everything():
    rnn2bert.setup()
    a = torch.rand(3)
    rnn2bert.setup()
    assert torch.equal(a, torch.rand(3))


def test_setup_puts_the_chinese_font_first():
    rnn2bert.setup()
    assert matplotlib.rcParams["font.family"][0] == "Noto Sans SC"
    from matplotlib import font_manager

    path = font_manager.findfont(
        font_manager.FontProperties(family="Noto Sans SC"), fallback_to_default=False
    )
    assert path.endswith("NotoSansSC-Regular.otf")


def test_chinese_label_renders_without_missing_glyphs(recwarn):
    import matplotlib.pyplot as plt

    rnn2bert.setup()
    fig, ax = plt.subplots()
    ax.set_title("自注意力 · self-attention $\\sqrt{d_k}$")
    fig.canvas.draw()
    plt.close(fig)
    assert not [w for w in recwarn if "missing from font" in str(w.message)]


# ---- multi-head attention and masks -----------------------------------------------------------


def copy_into_torch_mha(mha: MultiHeadAttention) -> torch.nn.MultiheadAttention:
    ref = torch.nn.MultiheadAttention(mha.d_model, mha.num_heads, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([mha.w_q.weight, mha.w_k.weight, mha.w_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([mha.w_q.bias, mha.w_k.bias, mha.w_v.bias]))
        ref.out_proj.weight.copy_(mha.w_o.weight)
        ref.out_proj.bias.copy_(mha.w_o.bias)
    return ref.eval()


def test_multi_head_attention_equals_torch():
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_model=16, num_heads=4).eval()
    ref = copy_into_torch_mha(mha)
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    lengths = torch.tensor([7, 4])
    out, w = mha(x, memory, memory, mask=padding_mask(lengths))
    want, want_w = ref(
        x,
        memory,
        memory,
        key_padding_mask=~padding_mask(lengths)[:, 0, 0],
        average_attn_weights=False,
    )
    torch.testing.assert_close(out, want, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w, want_w, atol=1e-6, rtol=1e-5)
    assert w.shape == (2, 4, 5, 7)


def test_causal_self_attention_equals_torch():
    torch.manual_seed(1)
    mha = MultiHeadAttention(d_model=12, num_heads=3).eval()
    ref = copy_into_torch_mha(mha)
    x = torch.randn(3, 6, 12)
    out, w = mha(x, x, x, mask=causal_mask(6))
    want, _ = ref(x, x, x, attn_mask=~causal_mask(6))
    torch.testing.assert_close(out, want, atol=1e-5, rtol=1e-5)
    assert (w.triu(1) == 0).all()


def test_masks_shapes_and_meaning():
    m = padding_mask([3, 1], max_len=4)
    assert m.shape == (2, 1, 1, 4) and m.dtype == torch.bool
    assert m[:, 0, 0].tolist() == [[True, True, True, False], [True, False, False, False]]
    c = causal_mask(3)
    assert c.tolist() == [[True, False, False], [True, True, False], [True, True, True]]


def test_the_three_padding_masks_are_one():
    """From lengths (chapter 04), token ids (chapter 07) and Hugging Face's 1/0 (chapter 08)."""
    ids = torch.tensor([[5, 6, 7, 0], [8, 0, 0, 0]])
    want = padding_mask([3, 1], max_len=4)
    assert torch.equal(source_mask(ids, pad_id=0), want)
    assert torch.equal(as_attention_mask((ids != 0).long()), want)
    assert torch.equal(key_mask(ids != 0), want) and want.shape == (2, 1, 1, 4)
    assert as_attention_mask(None) is None


def test_mha_rejects_indivisible_heads():
    with pytest.raises(ValueError):
        MultiHeadAttention(10, 3)


def test_fully_masked_row_gives_zero_not_nan(qkv):
    q, k, v = qkv
    mask = torch.ones(5, 7, dtype=torch.bool)
    mask[2] = False  # query 2 may attend to nothing
    out, w = scaled_dot_product_attention(q, k, v, mask)
    assert not torch.isnan(out).any()
    assert (w[..., 2, :] == 0).all() and (out[..., 2, :] == 0).all()
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_nan_from_elsewhere_stays_visible(qkv):
    q, k, v = qkv
    q = q.clone()
    q[0, 0, 0, 0] = float("nan")
    out, _ = scaled_dot_product_attention(q, k, v, torch.ones(5, 7, dtype=torch.bool))
    assert torch.isnan(out[0, 0, 0]).all()


def test_setup_uses_one_thread_by_default():
    rnn2bert.setup()
    assert torch.get_num_threads() == 1
