"""Checks for chapter 07, the full Transformer."""

from __future__ import annotations

import functools

import torch
from torch import nn

from ..transformer import EncoderLayer
from .core import compare, exercise, generator, predictions, require_graph, require_integer_ids


def _x(*shape: int, seed: int = 7, hidden: bool = False) -> torch.Tensor:
    return torch.randn(*shape, generator=generator(seed, hidden), dtype=torch.float64) * 3 + 1


def _ln(x: torch.Tensor, dim=-1, unbiased: bool = False) -> torch.Tensor:
    mean = x.mean(dim, keepdim=True)
    var = x.var(dim, keepdim=True, unbiased=unbiased)
    return (x - mean) / torch.sqrt(var + 1e-5)


@exercise("ch07.layer_norm", "LayerNorm by hand", "手写 LayerNorm")
def check_layer_norm(layer_norm, hidden: bool = False) -> None:
    cases = [_x(4, 3, 6), _x(2, 2, 3, 4, seed=9), _x(5, 7, seed=8), _x(3, 5, seed=10) * 0.002 + 50]
    if hidden:
        cases = [
            _x(3, 4, 5, hidden=True),
            _x(2, 3, 2, 5, seed=9, hidden=True),
            _x(6, 3, seed=8, hidden=True),
            _x(2, 4, seed=10, hidden=True) * 0.003 - 20,
        ]
    # ... and in float32, where the variance as E[x²] - E[x]² cancels to noise (or below 0)
    cases.append((_x(4, 6, seed=11, hidden=hidden) * 0.01 + 10).float())
    for x in cases:
        mean = x.mean(-1, keepdim=True)
        var = x.var(-1, keepdim=True, unbiased=False)
        got = layer_norm(x)
        # float32 loses digits on the small-variance input; an ε mistake still differs by ~10 %
        single = isinstance(got, torch.Tensor) and got.dtype in (torch.float32, torch.bfloat16)
        compare(
            got,
            _ln(x),
            "LayerNorm(x)",
            atol=2e-3 if single else 1e-5,
            wrong=[
                (
                    lambda: _ln(x, dim=0),
                    "You normalised over the batch axis (that is BatchNorm's axis). LayerNorm "
                    "normalises the "
                    "d_model features of each token: dim=-1.",
                    "你在批次维度上做了归一化（那是 BatchNorm 的做法）。LayerNorm 对每个词元的 "
                    "d_model 个特征归一化：dim=-1。",
                    "batch_axis",
                ),
                (
                    lambda: _ln(x, dim=1),
                    "You normalised over a fixed axis (dim=1, the sequence axis of a 3-D input); "
                    "LayerNorm "
                    "normalises the features of each token, the LAST axis (dim=-1), whatever the "
                    "number of axes.",
                    "你在固定的维度（dim=1，三维输入的序列维度）上做了归一化；LayerNorm "
                    "对每个词元的特征归一化，即最后一维（dim=-1），不论有几维。",
                    "sequence_axis",
                ),
                (
                    lambda: _ln(x, dim=2),
                    "You normalised over a fixed axis (dim=2): that is the last axis only for 3-D "
                    "inputs. "
                    "Use dim=-1.",
                    "你在固定的维度（dim=2）上做了归一化：只有三维输入时它才是最后一维。应使用 "
                    "dim=-1。",
                    "fixed_axis",
                ),
                (
                    lambda: _ln(x, dim=tuple(range(1, x.dim()))),
                    "You normalised each example over all its tokens and features "
                    "together; LayerNorm normalises each token on its own (dim=-1).",
                    "你把每个样本的所有词元和特征放在一起归一化了；LayerNorm "
                    "对每个词元单独归一化（dim=-1）。",
                    "whole_example",
                ),
                (
                    lambda: _ln(x, unbiased=True),
                    "You used the unbiased variance (divide by n−1); LayerNorm divides by n "
                    "(unbiased=False).",
                    "你用了无偏方差（除以 n−1）；LayerNorm 除以 n（unbiased=False）。",
                    "unbiased_variance",
                ),
                (
                    lambda: x / torch.sqrt(var + 1e-5),
                    "You forgot to subtract the mean.",
                    "忘了减去均值。",
                    "no_mean",
                ),
                (
                    lambda: (x - mean) / (x.std(-1, keepdim=True, unbiased=False) + 1e-5),
                    "Put ε inside the square root: (x − μ) / √(σ² + ε).",
                    "ε 应放在平方根里面：(x − μ) / √(σ² + ε)。",
                    "epsilon_outside",
                ),
                (
                    lambda: (x - mean) / x.std(-1, keepdim=True, unbiased=False),
                    "You forgot ε: (x − μ) / √(σ² + ε), with "
                    "ε = 1e-5 (it matters when the variance is small).",
                    "忘了 ε：(x − μ) / √(σ² + ε)，ε = 1e-5（方差很小时它就有影响）。",
                    "no_epsilon",
                ),
                (
                    lambda: (
                        (x - mean) / torch.sqrt((x * x).mean(-1, keepdim=True) - mean**2 + 1e-5)
                        if x.dtype == torch.float32
                        else None
                    ),
                    "In float32 the variance as E[x²] − E[x]² loses its digits when the mean is "
                    "large and the spread small (two large, nearly equal numbers subtracted; the "
                    "result can even fall below 0). Compute it as the mean of (x − μ)².",
                    "在 float32 中，均值大而离散度小时，用 E[x²] − E[x]² 计算方差会丢掉有效数字"
                    "（两个很大且几乎相等的数相减，结果甚至会小于 0）。应计算 (x − μ)² 的均值。",
                    "variance_cancels",
                ),
                (
                    lambda: (x - mean) / (var + 1e-5),
                    "You divided by the variance; divide by its square root, √(σ² + ε).",
                    "你除以了方差；应除以它的平方根 √(σ² + ε)。",
                    "divided_by_variance",
                ),
            ],
        )


