"""Classic wrong answers to the chapter 11 exercises, each with a phrase its message must contain."""
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


def _gates(logits, k, renormalise=True, largest=True, dim=-1):
    p = logits.softmax(dim)
    top = p.topk(k, dim=-1, largest=largest)
    gates = torch.zeros_like(p).scatter(-1, top.indices, top.values)
    return gates / gates.sum(-1, keepdim=True) if renormalise else gates


WRONG = {
    "ch11.prefix_mask": [
        (lambda size, prefix_len: causal_mask(size), "causal (GPT) mask"),
        (_prefix_source_sees_all, "The source attends to the target"),
        (_prefix_transposed, "Transposed"),
        (lambda size, prefix_len: torch.ones(size, size, dtype=torch.bool), "bidirectional (BERT)"),
    ],
    "ch11.albert_embedding_params": [
        (lambda V, E, H: (V * E, V * H), "forgot the projection"),
        (lambda V, E, H: (V * E + V * H, V * H), "not V·H"),
        (lambda V, E, H: (V * H, V * E + E * H), "Swapped"),
    ],
    "ch11.electra_labels": [
        (_electra_all_masked, "every masked position as replaced"),
        (_electra_inverted, "Inverted"),
        (_electra_only_masked, "EVERY token"),
    ],
    "ch11.t5_span_corruption": [
        (lambda words, spans: _t5(words, spans, sentinels=False), "The target needs the sentinels too"),
        (lambda words, spans: _t5(words, spans, final=False), "one more sentinel"),
        (lambda words, spans: _t5(words, spans, per_token=True), "ONE sentinel"),
        (lambda words, spans: _t5(words, spans, one_sentinel=True), "its own sentinel"),
    ],
    "ch11.causal_lm_loss": [
        (lambda logits, ids: F.cross_entropy(logits.flatten(0, 1), ids.flatten()), "No shift"),
        (lambda logits, ids: F.cross_entropy(logits[:, 1:].flatten(0, 1), ids[:, :-1].flatten()), "wrong way"),
        (lambda logits, ids: F.cross_entropy(logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten(), reduction="sum"), "summed"),
    ],
    "ch11.top_k_routing": [
        (lambda logits, k: _gates(logits, k, renormalise=False), "did not renormalise"),
        (lambda logits, k: logits.softmax(-1), "keep only the top k"),
        (lambda logits, k: _gates(logits, k, dim=0), "wrong axis"),
        (lambda logits, k: _gates(logits, k, largest=False), "SMALLEST"),
    ],
}
