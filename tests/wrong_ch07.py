"""Classic wrong answers (and correct alternatives) for the chapter 07 exercises."""

import numpy as np
import torch
import torch.nn.functional as F


def _layer_norm(x, dim=-1, unbiased=False):
    return (x - x.mean(dim, keepdim=True)) / torch.sqrt(
        x.var(dim, keepdim=True, unbiased=unbiased) + 1e-5
    )


def _layer_norm_loops(x):  # correct: one token at a time, with Python sums
    rows = x.reshape(-1, x.shape[-1]).tolist()
    out = []
    for row in rows:
        mean = sum(row) / len(row)
        var = sum((v - mean) ** 2 for v in row) / len(row)
        out.append([(v - mean) / (var + 1e-5) ** 0.5 for v in row])
    return torch.tensor(out).reshape(x.shape)


def _shift_in_place(t, bos):  # correct: fill a new tensor
    out = torch.empty_like(t)
    out[:, 0] = bos
    out[:, 1:] = t[:, :-1]
    return out


def _count(d, h, f):
    return 4 * (d * d + d) + d * f + f + f * d + d + 4 * d


WRONG = {
    "ch07.layer_norm": [
        (lambda x: _layer_norm(x, dim=0), "batch axis"),
        (lambda x: _layer_norm(x, dim=1), "sequence axis"),
        (lambda x: _layer_norm(x, unbiased=True), "unbiased variance"),
        (
            lambda x: x / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + 1e-5),
            "subtract the mean",
        ),
        (lambda x: _layer_norm(x, dim=2), "fixed axis"),
        (
            lambda x: (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, unbiased=False),
            "forgot ε",
        ),
        (
            lambda x: (
                (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True, unbiased=False) + 1e-5)
            ),
            "inside the square",
        ),
        (
            lambda x: (
                (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True, unbiased=False) + 1e-5)
            ),
            "divided by the var",
        ),
    ],
    "ch07.pre_ln": [
        (lambda x, f, norm: norm(x + f(x)), "Post-LN"),
        (lambda x, f, norm: f(norm(x)), "residual connection"),
        (lambda x, f, norm: norm(x) + f(norm(x)), "raw x"),
        (lambda x, f, norm: x + norm(f(x)), "OUTPUT of f"),
        (lambda x, f, norm: x + f(x), "forgot the LayerNorm"),
        (lambda x, f, norm: norm(x + f(norm(x))), "too many"),
    ],
    "ch07.feed_forward": [
        (lambda x, W1, b1, W2, b2: (x @ W1 + b1) @ W2 + b2, "forgot the ReLU"),
        (lambda x, W1, b1, W2, b2: torch.relu((x @ W1 + b1) @ W2 + b2), "between the two layers"),
        (lambda x, W1, b1, W2, b2: torch.relu(x @ W1) @ W2, "biases"),
        (lambda x, W1, b1, W2, b2: (torch.relu(x @ W1) + b1) @ W2 + b2, "inside the ReLU"),
        (lambda x, W1, b1, W2, b2: F.gelu(x @ W1 + b1) @ W2 + b2, "GELU"),
        (lambda x, W1, b1, W2, b2: torch.relu(x @ W1 + b1) @ W2, "b_2"),
    ],
    "ch07.shift_right": [
        (lambda t, bos: t, "Not shifted"),
        (lambda t, bos: torch.cat([t[:, 1:], torch.full((t.shape[0], 1), bos)], 1), "wrong way"),
        (lambda t, bos: torch.cat([torch.full((t.shape[0], 1), bos), t], 1), "target's length"),
        (
            lambda t, bos: torch.cat([torch.ones(t.shape[0], 1, dtype=t.dtype), t[:, :-1]], 1),
            "bos argument",
        ),
        (lambda t, bos: torch.cat([torch.full((t.shape[0], 1), bos), t[:, 1:]], 1), "FIRST"),
        (lambda t, bos: t.roll(1, 1), "wrapped"),
        (lambda t, bos: torch.where(torch.arange(t.shape[1]) == 0, bos, t), "overwrote"),
        (lambda t, bos: torch.cat([torch.full((t.shape[0], 1), bos), t[:, :-1]], 1)[:1], "shape"),
    ],
    "ch07.count_parameters": [
        (lambda d, h, f: 4 * (d * d + d) + 2 * d * f + f + d, "two LayerNorms"),
        (lambda d, h, f: 4 * (d * d + d) + 2 * d * f + 4 * d, "biases of the feed-forward"),
        (lambda d, h, f: h * 4 * (d * d + d) + 2 * d * f + f + d + 4 * d, "split d_model"),
        (lambda d, h, f: _count(d, h, f) - 2 * d, "TWO LayerNorms"),
        (lambda d, h, f: _count(d, h, f) - (d * d + d), "output projection"),
        (lambda d, h, f: 3152384 if d == 512 else 0, "count_parameters("),
    ],
}

