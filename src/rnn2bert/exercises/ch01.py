"""Checks for chapter 01, why not RNNs."""

from __future__ import annotations

import math

import torch
from torch import nn

from .core import compare, exercise, generator, predictions

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
    """The recurrence over x (B, L, d_in) and its classic variants; returns h_0 … h_L,
    (B, L + 1, d_h)."""
    W = W_h.T if transpose_h else W_h
    h = torch.zeros(x.shape[0], W_h.shape[0], dtype=x.dtype)
    states = [h]
    for t in range(x.shape[1]):
        h = act(x[:, t] @ W_x + (h @ W if feed_back else 0) + b)
        states.append(h)
    return torch.stack(states, dim=1)


@exercise("ch01.rnn_step", "One step of a tanh RNN", "tanh RNN 的一步")
def check_rnn_step(rnn_step, hidden: bool = False) -> None:
    shapes = (
        [(B, D_IN, D_H), (1, 5, 3), (4, 2, 6)] if not hidden else [(3, 4, 5), (2, 1, 2), (5, 6, 4)]
    )
    for n, (batch, d_in, d_h) in enumerate(shapes):
        g = generator(2 + n, hidden)
        if n == 0 and not hidden:
            W_x, W_h, b = _weights()
            g = _gen(2)
        else:
            W_x = torch.randn(d_in, d_h, generator=g) / math.sqrt(d_in)
            W_h = torch.randn(d_h, d_h, generator=g)
            b = torch.randn(d_h, generator=g)
        x_t = torch.randn(batch, d_in, generator=g) * (1 if n == 0 else 2)
        h_prev = torch.randn(batch, d_h, generator=g)
        got = rnn_step(x_t, h_prev, W_x, W_h, b)
        z = x_t @ W_x + h_prev @ W_h + b
        compare(
            got,
            torch.tanh(z),
            "h_t",
            wrong=[
                (
                    z,
                    "You forgot the tanh: without it the RNN is linear, and its state can grow "
                    "without bound.",
                    "忘了 tanh：没有它，RNN 就是线性的，状态可能无限增长。",
                    "no_tanh",
                ),
                (
                    lambda: torch.tanh(x_t @ W_x + h_prev @ W_h.T + b),
                    "W_h is transposed: the book writes vectors as rows, so it is "
                    "h_{t−1} @ W_h (nn.RNN stores the transpose, weight_hh).",
                    "W_h 被转置了：本书把向量写成行，所以应是 h_{t−1} @ W_h（nn.RNN 存的 weight_hh "
                    "才是转置）。",
                    "transposed_W_h",
                ),
                (torch.tanh(z - b), "You forgot the bias b.", "忘了偏置 b。", "no_bias"),
                (
                    torch.sigmoid(z),
                    "A sigmoid instead of tanh: the Elman RNN (and nn.RNN) uses tanh.",
                    "用了 sigmoid 而不是 tanh：Elman RNN（以及 nn.RNN）用的是 tanh。",
                    "sigmoid",
                ),
                (
                    torch.relu(z),
                    "A ReLU instead of tanh: the Elman RNN (and nn.RNN by default) uses tanh.",
                    "用了 ReLU 而不是 tanh：Elman RNN（以及默认的 nn.RNN）用的是 tanh。",
                    "relu",
                ),
                (
                    torch.tanh(x_t @ W_x + b) + h_prev @ W_h,
                    "The tanh must wrap the whole sum, h_{t−1} W_h included.",
                    "tanh 要作用在整个和上，包括 h_{t−1} W_h。",
                    "tanh_not_around_sum",
                ),
                (
                    torch.tanh(x_t @ W_x + h_prev @ W_h) + b,
                    "The bias goes inside the tanh: tanh(x_t W_x + h_{t−1} W_h + b).",
                    "偏置应在 tanh 里面：tanh(x_t W_x + h_{t−1} W_h + b)。",
                    "bias_outside_tanh",
                ),
                (
                    torch.tanh(x_t @ W_x + b),
                    "You ignored the previous state: add h_{t−1} W_h inside the tanh.",
                    "你忽略了上一步的状态：要在 tanh 里加上 h_{t−1} W_h。",
                    "no_previous_state",
                ),
            ],
        )


