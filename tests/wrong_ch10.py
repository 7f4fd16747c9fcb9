"""Classic wrong answers (and correct alternatives) for the chapter 10 exercises."""

import numpy as np
import torch


def _align(word_ids, labels, first=True, special=-100, every_piece=False):
    out = []
    for n, w in enumerate(word_ids):
        if w is None:
            out.append(special)
        elif every_piece:
            out.append(labels[w])
        elif first and (n == 0 or word_ids[n - 1] != w):
            out.append(labels[w])
        elif not first and (n + 1 == len(word_ids) or word_ids[n + 1] != w):
            out.append(labels[w])
        else:
            out.append(-100)
    return out


def _span(s, e, max_len, strict=False, no_order=False, no_len=False):
    best, arg = -float("inf"), None
    for i in range(len(s)):
        for j in range(len(e)):
            ok = (j > i if strict else j >= i) or no_order
            ok = ok and (no_len or abs(j - i) < max_len)
            if ok and s[i] + e[j] > best:
                best, arg = s[i] + e[j], (i, j)
    return arg


def _entities(tags, typed=True):
    found, start = set(), None
    for n, tag in enumerate(tags + ["O"]):
        if start is not None and tag != "I-" + tags[start][2:]:
            found.add((tags[start][2:] if typed else "", start, n - 1))
            start = None
        if tag.startswith("B-"):
            start = n
    return found