CORRECT = {
    "ch07.layer_norm": [
        _layer_norm_loops,
        lambda x: F.layer_norm(x, x.shape[-1:], eps=1e-5),
        lambda x: (
            (x - x.mean(-1, keepdim=True))
            * torch.rsqrt(x.var(-1, correction=0, keepdim=True) + 1e-5)
        ),
    ],
    "ch07.pre_ln": [
        lambda x, f, norm: f(norm(x)) + x,
        lambda x, f, norm: torch.add(x, f.forward(norm.forward(x))),
    ],
    "ch07.feed_forward": [
        lambda x, W1, b1, W2, b2: F.linear(F.relu(F.linear(x, W1.T, b1)), W2.T, b2),
        lambda x, W1, b1, W2, b2: (
            torch.einsum("...f,fd->...d", (x @ W1 + b1).clamp(min=0), W2) + b2
        ),
    ],
    "ch07.shift_right": [
        _shift_in_place,
        lambda t, bos: F.pad(t[:, :-1], (1, 0), value=bos),
        lambda t, bos: [[bos] + row[:-1] for row in t.tolist()],
    ],
    "ch07.count_parameters": [_count, lambda d, h, f: float(_count(d, h, f))],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _ln_with(eps=1e-5, dims=-1):
    def layer_norm(x):
        mean = x.mean(dims, keepdim=True)
        return (x - mean) / torch.sqrt(x.var(dims, keepdim=True, unbiased=False) + eps)

    return layer_norm


def _ln_float32(x):  # correct: computed in float32
    x = x.float()
    mean = x.mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + 1e-5)


def _propagated(target, bos):  # copies forward in place: every position gets the first token
    out = target.clone()
    for t in range(1, target.shape[1]):
        out[:, t] = out[:, t - 1]
    out[:, 0] = bos
    return out


