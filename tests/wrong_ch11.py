"""Classic wrong answers (and correct alternatives) for the chapter 11 exercises."""

import numpy as np
import torch
import torch.nn.functional as F

from rnn2bert.masks import causal_mask


def _prefix_source_sees_all(size, prefix_len):
    m = causal_mask(size)
    m[:, :prefix_len] = True
    m[:prefix_len] = True
    return m


def _prefix_transposed(size, prefix_len):
    m = causal_mask(size)
    m[:, :prefix_len] = True
    return m.T


def _prefix_loops(size, prefix_len):  # correct: nested loops, a list of lists
    return [[j < prefix_len or j <= i for j in range(size)] for i in range(size)]


def _t5(words, spans, sentinels=True, final=True, per_token=False, one_sentinel=False):
    source, target, last = [], [], 0
    for k, (a, b) in enumerate(spans):
        s = "<extra_id_0>" if one_sentinel else f"<extra_id_{k}>"
        source += words[last:a] + ([s] * (b - a) if per_token else [s])
        target += ([s] if sentinels else []) + words[a:b]
        last = b
    if final and sentinels:
        target.append("<extra_id_0>" if one_sentinel else f"<extra_id_{len(spans)}>")
    return source + words[last:], target


def _t5_by_mask(words, spans):  # correct: mark hidden words first, then walk once; lists
    hidden = [None] * len(words)
    for k, (a, b) in enumerate(spans):
        for n in range(a, b):
            hidden[n] = k
    source, target = [], []
    for n, w in enumerate(words):
        if hidden[n] is None:
            source.append(w)
        else:
            if n == 0 or hidden[n - 1] != hidden[n]:
                source.append(f"<extra_id_{hidden[n]}>")
                target.append(f"<extra_id_{hidden[n]}>")
            target.append(w)
    return [source, target + [f"<extra_id_{len(spans)}>"]]


def _electra_all_masked(original, chosen, samples):
    return chosen.long()


def _electra_only_masked(original, chosen, samples):
    corrupted = original.clone()
    corrupted[chosen] = samples
    return torch.where(chosen, (corrupted != original).long(), -100)


def _electra_inverted(original, chosen, samples):
    corrupted = original.clone()
    corrupted[chosen] = samples
    return (corrupted == original).long()


def _electra_column_major(original, chosen, samples):
    corrupted = original.clone().T
    corrupted[chosen.T] = samples
    return (corrupted.T != original).long()


def _electra_loops(original, chosen, samples):
    # correct: a Python loop over the positions, booleans
    out, k = [], 0
    for row, picks in zip(original.tolist(), chosen.tolist(), strict=True):
        labels = []
        for token, picked in zip(row, picks, strict=True):
            if picked:
                labels.append(int(samples[k]) != token)
                k += 1
            else:
                labels.append(False)
        out.append(labels)
    return torch.tensor(out)


def _gates(logits, k, renormalise=True, largest=True, dim=-1):
    p = logits.softmax(dim)
    top = p.topk(k, dim=-1, largest=largest)
    gates = torch.zeros_like(p).scatter(-1, top.indices, top.values)
    return gates / gates.sum(-1, keepdim=True) if renormalise else gates


def _gates_masked_softmax(logits, k):  # softmax over the logits >= the k-th: more than k on ties
    kth = logits.topk(k, -1).values[:, -1:]
    return torch.softmax(logits.masked_fill(logits < kth, float("-inf")), -1)


