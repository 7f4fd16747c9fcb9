"""Checks for chapter 01, why not RNNs."""
from __future__ import annotations

import math

import torch
from torch import nn

from .core import compare, exercise

B, L, D_IN, D_H = 2, 6, 3, 4


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _weights(seed: int = 1):
    g = _gen(seed)
    W_x = torch.randn(D_IN, D_H, generator=g) / math.sqrt(D_IN)
    W_h = torch.randn(D_H, D_H, generator=g) / math.sqrt(D_H)
    b = torch.randn(D_H, generator=g) / 2
    return W_x, W_h, b


def _run(x, W_x, W_h, b, *, act=torch.tanh, feed_back=True, transpose_h=False):
    """The recurrence over x (B, L, d_in) and its classic variants; returns h_0 … h_L, (B, L + 1, d_h)."""
    W = W_h.T if transpose_h else W_h
    h = torch.zeros(x.shape[0], W_h.shape[0], dtype=x.dtype)
    states = [h]
    for t in range(x.shape[1]):
        h = act(x[:, t] @ W_x + (h @ W if feed_back else 0) + b)
        states.append(h)
    return torch.stack(states, dim=1)


@exercise("ch01.rnn_step", "One step of a tanh RNN", "tanh RNN 的一步")
def check_rnn_step(rnn_step) -> None:
    W_x, W_h, b = _weights()
    g = _gen(2)
    x_t = torch.randn(B, D_IN, generator=g)
    h_prev = torch.randn(B, D_H, generator=g)
    got = rnn_step(x_t.clone(), h_prev.clone(), W_x, W_h, b)
    want = torch.tanh(x_t @ W_x + h_prev @ W_h + b)
    compare(got, want, "h_t", wrong=[
        (x_t @ W_x + h_prev @ W_h + b, "You forgot the tanh: without it the RNN is linear, and its state can grow without bound.",
         "忘了 tanh：没有它，RNN 就是线性的，状态可能无限增长。"),
        (torch.tanh(x_t @ W_x + h_prev @ W_h.T + b), "W_h is transposed: the book writes vectors as rows, so it is h_{t−1} @ W_h "
         "(nn.RNN stores the transpose, weight_hh).",
         "W_h 被转置了：本书把向量写成行，所以应是 h_{t−1} @ W_h(nn.RNN 存的 weight_hh 才是转置)。"),
        (torch.tanh(x_t @ W_x + h_prev @ W_h), "You forgot the bias b.", "忘了偏置 b。"),
        (torch.sigmoid(x_t @ W_x + h_prev @ W_h + b), "A sigmoid instead of tanh: the Elman RNN (and nn.RNN) uses tanh.",
         "用了 sigmoid 而不是 tanh：Elman RNN(以及 nn.RNN)用的是 tanh。"),
        (torch.tanh(x_t @ W_x + b) + h_prev @ W_h, "The tanh must wrap the whole sum, h_{t−1} W_h included.",
         "tanh 要作用在整个和上，包括 h_{t−1} W_h。"),
    ])


@exercise("ch01.rnn_forward", "The whole RNN, checked against nn.RNN", "完整的 RNN，与 nn.RNN 对照")
def check_rnn_forward(rnn_forward) -> None:
    with torch.random.fork_rng(devices=[]):   # leave the student's random state alone
        torch.manual_seed(0)
        reference = nn.RNN(D_IN, D_H, batch_first=True)
    W_x = reference.weight_ih_l0.detach().T.clone()
    W_h = reference.weight_hh_l0.detach().T.clone()
    b = (reference.bias_ih_l0 + reference.bias_hh_l0).detach().clone()
    x = torch.randn(B, L, D_IN, generator=_gen(3))
    got = rnn_forward(x.clone(), W_x, W_h, b)
    with torch.no_grad():
        want, _ = reference(x)
    compare(got, want, "states", wrong=[
        (_run(x, W_x, W_h, b, feed_back=False)[:, 1:], "Each step ignores the previous state: feed h_{t−1} back in "
         "(h = tanh(x_t W_x + h W_h + b), with h carried over from the step before).",
         "每一步都没有用上一步的状态：要把 h_{t−1} 送回来(h = tanh(x_t W_x + h W_h + b)，h 从上一步带过来)。"),
        (_run(x, W_x, W_h, b)[:, :-1], "Off by one: you returned h_0 … h_{L−1}. Return the states after each token, h_1 … h_L "
         "(the zero start state is not an output).",
         "差了一位(off by one)：你返回的是 h_0 … h_{L−1}。应返回读完每个词元之后的状态 h_1 … h_L(初始的零状态不是输出)。"),
        (_run(x, W_x, W_h, b, transpose_h=True)[:, 1:], "W_h is transposed: use h @ W_h with the matrices as given.",
         "W_h 被转置了：按给定的矩阵计算 h @ W_h。"),
        (_run(x, W_x, W_h, b, act=lambda z: z)[:, 1:], "You forgot the tanh.", "忘了 tanh。"),
    ], shape_hints=[
        ((B, D_H), "You returned only the last state h_L, shape (B, d_h); return every state, (B, L, d_h).",
         "你只返回了最后的状态 h_L，形状为 (B, d_h)；应返回所有状态，(B, L, d_h)。"),
        ((B, L + 1, D_H), "You returned L + 1 states: drop the zero start state h_0.",
         "你返回了 L + 1 个状态：去掉初始的零状态 h_0。"),
        ((L, B, D_H), "Shape (L, B, d_h): stack the states along dim=1 to get (B, L, d_h).",
         "形状是 (L, B, d_h)：应沿 dim=1 堆叠，得到 (B, L, d_h)。"),
    ])