_relu_ffn = [
    (lambda x, W1, b1, W2, b2: torch.tanh(x @ W1 + b1) @ W2 + b2, "is wrong"),
    (lambda x, W1, b1, W2, b2: x + torch.relu(x @ W1 + b1) @ W2 + b2, "is wrong"),
    (lambda x, W1, b1, W2, b2: torch.relu(torch.relu(x @ W1 + b1) @ W2) + b2, "is wrong"),
    (lambda x, W1, b1, W2, b2: (x @ W1 + b1).abs() @ W2 + b2, "is wrong"),
]
WRONG["ch07.layer_norm"] += [
    (_ln_with(eps=1e-6), "is wrong"),
    (_ln_with(eps=1e-3), "is wrong"),
    (_ln_with(dims=tuple()), "is wrong"),  # over the whole tensor
    (lambda x: x / torch.sqrt((x**2).mean(-1, keepdim=True) + 1e-5), "is wrong"),  # RMSNorm
]
WRONG["ch07.pre_ln"] += [
    (lambda x, f, norm: x + norm(f(norm(x))), "is wrong"),
    (lambda x, f, norm: x + f(torch.nn.functional.layer_norm(x, x.shape[-1:])), "is wrong"),
    (lambda x, f, norm: norm(x) + f(x), "is wrong"),
    (lambda x, f, norm: x - f(norm(x)), "is wrong"),
]
WRONG["ch07.feed_forward"] += _relu_ffn
WRONG["ch07.shift_right"] += [
    (_propagated, "is wrong"),
    (lambda t, bos: torch.cat([torch.zeros(t.shape[0], 1, dtype=t.dtype), t[:, :-1]], 1), "wrong"),
    (lambda t, bos: torch.cat([torch.full((t.shape[0], 1), bos), t[:, :-1].flip(1)], 1), "wrong"),
    (lambda t, bos: torch.cat([t[:, :1], t[:, :-1]], 1), "is wrong"),  # the first token as bos
]
WRONG["ch07.count_parameters"] += [
    (lambda d, h, f: 4 * (d * d + d) + 2 * d * 4 * d + 5 * d + 4 * d, "returned"),  # d_ff = 4 d
    (lambda d, h, f: 4 * (d * d + d) + 2 * d * f + f + d + 6 * d, "returned"),  # three norms
    (lambda d, h, f: 4 * (d * d // h + d) + 2 * d * f + f + d + 4 * d, "returned"),
]
CORRECT["ch07.layer_norm"] += [_ln_float32]
CORRECT["ch07.shift_right"] += [
    lambda t, bos: torch.nn.functional.pad(t[:, :-1], (1, 0), value=bos),
    lambda t, bos: [[bos] + row[:-1] for row in t.tolist()],
]


def _pre_ln_resets_norm(x, f, norm):  # resets the norm it was given, then uses a plain LayerNorm
    with torch.no_grad():
        norm.weight.fill_(1.0)
        norm.bias.zero_()
    return x + f(F.layer_norm(x, x.shape[-1:]))


WRONG["ch07.pre_ln"] += [(_pre_ln_resets_norm, "is wrong")]  # the check's norm is not changed


def _shift_in_place(target, bos):  # right values, but the caller's target (also the labels) is lost
    target[:, 1:] = target[:, :-1].clone()
    target[:, 0] = bos
    return target


WRONG["ch07.shift_right"] += [
    (_shift_in_place, "in place"),
    (  # float ids: an embedding lookup cannot take them
        lambda target, bos: torch.cat(
            [torch.full((target.shape[0], 1), float(bos)), target[:, :-1].float()], 1
        ),
        "embedding table",
    ),
]


# Wrong answers from the ninth session's audit (all passed before).


def _ln_moments(x):  # variance as E[x²] - E[x]²: cancels in float32
    mean = x.mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt((x * x).mean(-1, keepdim=True) - mean * mean + 1e-5)


def _pre_ln_no_grad(x, f, norm):
    with torch.no_grad():
        return x + f(norm(x))


def _pre_ln_no_eps(x, f, norm):  # NaN on a row without variance (a padded position)
    m = x.mean(-1, keepdim=True)
    return x + f((x - m) / x.std(-1, keepdim=True, unbiased=False) * norm.weight + norm.bias)


def _ffn_numpy(x, W_1, b_1, W_2, b_2):  # right values, no gradient to the weights
    a = [t.detach().numpy() for t in (x, W_1, b_1, W_2, b_2)]
    return torch.from_numpy(np.maximum(a[0] @ a[1] + a[2], 0) @ a[3] + a[4])


WRONG["ch07.layer_norm"] += [(_ln_moments, "E[x²] − E[x]²")]
WRONG["ch07.pre_ln"] += [
    (_pre_ln_no_grad, "no gradient"),
    (lambda x, f, norm: (x + f(norm(x))).detach(), "no gradient"),
    (_pre_ln_no_eps, "NaN"),
]
WRONG["ch07.feed_forward"] += [(_ffn_numpy, "no gradient")]
WRONG["ch07.shift_right"] += [
    (
        lambda t, bos: torch.cat([torch.full((t.shape[0], 1), bos), t[:, :-1]], 1).to(torch.uint8),
        "uint8",
    ),
]