@exercise("ch07.pre_ln", "A Pre-LN residual sub-layer", "Pre-LN 残差子层")
def check_pre_ln(pre_ln, hidden: bool = False) -> None:
    shapes = [(2, 5, 6), (3, 4), (1, 2, 3, 8)] if not hidden else [(3, 2, 5), (4, 7), (2, 1, 3, 4)]
    for n, shape in enumerate(shapes):
        x = _x(*shape, seed=8 + n, hidden=hidden)
        if n == 0:
            x[..., -1, :] = 0.0  # a padded position: a row without variance, where LayerNorm's ε
        d = shape[-1]  # keeps the output finite
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(n + (30 if hidden else 0))
            f = nn.Sequential(nn.Linear(d, d), nn.Tanh()).double()
            norm = nn.LayerNorm(d).double()
            with torch.no_grad():
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.5, 0.5)
        got = pre_ln(x, f, norm)
        with torch.no_grad():
            compare(
                got,
                x + f(norm(x)),
                "output",
                wrong=[
                    (
                        lambda: norm(x + f(x)),
                        "That is Post-LN, LayerNorm(x + f(x)) (the original paper). Pre-LN "
                        "normalises the "
                        "input of f and adds the raw x: x + f(LayerNorm(x)).",
                        "这是 Post-LN，即 LayerNorm(x + f(x))（原论文的写法）。Pre-LN 先对 f "
                        "的输入做归一化，再加上原始的 x：x + f(LayerNorm(x))。",
                        "post_ln",
                    ),
                    (
                        lambda: f(norm(x)),
                        "You forgot the residual connection: add x back.",
                        "忘了残差连接：要把 x 加回去。",
                        "no_residual",
                    ),
                    (
                        lambda: norm(x) + f(norm(x)),
                        "The residual must carry the raw x, not LayerNorm(x): x + f(LayerNorm(x)).",
                        "残差要传递原始的 x，而不是 LayerNorm(x)：x + f(LayerNorm(x))。",
                        "normalised_residual",
                    ),
                    (
                        lambda: x + norm(f(x)),
                        "You normalised the OUTPUT of f; Pre-LN normalises its input: x + "
                        "f(LayerNorm(x)).",
                        "你归一化的是 f 的输出；Pre-LN 归一化的是 f 的输入：x + f(LayerNorm(x))。",
                        "normalised_output",
                    ),
                    (
                        lambda: x + f(x),
                        "You forgot the LayerNorm: x + f(LayerNorm(x)).",
                        "忘了 LayerNorm：x + f(LayerNorm(x))。",
                        "no_norm",
                    ),
                    (
                        lambda: norm(x + f(norm(x))),
                        "One LayerNorm too many: Pre-LN leaves the sum x + f(LayerNorm(x)) "
                        "unnormalised (a final LayerNorm comes once, after the last layer).",
                        "多了一个 LayerNorm：Pre-LN 不对和 x + f(LayerNorm(x)) 做归一化（最后的 "
                        "LayerNorm 只在最后一层之后出现一次）。",
                        "extra_norm",
                    ),
                ],
            )
        require_graph(got, "the output")