def _autograd_factor(w: float, n: int) -> float:
    """d h_n / d h_0 for the scalar linear RNN h_t = w h_{t−1} + x_t, by autograd."""
    h0 = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    h = h0
    xs = torch.randn(n, generator=_gen(n), dtype=torch.float64)
    for x_t in xs:
        h = w * h + x_t
    (grad,) = torch.autograd.grad(h, h0)
    return float(grad)


@exercise("ch01.gradient_factor", "Predict the gradient through n steps", "预测经过 n 步之后的梯度")
def check_gradient_factor(gradient_factor) -> None:
    cases = [(0.5, 10), (2.0, 3), (0.9, 50), (1.1, 50), (-0.8, 5)]
    got = [gradient_factor(w, n) for w, n in cases]
    want = torch.tensor([_autograd_factor(w, n) for w, n in cases], dtype=torch.float64)
    compare(got, want, "gradient_factor", wrong=[
        (torch.tensor([w * n for w, n in cases]), "The chain rule *multiplies* one factor w per step: w·w·…·w = wⁿ, not w·n.",
         "链式法则每一步*乘*一个因子 w：w·w·…·w = wⁿ，而不是 w·n。"),
        (torch.tensor([w ** (n - 1) for w, n in cases]), "Off by one: n steps from h_0 to h_n give n factors of w, wⁿ.",
         "差了一位(off by one)：从 h_0 到 h_n 共 n 步，有 n 个因子 w，即 wⁿ。"),
        (torch.tensor([w ** (n + 1) for w, n in cases]), "Off by one: n steps from h_0 to h_n give n factors of w, wⁿ.",
         "差了一位(off by one)：从 h_0 到 h_n 共 n 步，有 n 个因子 w，即 wⁿ。"),
        (torch.tensor([n * w ** (n - 1) for w, n in cases]), "n·wⁿ⁻¹ is the derivative of wⁿ with respect to w. "
         "The question asks for ∂h_n/∂h_0, with w fixed.",
         "n·wⁿ⁻¹ 是 wⁿ 对 w 的导数。题目问的是 w 固定时的 ∂h_n/∂h_0。"),
    ])


def _measured_receptive_field(num_layers: int, kernel_size: int) -> int:
    """How many input positions reach one output of a stack of convolutions (nonzero gradient)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(num_layers * 10 + kernel_size)
        convs = [nn.Conv1d(2, 2, kernel_size).double() for _ in range(num_layers)]
    x = torch.randn(1, 2, num_layers * (kernel_size - 1) + 6, generator=_gen(kernel_size), dtype=torch.float64,
                    requires_grad=True)
    h = x
    for conv in convs:
        h = torch.tanh(conv(h))
    h[0, :, 0].sum().backward()
    return int((x.grad[0].abs().sum(0) > 0).sum())


@exercise("ch01.receptive_field", "Predict the receptive field of stacked convolutions", "预测堆叠卷积的感受野")
def check_receptive_field(receptive_field) -> None:
    cases = [(1, 3), (4, 3), (3, 5), (6, 2), (2, 7)]
    got = [receptive_field(n, k) for n, k in cases]
    want = torch.tensor([float(_measured_receptive_field(n, k)) for n, k in cases])
    compare(got, want, "receptive_field", wrong=[
        (torch.tensor([float(n * k) for n, k in cases]), "L·k counts the shared positions twice: each further layer adds only k − 1 "
         "new positions, so 1 + L(k − 1).",
         "L·k 把重叠的位置重复计算了：每多一层只新增 k − 1 个位置，所以是 1 + L(k − 1)。"),
        (torch.tensor([float(n * (k - 1)) for n, k in cases]), "Off by one: L(k − 1) forgets the centre position itself; it is 1 + L(k − 1).",
         "差了一位(off by one)：L(k − 1) 漏掉了中心位置本身，应为 1 + L(k − 1)。"),
        (torch.tensor([float(k ** n) for n, k in cases]), "The window grows additively, by k − 1 per layer, not multiplicatively (kᴸ).",
         "窗口是按加法增长的，每层加 k − 1，而不是按乘法(kᴸ)。"),
    ])


@exercise("ch01.layers_to_connect", "Predict how many layers connect two words", "预测需要几层才能联系两个词")
def check_layers_to_connect(layers_to_connect) -> None:
    cases = [(10, 3), (9, 3), (64, 5), (7, 4), (1, 3)]
    want = []
    for n, k in cases:  # the fewest layers whose receptive field 1 + L(k − 1) spans n + 1 positions
        layers = 0
        while 1 + layers * (k - 1) < n + 1:
            layers += 1
        want.append(float(layers))
    got = [layers_to_connect(n, k) for n, k in cases]
    compare(got, torch.tensor(want), "layers_to_connect", wrong=[
        (torch.tensor([float(math.ceil(n / k)) for n, k in cases]), "Each layer widens the window by k − 1, not by k: "
         "you need 1 + L(k − 1) ≥ n + 1, so L = ⌈n / (k − 1)⌉.",
         "每层只把窗口加宽 k − 1，而不是 k：需要 1 + L(k − 1) ≥ n + 1，所以 L = ⌈n / (k − 1)⌉。"),
        (torch.tensor([float(n // (k - 1)) for n, k in cases]), "Rounded down: when k − 1 does not divide n, one more layer is needed "
         "(round up, ⌈n / (k − 1)⌉).",
         "向下取整了：k − 1 不能整除 n 时还需要多一层(应向上取整，⌈n / (k − 1)⌉)。"),
        (torch.tensor([float(n) for n, k in cases]), "That is the RNN's answer (one step per position). A convolution layer "
         "covers k − 1 new positions at once.",
         "这是 RNN 的答案(每个位置一步)。一层卷积一次就能覆盖 k − 1 个新位置。"),
    ])
