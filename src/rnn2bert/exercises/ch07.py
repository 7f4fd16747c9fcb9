"""Checks for chapter 07, the full Transformer."""
from __future__ import annotations

import torch
from torch import nn

from ..transformer import EncoderLayer
from .core import compare, exercise


def _x(*shape: int, seed: int = 7) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 3 + 1


def _ln(x: torch.Tensor, dim: int = -1, unbiased: bool = False) -> torch.Tensor:
    mean = x.mean(dim, keepdim=True)
    var = x.var(dim, keepdim=True, unbiased=unbiased)
    return (x - mean) / torch.sqrt(var + 1e-5)


@exercise("ch07.layer_norm", "LayerNorm by hand", "手写 LayerNorm")
def check_layer_norm(layer_norm) -> None:
    x = _x(4, 3, 6)  # (batch, seq_len, d_model)
    compare(layer_norm(x.clone()), _ln(x), "LayerNorm(x)", wrong=[
        (_ln(x, dim=0), "You normalised over the batch axis (that is BatchNorm's axis). LayerNorm normalises the d_model features of each token: dim=-1.",
         "你在批次维度上做了归一化(那是 BatchNorm 的做法)。LayerNorm 对每个词元的 d_model 个特征归一化：dim=-1。"),
        (_ln(x.transpose(0, 1), dim=0).transpose(0, 1), "You normalised over the sequence axis; LayerNorm normalises the features of each token (dim=-1).",
         "你在序列维度上做了归一化；LayerNorm 对每个词元的特征归一化(dim=-1)。"),
        (_ln(x, unbiased=True), "You used the unbiased variance (divide by n−1); LayerNorm divides by n (unbiased=False).",
         "你用了无偏方差(除以 n−1)；LayerNorm 除以 n(unbiased=False)。"),
        (x / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + 1e-5), "You forgot to subtract the mean.", "忘了减去均值。"),
        ((x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, unbiased=False), "Put ε inside the square root: (x − μ) / √(σ² + ε).",
         "ε 应放在平方根里面：(x − μ) / √(σ² + ε)。"),
    ])


@exercise("ch07.pre_ln", "A Pre-LN residual sub-layer", "Pre-LN 残差子层")
def check_pre_ln(pre_ln) -> None:
    x = _x(2, 5, 6, seed=8)
    torch.manual_seed(0)
    f = nn.Sequential(nn.Linear(6, 6), nn.Tanh()).double()
    norm = nn.LayerNorm(6).double()
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        got = pre_ln(x.clone(), f, norm)
        compare(got, x + f(norm(x)), "output", wrong=[
            (norm(x + f(x)), "That is Post-LN, LayerNorm(x + f(x)) (the original paper). Pre-LN normalises the input of f and adds the raw x: x + f(LayerNorm(x)).",
             "这是 Post-LN，即 LayerNorm(x + f(x))(原论文的写法)。Pre-LN 先对 f 的输入做归一化，再加上原始的 x：x + f(LayerNorm(x))。"),
            (f(norm(x)), "You forgot the residual connection: add x back.", "忘了残差连接：要把 x 加回去。"),
            (norm(x) + f(norm(x)), "The residual must carry the raw x, not LayerNorm(x): x + f(LayerNorm(x)).",
             "残差要传递原始的 x，而不是 LayerNorm(x)：x + f(LayerNorm(x))。"),
        ])


@exercise("ch07.feed_forward", "The position-wise feed-forward network", "逐位置前馈网络")
def check_feed_forward(feed_forward) -> None:
    x = _x(2, 4, 6, seed=9)
    g = torch.Generator().manual_seed(10)
    W_1, b_1 = torch.randn(6, 16, generator=g, dtype=torch.float64), torch.randn(16, generator=g, dtype=torch.float64)
    W_2, b_2 = torch.randn(16, 6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    got = feed_forward(x.clone(), W_1, b_1, W_2, b_2)
    compare(got, torch.relu(x @ W_1 + b_1) @ W_2 + b_2, "FFN(x)", wrong=[
        ((x @ W_1 + b_1) @ W_2 + b_2, "You forgot the ReLU: without it two linear layers are just one linear layer.",
         "忘了 ReLU：没有它，两个线性层就等于一个线性层。"),
        (torch.relu((x @ W_1 + b_1) @ W_2 + b_2), "The ReLU goes between the two layers, not after the second.",
         "ReLU 应放在两层之间，而不是第二层之后。"),
        (torch.relu(x @ W_1) @ W_2, "You forgot the biases b_1 and b_2.", "忘了偏置 b_1 和 b_2。"),
    ])


@exercise("ch07.shift_right", "Teacher forcing: the decoder input", "教师强制：解码器的输入")
def check_shift_right(shift_right) -> None:
    target = torch.tensor([[5, 6, 7, 2], [8, 9, 2, 0]])  # 2 = <eos>, 0 = <pad>
    bos = 1
    got = shift_right(target.clone(), bos)
    want = torch.tensor([[1, 5, 6, 7], [1, 8, 9, 2]])
    compare(got, want, "decoder input", wrong=[
        (target, "Not shifted: at position t the decoder would be fed the very token it must predict.",
         "没有右移：位置 t 上解码器会被直接喂入它要预测的那个词元。"),
        (torch.tensor([[6, 7, 2, 1], [9, 2, 0, 1]]), "Shifted the wrong way: put <bos> first and drop the last token.",
         "移反了方向：应把 <bos> 放在最前面，并去掉最后一个词元。"),
    ], shape_hints=[
        ((2, 5), "The decoder input must have the target's length: prepend <bos> and drop the last token.",
         "解码器输入的长度必须与目标相同：在前面加上 <bos>，并去掉最后一个词元。"),
    ])


@exercise("ch07.count_parameters", "Predict the parameters of an encoder layer", "预测编码器层的参数量")
def check_count_parameters(count_parameters) -> None:
    for d_model, h, d_ff in ((512, 8, 2048), (64, 4, 128), (768, 12, 3072)):
        want = sum(p.numel() for p in EncoderLayer(d_model, h, d_ff).parameters())
        got = count_parameters(d_model, h, d_ff)
        attention = 4 * (d_model * d_model + d_model)
        ffn = d_model * d_ff + d_ff + d_ff * d_model + d_model
        compare([got], torch.tensor([float(want)]), f"count_parameters({d_model}, {h}, {d_ff})", wrong=[
            (torch.tensor([float(attention + ffn)]), "You forgot the two LayerNorms: each has a scale and a shift, 2·d_model parameters.",
             "忘了两个 LayerNorm：每个都有缩放和平移参数，共 2·d_model 个。"),
            (torch.tensor([float(attention + 2 * d_model * d_ff + 4 * d_model)]), "You forgot the biases of the feed-forward network (d_ff + d_model).",
             "忘了前馈网络的偏置(d_ff + d_model)。"),
            (torch.tensor([float(h * attention + ffn + 4 * d_model)]), "Heads do not multiply the attention parameters: they split d_model (chapter 05).",
             "头的个数不会让注意力参数成倍增加：各个头是在分割 d_model(第 05 章)。"),
        ])
