"""Checks for chapter 10, fine-tuning (task heads, WordPiece labels, spans, scores, baselines)."""
from __future__ import annotations

import torch

from ..finetuning import IGNORE, align_labels, best_span, bio_entities, entity_f1
from .core import Mistake, compare, exercise


@exercise("ch10.cls_logits", "The [CLS] classifier head", "[CLS] 分类头")
def check_cls_logits(cls_logits) -> None:
    g = torch.Generator().manual_seed(10)
    T = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)          # (B, L, H)
    W_pool, b_pool = torch.randn(4, 4, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    W, b = torch.randn(2, 4, generator=g, dtype=torch.float64), torch.randn(2, generator=g, dtype=torch.float64)
    got = cls_logits(T.clone(), W_pool.clone(), b_pool.clone(), W.clone(), b.clone())
    head = lambda v, act=torch.tanh: act(v @ W_pool.T + b_pool) @ W.T + b
    compare(got, head(T[:, 0]), "logits", wrong=[
        (head(T.mean(1)), "You averaged all the tokens: the head reads the vector of [CLS], position 0.",
         "你对所有词元取了平均：输出头读的是 [CLS](位置 0)的向量。"),
        (head(T[:, -1]), "You took the last position: [CLS] is the FIRST token, and the last positions may be padding.",
         "你取了最后一个位置：[CLS] 是第一个词元，而最后几个位置可能是填充。"),
        (head(T[:, 0], lambda v: v), "You forgot the pooler's tanh: pooled = tanh(W_pool h_[CLS] + b_pool).",
         "忘了池化层的 tanh：pooled = tanh(W_pool h_[CLS] + b_pool)。"),
        (torch.softmax(head(T[:, 0]), -1), "You returned probabilities: return the logits, cross_entropy applies the softmax.",
         "你返回的是概率：应返回 logits，cross_entropy 会自己做 softmax。"),
    ], shape_hints=[
        ((3, 5, 2), "One label per SEQUENCE: read only [CLS], giving (B, C), not a label per token (B, L, C).",
         "每个序列一个标签：只读 [CLS]，结果为 (B, C)，而不是每个词元一个标签 (B, L, C)。"),
    ])


@exercise("ch10.align_labels", "Labels for WordPieces", "WordPiece 的标签")
def check_align_labels(fn) -> None:
    cases = [([None, 0, 1, 1, 1, 2, 3, 3, None], [5, 0, 3, 4]),
             ([None, 0, 0, 1, None, None, None], [1, 2])]
    for word_ids, labels in cases:
        got = fn(list(word_ids), list(labels))
        want = align_labels(word_ids, labels)

        def variant(first=True, special=IGNORE, rest=IGNORE):
            out = []
            for n, w in enumerate(word_ids):
                if w is None:
                    out.append(special)
                elif first and (n == 0 or word_ids[n - 1] != w):
                    out.append(labels[w])
                elif not first and (n + 1 == len(word_ids) or word_ids[n + 1] != w):
                    out.append(labels[w])
                else:
                    out.append(labels[w] if rest is None else rest)
            return torch.tensor(out)

        compare(got, torch.tensor(want), f"align_labels({word_ids}, {labels})", wrong=[
            (variant(rest=None), "You gave the word's label to every piece: only the FIRST piece gets it, the other pieces -100, so that each word counts once in the loss.",
             "你把词的标签给了每个词片：只有第一个词片拿到标签，其余词片为 -100，这样每个词在损失中只算一次。"),
            (variant(special=0), "You labelled [CLS], [SEP] and padding with 0: 0 is a real tag (O). They must be -100, which the loss ignores.",
             "你把 [CLS]、[SEP] 和填充标成了 0：0 是一个真实的标签(O)。它们必须是 -100，损失会忽略它。"),
            (variant(first=False), "You gave the label to the LAST piece of each word: the convention (BERT paper) is the first piece.",
             "你把标签给了每个词的最后一个词片：约定(BERT 论文)是第一个词片。"),
        ])


def _brute_force(s, e, max_len, strict=False, ignore_order=False, ignore_len=False):
    best, arg = -float("inf"), None
    for i in range(len(s)):
        for j in range(len(e)):
            ok = (j > i if strict else j >= i) or ignore_order
            ok = ok and (ignore_len or abs(j - i) < max_len)
            if ok and s[i] + e[j] > best:
                best, arg = s[i] + e[j], (i, j)
    return arg


@exercise("ch10.best_span", "The best span, j ≥ i", "最佳片段(j ≥ i)")
def check_best_span(fn) -> None:
    start = torch.tensor([[0.1, 0.5, 0.2, 3.0, 0.0, 1.0, 0.3],     # best start after the best end
                          [0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0],     # a one-token span wins
                          [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5]])    # the best pair is too long
    end = torch.tensor([[0.0, 2.5, 2.0, 0.1, 0.4, 0.2, 0.0],
                        [0.0, 4.0, 1.0, 0.0, 0.0, 0.0, 0.0],
                        [0.0, 0.0, 0.0, 0.0, 0.0, 2.5, 2.4]])
    max_len = 3
    got = []
    for s, e in zip(start, end):
        answer = fn(s.clone(), e.clone(), max_len)
        if not (isinstance(answer, (tuple, list)) and len(answer) == 2):
            raise Mistake("Return a pair (i, j): the start and the end position.", "请返回一对 (i, j)：起点和终点的位置。")
        got.append([int(answer[0]), int(answer[1])])
    rows = lambda **kw: torch.tensor([_brute_force(s.tolist(), e.tolist(), max_len, **kw) for s, e in zip(start, end)])
    want = torch.stack(best_span(start, end, max_len), -1)
    compare(torch.tensor(got), want, "(i, j) for three examples", wrong=[
        (torch.stack([start.argmax(-1), end.argmax(-1)], -1), "You took the best start and the best end separately: they can come in the wrong order (j < i) or too far apart. Search the pairs with j ≥ i.",
         "你分别取了最佳起点和最佳终点：两者的顺序可能是错的(j < i)，也可能相距太远。应在 j ≥ i 的起止对中搜索。"),
        (rows(strict=True), "You required j > i: a one-token answer (j = i) is a valid span.",
         "你要求 j > i：单个词元的答案(j = i)也是合法片段。"),
        (rows(ignore_len=True), "You ignored max_len: the span may hold at most max_len tokens (j - i < max_len).",
         "你忽略了 max_len：片段最多包含 max_len 个词元(j - i < max_len)。"),
        (rows(ignore_order=True), "You allowed j < i: a span cannot end before it starts.",
         "你允许了 j < i：片段不能在开始之前结束。"),
    ])


@exercise("ch10.entity_f1", "Entity-level F1", "实体级 F1")
def check_entity_f1(fn) -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"],
            ["B-ORG", "I-ORG", "I-ORG", "O", "B-PER", "O"],
            ["O", "B-LOC", "O", "O", "B-PER", "I-PER"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"],   # PER right; LOC one character short; a false ORG
            ["B-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "O"],   # ORG right; PER found with the wrong type
            ["O", "B-LOC", "O", "B-PER", "I-PER", "I-PER"]]   # LOC right; PER starts too early
    got = fn([list(t) for t in gold], [list(t) for t in pred])
    want = entity_f1(gold, pred)["f1"]

    def scores(key):
        tp = n_pred = n_gold = 0
        for g, p in zip(gold, pred):
            g, p = {key(e) for e in bio_entities(g)}, {key(e) for e in bio_entities(p)}
            tp, n_pred, n_gold = tp + len(g & p), n_pred + len(p), n_gold + len(g)
        return tp / n_pred, tp / n_gold

    def f1(precision, recall):
        return 2 * precision * recall / (precision + recall)

    untyped = f1(*scores(lambda e: e[1:]))
    tokens = [(n, k, t) for n, tags in enumerate(gold) for k, t in enumerate(tags) if t != "O"]
    predicted_tokens = [(n, k, t) for n, tags in enumerate(pred) for k, t in enumerate(tags) if t != "O"]
    token_tp = len(set(tokens) & set(predicted_tokens))
    token_f1 = f1(token_tp / len(predicted_tokens), token_tp / len(tokens))
    precision, recall = scores(lambda e: e)
    compare([got], torch.tensor([want]), "entity F1", wrong=[
        (torch.tensor([token_f1]), "You scored tokens (characters), not entities: an entity counts only when its type and BOTH ends are right.",
         "你按词元(字)计分，而不是按实体：只有类型和两端都正确，实体才算对。"),
        (torch.tensor([untyped]), "You ignored the entity type: a person tagged as a place is wrong.",
         "你忽略了实体类型：把人名标成地名是错的。"),
        (torch.tensor([precision]), "That is the precision (right / predicted); F1 is the harmonic mean of precision and recall.",
         "这是精确率(正确数 / 预测数)；F1 是精确率和召回率的调和平均。"),
        (torch.tensor([recall]), "That is the recall (right / true entities); F1 is the harmonic mean of precision and recall.",
         "这是召回率(正确数 / 真实实体数)；F1 是精确率和召回率的调和平均。"),
    ])


@exercise("ch10.majority_accuracy", "The majority-class baseline", "多数类基线")
def check_majority_accuracy(fn) -> None:
    train = torch.tensor([1, 1, 0, 1, 0, 1, 1, 0, 1, 1])    # majority 1 (70 %)
    test = torch.tensor([0, 0, 1, 0, 1, 0, 0, 1])          # majority 0 (62.5 %)
    got = fn(train.clone(), test.clone())
    compare([got], torch.tensor([3 / 8]), "accuracy", wrong=[
        (torch.tensor([5 / 8]), "You chose the majority class of the TEST labels: the baseline may only use the training labels (peeking at the test set is cheating).",
         "你用了测试集标签的多数类：基线只能使用训练集标签(偷看测试集就是作弊)。"),
        (torch.tensor([0.7]), "That is the majority share in the training set: the baseline's accuracy is measured on the test labels.",
         "这是训练集中多数类的比例：基线的准确率要在测试集标签上测量。"),
    ])
