"""The masks of chapter 11: UniLM's prefix (sequence-to-sequence) mask and XLNet's permutation
masks."""

import itertools

import pytest
import torch

from rnn2bert.masks import causal_mask, permutation_mask, prefix_mask


@pytest.mark.parametrize("size,prefix_len", [(1, 0), (1, 1), (5, 0), (5, 2), (5, 5), (7, 3)])
def test_prefix_mask_matches_its_definition(size, prefix_len):
    want = torch.tensor([[j < prefix_len or j <= i for j in range(size)] for i in range(size)])
    assert torch.equal(prefix_mask(size, prefix_len), want)


def test_prefix_mask_ends_are_causal_and_full():
    assert torch.equal(prefix_mask(6, 0), causal_mask(6))
    assert prefix_mask(6, 6).all()
    m = prefix_mask(6, 2)
    assert not m[:2, 2:].any(), "the source must not see the target"
    assert m.dtype == torch.bool


def test_prefix_mask_in_attention_equals_pytorch():
    q, k, v = torch.randn(3, 2, 6, 4).unbind(0)
    m = prefix_mask(6, 3)
    from rnn2bert.attention import scaled_dot_product_attention

    out, _ = scaled_dot_product_attention(q, k, v, m)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)
    assert torch.allclose(out, ref, atol=1e-6)


def test_permutation_mask_identity_order_is_causal():
    content, query = permutation_mask(torch.arange(5))
    assert torch.equal(content, causal_mask(5))
    assert torch.equal(query, causal_mask(5).tril(-1))


@pytest.mark.parametrize("order", list(itertools.permutations(range(4)))[::5])
def test_permutation_mask_is_causal_in_the_order(order):
    order = torch.tensor(order)
    content, query = permutation_mask(order)
    # reorder rows and columns by the factorisation order: the masks become (strictly) causal
    assert torch.equal(content[order][:, order], causal_mask(4))
    assert torch.equal(query[order][:, order], causal_mask(4).tril(-1))
    assert torch.equal(content, query | torch.eye(4, dtype=torch.bool))
    assert not query.diagonal().any()


def test_permutation_mask_paper_example():
    # Yang et al. (2019), figure 1: order 3 -> 2 -> 4 -> 1 (1-based);
    # token 3 sees nothing, token 1 sees 2, 3, 4
    content, query = permutation_mask(torch.tensor([2, 1, 3, 0]))
    assert query[0].tolist() == [False, True, True, True]
    assert not query[2].any() and content[2].tolist() == [False, False, True, False]


def test_permutation_mask_rejects_non_permutations():
    with pytest.raises(ValueError):
        permutation_mask(torch.tensor([0, 0, 1]))