WRONG = {
    "ch11.prefix_mask": [
        (lambda size, prefix_len: causal_mask(size), "causal (GPT) mask"),
        (_prefix_source_sees_all, "The source attends to the target"),
        (_prefix_transposed, "Transposed"),
        (lambda size, prefix_len: torch.ones(size, size, dtype=torch.bool), "bidirectional (BERT)"),
        (lambda size, prefix_len: _prefix_loops(size, prefix_len + 1), "Off by one"),
        (lambda size, prefix_len: torch.tensor(_prefix_loops(size, prefix_len)).float(), "boolean"),
    ],
    "ch11.albert_embedding_params": [
        (lambda V, E, H: (V * E, V * H), "forgot the projection"),
        (lambda V, E, H: (V * E + V * H, V * H), "not V·H"),
        (lambda V, E, H: (V * H, V * E + E * H), "Swapped"),
        (lambda V, E, H: (V * E * H, V * H), "do not multiply"),
        (lambda V, E, H: V * E + E * H, "Return a pair"),
        (lambda V, E, H: (V * E + E * H + H, V * H), "Weights only"),
    ],
    "ch11.electra_labels": [
        (_electra_all_masked, "every masked position as replaced"),
        (_electra_inverted, "Inverted"),
        (_electra_only_masked, "EVERY token"),
        (_electra_column_major, "row-major"),
        (lambda o, c, s: torch.zeros_like(o), "labels"),
    ],
    "ch11.t5_span_corruption": [
        (
            lambda words, spans: _t5(words, spans, sentinels=False),
            "The target needs the sentinels too",
        ),
        (lambda words, spans: _t5(words, spans, final=False), "one more sentinel"),
        (lambda words, spans: _t5(words, spans, per_token=True), "ONE sentinel"),
        (lambda words, spans: _t5(words, spans, one_sentinel=True), "its own sentinel"),
        (lambda words, spans: _t5(words, [(a, b + 1) for a, b in spans]), "excluded"),
        (lambda words, spans: _t5(words, spans)[::-1], "Swapped"),
        (
            lambda words, spans: (" ".join(_t5(words, spans)[0]), " ".join(_t5(words, spans)[1])),
            "lists of words",
        ),
    ],
    "ch11.causal_lm_loss": [
        (lambda logits, ids: F.cross_entropy(logits.flatten(0, 1), ids.flatten()), "No shift"),
        (
            lambda logits, ids: F.cross_entropy(logits[:, 1:].flatten(0, 1), ids[:, :-1].flatten()),
            "wrong way",
        ),
        (
            lambda logits, ids: F.cross_entropy(
                logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten(), reduction="sum"
            ),
            "summed",
        ),
        (
            lambda logits, ids: F.cross_entropy(
                logits[:, :-1].softmax(-1).flatten(0, 1), ids[:, 1:].flatten()
            ),
            "softmax",
        ),
        (
            lambda logits, ids: (
                F.cross_entropy(logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten(), reduction="sum")
                / logits.shape[0]
            ),
            "batch size only",
        ),
        (
            lambda logits, ids: F.cross_entropy(
                logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none"
            ),
            "one number",
        ),
    ],
    "ch11.top_k_routing": [
        (lambda logits, k: _gates(logits, k, renormalise=False), "did not renormalise"),
        (lambda logits, k: logits.softmax(-1), "keep only the top k"),
        (lambda logits, k: _gates(logits, k, dim=0), "wrong axis"),
        (lambda logits, k: _gates(logits, k, largest=False), "SMALLEST"),
        (lambda logits, k: (_gates(logits, k) > 0).double(), "0/1"),
        (lambda logits, k: _gates(logits, k) / k, "not 1/k"),
    ],
}

CORRECT = {
    "ch11.prefix_mask": [
        _prefix_loops,
        lambda size, p: np.tril(np.ones((size, size), dtype=bool)) | (np.arange(size) < p),
    ],
    "ch11.albert_embedding_params": [
        lambda V, E, H: [V * E + E * H, V * H],
        lambda V, E, H: (torch.tensor(E * (V + H)), np.int64(V * H)),
    ],
    "ch11.electra_labels": [_electra_loops, lambda o, c, s: o.masked_scatter(c, s).ne(o).int()],
    "ch11.t5_span_corruption": [_t5_by_mask, lambda w, s: tuple(map(tuple, _t5(w, s)))],
    "ch11.causal_lm_loss": [
        lambda logits, ids: F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1)
        ).float(),
        lambda logits, ids: (
            -torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None]).mean()
        ),
    ],
    "ch11.top_k_routing": [lambda logits, k: _gates(logits.float(), k)],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _prefix_with(fill):
    def prefix_mask(size, prefix_len):
        mask = torch.ones(size, size, dtype=torch.bool).tril()
        fill(mask, prefix_len)
        return mask

    return prefix_mask


def _t5_variant(sentinel="<extra_id_{}>", end=None, merge_adjacent=False):
    def t5_span_corruption(words, spans):
        spans = list(spans)
        if merge_adjacent:  # adjacent spans share one sentinel
            merged = []
            for a, b in spans:
                if merged and merged[-1][1] == a:
                    merged[-1] = (merged[-1][0], b)
                else:
                    merged.append((a, b))
            spans = merged
        source, target, last = [], [], 0
        for k, (a, b) in enumerate(spans):
            source += words[last:a] + [sentinel.format(k)]
            target += [sentinel.format(k)] + words[a:b]
            last = b
        final = [end] if end else [sentinel.format(len(spans))]
        return source + words[last:], target + final

    return t5_span_corruption


def _causal(logits_part, ids_part):
    def causal_lm_loss(logits, ids):
        return F.cross_entropy(logits_part(logits).flatten(0, 1), ids_part(ids).flatten())

    return causal_lm_loss


def _routed(gates):
    def top_k_routing(router_logits, k):
        top = router_logits.topk(k, dim=-1)
        return gates(router_logits, top)

    return top_k_routing