@exercise("ch07.feed_forward", "The position-wise feed-forward network", "逐位置前馈网络")
def check_feed_forward(feed_forward, hidden: bool = False) -> None:
    shapes = (
        [((2, 4, 6), 16), ((5, 3), 7), ((1, 1, 2), 3)]
        if not hidden
        else [((3, 2, 4), 10), ((6, 5), 4), ((2, 1, 3), 8)]
    )
    for n, (shape, d_ff) in enumerate(shapes):
        x = _x(*shape, seed=9 + n, hidden=hidden)
        d = shape[-1]
        g = generator(10 + n, hidden) if n or hidden else torch.Generator().manual_seed(10)
        W_1, b_1 = (
            torch.randn(d, d_ff, generator=g, dtype=torch.float64),
            torch.randn(d_ff, generator=g, dtype=torch.float64),
        )
        W_2, b_2 = (
            torch.randn(d_ff, d, generator=g, dtype=torch.float64),
            torch.randn(d, generator=g, dtype=torch.float64),
        )
        # weights that require gradients, as a layer's do: the output must keep its graph
        got = feed_forward(x, *(w.requires_grad_() for w in (W_1, b_1, W_2, b_2)))
        W_1, b_1, W_2, b_2 = (w.detach() for w in (W_1, b_1, W_2, b_2))
        hidden_layer = x @ W_1 + b_1
        compare(
            got,
            torch.relu(hidden_layer) @ W_2 + b_2,
            "FFN(x)",
            wrong=[
                (
                    lambda: hidden_layer @ W_2 + b_2,
                    "You forgot the ReLU: without it two linear layers are just one linear layer.",
                    "忘了 ReLU：没有它，两个线性层就等于一个线性层。",
                    "no_relu",
                ),
                (
                    lambda: torch.relu(hidden_layer @ W_2 + b_2),
                    "The ReLU goes between the two layers, not after the second.",
                    "ReLU 应放在两层之间，而不是第二层之后。",
                    "relu_after_second",
                ),
                (
                    lambda: torch.relu(x @ W_1) @ W_2,
                    "You forgot the biases b_1 and b_2.",
                    "忘了偏置 b_1 和 b_2。",
                    "no_biases",
                ),
                (
                    lambda: torch.relu(x @ W_1) @ W_2 + b_2,
                    "You forgot the bias b_1 (inside the ReLU).",
                    "忘了偏置 b_1（在 ReLU 里面）。",
                    "no_b1",
                ),
                (
                    lambda: torch.relu(hidden_layer) @ W_2,
                    "You forgot the bias b_2.",
                    "忘了偏置 b_2。",
                    "no_b2",
                ),
                (
                    lambda: (torch.relu(x @ W_1) + b_1) @ W_2 + b_2,
                    "b_1 goes inside the ReLU: ReLU(x W_1 + b_1).",
                    "b_1 应在 ReLU 里面：ReLU(x W_1 + b_1)。",
                    "b1_outside_relu",
                ),
                (
                    lambda: torch.nn.functional.gelu(hidden_layer) @ W_2 + b_2,
                    "That is GELU (BERT's choice); the original Transformer's FFN uses ReLU.",
                    "这是 GELU（BERT 的选择）；原始 Transformer 的前馈网络用的是 ReLU。",
                    "gelu",
                ),
            ],
        )
        require_graph(got, "FFN(x)")


