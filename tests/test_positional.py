"""rnn2bert.positional: the sinusoidal encoding, its shift matrices, and both modules."""

from __future__ import annotations

import math

import pytest
import torch

from rnn2bert.positional import (
    LearnedPositionalEmbedding,
    PositionalEncoding,
    shift_matrix,
    sinusoidal_encoding,
)


def test_sinusoidal_values_computed_by_hand():
    # d_model = 4: ω_0 = 1, ω_1 = 1 / 10000^(2/4) = 0.01
    pe = sinusoidal_encoding(3, 4)
    assert pe.shape == (3, 4) and pe.dtype == torch.float32
    want = torch.tensor(
        [
            [0.0, 1.0, 0.0, 1.0],
            [
                0.8414709848,
                0.5403023059,
                0.0099998333,
                0.9999500004,
            ],  # sin 1, cos 1, sin .01, cos .01
            [
                0.9092974268,
                -0.4161468365,
                0.0199986667,
                0.9998000067,
            ],  # sin 2, cos 2, sin .02, cos .02
        ]
    )
    torch.testing.assert_close(pe, want)


def test_even_dimensions_are_sines_odd_dimensions_cosines():
    d_model = 8
    pe = sinusoidal_encoding(50, d_model)
    pos = torch.arange(50, dtype=torch.float64)
    for i in range(d_model // 2):
        omega = 10000 ** (-2 * i / d_model)
        torch.testing.assert_close(pe[:, 2 * i], torch.sin(pos * omega).float())
        torch.testing.assert_close(pe[:, 2 * i + 1], torch.cos(pos * omega).float())
    # position 0 is (sin 0, cos 0, …) = (0, 1, 0, 1, …): it would read (1, 0, …) if swapped
    assert pe[0].tolist() == [0.0, 1.0] * (d_model // 2)


def test_wavelengths_range_from_2pi_to_10000_times_2pi():
    d_model = 64
    first = sinusoidal_encoding(8, d_model)[:, 0]
    torch.testing.assert_close(first, torch.sin(torch.arange(8.0)))  # period 2π
    omega_last = 10000 ** (-(d_model - 2) / d_model)
    wavelength = 2 * math.pi / omega_last
    assert 2 * math.pi * 5000 < wavelength < 2 * math.pi * 10000


def test_odd_d_model_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="must be even"):
        sinusoidal_encoding(10, 5)
    with pytest.raises(ValueError, match="must be even"):
        shift_matrix(1, 5)


@pytest.mark.parametrize("k", [1, 2, 7, 30, -3])
def test_shift_matrix_moves_every_position_by_k(k):
    d_model, n = 16, 100
    pe = sinusoidal_encoding(n, d_model)
    m = shift_matrix(k, d_model)
    pos = torch.arange(max(0, -k), min(n, n - k))
    torch.testing.assert_close(pe[pos] @ m, pe[pos + k], atol=1e-5, rtol=0)


def test_shift_matrix_is_a_block_diagonal_rotation():
    m3, m4, m7 = (shift_matrix(k, 8) for k in (3, 4, 7))
    torch.testing.assert_close(m3 @ m3.T, torch.eye(8), atol=1e-6, rtol=0)  # orthogonal
    torch.testing.assert_close(m3 @ m4, m7, atol=1e-6, rtol=0)  # shifts compose by adding
    torch.testing.assert_close(shift_matrix(0, 8), torch.eye(8))
    outside_blocks = torch.ones(8, 8, dtype=torch.bool)
    for i in range(0, 8, 2):
        outside_blocks[i : i + 2, i : i + 2] = False
    assert (m3[outside_blocks] == 0).all()


def test_positional_encoding_scales_then_adds():
    d_model = 16
    layer = PositionalEncoding(d_model, max_len=20)
    x = torch.randn(2, 5, d_model)
    pe = sinusoidal_encoding(20, d_model)[:5]
    torch.testing.assert_close(layer(x), x * math.sqrt(d_model) + pe)
    torch.testing.assert_close(layer(torch.zeros(1, 5, d_model))[0], pe)
    unscaled = PositionalEncoding(d_model, max_len=20, scale_embeddings=False)
    torch.testing.assert_close(unscaled(x), x + pe)


def test_positional_encoding_buffer_dropout_and_length():
    layer = PositionalEncoding(8, max_len=10, dropout=0.5)
    assert "pe" in dict(layer.named_buffers()) and layer.state_dict() == {}  # non-persistent
    x = torch.ones(4, 10, 8)
    layer.train()
    torch.manual_seed(0)
    assert (layer(x) == 0).any()
    layer.eval()
    torch.testing.assert_close(layer(x), x * math.sqrt(8) + layer.pe)
    with pytest.raises(ValueError, match="exceeds max_len=10"):
        layer(torch.zeros(1, 11, 8))


def test_learned_positional_embedding_adds_one_trained_vector_per_position():
    torch.manual_seed(0)
    layer = LearnedPositionalEmbedding(max_len=12, d_model=8)
    assert layer.embedding.weight.shape == (12, 8)
    assert 0.01 < layer.embedding.weight.std().item() < 0.03  # BERT's N(0, 0.02²)
    x = torch.randn(3, 5, 8)
    torch.testing.assert_close(layer(x), x + layer.embedding.weight[:5])
    layer(x).sum().backward()
    grad = layer.embedding.weight.grad
    assert (grad[:5] != 0).all() and (grad[5:] == 0).all()  # only the positions used learn
    with pytest.raises(ValueError, match="exceeds max_len=12"):
        layer(torch.zeros(1, 13, 8))