@exercise("ch01.rnn_forward", "The whole RNN, checked against nn.RNN", "完整的 RNN，与 nn.RNN 对照")
def check_rnn_forward(rnn_forward, hidden: bool = False) -> None:
    shapes = (
        [(B, L, D_IN, D_H), (3, 1, 2, 5), (1, 9, 4, 3)]
        if not hidden
        else [(4, 7, 2, 3), (2, 1, 5, 4), (3, 12, 3, 2)]
    )
    for n, (batch, length, d_in, d_h) in enumerate(shapes):
        with torch.random.fork_rng(devices=[]):  # leave the student's random state alone
            torch.manual_seed(n + (100 if hidden else 0))
            reference = nn.RNN(d_in, d_h, batch_first=True)
        W_x = reference.weight_ih_l0.detach().T.clone()
        W_h = reference.weight_hh_l0.detach().T.clone()
        b = (reference.bias_ih_l0 + reference.bias_hh_l0).detach().clone()
        x = (
            torch.randn(
                batch,
                length,
                d_in,
                generator=_gen(3) if n == 0 and not hidden else generator(3 + n, hidden),
            )
            * 2
        )
        got = rnn_forward(x, W_x, W_h, b)
        with torch.no_grad():
            want, _ = reference(x)
        compare(
            got,
            want,
            "states",
            wrong=[
                (
                    lambda: _run(x, W_x, W_h, b, feed_back=False)[:, 1:],
                    "Each step ignores the previous state: feed h_{t−1} back in "
                    "(h = tanh(x_t W_x + h W_h + b), with h carried over from the step before).",
                    "每一步都没有用上一步的状态：要把 h_{t−1} 送回来（h = tanh(x_t W_x + h W_h + "
                    "b)，h 从上一步带过来）。",
                    "no_feedback",
                ),
                (
                    lambda: _run(x, W_x, W_h, b)[:, :-1],
                    "Off by one: you returned h_0 … h_{L−1}. Return the states after each token, "
                    "h_1 … h_L (the zero start state is not an output).",
                    "差了一位（off by one）：你返回的是 h_0 … h_{L−1}。"
                    "应返回读完每个词元之后的状态 "
                    "h_1 … h_L（初始的零状态不是输出）。",
                    "off_by_one",
                ),
                (
                    lambda: _run(x, W_x, W_h, b, transpose_h=True)[:, 1:],
                    "W_h is transposed: use h @ W_h with the matrices as given.",
                    "W_h 被转置了：按给定的矩阵计算 h @ W_h。",
                    "transposed_W_h",
                ),
                (
                    lambda: _run(x, W_x, W_h, b, act=lambda z: z)[:, 1:],
                    "You forgot the tanh.",
                    "忘了 tanh。",
                    "no_tanh",
                ),
                (
                    lambda: _run(x[:, :1].expand_as(x), W_x, W_h, b)[:, 1:],
                    "Every step read the first token: step t must read x[:, t].",
                    "每一步读的都是第一个词元：第 t 步应读 x[:, t]。",
                    "same_token",
                ),
                (
                    lambda: _run(x.flip(1), W_x, W_h, b)[:, 1:],
                    "You read the sequence backwards: start at x[:, 0].",
                    "你把序列倒着读了：应从 x[:, 0] 开始。",
                    "reversed",
                ),
                (
                    lambda: _run(x, W_x, W_h, b)[:, -1:].expand(-1, length, -1),
                    "Every state is the last one: the list holds the same tensor L times, changed "
                    "in place (h[:] = …, h.copy_(…)); make a new h each step (h = torch.tanh(…)).",
                    "每个状态都等于最后一个：列表里是同一个张量 L 次，它被原地修改了（h[:] = …、"
                    "h.copy_(…)）；每一步都新建 h（h = torch.tanh(…)）。",
                    "same_tensor_every_step",
                ),
                (
                    lambda: _run(x, W_x, W_h, b)[:, 1:].transpose(0, 1).reshape(batch, length, d_h),
                    "You stacked the states along dim=0, shape (L, B, d_h), and reshaped that to "
                    "(B, L, d_h): reshape does not swap axes and mixes the sequences. Stack along "
                    "dim=1 (or transpose).",
                    "你沿 dim=0 堆叠（形状 (L, B, d_h)），再 reshape 成 (B, L, d_h)：reshape "
                    "不会交换维度，会把不同序列混在一起。应沿 dim=1 堆叠（或用 transpose）。",
                    "reshaped_not_transposed",
                ),
                (
                    lambda: _run(x, W_x, W_h, b)[:, 1:].flip(1),
                    "The states are in reverse order: h_1 first, h_L last.",
                    "状态的顺序反了：h_1 在前，h_L 在后。",
                    "reversed_states",
                ),
            ],
            shape_hints=[
                (
                    (batch, d_h),
                    "You returned only the last state h_L, shape (B, d_h); return every state, (B, "
                    "L, d_h).",
                    "你只返回了最后的状态 h_L，形状为 (B, d_h)；应返回所有状态，(B, L, d_h)。",
                    "only_last_state",
                ),
                (
                    (batch, length + 1, d_h),
                    "You returned L + 1 states: drop the zero start state h_0.",
                    "你返回了 L + 1 个状态：去掉初始的零状态 h_0。",
                    "L_plus_1_states",
                ),
                (
                    (length, batch, d_h),
                    "Shape (L, B, d_h): stack the states along dim=1 to get (B, L, d_h).",
                    "形状是 (L, B, d_h)：应沿 dim=1 堆叠，得到 (B, L, d_h)。",
                    "time_first",
                ),
            ],
        )


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
def check_gradient_factor(gradient_factor, hidden: bool = False) -> None:
    cases = (
        [(0.5, 10), (2.0, 3), (0.9, 50), (1.1, 50), (-0.8, 5), (0.7, 1), (-1.5, 4), (1.0, 7)]
        if not hidden
        else [(0.6, 8), (3.0, 2), (0.95, 30), (1.2, 20), (-0.5, 7), (1.7, 1), (-2.0, 6), (0.3, 4)]
    )
    predictions(
        gradient_factor,
        cases,
        [_autograd_factor(w, n) for w, n in cases],
        "gradient_factor",
        rtol=1e-5,  # a float32 wⁿ is right too
        wrong=[
            (
                lambda w, n: w * n,
                "The chain rule *multiplies* one factor w per step: w·w·…·w = wⁿ, not w·n.",
                "链式法则每一步*乘*一个因子 w：w·w·…·w = wⁿ，而不是 w·n。",
                "w_times_n",
            ),
            (
                lambda w, n: w ** (n - 1),
                "Off by one: n steps from h_0 to h_n give n factors of w, wⁿ.",
                "差了一位（off by one）：从 h_0 到 h_n 共 n 步，有 n 个因子 w，即 wⁿ。",
                "off_by_one",
            ),
            (
                lambda w, n: w ** (n + 1),
                "Off by one: n steps from h_0 to h_n give n factors of w, wⁿ.",
                "差了一位（off by one）：从 h_0 到 h_n 共 n 步，有 n 个因子 w，即 wⁿ。",
                "off_by_one",
            ),
            (
                lambda w, n: n * w ** (n - 1),
                "n·wⁿ⁻¹ is the derivative of wⁿ with respect to w. "
                "The question asks for ∂h_n/∂h_0, with w fixed.",
                "n·wⁿ⁻¹ 是 wⁿ 对 w 的导数。题目问的是 w 固定时的 ∂h_n/∂h_0。",
                "derivative_in_w",
            ),
            (
                lambda w, n: abs(w) ** n,
                "You lost the sign: for a negative w the factor alternates in sign, wⁿ, not |w|ⁿ.",
                "符号丢了：w 为负时因子的符号交替变化，应为 wⁿ，而不是 |w|ⁿ。",
                "lost_sign",
            ),
            (
                lambda w, n: w**2 * n,
                "The factors multiply: wⁿ.",
                "各步的因子相乘：wⁿ。",
                "w2_times_n",
            ),
        ],
    )


