"""Classic wrong answers (and correct alternatives) for the chapter 05 exercises."""

import math

import torch


def _mha(x, W_q, W_k, W_v, W_o, h, scale=None, project=True, dim=-1):
    B, L, D = x.shape

    def split(t):
        return t.view(B, L, h, D // h).transpose(1, 2)

    q, k, v = split(x @ W_q), split(x @ W_k), split(x @ W_v)
    scale = math.sqrt(D // h) if scale is None else scale
    heads = torch.softmax(q @ k.transpose(-2, -1) / scale, dim=dim) @ v
    concat = heads.transpose(1, 2).reshape(B, L, D)
    return concat @ W_o if project else concat


def _mha_loop(x, W_q, W_k, W_v, W_o, h):  # correct: one head at a time, float32, then torch.cat
    d_k = x.shape[-1] // h
    q, k, v = ((x @ W).float() for W in (W_q, W_k, W_v))
    outs = []
    for i in range(h):
        cols = slice(i * d_k, (i + 1) * d_k)
        w = torch.softmax(
            torch.einsum("bqd,bkd->bqk", q[..., cols], k[..., cols]) / math.sqrt(d_k), -1
        )
        outs.append(w @ v[..., cols])
    return torch.cat(outs, -1) @ W_o.float()


WRONG = {
    "ch05.split_heads": [
        (lambda x, h: x.reshape(x.shape[0], h, x.shape[1], -1), "cuts the *sequence*"),
        (lambda x, h: x.view(x.shape[0], x.shape[1], h, -1), "move the head axis"),
        (
            lambda x, h: x.view(x.shape[0], x.shape[1], -1, h).permute(0, 3, 1, 2),
            "every h-th feature",
        ),
        (lambda x, h: x.view(x.shape[0], x.shape[1], h, -1).permute(0, 2, 3, 1), "(B, h, d_k, L)"),
        (
            lambda x, h: (
                x.view(x.shape[0], x.shape[1], -1, h).transpose(1, 3) if h > 1 else x[None]
            ),
            "sequence axis comes before",
        ),
    ],
    "ch05.merge_heads": [
        (lambda t: t.reshape(t.shape[0], t.shape[2], -1), "mixes tokens"),
        (lambda t: t.permute(0, 2, 3, 1).reshape(t.shape[0], t.shape[2], -1), "interleaved"),
        (lambda t: t.transpose(1, 2), "(B, L, h·d_k)"),
        (lambda t: t.mean(1), "averaged"),
        (lambda t: t.sum(1), "averaged"),
    ],
    "ch05.multi_head_attention": [
        (
            lambda x, Wq, Wk, Wv, Wo, h: _mha(x, Wq, Wk, Wv, Wo, h, project=False),
            "output projection",
        ),
        (
            lambda x, Wq, Wk, Wv, Wo, h: _mha(x, Wq, Wk, Wv, Wo, h, scale=math.sqrt(x.shape[-1])),
            "√d_model",
        ),
        (lambda x, Wq, Wk, Wv, Wo, h: _mha(x, Wq, Wk, Wv, Wo, h, scale=1.0), "1/√d_k"),
        (lambda x, Wq, Wk, Wv, Wo, h: _mha(x, Wq, Wk, Wv, Wo, h, dim=-2), "wrong axis"),
        (
            lambda x, Wq, Wk, Wv, Wo, h: _mha(x, Wq, Wk, Wv, Wo, h, scale=x.shape[-1] // h),
            "divided the scores by d_k",
        ),
        (
            lambda x, Wq, Wk, Wv, Wo, h: _mha(x, Wq, Wk, Wv, Wo, 1, scale=math.sqrt(x.shape[-1])),
            "single-head",
        ),
    ],
    "ch05.count_parameters": [
        (lambda d, h: 4 * d * d * h + 4 * d * h, "do not add parameters"),
        (lambda d, h: 4 * d * d, "biases"),
        (lambda d, h: 3 * d * d + 3 * d, "output projection"),
        (lambda d, h: 4 * d * d + d, "own bias"),
        (lambda d, h: 4 * (d * (d // h) + d // h), "one head only"),
        (lambda d, h: 4 * (d * d + d) if d == 512 else 0, "count_parameters("),
    ],
}

CORRECT = {
    "ch05.split_heads": [
        lambda x, h: x.reshape(*x.shape[:2], h, -1).permute(0, 2, 1, 3),
        lambda x, h: torch.stack(x.chunk(h, -1), 1),
        lambda x, h: torch.einsum("blhd->bhld", x.unflatten(-1, (h, -1))),
    ],
    "ch05.merge_heads": [
        lambda t: torch.cat(t.unbind(1), -1),
        lambda t: t.permute(0, 2, 1, 3).flatten(2),
        lambda t: t.transpose(1, 2).contiguous().view(t.shape[0], t.shape[2], -1),
    ],
    "ch05.multi_head_attention": [
        _mha_loop,
        lambda x, Wq, Wk, Wv, Wo, h: _mha(x, Wq, Wk, Wv, Wo, h),
    ],
    "ch05.count_parameters": [
        lambda d, h: 4 * d**2 + 4 * d,
        lambda d, h: float(4 * (d + 1) * d),
        lambda d, h: torch.tensor(4 * (d * d + d)),
    ],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _mha_with(scale=None, dim=-1, transpose=False, merge=None):
    def multi_head_attention(x, W_q, W_k, W_v, W_o, h):
        B, L, d = x.shape
        q, k, v = (
            (x @ (W.T if transpose else W)).view(B, L, h, -1).transpose(1, 2)
            for W in (W_q, W_k, W_v)
        )
        s = math.sqrt(q.shape[-1]) if scale is None else scale(d, h)
        heads = torch.softmax(q @ k.transpose(-2, -1) / s, dim) @ v
        merged = heads.transpose(1, 2).reshape(B, L, d) if merge is None else merge(heads)
        return merged @ W_o

    return multi_head_attention


WRONG["ch05.split_heads"] += [
    (lambda x, h: torch.stack(x.split(h, -1), 1), "head axis"),  # pieces of size h, not h pieces
    (lambda x, h: x.transpose(1, 2).reshape(x.shape[0], h, x.shape[1], -1), "wrong"),
    (lambda x, h: x.view(x.shape[0], x.shape[1], h, -1).transpose(1, 2).flip(1), "wrong"),
]
WRONG["ch05.merge_heads"] += [
    (lambda t: torch.cat(t.unbind(1), 1), "shape"),
    (lambda t: t.transpose(2, 3).reshape(t.shape[0], t.shape[2], -1), "wrong"),
    (lambda t: torch.cat(t.unbind(1)[::-1], -1), "wrong"),
    (lambda t: t[:, 0].repeat(1, 1, t.shape[1]), "wrong"),
]
WRONG["ch05.multi_head_attention"] += [
    (_mha_with(transpose=True), "transposed matrices"),
    (_mha_with(merge=lambda t: t.reshape(t.shape[0], t.shape[2], -1)), "merge mixes tokens"),
    (_mha_with(scale=lambda d, h: math.sqrt(h)), "is wrong"),
    (_mha_with(dim=1), "is wrong"),  # softmax over the heads
]
WRONG["ch05.count_parameters"] += [
    (lambda d, h: 4 * (d * d // h + d), "returned"),
    (lambda d, h: 3 * (d * d + d) + d * d, "returned"),
    (lambda d, h: 4 * d * d + 4 * (d // h), "returned"),
    (lambda d, h: 4 * d * d + 4 * h, "returned"),
]
CORRECT["ch05.split_heads"] += [lambda x, h: x.unflatten(-1, (h, -1)).permute(0, 2, 1, 3)]
CORRECT["ch05.merge_heads"] += [lambda t: t.transpose(1, 2).flatten(2)]
CORRECT["ch05.count_parameters"] += [lambda d, h: 4 * d * (d + 1)]


# Wrong answers from the ninth session's audit (both passed before).


def _mha_exp_over_sum(x, W_q, W_k, W_v, W_o, h):  # softmax as exp / sum: NaN on large scores
    B, L, D = x.shape
    q, k, v = ((x @ W).view(B, L, h, D // h).transpose(1, 2) for W in (W_q, W_k, W_v))
    e = torch.exp(q @ k.transpose(-2, -1) / (D // h) ** 0.5)
    return ((e / e.sum(-1, keepdim=True)) @ v).transpose(1, 2).reshape(B, L, D) @ W_o


WRONG["ch05.merge_heads"] += [  # .view on the transposed heads: fails on contiguous ones
    (lambda t: t.transpose(1, 2).view(t.shape[0], t.shape[2], -1), "view size is not compatible"),
]
WRONG["ch05.multi_head_attention"] += [(_mha_exp_over_sum, "overflows")]


# The outputs must keep their gradient (tenth session): the last case's input carries one.


def _split_loop(x, h):  # a Python loop over the heads stays in the graph
    d_k = x.shape[-1] // h
    return torch.stack([x[..., i * d_k : (i + 1) * d_k] for i in range(h)], 1)


def _merge_into(t):  # writing into a new tensor stays in the graph too (CopySlices)
    B, h, L, d_k = t.shape
    out = t.new_zeros(B, L, h * d_k)
    for i in range(h):
        out[..., i * d_k : (i + 1) * d_k] = t[:, i]
    return out


def _split_no_grad(x, h):
    with torch.no_grad():
        return x.view(x.shape[0], x.shape[1], h, -1).transpose(1, 2)


WRONG["ch05.split_heads"] += [
    (lambda x, h: x.detach().view(x.shape[0], x.shape[1], h, -1).transpose(1, 2), "no gradient"),
    (_split_no_grad, "no gradient"),
]
WRONG["ch05.merge_heads"] += [
    (
        lambda t: torch.tensor(
            t.transpose(1, 2).reshape(t.shape[0], t.shape[2], -1).tolist(), dtype=t.dtype
        ),
        "no gradient",
    ),
]
CORRECT["ch05.split_heads"] += [_split_loop]
CORRECT["ch05.merge_heads"] += [_merge_into]