@exercise("ch07.shift_right", "Teacher forcing: the decoder input", "教师强制：解码器的输入")
def check_shift_right(shift_right, hidden: bool = False) -> None:
    cases = (
        [
            ([[5, 6, 7, 2], [8, 9, 2, 0]], 1),
            ([[4, 3, 3, 6, 2], [7, 2, 0, 0, 0], [9, 9, 8, 8, 2]], 3),
            ([[2], [5]], 0),
            ([[11, 12, 2]], 10),
        ]
        if not hidden
        else [
            ([[6, 4, 2], [3, 2, 0]], 5),
            ([[8, 9, 10, 11, 2, 0]], 1),
            ([[7], [2], [4]], 12),
            ([[3, 3, 2, 0]], 0),
        ]
    )
    for target, bos in cases:
        target = torch.tensor(target)
        B = target.shape[0]
        got = shift_right(target, bos)
        start = torch.full((B, 1), bos)
        want = torch.cat([start, target[:, :-1]], 1)
        compare(
            got,
            want,
            f"decoder input (bos={bos})",
            wrong=[
                (
                    target,
                    "Not shifted: at position t the decoder would be fed the very token it must "
                    "predict.",
                    "没有右移：位置 t 上解码器会被直接喂入它要预测的那个词元。",
                    "not_shifted",
                ),
                (
                    torch.cat([target[:, 1:], start], 1),
                    "Shifted the wrong way: put <bos> first and drop the last token.",
                    "移反了方向：应把 <bos> 放在最前面，并去掉最后一个词元。",
                    "wrong_way",
                ),
                (
                    torch.cat([torch.full((B, 1), 1), target[:, :-1]], 1) if bos != 1 else None,
                    "You wrote the id 1 for <bos>: use "
                    "the bos argument (its id depends on the vocabulary).",
                    "你把 <bos> 写成了编号 1：应使用参数 bos（它的编号取决于词表）。",
                    "hard_coded_bos",
                ),
                (
                    torch.cat([start, target[:, 1:]], 1),
                    "You dropped (or overwrote) the FIRST target token: shift the whole target "
                    "right by one, dropping the last token.",
                    "你去掉（或覆盖）了目标的第一个词元：应把整个目标右移一位，去掉最后一个词元。",
                    "dropped_first",
                ),
                (
                    target.roll(1, 1),
                    "The last token wrapped around to the front: the first position gets <bos>.",
                    "最后一个词元绕到了最前面：第一个位置应是 <bos>。",
                    "wrapped_around",
                ),
            ],
            shape_hints=[
                (
                    (B, target.shape[1] + 1),
                    "The decoder input must have the target's length: prepend <bos> and drop the "
                    "last "
                    "token.",
                    "解码器输入的长度必须与目标相同：在前面加上 <bos>，并去掉最后一个词元。",
                    "one_too_long",
                ),
            ],
        )
        require_integer_ids(got, "the decoder input")


@functools.lru_cache(maxsize=None)
def _encoder_layer_parameters(d_model: int, h: int, d_ff: int) -> int:
    """Counted on a real layer, built once (on the meta device: no memory, no time)."""
    with torch.device("meta"):
        return sum(p.numel() for p in EncoderLayer(d_model, h, d_ff).parameters())


@exercise(
    "ch07.count_parameters", "Predict the parameters of an encoder layer", "预测编码器层的参数量"
)
def check_count_parameters(count_parameters, hidden: bool = False) -> None:
    cases = (
        [(512, 8, 2048), (64, 4, 128), (768, 12, 3072), (6, 2, 10), (4, 1, 4)]
        if not hidden
        else [(256, 4, 1024), (32, 8, 64), (1024, 16, 4096), (8, 2, 3), (10, 5, 30)]
    )
    want = [_encoder_layer_parameters(d, h, f) for d, h, f in cases]

    def attention(d):
        return 4 * (d * d + d)

    def ffn(d, f):
        return d * f + f + f * d + d

    predictions(
        count_parameters,
        cases,
        want,
        "count_parameters",
        [
            (
                lambda d, h, f: attention(d) + ffn(d, f),
                "You forgot the two LayerNorms: each has a scale and a shift, "
                "2·d_model parameters.",
                "忘了两个 LayerNorm：每个都有缩放和平移参数，共 2·d_model 个。",
                "no_layer_norms",
            ),
            (
                lambda d, h, f: attention(d) + 2 * d * f + 4 * d,
                "You forgot the biases of the feed-forward network (d_ff + d_model).",
                "忘了前馈网络的偏置（d_ff + d_model）。",
                "no_ffn_biases",
            ),
            (
                lambda d, h, f: h * attention(d) + ffn(d, f) + 4 * d,
                "Heads do not multiply the attention parameters: they split d_model (chapter 05).",
                "头的个数不会让注意力参数成倍增加：各个头是在分割 d_model（第 05 章）。",
                "heads_multiply",
            ),
            (
                lambda d, h, f: attention(d) + ffn(d, f) + 2 * d,
                "There are TWO LayerNorms (one per sub-layer), 2·d_model each.",
                "有两个 LayerNorm（每个子层一个），每个 2·d_model 个参数。",
                "one_layer_norm",
            ),
            (
                lambda d, h, f: 4 * d * d + 2 * d * f,
                "You forgot the biases and the LayerNorms.",
                "忘了偏置和 LayerNorm。",
                "no_biases",
            ),
            (
                lambda d, h, f: 3 * (d * d + d) + ffn(d, f) + 4 * d,
                "You forgot the output projection W_o of the attention.",
                "忘了注意力的输出投影 W_o。",
                "no_output_projection",
            ),
            (
                lambda d, h, f: attention(d) + 2 * (d * f + f) + 4 * d,
                "The two FFN layers have different biases: d_ff for the "
                "first, d_model for the second.",
                "前馈网络两层的偏置个数不同：第一层 d_ff 个，第二层 d_model 个。",
                "ffn_biases",
            ),
        ],
    )
