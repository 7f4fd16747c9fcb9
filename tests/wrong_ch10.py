"""Classic wrong answers for the chapter 10 exercises (loaded by tests/test_exercises.py)."""
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
    for g, p in zip(gold, predicted):
        if tokens:
            g = {(k, t) for k, t in enumerate(g) if t != "O"}
            p = {(k, t) for k, t in enumerate(p) if t != "O"}
        else:
            g, p = _entities(g, typed), _entities(p, typed)
        right, n_pred, n_gold = right + len(g & p), n_pred + len(p), n_gold + len(g)
    precision, recall = right / n_pred, right / n_gold
    return precision, recall, 2 * precision * recall / (precision + recall)


WRONG = {
    "ch10.cls_logits": [
        (lambda T, Wp, bp, W, b: torch.tanh(T.mean(1) @ Wp.T + bp) @ W.T + b, "averaged all the tokens"),
        (lambda T, Wp, bp, W, b: torch.tanh(T[:, -1] @ Wp.T + bp) @ W.T + b, "last position"),
        (lambda T, Wp, bp, W, b: (T[:, 0] @ Wp.T + bp) @ W.T + b, "tanh"),
        (lambda T, Wp, bp, W, b: torch.tanh(T @ Wp.T + bp) @ W.T + b, "One label per SEQUENCE"),
    ],
    "ch10.align_labels": [
        (lambda w, l: _align(w, l, every_piece=True), "every piece"),
        (lambda w, l: _align(w, l, special=0), "0 is a real tag"),
        (lambda w, l: _align(w, l, first=False), "LAST piece"),
    ],
    "ch10.best_span": [
        (lambda s, e, m: (int(s.argmax()), int(e.argmax())), "separately"),
        (lambda s, e, m: _span(s.tolist(), e.tolist(), m, strict=True), "j > i"),
        (lambda s, e, m: _span(s.tolist(), e.tolist(), m, no_len=True), "max_len"),
        (lambda s, e, m: [int(s.argmax())], "Return a pair"),
    ],
    "ch10.entity_f1": [
        (lambda g, p: _entity_scores(g, p, tokens=True)[2], "scored tokens"),
        (lambda g, p: _entity_scores(g, p, typed=False)[2], "ignored the entity type"),
        (lambda g, p: _entity_scores(g, p)[0], "precision"),
        (lambda g, p: _entity_scores(g, p)[1], "recall"),
    ],
    "ch10.majority_accuracy": [
        (lambda tr, te: (te == torch.bincount(te).argmax()).float().mean().item(), "TEST labels"),
        (lambda tr, te: torch.bincount(tr).max().item() / len(tr), "training set"),
    ],
}