def _entity_scores(gold, predicted, typed=True, tokens=False):
    right = n_pred = n_gold = 0
    for g, p in zip(gold, predicted, strict=True):
        if tokens:
            g = {(k, t) for k, t in enumerate(g) if t != "O"}
            p = {(k, t) for k, t in enumerate(p) if t != "O"}
        else:
            g, p = _entities(g, typed), _entities(p, typed)
        right, n_pred, n_gold = right + len(g & p), n_pred + len(p), n_gold + len(g)
    precision, recall = right / max(n_pred, 1), right / max(n_gold, 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def _f1_pooled(gold, predicted):
    # one set of entities for all sentences: positions collide across sentences
    g = set().union(*(_entities(t) for t in gold))
    p = set().union(*(_entities(t) for t in predicted))
    precision, recall = len(g & p) / len(p), len(g & p) / len(g)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _f1_unclosed(gold, predicted):  # forgets the entity still open when the sentence ends
    def entities(tags):
        found, start = set(), None
        for n, tag in enumerate(tags):
            if start is not None and tag != "I-" + tags[start][2:]:
                found.add((tags[start][2:], start, n - 1))
                start = None
            if tag.startswith("B-"):
                start = n
        return found

    right = n_pred = n_gold = 0
    for g, p in zip(gold, predicted, strict=True):
        g, p = entities(g), entities(p)
        right, n_pred, n_gold = right + len(g & p), n_pred + len(p), n_gold + len(g)
    precision, recall = right / n_pred, right / n_gold
    return 2 * precision * recall / (precision + recall) if right else 0.0


def _f1_flat(gold, predicted):
    # correct: sentences joined with an "O" between them (no entity crosses it)
    flat_g = [t for s in gold for t in [*s, "O"]]
    flat_p = [t for s in predicted for t in [*s, "O"]]
    return _entity_scores([flat_g], [flat_p])[2]


def _span_loops(s, e, max_len):  # correct: ties broken towards the LAST best pair, a list
    best, arg = -float("inf"), None
    for i in range(len(s)):
        for j in range(i, min(len(s), i + max_len)):
            if s[i] + e[j] >= best:
                best, arg = s[i] + e[j], [i, j]
    return arg


WRONG = {
    "ch10.cls_logits": [
        (
            lambda T, Wp, bp, W, b: torch.tanh(T.mean(1) @ Wp.T + bp) @ W.T + b,
            "averaged all the tokens",
        ),
        (lambda T, Wp, bp, W, b: torch.tanh(T[:, -1] @ Wp.T + bp) @ W.T + b, "last position"),
        (lambda T, Wp, bp, W, b: (T[:, 0] @ Wp.T + bp) @ W.T + b, "tanh"),
        (lambda T, Wp, bp, W, b: torch.tanh(T @ Wp.T + bp) @ W.T + b, "One label per SEQUENCE"),
    ],
    "ch10.align_labels": [
        (lambda w, l: _align(w, l, every_piece=True), "every piece"),
        (lambda w, l: _align(w, l, special=0), "0 is a real tag"),
        (lambda w, l: _align(w, l, first=False), "LAST piece"),
        (
            lambda w, l: [
                -100 if x is None else l[x] if n == 0 or w[n - 1] != x else 0
                for n, x in enumerate(w)
            ],
            "not 0",
        ),
        (
            lambda w, l: [
                -100 if x is None or (n and w[n - 1] == x) else l[n] if n < len(l) else l[x]
                for n, x in enumerate(w)
            ],
            "by its word",
        ),
        (lambda w, l: list(l), "one per word"),
    ],
    "ch10.best_span": [
        (lambda s, e, m: (int(s.argmax()), int(e.argmax())), "separately"),
        (lambda s, e, m: _span(s.tolist(), e.tolist(), m, strict=True), "j > i"),
        (lambda s, e, m: _span(s.tolist(), e.tolist(), m, no_len=True), "max_len"),
        (lambda s, e, m: [int(s.argmax())], "Return a pair"),
        (lambda s, e, m: _span(s.tolist(), e.tolist(), m + 1), "Off by one in the length"),
        (lambda s, e, m: _span(s.tolist(), e.tolist(), m, no_order=True), "j < i"),
        (lambda s, e, m: _span(s.tolist(), e.tolist(), m)[::-1], "swapped"),
        (lambda s, e, m: (1, 2), "best_span returned"),
    ],
    "ch10.entity_f1": [
        (lambda g, p: _entity_scores(g, p, tokens=True)[2], "scored tokens"),
        (lambda g, p: _entity_scores(g, p, typed=False)[2], "ignored the entity type"),
        (lambda g, p: _entity_scores(g, p)[0], "precision"),
        (lambda g, p: _entity_scores(g, p)[1], "recall"),
        (_f1_pooled, "sentence by sentence"),
        (
            lambda g, p: (
                sum(
                    _entity_scores([a], [b])[2]
                    if _entities(a) and _entities(b) and _entities(a) & _entities(b)
                    else 0.0
                    for a, b in zip(g, p, strict=True)
                )
                / len(g)
            ),
            "averaged the F1 of each sentence",
        ),
        (lambda g, p: _entity_scores([t[:-1] for t in g], [t[:-1] for t in p])[2], "entity F1 ="),
        (_f1_unclosed, "ZeroDivisionError"),
    ],
    "ch10.majority_accuracy": [
        (lambda tr, te: (te == torch.bincount(te).argmax()).float().mean().item(), "TEST labels"),
        (lambda tr, te: torch.bincount(tr).max().item() / len(tr), "training set"),
        (lambda tr, te: (te == 1).float().mean().item(), "whatever the data"),
        (
            lambda tr, te: (te == torch.bincount(tr).argmax()).sum().item(),
            "number of right answers",
        ),
        (
            lambda tr, te: 100 * (te == torch.bincount(tr).argmax()).float().mean().item(),
            "percentage",
        ),
        (lambda tr, te: 0.375, "majority_accuracy("),
    ],
}

CORRECT = {
    "ch10.cls_logits": [
        lambda T, Wp, bp, W, b: torch.nn.functional.linear(
            torch.tanh(torch.nn.functional.linear(T[:, 0, :], Wp, bp)), W, b
        ),
        lambda T, Wp, bp, W, b: (
            torch.einsum(
                "bh,ch->bc", torch.tanh(torch.einsum("bh,kh->bk", T.select(1, 0), Wp) + bp), W
            )
            + b
        ),
    ],
    "ch10.align_labels": [
        lambda w, l: [
            -100 if x is None or (n and w[n - 1] == x) else l[x] for n, x in enumerate(w)
        ],
        lambda w, l: torch.tensor(
            [-100 if x is None or (n and w[n - 1] == x) else l[x] for n, x in enumerate(w)]
        ),
    ],
    "ch10.best_span": [
        _span_loops,
        lambda s, e, m: tuple(torch.tensor(_span(s.tolist(), e.tolist(), m))),
    ],
    "ch10.entity_f1": [_f1_flat, lambda g, p: torch.tensor(_entity_scores(g, p)[2])],
    "ch10.majority_accuracy": [
        lambda tr, te: float(np.mean(te.numpy() == np.bincount(tr.numpy()).argmax())),
        lambda tr, te: (te == tr.mode().values).double().mean(),
        lambda tr, te: (
            sum(int(t) == max(set(tr.tolist()), key=tr.tolist().count) for t in te) / len(te)
        ),
    ],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _span_filled(fill):
    def best_span(start_logits, end_logits, max_len):
        L = len(start_logits)
        scores = start_logits[:, None] + end_logits[None, :]
        i, j = torch.arange(L)[:, None], torch.arange(L)[None, :]
        scores = scores.masked_fill((j < i) | (j - i >= max_len), fill)
        best = int(scores.argmax())
        return best // L, best % L

    return best_span


def _span_greedy(start_logits, end_logits, max_len):  # the best start, then its best end
    i = int(start_logits.argmax())
    return i, i + int(end_logits[i : i + max_len].argmax())


def _entities_merged(
    tags, merge
):  # merge: only an O ends an entity / a B- of the same type continues
    found, start = set(), None
    for n, tag in enumerate(tags + ["O"]):
        if start is not None and (tag == "O" or (merge == "same" and tag[2:] != tags[start][2:])):
            found.add((tags[start][2:], start, n - 1))
            start = None
        if tag.startswith("B-") and start is None:
            start = n
    return found


def _f1_merged(merge):
    def entity_f1(gold, predicted):
        right = n_pred = n_gold = 0
        for g, p in zip(gold, predicted, strict=True):
            g, p = _entities_merged(g, merge), _entities_merged(p, merge)
            right, n_pred, n_gold = right + len(g & p), n_pred + len(p), n_gold + len(g)
        return 2 * right / (n_pred + n_gold)

    return entity_f1


def _majority(choose):
    def majority_accuracy(train_labels, test_labels):
        return (test_labels == choose(train_labels)).float().mean().item()

    return majority_accuracy


def _align_falsy(word_ids, word_labels):  # `not word` is also true for the word id 0
    labels, previous = [], None
    for word in word_ids:
        labels.append(-100 if not word or word == previous else word_labels[word])
        previous = word
    return labels


WRONG["ch10.cls_logits"] += [
    (
        lambda T, Wp, bp, W, b: torch.log_softmax(torch.tanh(T[:, 0] @ Wp.T + bp) @ W.T + b, -1),
        "is wrong",
    ),
    (lambda T, Wp, bp, W, b: torch.tanh(T.sum(1) @ Wp.T + bp) @ W.T + b, "is wrong"),
    (lambda T, Wp, bp, W, b: torch.tanh(T[:, 0] @ Wp.T) @ W.T + b, "is wrong"),
    (lambda T, Wp, bp, W, b: torch.sigmoid(T[:, 0] @ Wp.T + bp) @ W.T + b, "is wrong"),
]
WRONG["ch10.align_labels"] += [
    (_align_falsy, "word is None"),
    (lambda w, labels: [-1 if x is None else labels[x] for x in w], "is wrong"),
    (
        lambda w, labels: [
            -100 if x is None else labels[x] + (k > 0 and w[k - 1] == x) for k, x in enumerate(w)
        ],
        "wrong",
    ),
]
WRONG["ch10.best_span"] += [
    (_span_filled(0.0), "Fill them with -inf"),
    (_span_filled(-1.0), "Fill them with -inf"),
    (_span_filled(-20.0), "Fill them with -inf"),  # passed before the far-negative rows
    (_span_filled(-50.0), "Fill them with -inf"),
    (_span_greedy, "best_span returned"),
    (lambda s, e, m: tuple(x + 1 for x in _span_filled(float("-inf"))(s, e, m)), "returned"),
]
WRONG["ch10.entity_f1"] += [
    (_f1_merged("O"), "merged adjacent entities"),
    (_f1_merged("same"), "merged adjacent entities"),
]
WRONG["ch10.majority_accuracy"] += [
    (_majority(lambda t: t.median()), "returned"),
    (_majority(lambda t: t[0]), "returned"),
    (_majority(lambda t: t.max()), "returned"),
    (_majority(lambda t: t.argmax()), "returned"),  # the position of the largest label
    (_majority(lambda t: t.bincount().max()), "returned"),  # the count, not the class
]
CORRECT["ch10.best_span"] += [lambda s, e, m: torch.tensor(_span_filled(float("-inf"))(s, e, m))]
CORRECT["ch10.majority_accuracy"] += [_majority(lambda t: t.mode().values)]


def _span_max_len_3(start_logits, end_logits, max_len):  # the example's max_len, hard-coded
    return _span_filled(float("-inf"))(start_logits, end_logits, 3)


WRONG["ch10.best_span"] += [(_span_max_len_3, "best_span returned")]

WRONG["ch10.align_labels"] += [  # right values, but cross_entropy needs int64 class ids
    (
        lambda w, l: [
            -100.0 if x is None or (n and w[n - 1] == x) else float(l[x]) for n, x in enumerate(w)
        ],
        "int64",
    ),
]
WRONG["ch10.majority_accuracy"] += [  # the majority of train + test: it peeks at the test labels
    (
        lambda tr, te: float((te == torch.bincount(torch.cat([tr, te])).argmax()).float().mean()),
        "returned 0.8, expected 0.2",
    ),
]


# The tenth session's audit: an F1 that divides by zero when nothing is predicted (or nothing is
# right), and a span search among the top-k starts and ends only (Hugging Face's n_best).


def _f1_no_guard(gold, predicted):
    right = n_pred = n_gold = 0
    for g, p in zip(gold, predicted, strict=True):
        g, p = _entities(g), _entities(p)
        right, n_pred, n_gold = right + len(g & p), n_pred + len(p), n_gold + len(g)
    precision, recall = right / n_pred, right / n_gold
    return 2 * precision * recall / (precision + recall)


def _span_top_k(k):
    def best_span(start_logits, end_logits, max_len):
        best = None
        for i in start_logits.topk(min(k, len(start_logits))).indices.tolist():
            for j in end_logits.topk(min(k, len(end_logits))).indices.tolist():
                score = start_logits[i] + end_logits[j]
                if j >= i and j - i < max_len and (best is None or score > best[0]):
                    best = (score, i, j)
        return (best[1], best[2]) if best else (0, 0)

    return best_span


WRONG["ch10.entity_f1"] += [(_f1_no_guard, "ZeroDivisionError")]
WRONG["ch10.best_span"] += [
    (_span_top_k(3), "best_span returned"),
    (_span_top_k(5), "best_span returned"),
]