def _measured_receptive_field(num_layers: int, kernel_size: int) -> int:
    """How many input positions reach one output of a stack of convolutions (nonzero gradient)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(num_layers * 10 + kernel_size)
        convs = [nn.Conv1d(2, 2, kernel_size).double() for _ in range(num_layers)]
    x = torch.randn(
        1,
        2,
        num_layers * (kernel_size - 1) + 6,
        generator=_gen(kernel_size),
        dtype=torch.float64,
        requires_grad=True,
    )
    h = x
    for conv in convs:
        h = torch.tanh(conv(h))
    h[0, :, 0].sum().backward()
    return int((x.grad[0].abs().sum(0) > 0).sum())


@exercise(
    "ch01.receptive_field",
    "Predict the receptive field of stacked convolutions",
    "预测堆叠卷积的感受野",
)
def check_receptive_field(receptive_field, hidden: bool = False) -> None:
    cases = (
        [(1, 3), (4, 3), (3, 5), (6, 2), (2, 7), (5, 1)]
        if not hidden
        else [(2, 3), (5, 4), (1, 6), (7, 2), (3, 9), (4, 1)]
    )
    predictions(
        receptive_field,
        cases,
        [_measured_receptive_field(n, k) for n, k in cases],
        "receptive_field",
        [
            (
                lambda n, k: n * k,
                "L·k counts the shared positions twice: each further layer adds only k − 1 new "
                "positions, "
                "so 1 + L(k − 1).",
                "L·k 把重叠的位置重复计算了：每多一层只新增 k − 1 个位置，所以是 1 + L(k − 1)。",
                "L_times_k",
            ),
            (
                lambda n, k: n * (k - 1),
                "Off by one: L(k − 1) forgets the centre position itself; it is 1 + L(k − 1).",
                "差了一位（off by one）：L(k − 1) 漏掉了中心位置本身，应为 1 + L(k − 1)。",
                "off_by_one",
            ),
            (
                lambda n, k: k**n,
                "The window grows additively, by k − 1 per layer, not multiplicatively (kᴸ).",
                "窗口是按加法增长的，每层加 k − 1，而不是按乘法（kᴸ）。",
                "multiplicative",
            ),
            (
                lambda n, k: 1 + n * k,
                "Each layer adds k − 1 new positions, not k: 1 + L(k − 1).",
                "每层新增 k − 1 个位置，而不是 k 个：1 + L(k − 1)。",
                "adds_k_per_layer",
            ),
            (
                lambda n, k: n + k - 1,
                "Every layer widens the window by k − 1, not just the first: 1 + L(k − 1).",
                "每一层都把窗口加宽 k − 1，而不只是第一层：1 + L(k − 1)。",
                "one_layer_widens",
            ),
            (
                lambda n, k: 2 + n * (k - 1),
                "Off by one: 1 + L(k − 1) positions, the centre counted once.",
                "差了一位（off by one）：应为 1 + L(k − 1)，中心位置只算一次。",
                "off_by_one",
            ),
        ],
    )


@exercise(
    "ch01.layers_to_connect",
    "Predict how many layers connect two words",
    "预测需要几层才能联系两个词",
)
def check_layers_to_connect(layers_to_connect, hidden: bool = False) -> None:
    cases = (
        [(10, 3), (9, 3), (64, 5), (7, 4), (1, 3), (2, 3), (6, 2), (12, 7)]
        if not hidden
        else [(8, 3), (11, 3), (30, 6), (5, 5), (1, 2), (4, 5), (9, 2), (24, 9)]
    )
    want = []
    for n, k in cases:  # the fewest layers whose receptive field 1 + L(k − 1) spans n + 1 positions
        layers = 0
        while 1 + layers * (k - 1) < n + 1:
            layers += 1
        want.append(layers)
    predictions(
        layers_to_connect,
        cases,
        want,
        "layers_to_connect",
        [
            (
                lambda n, k: math.ceil(n / k),
                "Each layer widens the window by k − 1, not by k: "
                "you need 1 + L(k − 1) ≥ n + 1, so L = ⌈n / (k − 1)⌉.",
                "每层只把窗口加宽 k − 1，而不是 k：需要 1 + L(k − 1) ≥ n + 1，所以 L = ⌈n / (k − "
                "1)⌉。",
                "divided_by_k",
            ),
            (
                lambda n, k: n // (k - 1),
                "Rounded down: when k − 1 does not divide n, one more layer is needed "
                "(round up, ⌈n / (k − 1)⌉).",
                "向下取整了：k − 1 不能整除 n 时还需要多一层（应向上取整，⌈n / (k − 1)⌉）。",
                "rounded_down",
            ),
            (
                lambda n, k: n // (k - 1) + 1,
                "One layer too many when k − 1 divides the distance exactly: round up, ⌈n / (k − "
                "1)⌉, "
                "rather than rounding down and adding one.",
                "当 k − 1 恰好整除距离时多算了一层：应向上取整 ⌈n / (k − 1)⌉，"
                "而不是向下取整再加一。",
                "floor_plus_one",
            ),
            (
                lambda n, k: n,
                "That is the RNN's answer (one step per position). A convolution layer "
                "covers k − 1 new positions at once.",
                "这是 RNN 的答案（每个位置一步）。一层卷积一次就能覆盖 k − 1 个新位置。",
                "rnn_answer",
            ),
            (
                lambda n, k: n / (k - 1),
                "The number of layers is a whole number: round up, ⌈n / (k − 1)⌉.",
                "层数是整数：应向上取整，⌈n / (k − 1)⌉。",
                "not_rounded",
            ),
            (
                lambda n, k: math.ceil((n + 1) / (k - 1)),
                "Off by one: the window must span n + 1 positions, 1 + L(k − 1) ≥ n + 1, "
                "so L = ⌈n / (k − 1)⌉.",
                "差了一位（off by one）：窗口要覆盖 n + 1 个位置，1 + L(k − 1) ≥ n + 1，"
                "所以 L = ⌈n "
                "/ (k − 1)⌉。",
                "off_by_one",
            ),
        ],
    )