WRONG["ch11.prefix_mask"] += [
    (_prefix_with(lambda m, p: m[:, p:].fill_(True)), "is wrong"),
    (lambda n, p: torch.ones(n, n, dtype=torch.bool).triu() | (torch.arange(n) < p), "is wrong"),
    (
        lambda n, p: (
            torch.zeros(n, n, dtype=torch.bool).index_fill(0, torch.arange(p), True)
            & (torch.arange(n) < p)
        ),
        "is wrong",
    ),
]
WRONG["ch11.albert_embedding_params"] += [
    (lambda V, E, H: ((V + E) * H, V * H), "expected"),
    (lambda V, E, H: (V * E + H * H, V * H), "expected"),
    (lambda V, E, H: V * H - (V * E + E * H), "pair"),
    (lambda V, E, H: {"factorised": V * E + E * H, "untied": V * H}, "pair"),
]
WRONG["ch11.electra_labels"] += [
    (lambda o, ch, s: (o.__setitem__(ch, s), (o != o).long())[1], "in place"),  # in place
    (lambda o, ch, s: 1 - ch.long(), "is wrong"),
    (lambda o, ch, s: (o.masked_scatter(ch, s.flip(0)) != o).long(), "label"),
]
WRONG["ch11.t5_span_corruption"] += [
    (_t5_variant(end="</s>"), "Not the expected"),
    (_t5_variant(merge_adjacent=True), "Not the expected"),
    (_t5_variant(sentinel="<extra_id{}>"), "Not the expected"),
    (_t5_variant(sentinel="[MASK]"), "Not the expected"),
]
WRONG["ch11.causal_lm_loss"] += [
    (_causal(lambda l: l[:, 1:], lambda i: i[:, 1:]), "is wrong"),
    (_causal(lambda l: l[:, :-1], lambda i: i[:, :-1]), "is wrong"),
    (_causal(lambda l: l[:, :-2], lambda i: i[:, 2:]), "is wrong"),
    (
        lambda l, i: torch.exp(F.cross_entropy(l[:, :-1].flatten(0, 1), i[:, 1:].flatten())),
        "is wrong",
    ),
]
WRONG["ch11.top_k_routing"] += [
    (
        _routed(
            lambda l, top: torch.zeros_like(l).scatter(-1, top.indices, top.values).softmax(-1)
        ),
        "is wrong",
    ),
    (
        _routed(
            lambda l, top: torch.zeros_like(l).scatter(-1, top.indices, 1.0 / top.indices.shape[-1])
        ),
        "is wrong",
    ),
    (
        _routed(
            lambda l, top: (lambda g: g / g.sum(-1, keepdim=True))(
                torch.zeros_like(l).scatter(-1, top.indices, top.values)
            )
        ),
        "is wrong",
    ),
]
CORRECT["ch11.prefix_mask"] += [
    _prefix_with(lambda m, p: m[:p, :p].fill_(True)),
    lambda n, p: _prefix_with(lambda m, p: m[:, :p].fill_(True))(n, p)[None, None],
]
CORRECT["ch11.causal_lm_loss"] += [
    lambda l, i: -torch.log_softmax(l[:, :-1], -1).gather(-1, i[:, 1:, None]).mean(),
]
CORRECT["ch11.top_k_routing"] += [
    _routed(lambda l, top: torch.zeros_like(l).scatter(-1, top.indices, top.values.softmax(-1))),
]

WRONG["ch11.top_k_routing"] += [  # k = 2 kept from the example
    (
        lambda logits, k: _routed(
            lambda l, top: (lambda g: g / g.sum(-1, keepdim=True))(
                torch.zeros_like(l).scatter(
                    -1,
                    l.softmax(-1).topk(min(2, l.shape[-1]), -1).indices,
                    l.softmax(-1).topk(min(2, l.shape[-1]), -1).values,
                )
            )
        )(logits, k),
        "is wrong",
    ),
]


# Wrong answers from the ninth session's audit: overflow on large scores, ties (both passed before).


def _naive_softmax(x):
    e = torch.exp(x)
    return e / e.sum(-1, keepdim=True)


def _loss_exp_over_sum(logits, ids):
    p = _naive_softmax(logits[:, :-1])
    return -torch.log(p.gather(-1, ids[:, 1:, None])).mean()


def _gates_exp_over_sum(logits, k):
    p = _naive_softmax(logits)
    top = p.topk(k, -1)
    g = torch.zeros_like(p).scatter(-1, top.indices, top.values)
    return g / g.sum(-1, keepdim=True)


def _gates_threshold(logits, k):  # every expert >= the k-th probability: all of them on ties
    p = logits.softmax(-1)
    g = torch.where(p >= p.topk(k, -1).values[..., -1:], p, torch.zeros_like(p))
    return g / g.sum(-1, keepdim=True)


WRONG["ch11.causal_lm_loss"] += [
    (_loss_exp_over_sum, "overflows"),
    (
        lambda l, i: -torch.log(torch.softmax(l[:, :-1], -1)).gather(-1, i[:, 1:, None]).mean(),
        "log(0)",
    ),
]
WRONG["ch11.top_k_routing"] += [
    (_gates_exp_over_sum, "overflows"),
    (_gates_threshold, "tied"),
    (_gates_masked_softmax, "tied"),
]


def _t5_overwrites_words(words, spans):  # replaces the spans in the caller's list
    parts = []
    for k in range(len(spans) - 1, -1, -1):
        a, b = spans[k]
        parts.insert(0, [f"<extra_id_{k}>"] + words[a:b])
        words[a:b] = [f"<extra_id_{k}>"]
    return words, [w for p in parts for w in p] + [f"<extra_id_{len(spans)}>"]


WRONG["ch11.t5_span_corruption"] += [(_t5_overwrites_words, "in place")]
