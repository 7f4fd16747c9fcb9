"""Checks for chapter 06, positional encoding."""
from __future__ import annotations

import math

import torch

from ..positional import shift_matrix, sinusoidal_encoding
from .core import compare, exercise


def _frequencies(d_model: int) -> torch.Tensor:
    return torch.pow(10000.0, -torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # ω_i


@exercise("ch06.sinusoidal", "The sinusoidal positional encoding", "正弦位置编码")
def check_sinusoidal(positional_encoding) -> None:
    max_len, d_model = 12, 8
    got = positional_encoding(max_len, d_model)
    want = sinusoidal_encoding(max_len, d_model).to(torch.float64)
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    angles = pos * _frequencies(d_model)  # (max_len, d_model/2)
    swapped = torch.stack([angles.cos(), angles.sin()], -1).flatten(1)
    halves = torch.cat([angles.sin(), angles.cos()], -1)
    no_two = pos * torch.pow(10000.0, -torch.arange(d_model // 2, dtype=torch.float64) / d_model)
    no_two = torch.stack([no_two.sin(), no_two.cos()], -1).flatten(1)
    by_pos = torch.arange(d_model // 2, dtype=torch.float64) * torch.pow(10000.0, -2 * pos / d_model)
    by_pos = torch.stack([by_pos.sin(), by_pos.cos()], -1).flatten(1)
    compare(got, want, "PE", wrong=[
        (swapped, "sin and cos are swapped: even dimensions 2i take sin, odd dimensions 2i+1 take cos.",
         "sin 和 cos 反了：偶数维 2i 用 sin，奇数维 2i+1 用 cos。"),
        (halves, "You put all the sines in the first half and the cosines in the second. That layout exists in some code, "
         "but the paper interleaves them: dimension 2i is sin, 2i+1 is cos.",
         "你把所有 sin 放在前一半、cos 放在后一半。有些代码确实这样排布，但论文是交错排列的：第 2i 维是 sin，第 2i+1 维是 cos。"),
        (no_two, "The exponent is 2i/d_model, with i the index of the (sin, cos) pair; you used i/d_model, so the wavelengths stop short of 10000·2π.",
         "指数是 2i/d_model，i 是 (sin, cos) 对的编号；你用了 i/d_model，于是波长达不到 10000·2π。"),
        (by_pos, "You mixed up the indices: the exponent uses the dimension index i, and the position pos multiplies the frequency.",
         "你把下标弄混了：指数里用的是维度下标 i，位置 pos 乘在频率上。"),
    ])


@exercise("ch06.shift_matrix", "PE(pos + k) as a rotation of PE(pos)", "把 PE(pos + k) 写成 PE(pos) 的旋转")
def check_shift_matrix(make_shift_matrix) -> None:
    d_model = 8
    for k in (1, 3):
        got = make_shift_matrix(k, d_model)
        want = shift_matrix(k, d_model).to(torch.float64)
        one_frequency = torch.block_diag(*[shift_matrix(k, 2).to(torch.float64)] * (d_model // 2))
        compare(got, want, f"M_{k}", wrong=[
            (want.T, f"Your matrix shifts by −{k}: with row vectors, PE[pos + k] = PE[pos] @ M_k needs the block "
             "[[cos kω, −sin kω], [sin kω, cos kω]].",
             f"你的矩阵平移的是 −{k}：用行向量时，PE[pos + k] = PE[pos] @ M_k 需要的块是 [[cos kω, −sin kω], [sin kω, cos kω]]。"),
            (one_frequency, "Every (sin, cos) pair turns by its own angle k·ω_i; you used the first pair's frequency for all of them.",
             "每个 (sin, cos) 对按自己的角度 k·ω_i 旋转；你对所有的对都用了第一对的频率。"),
        ])


@exercise("ch06.embed", "Scaled embeddings plus positions", "缩放后的嵌入加上位置编码")
def check_embed(embed) -> None:
    g = torch.Generator().manual_seed(6)
    d_model, vocab = 16, 20
    E = torch.randn(vocab, d_model, generator=g, dtype=torch.float64) / math.sqrt(d_model)
    ids = torch.tensor([[3, 7, 7, 1, 0]])
    pe = sinusoidal_encoding(5, d_model).to(torch.float64)
    got = embed(ids.clone(), E.clone())
    want = E[ids] * math.sqrt(d_model) + pe
    compare(got, want, "input", wrong=[
        (E[ids] + pe, "You forgot to multiply the embeddings by √d_model (the original Transformer does, so that they are not drowned by the positions).",
         "忘了把嵌入乘以 √d_model(原始 Transformer 这样做，免得嵌入被位置编码淹没)。"),
        (E[ids] + pe * math.sqrt(d_model), "You scaled the positional encoding; scale the token embeddings instead.",
         "你缩放的是位置编码；应当缩放词元嵌入。"),
        (E[ids] * d_model + pe, "Multiply by √d_model, not by d_model.", "应乘以 √d_model，而不是 d_model。"),
        ((E[ids] + pe) * math.sqrt(d_model), "Only the embeddings are scaled, then the positions are added.", "只缩放嵌入，然后再加上位置编码。"),
    ])


@exercise("ch06.predict_dot", "Predict PE(pos)·PE(pos + k)", "预测 PE(pos)·PE(pos + k)")
def check_predict_dot(predict_dot) -> None:
    d_model = 16
    pe = sinusoidal_encoding(40, d_model).to(torch.float64)
    ks = [0, 1, 2, 5, 10]
    got = [predict_dot(k, d_model) for k in ks]
    want = torch.tensor([float(pe[3] @ pe[3 + k]) for k in ks])
    w = _frequencies(d_model)
    compare(got, want, "predictions", wrong=[
        (torch.tensor([float(2 * torch.cos(k * w).sum()) for k in ks]), "Each (sin, cos) pair contributes sin a·sin b + cos a·cos b = cos(a − b) once: there are d_model/2 terms, not d_model.",
         "每个 (sin, cos) 对贡献一次 sin a·sin b + cos a·cos b = cos(a − b)：共 d_model/2 项，而不是 d_model 项。"),
        (torch.tensor([float(torch.sin(k * w).sum()) for k in ks]), "sin a·sin b + cos a·cos b is cos(a − b), not a sine.",
         "sin a·sin b + cos a·cos b 等于 cos(a − b)，不是正弦。"),
        (torch.tensor([float(torch.cos(k * torch.arange(d_model // 2, dtype=torch.float64)).sum()) for k in ks]),
         "The frequencies are ω_i = 10000^(−2i/d_model), not i.", "频率是 ω_i = 10000^(−2i/d_model)，而不是 i。"),
    ])
