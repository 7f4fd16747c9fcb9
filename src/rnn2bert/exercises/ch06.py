"""Checks for chapter 06, positional encoding."""

from __future__ import annotations

import math

import torch

from ..positional import shift_matrix, sinusoidal_encoding
from .core import compare, exercise, generator, predictions


def _frequencies(d_model: int) -> torch.Tensor:
    return torch.pow(10000.0, -torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # ω_i


def _interleave(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.stack([a, b], -1).flatten(1)


@exercise("ch06.sinusoidal", "The sinusoidal positional encoding", "正弦位置编码")
def check_sinusoidal(positional_encoding, hidden: bool = False) -> None:
    cases = (
        [(12, 8), (5, 2), (1, 6), (40, 16)] if not hidden else [(10, 4), (3, 2), (50, 12), (1, 10)]
    )
    for max_len, d_model in cases:
        got = positional_encoding(max_len, d_model)
        want = sinusoidal_encoding(max_len, d_model).to(torch.float64)
        pos = torch.arange(max_len, dtype=torch.float64)[:, None]
        angles = pos * _frequencies(d_model)  # (max_len, d_model/2)
        i = torch.arange(d_model // 2, dtype=torch.float64)
        compare(
            got,
            want,
            f"PE({max_len}, {d_model})",
            atol=2e-5,
            wrong=[
                (
                    lambda: _interleave(angles.cos(), angles.sin()),
                    "sin and cos are swapped: even dimensions 2i take sin, odd "
                    "dimensions 2i+1 take cos.",
                    "sin 和 cos 反了：偶数维 2i 用 sin，奇数维 2i+1 用 cos。",
                    "sin_cos_swapped",
                ),
                (
                    lambda: _interleave(
                        angles.sin(), (pos * 10000.0 ** (-(2 * i + 1) / d_model)).cos()
                    ),
                    "The cosine of dimension 2i+1 uses the frequency of its pair, ω_i = "
                    "10000^(−2i/d_model), the same as the sine before it: you used the dimension's "
                    "own index, 10000^(−(2i+1)/d_model).",
                    "第 2i+1 维的余弦用的是它所在“对”的频率 ω_i = 10000^(−2i/d_model)，"
                    "与前面的正弦相同：你用了这一维自己的编号，10000^(−(2i+1)/d_model)。",
                    "cosine_own_index",
                ),
                (
                    lambda: torch.cat([angles.sin(), angles.cos()], -1),
                    "You put all the sines in the first half and the cosines in "
                    "the second. That layout exists in some code, but the paper interleaves them: "
                    "dimension 2i is sin, 2i+1 is cos.",
                    "你把所有 sin 放在前一半、cos 放在后一半。有些代码确实这样排布，"
                    "但论文是交错排列的：第 2i 维是 sin，第 2i+1 维是 cos。",
                    "halves",
                ),
                (
                    lambda: _interleave(
                        (pos * 10000.0 ** (-i / d_model)).sin(),
                        (pos * 10000.0 ** (-i / d_model)).cos(),
                    ),
                    "The exponent is 2i/d_model, with i the index of the (sin, cos) pair; you used "
                    "i/d_model, so the wavelengths "
                    "stop short of 10000·2π.",
                    "指数是 2i/d_model，i 是 (sin, cos) 对的编号；你用了 i/d_model，于是波长达不到 "
                    "10000·2π。",
                    "exponent_i_over_d",
                ),
                (
                    lambda: _interleave(
                        (i * 10000.0 ** (-2 * pos / d_model)).sin(),
                        (i * 10000.0 ** (-2 * pos / d_model)).cos(),
                    ),
                    "You mixed up the indices: the exponent uses the dimension index i, and the "
                    "position pos multiplies the "
                    "frequency.",
                    "你把下标弄混了：指数里用的是维度下标 i，位置 pos 乘在频率上。",
                    "indices_mixed_up",
                ),
                (
                    lambda: _interleave(
                        (pos * 10000.0 ** (2 * i / d_model)).sin(),
                        (pos * 10000.0 ** (2 * i / d_model)).cos(),
                    ),
                    "The exponent is negative: ω_i = 10000^(−2i/d_model) = 1 / 10000^(2i/d_model), "
                    "so the frequencies decrease.",
                    "指数是负的：ω_i = 10000^(−2i/d_model) = 1 / 10000^(2i/d_model)，"
                    "频率是递减的。",
                    "positive_exponent",
                ),
                (
                    lambda: _interleave(
                        ((pos + 1) * _frequencies(d_model)).sin(),
                        ((pos + 1) * _frequencies(d_model)).cos(),
                    ),
                    "Off by one: positions start at 0 (PE[0] = [0, 1, 0, 1, …]).",
                    "差了一位：位置从 0 开始（PE[0] = [0, 1, 0, 1, …]）。",
                    "positions_from_one",
                ),
                (
                    lambda: _interleave(
                        (pos * 10000.0 ** (-2 * (2 * i) / d_model)).sin(),
                        (pos * 10000.0 ** (-2 * (2 * i) / d_model)).cos(),
                    ),
                    "The exponent is 2i/d_model with i the PAIR index (0, 1, 2, …): you used the "
                    "dimension index 2i in place of i, "
                    "counting it twice.",
                    "指数是 2i/d_model，其中 i 是“对”的编号（0, 1, 2, …）："
                    "你用了维度下标 2i 代替 i，相当于乘了两次 2。",
                    "exponent_4i",
                ),
            ],
            shape_hints=[
                (
                    (d_model, max_len),
                    "Shape (d_model, max_len): one row per position, (max_len, d_model).",
                    "形状是 (d_model, max_len)：应每个位置一行，(max_len, d_model)。",
                    "transposed",
                ),
            ],
        )


@exercise(
    "ch06.shift_matrix",
    "PE(pos + k) as a rotation of PE(pos)",
    "把 PE(pos + k) 写成 PE(pos) 的旋转",
)
def check_shift_matrix(make_shift_matrix, hidden: bool = False) -> None:
    cases = (
        [(1, 8), (3, 8), (2, 4), (5, 2), (0, 6)]
        if not hidden
        else [(2, 6), (4, 8), (1, 2), (7, 4), (0, 4)]
    )
    for k, d_model in cases:
        got = make_shift_matrix(k, d_model)
        want = shift_matrix(k, d_model).to(torch.float64)
        block = shift_matrix(k, 2).to(torch.float64)
        compare(
            got,
            want,
            f"M_{k} (d_model={d_model})",
            wrong=[
                (
                    want.T,
                    f"Your matrix shifts by −{k}: with row vectors, PE[pos + k] = PE[pos] @ M_k "
                    "needs the block "
                    "[[cos kω, −sin kω], [sin kω, cos kω]].",
                    f"你的矩阵平移的是 −{k}：用行向量时，PE[pos + k] = PE[pos] @ M_k 需要的块是 "
                    "[[cos kω, −sin kω], [sin kω, cos kω]]。",
                    "shifts_backwards",
                ),
                (
                    lambda: torch.block_diag(*[block] * (d_model // 2)),
                    "Every (sin, cos) pair turns by its own angle k·ω_i; you "
                    "used the first pair's frequency for all of them.",
                    "每个 (sin, cos) 对按自己的角度 k·ω_i 旋转；你对所有的对都用了第一对的频率。",
                    "one_frequency",
                ),
                (
                    lambda: torch.block_diag(
                        *[
                            torch.tensor(
                                [
                                    [math.sin(k * w), math.cos(k * w)],
                                    [math.cos(k * w), -math.sin(k * w)],
                                ],
                                dtype=torch.float64,
                            )
                            for w in _frequencies(d_model).tolist()
                        ]
                    ),
                    "sin and cos are swapped in the blocks: each block is [[cos kω, −sin kω], [sin "
                    "kω, cos kω]].",
                    "块中的 sin 与 cos 位置反了：每个块是 [[cos kω, −sin kω], [sin kω, cos kω]]。",
                    "sin_cos_swapped",
                ),
                (
                    lambda: torch.block_diag(
                        *[
                            torch.tensor(
                                [
                                    [math.cos(k * w), -math.sin(k * w)],
                                    [math.sin(k * w), math.cos(k * w)],
                                ],
                                dtype=torch.float64,
                            )
                            for w in (
                                10000.0
                                ** (-torch.arange(d_model // 2, dtype=torch.float64) / d_model)
                            ).tolist()
                        ]
                    ),
                    "The frequencies are ω_i = 10000^(−2i/d_model), with i the index of the pair.",
                    "频率是 ω_i = 10000^(−2i/d_model)，i 是“对”的编号。",
                    "wrong_frequencies",
                ),
                (
                    lambda: torch.block_diag(
                        *[
                            torch.tensor(
                                [[math.cos(w), -math.sin(w)], [math.sin(w), math.cos(w)]],
                                dtype=torch.float64,
                            )
                            for w in _frequencies(d_model).tolist()
                        ]
                    ),
                    "The angle is k·ω_i: a shift by k positions turns each pair k times as far as "
                    "a shift by 1.",
                    "角度是 k·ω_i：平移 k 个位置时，每个对转过的角度是平移 1 个位置的 k 倍。",
                    "forgot_k",
                ),
            ],
        )


@exercise("ch06.embed", "Scaled embeddings plus positions", "缩放后的嵌入加上位置编码")
def check_embed(embed, hidden: bool = False) -> None:
    cases = (
        [([[3, 7, 7, 1, 0]], 16, 20), ([[1, 2, 3], [4, 4, 0]], 8, 6), ([[5], [2], [0]], 4, 7)]
        if not hidden
        else [
            ([[2, 9, 4, 4]], 12, 10),
            ([[0, 1], [3, 2], [5, 5]], 6, 8),
            ([[6, 1, 6, 0, 2, 3, 3]], 4, 7),
        ]
    )
    for n, (ids, d_model, vocab) in enumerate(cases):
        g = torch.Generator().manual_seed(6) if n == 0 and not hidden else generator(6 + n, hidden)
        E = torch.randn(vocab, d_model, generator=g, dtype=torch.float64) / math.sqrt(d_model)
        ids = torch.tensor(ids)
        L = ids.shape[1]
        pe = sinusoidal_encoding(L, d_model).to(torch.float64)
        got = embed(ids, E)
        want = E[ids] * math.sqrt(d_model) + pe
        compare(
            got,
            want,
            "input",
            wrong=[
                (
                    lambda: E[ids] + pe,
                    "You forgot to multiply the embeddings by √d_model (the original Transformer "
                    "does, so that "
                    "they are not drowned by the positions).",
                    "忘了把嵌入乘以 √d_model（原始 Transformer 这样做，免得嵌入被位置编码淹没）。",
                    "no_scaling",
                ),
                (
                    lambda: E[ids] + pe * math.sqrt(d_model),
                    "You scaled the positional encoding; scale the token embeddings instead.",
                    "你缩放的是位置编码；应当缩放词元嵌入。",
                    "scaled_positions",
                ),
                (
                    lambda: E[ids] * d_model + pe,
                    "Multiply by √d_model, not by d_model.",
                    "应乘以 √d_model，而不是 d_model。",
                    "multiplied_by_d_model",
                ),
                (
                    lambda: (E[ids] + pe) * math.sqrt(d_model),
                    "Only the embeddings are scaled, then the positions are added.",
                    "只缩放嵌入，然后再加上位置编码。",
                    "scaled_both",
                ),
                (
                    lambda: E[ids] / math.sqrt(d_model) + pe,
                    "Multiply the embeddings by √d_model, do not divide.",
                    "应把嵌入乘以 √d_model，而不是除以。",
                    "divided",
                ),
                (
                    lambda: (
                        E[ids] * math.sqrt(d_model)
                        + sinusoidal_encoding(int(ids.max()) + 1, d_model).to(torch.float64)[ids]
                    ),
                    "You looked the positional encoding up with the token ids: it depends on the "
                    "position 0 … L−1, not on the token.",
                    "你用词元编号去查位置编码：位置编码取决于位置 0 … L−1，而不是词元。",
                    "positions_from_ids",
                ),
                (
                    lambda: (
                        E[ids] * math.sqrt(d_model)
                        + sinusoidal_encoding(L + 1, d_model).to(torch.float64)[1:]
                    ),
                    "Off by one: the first token has position 0.",
                    "差了一位：第一个词元的位置是 0。",
                    "positions_from_one",
                ),
            ],
        )


@exercise("ch06.predict_dot", "Predict PE(pos)·PE(pos + k)", "预测 PE(pos)·PE(pos + k)")
def check_predict_dot(predict_dot, hidden: bool = False) -> None:
    cases = (
        [(0, 16), (1, 16), (2, 16), (5, 16), (10, 16), (3, 8), (7, 4), (20, 2)]
        if not hidden
        else [(0, 8), (1, 12), (4, 12), (9, 6), (15, 16), (2, 2), (30, 10), (6, 4)]
    )
    want = []
    for k, d in cases:
        pe = sinusoidal_encoding(40, d).to(torch.float64)
        want.append(float(pe[3] @ pe[3 + k]))
    predictions(
        predict_dot,
        cases,
        want,
        "predict_dot",
        [
            (
                lambda k, d: 2 * float(torch.cos(k * _frequencies(d)).sum()),
                "Each (sin, cos) pair contributes sin a·sin b + "
                "cos a·cos b = cos(a − b) once: there are d_model/2 terms, not d_model.",
                "每个 (sin, cos) 对贡献一次 sin a·sin b + cos a·cos b = cos(a − b)：共 d_model/2 "
                "项，而不是 d_model 项。",
                "d_model_terms",
            ),
            (
                lambda k, d: float(torch.sin(k * _frequencies(d)).sum()),
                "sin a·sin b + cos a·cos b is cos(a − b), not a sine.",
                "sin a·sin b + cos a·cos b 等于 cos(a − b)，不是正弦。",
                "sine",
            ),
            (
                lambda k, d: float(torch.cos(k * torch.arange(d // 2, dtype=torch.float64)).sum()),
                "The frequencies are ω_i = 10000^(−2i/d_model), not i.",
                "频率是 ω_i = 10000^(−2i/d_model)，而不是 i。",
                "frequencies_i",
            ),
            (
                lambda k, d: d / 2,
                "The dot product depends on k: Σᵢ cos(k·ω_i), which is d_model/2 only for k = 0.",
                "点积与 k 有关：Σᵢ cos(k·ω_i)，只有 k = 0 时才等于 d_model/2。",
                "ignored_k",
            ),
            (
                lambda k, d: float(
                    torch.cos(k * 10000.0 ** (-torch.arange(d // 2, dtype=torch.float64) / d)).sum()
                ),
                "The frequencies are ω_i = 10000^(−2i/d_model), with i the index of the pair.",
                "频率是 ω_i = 10000^(−2i/d_model)，i 是“对”的编号。",
                "exponent_i_over_d",
            ),
            (
                lambda k, d: float(torch.cos(k * _frequencies(d)).mean()),
                "Sum the d_model/2 cosines, do not average them.",
                "应把 d_model/2 个余弦相加，而不是取平均。",
                "averaged",
            ),
        ],
    )
