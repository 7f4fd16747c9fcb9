"""Checks for chapter 10, fine-tuning (task heads, WordPiece labels, spans, scores, baselines)."""

from __future__ import annotations

import math

import torch

from ..finetuning import IGNORE, align_labels, entity_f1
from .core import Mistake, compare, exercise, generator, number, pair, require_integer_ids


@exercise("ch10.cls_logits", "The [CLS] classifier head", "[CLS] 分类头")
def check_cls_logits(cls_logits, hidden: bool = False) -> None:
    shapes = (
        [(3, 5, 4, 2), (1, 3, 6, 3), (4, 1, 3, 5), (2, 7, 5, 1)]
        if not hidden
        else [(2, 4, 3, 3), (5, 2, 6, 2), (1, 1, 4, 4), (3, 6, 2, 1)]
    )
    for n, (B, L, H, C) in enumerate(shapes):
        g = (
            torch.Generator().manual_seed(10)
            if n == 0 and not hidden
            else generator(10 + n, hidden)
        )
        T = torch.randn(B, L, H, generator=g, dtype=torch.float64) * 1.5  # (B, L, H)
        W_pool, b_pool = (
            torch.randn(H, H, generator=g, dtype=torch.float64),
            torch.randn(H, generator=g, dtype=torch.float64),
        )
        W, b = (
            torch.randn(C, H, generator=g, dtype=torch.float64),
            torch.randn(C, generator=g, dtype=torch.float64),
        )
        got = cls_logits(T, W_pool, b_pool, W, b)

        def head(v, act=torch.tanh, Wp=W_pool):
            return act(v @ Wp.T + b_pool) @ W.T + b

        compare(
            got,
            head(T[:, 0]),
            "logits",
            wrong=[
                (
                    lambda: head(T.mean(1)),
                    "You averaged all the tokens: the head reads the vector of [CLS], position 0.",
                    "你对所有词元取了平均：输出头读的是 [CLS]（位置 0）的向量。",
                    "mean_pooling",
                ),
                (
                    lambda: head(T.max(1).values),
                    "You took the maximum over the tokens: the head reads the vector of [CLS], "
                    "position 0.",
                    "你对所有词元取了最大值：输出头读的是 [CLS]（位置 0）的向量。",
                    "max_pooling",
                ),
                (
                    lambda: head(T[:, -1]),
                    "You took the last position: [CLS] is the FIRST token, and the last positions "
                    "may be "
                    "padding.",
                    "你取了最后一个位置：[CLS] 是第一个词元，而最后几个位置可能是填充。",
                    "last_position",
                ),
                (
                    lambda: head(T[:, 0], lambda v: v),
                    "You forgot the pooler's tanh: pooled = tanh(W_pool h_[CLS] + b_pool).",
                    "忘了池化层的 tanh：pooled = tanh(W_pool h_[CLS] + b_pool)。",
                    "no_tanh",
                ),
                (
                    lambda: head(T[:, 0], torch.relu),
                    "The pooler uses tanh, not ReLU: pooled = tanh(W_pool h_[CLS] + b_pool).",
                    "池化层用的是 tanh，而不是 ReLU：pooled = tanh(W_pool h_[CLS] + b_pool)。",
                    "relu",
                ),
                (
                    lambda: torch.softmax(head(T[:, 0]), -1),
                    "You returned probabilities: return the logits, cross_entropy applies "
                    "the softmax.",
                    "你返回的是概率：应返回 logits，cross_entropy 会自己做 softmax。",
                    "probabilities",
                ),
                (
                    lambda: head(T[:, 0], Wp=W_pool.T),
                    "W_pool is stored as (out, in), like nn.Linear's weight: the pooled vector "
                    "is tanh(h W_poolᵀ + b_pool).",
                    "W_pool 按（输出，输入）存储，与 nn.Linear 的 weight 相同：池化向量是 tanh(h "
                    "W_poolᵀ + b_pool)。",
                    "W_pool_not_transposed",
                ),
                (
                    lambda: T[:, 0] @ W.T + b,
                    "You skipped the pooler: the classifier reads tanh(W_pool h_[CLS] + b_pool).",
                    "你跳过了池化层：分类器读的是 tanh(W_pool h_[CLS] + b_pool)。",
                    "no_pooler",
                ),
            ],
            shape_hints=[
                (
                    (B, L, C),
                    "One label per SEQUENCE: read only [CLS], giving (B, C), not a label per token "
                    "(B, L, C).",
                    "每个序列一个标签：只读 [CLS]，结果为 (B, C)，而不是每个词元一个标签 (B, L, "
                    "C)。",
                    "per_token",
                ),
            ],
        )


def _align_variant(
    word_ids, labels, first=True, special=IGNORE, rest=IGNORE, by_position=False, falsy=False
):
    out = []
    for n, w in enumerate(word_ids):
        if w is None or (falsy and not w):
            out.append(special)
        elif first and (n == 0 or word_ids[n - 1] != w):
            out.append(labels[n] if by_position and n < len(labels) else labels[w])
        elif not first and (n + 1 == len(word_ids) or word_ids[n + 1] != w):
            out.append(labels[w])
        else:
            out.append(labels[w] if rest is None else rest)
    return torch.tensor(out)


@exercise("ch10.align_labels", "Labels for WordPieces", "WordPiece 的标签")
def check_align_labels(fn, hidden: bool = False) -> None:
    cases = (
        [
            ([None, 0, 1, 1, 1, 2, 3, 3, None], [5, 0, 3, 4]),
            ([None, 0, 0, 1, None, None, None], [1, 2]),
            ([None, 0, 1, 2, None], [0, 0, 7]),
            ([None, 0, 0, 0, 1, 2, 2, None, None], [3, 6, 0]),
        ]
        if not hidden
        else [
            ([None, 0, 0, 1, 2, 2, 2, None], [2, 0, 6]),
            ([None, 0, 1, None, None], [4, 4]),
            ([None, 0, 1, 1, 2, 3, None], [0, 8, 1, 5]),
            ([None, 0, 0, None], [7]),
        ]
    )
    for word_ids, labels in cases:
        got = fn(list(word_ids), list(labels))
        want = align_labels(word_ids, labels)
        compare(
            got,
            torch.tensor(want),
            "labels",
            inputs=f"word_ids={word_ids}, word_labels={labels}",
            wrong=[
                (
                    lambda: _align_variant(word_ids, labels, rest=None),
                    "You gave the word's label to every piece: only the FIRST "
                    "piece gets it, the other pieces -100, so that each word counts once in the "
                    "loss.",
                    "你把词的标签给了每个词片：只有第一个词片拿到标签，其余词片为 -100，"
                    "这样每个词在损失中只算一次。",
                    "every_piece",
                ),
                (
                    lambda: _align_variant(word_ids, labels, special=0),
                    "You labelled [CLS], [SEP] and padding with 0: 0 is a real "
                    "tag (O). They must be -100, which the loss ignores.",
                    "你把 [CLS]、[SEP] 和填充标成了 0：0 是一个真实的标签（O）。它们必须是 -100，"
                    "损失会忽略它。",
                    "special_tokens_0",
                ),
                (
                    lambda: _align_variant(word_ids, labels, first=False),
                    "You gave the label to the LAST piece of each word: the "
                    "convention (BERT paper) is the first piece.",
                    "你把标签给了每个词的最后一个词片：约定（BERT 论文）是第一个词片。",
                    "last_piece",
                ),
                (
                    lambda: _align_variant(word_ids, labels, by_position=True),
                    "You looked the label up by the token's position; "
                    "look it up by its word: word_labels[word_ids[n]].",
                    "你按词元的位置去取标签；应按它所属的词去取：word_labels[word_ids[n]]。",
                    "label_by_position",
                ),
                (
                    lambda: _align_variant(word_ids, labels, falsy=True),
                    "Word 0 got -100 like a special token: `if not word` (or `if word`) is also "
                    "true for the word id 0; test `word is None`.",
                    "第 0 个词像特殊词元一样得到了 -100：`if not word`（或 `if word`）"
                    "对词编号 0 也成立；应判断 `word is None`。",
                    "word_0_falsy",
                ),
                (
                    lambda: _align_variant(word_ids, labels, rest=0),
                    "The later pieces of a word must be -100, not 0 (0 is a real tag).",
                    "一个词后面的词片必须是 -100，而不是 0（0 是一个真实的标签）。",
                    "later_pieces_0",
                ),
            ],
            shape_hints=[
                (
                    (len(labels),),
                    "Return one label per TOKEN (len(word_ids)), not one per word.",
                    "要每个词元（共 len(word_ids) 个）返回一个标签，而不是每个词一个。",
                    "one_per_word",
                ),
            ],
        )
        require_integer_ids(got, "labels", loss=True)


def _filled_argmax(s, e, max_len, fill):
    """A wrong answer: the forbidden pairs of the (L, L) score matrix filled with ``fill``."""
    L = len(s)
    values = [
        s[i] + e[j] if j >= i and j - i < max_len else fill for i in range(L) for j in range(L)
    ]
    best = max(range(L * L), key=lambda k: (values[k], -k))
    return best // L, best % L


def _brute_force(
    s, e, max_len, strict=False, ignore_order=False, ignore_len=False, inclusive=False
):
    best, arg = -float("inf"), None
    for i in range(len(s)):
        for j in range(len(e)):
            ok = (j > i if strict else j >= i) or ignore_order
            ok = ok and (
                ignore_len or (abs(j - i) <= max_len if inclusive else abs(j - i) < max_len)
            )
            if ok and s[i] + e[j] > best:
                best, arg = s[i] + e[j], (i, j)
    return arg


@exercise("ch10.best_span", "The best span, j ≥ i", "最佳片段（j ≥ i）")
def check_best_span(fn, hidden: bool = False) -> None:
    rows = [
        # best start after best end
        ([0.1, 0.5, 0.2, 3.0, 0.0, 1.0, 0.3], [0.0, 2.5, 2.0, 0.1, 0.4, 0.2, 0.0], 3),
        # a one-token span wins
        ([0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 4.0, 1.0, 0.0, 0.0, 0.0, 0.0], 3),
        # the best pair is too long
        ([2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5], [0.0, 0.0, 0.0, 0.0, 0.0, 2.5, 2.4], 3),
        ([0.0, 1.0, 3.0, 0.0], [2.0, 0.0, 0.5, 3.0], 2),  # max_len = 2: j − i ≤ 1
        ([1.0, 2.0, 0.5], [0.0, 1.5, 3.0], 1),  # max_len = 1: j = i only
        # the last position, long max_len
        ([0.3, 0.2, 0.9, 0.1, 0.4], [0.1, 0.8, 0.1, 0.2, 5.0], 10),
        ([-1.0], [-2.0], 4),  # one token
        # every allowed score is below −1: a fill of 0 or −1 instead of −∞ picks a forbidden pair
        ([-2.0, -3.0, -1.5, -4.0], [-3.0, -1.0, -2.5, -2.0], 2),
        # ... and far below: a fill that is merely low (-20, -50) also picks a forbidden pair
        ([-31.0, -35.0, -30.5, -40.0], [-33.0, -30.0, -36.0, -32.0], 2),
        # max_len = 1 where a two- or three-token span would score more (a max_len of 3 kept
        # from the example, or an off-by-one, shows)
        ([2.0, -1.0, 0.0, 0.5], [0.0, 1.0, 3.5, 0.2], 1),
        # the best allowed span starts at the 7th-best start: a search among the top-k starts
        # and ends only (Hugging Face's n_best post-processing) misses it
        ([4.0] * 6 + [0.0, 0.0, 1.0, 0.0], [-9.0] * 6 + [0.0, 0.0, 0.0, 6.0], 2),
    ]
    if hidden:
        rows = [
            ([0.2, 0.1, 2.0, 0.4, 3.5, 0.0], [1.0, 3.0, 0.2, 0.1, 0.3, 0.9], 4),
            ([0.0, 0.0, 5.0, 0.0, 0.0], [0.0, 0.0, 5.0, 2.0, 0.0], 2),
            ([3.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0, 3.5], 2),
            ([0.5, 2.0, 0.1], [3.0, 0.2, 1.0], 1),
            ([0.0, 2.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2.9, 3.0, 0.0, 0.0], 2),
            ([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], 3),  # ties: any best span is right
            ([0.7, -0.3], [-0.1, 0.6], 5),
            ([-3.0, -1.2, -2.0, -2.5, -4.0], [-2.0, -3.5, -1.1, -2.2, -1.0], 1),
            ([-36.0, -31.0, -33.5, -30.0], [-34.0, -32.5, -30.5, -35.0], 2),
            ([1.5, -2.0, 0.0, 0.0, 0.3], [0.0, 0.5, 4.0, 0.1, 0.0], 1),
            ([3.0] * 5 + [0.5, 0.4, 0.0, 0.0], [-8.0] * 6 + [0.0, 0.0, 5.0], 3),
        ]
    answers, no_answer = [], None
    for s_list, e_list, max_len in rows:
        s, e = torch.tensor(s_list, dtype=torch.float64), torch.tensor(e_list, dtype=torch.float64)
        try:
            result = fn(s, e, max_len)
        except Mistake as m:
            # None for one row: kept, in case a named mistake explains it (j > i with max_len 1)
            if m.name != "returned_none":
                raise
            no_answer = no_answer or m
            answers.append(None)
            continue
        i, j = pair(
            result,
            "Return a pair (i, j): the start and the end position.",
            "请返回一对 (i, j)：起点和终点的位置。",
            numeric=True,
        )
        try:
            answers.append((int(number(i, "i")), int(number(j, "j"))))
        except Mistake:
            raise Mistake(
                f"best_span should return two integer positions (i, j), got {i!r}, {j!r}.",
                f"best_span 应返回两个整数位置 (i, j)，却得到 {i!r}、{j!r}。",
                "wrong_type",
            ) from None

    def is_best(span, s_list, e_list, max_len):
        if span is None:
            return False
        i, j = span
        L = len(s_list)
        best = _brute_force(s_list, e_list, max_len)
        return (
            0 <= i < L
            and 0 <= j < L
            and j >= i
            and j - i < max_len
            and math.isclose(s_list[i] + e_list[j], s_list[best[0]] + e_list[best[1]], abs_tol=1e-9)
        )

    if all(is_best(a, *row) for a, row in zip(answers, rows, strict=True)):
        return  # a best span in every row (ties may be broken either way)

    def argmax(values):
        return max(range(len(values)), key=lambda k: (values[k], -k))

    variants = [
        (
            lambda s, e, m: (argmax(s), argmax(e)),
            "You took the best start and the best end separately: they can come in the "
            "wrong order (j < i) or too far apart. Search the pairs with j ≥ i.",
            "你分别取了最佳起点和最佳终点：两者的顺序可能是错的（j < i），也可能相距太远。"
            "应在 j ≥ i 的起止对中搜索。",
            "separately",
        ),
        (
            lambda s, e, m: _brute_force(s, e, m, strict=True),
            "You required j > i: a one-token answer (j = i) is a valid span.",
            "你要求 j > i：单个词元的答案（j = i）也是合法片段。",
            "strict_j_greater_i",
        ),
        (
            lambda s, e, m: _brute_force(s, e, m, inclusive=True),
            "Off by one in the length: the span holds j − i + 1 "
            "tokens, at most max_len, so j − i < max_len.",
            "长度差了一位：片段包含 j − i + 1 个词元，最多 max_len 个，所以 j − i < max_len。",
            "max_len_off_by_one",
        ),
        (
            lambda s, e, m: _brute_force(s, e, m, ignore_len=True),
            "You ignored max_len: the span may hold at most max_len tokens (j - i < max_len).",
            "你忽略了 max_len：片段最多包含 max_len 个词元（j - i < max_len）。",
            "ignored_max_len",
        ),
        (
            lambda s, e, m: _brute_force(s, e, m, ignore_order=True),
            "You allowed j < i: a span cannot end before it starts.",
            "你允许了 j < i：片段不能在开始之前结束。",
            "allowed_j_before_i",
        ),
        *(
            (
                lambda s, e, m, fill=fill: _filled_argmax(s, e, m, fill),
                "You filled the forbidden pairs with a finite number (such as 0 or -20): when "
                "every allowed score is below it, a forbidden pair wins. Fill them with -inf "
                "(float('-inf')).",
                "你把不允许的起止对填成了一个有限的数（例如 0 或 -20）：当所有允许的得分都比它小"
                "时，不允许的对反而会胜出。应填 -inf（float('-inf')）。",
                "finite_fill",
            )
            for fill in (0.0, -1.0, -10.0, -20.0, -50.0)
        ),
        (
            lambda s, e, m: _brute_force(s, e, m)[::-1],
            "The pair is swapped: return (i, j), start first.",
            "顺序反了：应返回 (i, j)，起点在前。",
            "swapped_pair",
        ),
    ]
    for variant, en, zh, key in variants:
        values = [variant(*row) for row in rows]
        if all(
            a == (None if v is None else tuple(v)) or (is_best(a, *row) and is_best(tuple(v), *row))
            for a, v, row in zip(answers, values, rows, strict=True)
        ):
            raise Mistake(en, zh, key)
    if no_answer is not None:
        raise no_answer
    for (i, j), (s_list, e_list, max_len) in zip(answers, rows, strict=True):
        if not is_best((i, j), s_list, e_list, max_len):
            best = _brute_force(s_list, e_list, max_len)
            score = s_list[best[0]] + e_list[best[1]]
            raise Mistake(
                f"best_span returned ({i}, {j}) for start_logits {s_list}, end_logits {e_list}, "
                f"max_len {max_len}: "
                f"expected ({best[0]}, {best[1]}), score {score:g}.",
                f"对于 start_logits {s_list}、end_logits {e_list}、max_len {max_len}，best_span "
                f"返回了 ({i}, {j})：应为 "
                f"({best[0]}, {best[1]})，得分 {score:g}。",
            )


def _entity_sets(tags, typed=True, start_only=False, close_last=True, merge=None):
    """The entities of one sentence; ``merge`` gives the classic mistakes where a B- tag right
    after an entity continues it: "O" (only an O ends an entity), "same" (a B- of the same
    type continues it)."""
    found, start = set(), None
    seq = list(tags) + (["O"] if close_last else [])
    for n, tag in enumerate(seq):
        if merge == "O":
            ends = tag == "O"
        elif merge == "same":
            ends = tag == "O" or tag[2:] != tags[start][2:] if start is not None else False
        else:
            ends = tag != "I-" + tags[start][2:] if start is not None else False
        if start is not None and ends:
            found.add(
                ((tags[start][2:] if typed else ""), start)
                if start_only
                else ((tags[start][2:] if typed else ""), start, n - 1)
            )
            start = None
        if tag.startswith("B-") and (start is None or merge is None):
            start = n
    return found


def _f1_variant(gold, pred, kind):
    if kind == "per_sentence":
        scores = []
        for g, p in zip(gold, pred, strict=True):
            scores.append(_f1_variant([g], [p], "right"))
        return sum(scores) / len(scores)
    if kind == "pooled":  # one set for all sentences, without the sentence index
        g = set().union(*(_entity_sets(t) for t in gold))
        p = set().union(*(_entity_sets(t) for t in pred))
        tp, n_pred, n_gold = len(g & p), len(p), len(g)
    else:
        tp = n_pred = n_gold = 0
        for gt, pt in zip(gold, pred, strict=True):
            if kind == "tokens":
                g = {(k, t) for k, t in enumerate(gt) if t != "O"}
                p = {(k, t) for k, t in enumerate(pt) if t != "O"}
            else:
                options = {
                    "untyped": {"typed": False},
                    "start_only": {"start_only": True},
                    "unclosed": {"close_last": False},
                    "merged_O": {"merge": "O"},
                    "merged_same": {"merge": "same"},
                }.get(kind, {})
                g, p = _entity_sets(gt, **options), _entity_sets(pt, **options)
            tp, n_pred, n_gold = tp + len(g & p), n_pred + len(p), n_gold + len(g)
    if kind == "precision":
        return tp / n_pred
    if kind == "recall":
        return tp / n_gold
    if kind == "accuracy":
        flat_g = [t for s in gold for t in s]
        flat_p = [t for s in pred for t in s]
        return sum(a == b for a, b in zip(flat_g, flat_p, strict=True)) / len(flat_g)
    if not n_pred or not n_gold or not tp:
        return 0.0
    precision, recall = tp / n_pred, tp / n_gold
    return 2 * precision * recall / (precision + recall)


ENTITY_CASES = [
    (
        [
            ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"],
            ["B-ORG", "I-ORG", "I-ORG", "O", "B-PER", "O"],
            ["O", "B-LOC", "O", "O", "B-PER", "I-PER"],
        ],
        [
            ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"],  # PER right; LOC short; a false ORG
            ["B-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "O"],  # ORG right; PER with the wrong type
            ["O", "B-LOC", "O", "B-PER", "I-PER", "I-PER"],  # LOC right; PER starts too early
        ],
    ),
    # the same positions in different sentences: an entity is right only in its own sentence
    (
        [
            ["B-PER", "I-PER", "O", "O"],
            ["O", "O", "B-LOC", "I-LOC"],
            ["B-ORG", "O", "B-PER", "I-PER"],
        ],
        [
            ["O", "O", "B-LOC", "I-LOC"],
            ["B-PER", "I-PER", "O", "O"],
            ["B-ORG", "O", "B-PER", "I-PER"],
        ],
    ),
    # entities that run to the end of their sentence; one sentence with none
    (
        [["O", "B-LOC"], ["B-PER", "I-PER", "I-PER"], ["O", "O", "O"], ["B-ORG", "I-ORG"]],
        [["O", "B-LOC"], ["B-PER", "I-PER", "O"], ["O", "B-ORG", "O"], ["B-ORG", "I-ORG"]],
    ),
    # adjacent entities: a B- tag starts a new entity, even right after one of the same type
    (
        [["B-PER", "B-PER", "O", "B-LOC", "I-LOC", "B-ORG"], ["B-LOC", "I-LOC", "B-LOC", "O"]],
        [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-ORG"], ["B-LOC", "I-LOC", "B-LOC", "O"]],
    ),
]
HIDDEN_ENTITY_CASES = [
    (
        [
            ["B-LOC", "O", "B-PER", "I-PER", "I-PER"],
            ["O", "B-ORG", "I-ORG", "O"],
            ["B-PER", "O", "O", "B-LOC"],
        ],
        [
            ["B-LOC", "O", "B-PER", "I-PER", "O"],
            ["O", "B-ORG", "I-ORG", "O"],
            ["B-ORG", "O", "O", "B-LOC"],
        ],
    ),
    (
        [["O", "B-PER", "I-PER"], ["B-LOC", "I-LOC", "O"], ["O", "B-PER", "I-PER"]],
        [["B-LOC", "I-LOC", "O"], ["O", "B-PER", "I-PER"], ["O", "B-PER", "I-PER"]],
    ),
    (
        [["B-ORG"], ["O", "B-PER", "I-PER", "O", "B-LOC", "I-LOC"], ["O", "O"]],
        [["B-ORG"], ["O", "B-PER", "I-PER", "O", "B-LOC", "O"], ["B-PER", "O"]],
    ),
    (
        [["B-ORG", "B-ORG", "I-ORG", "O"], ["O", "B-PER", "B-LOC", "I-LOC", "B-PER"]],
        [["B-ORG", "I-ORG", "I-ORG", "O"], ["O", "B-PER", "B-LOC", "I-LOC", "B-PER"]],
    ),
]


# Checked once the cases above pass: F1 is 0 when nothing is predicted (the all-O tagger of an
# untrained model, chapter 10's majority baseline) or nothing predicted is right; not a division
# by zero.
NOTHING_RIGHT = ([["B-PER", "I-PER", "O"], ["O", "B-LOC"]], [["O", "O", "O"], ["O", "O"]])
HIDDEN_NOTHING_RIGHT = ([["B-ORG", "O", "B-PER"], ["O", "O"]], [["O", "B-LOC", "O"], ["O", "O"]])


@exercise("ch10.entity_f1", "Entity-level F1", "实体级 F1")
def check_entity_f1(fn, hidden: bool = False) -> None:
    cases = ENTITY_CASES if not hidden else HIDDEN_ENTITY_CASES
    got = [
        number(fn([list(t) for t in gold], [list(t) for t in pred]), "entity F1")
        for gold, pred in cases
    ]
    want = [entity_f1(gold, pred)["f1"] for gold, pred in cases]
    if all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(got, want, strict=True)):
        gold, pred = NOTHING_RIGHT if not hidden else HIDDEN_NOTHING_RIGHT
        if not math.isclose(number(fn(gold, pred), "entity F1"), 0.0, abs_tol=1e-9):
            raise Mistake(
                "When nothing predicted is right (here: the prediction has no entity, or none "
                "that matches), the entity F1 is 0.",
                "没有一个预测的实体是对的（这里：预测中没有实体，或者没有一个与标准答案相符）时，"
                "实体级 F1 为 0。",
                "nothing_right",
            )
        return
    mistakes = [
        (
            "tokens",
            "You scored tokens (characters), not entities: an entity counts only when its type and "
            "BOTH ends are "
            "right.",
            "你按词元（字）计分，而不是按实体：只有类型和两端都正确，实体才算对。",
            "scored_tokens",
        ),
        (
            "untyped",
            "You ignored the entity type: a person tagged as a place is wrong.",
            "你忽略了实体类型：把人名标成地名是错的。",
            "ignored_type",
        ),
        (
            "precision",
            "That is the precision (right / predicted); F1 is the harmonic mean of precision and "
            "recall.",
            "这是精确率（正确数 / 预测数）；F1 是精确率和召回率的调和平均。",
            "precision",
        ),
        (
            "recall",
            "That is the recall (right / true entities); F1 is the harmonic mean of precision and "
            "recall.",
            "这是召回率（正确数 / 真实实体数）；F1 是精确率和召回率的调和平均。",
            "recall",
        ),
        (
            "pooled",
            "You pooled the entities of all sentences without the sentence they belong to: an "
            "entity at positions "
            "0–1 of one sentence matched an entity at 0–1 of another. Compare entities sentence by "
            "sentence (or keep the "
            "sentence index in each entity).",
            "你把所有句子的实体放在一起，却没有记下它们属于哪个句子：一个句子中位置 0–1 "
            "的实体与另一个句子中位置 0–1 的实体被当成了同一个。"
            "应逐句比较实体（或在每个实体中记下句子编号）。",
            "sentences_pooled",
        ),
        (
            "per_sentence",
            "You averaged the F1 of each sentence: entity F1 counts right, predicted and true "
            "entities over "
            "ALL sentences, then computes one precision, recall and F1.",
            "你对每个句子的 F1 取了平均：实体 F1 要先在所有句子上统计正确数、预测数和真实数，"
            "再算一个精确率、召回率和 F1。",
            "averaged_per_sentence",
        ),
        (
            "unclosed",
            "You lost the entities that run to the end of a sentence: close an open entity when "
            "the sentence "
            "ends.",
            "你漏掉了延伸到句末的实体：句子结束时要把未结束的实体收尾。",
            "entity_at_end_lost",
        ),
        (
            "start_only",
            "You compared only where entities start: the end must match too.",
            "你只比较了实体的起点：终点也必须一致。",
            "start_only",
        ),
        (
            "merged_O",
            "You merged adjacent entities: a B- tag always starts a new entity, even right after "
            "another entity (B-PER B-PER is two people).",
            "你把相邻的实体合并了：B- 标签总是开始一个新实体，即使紧跟在另一个实体之后"
            "（B-PER B-PER 是两个人）。",
            "adjacent_merged",
        ),
        (
            "merged_same",
            "You merged adjacent entities of the same type: a B- tag always starts a new entity "
            "(B-PER B-PER is two people).",
            "你把相邻的同类实体合并了：B- 标签总是开始一个新实体（B-PER B-PER 是两个人）。",
            "adjacent_merged",
        ),
        (
            "accuracy",
            "That is the tag accuracy: entity F1 counts whole entities.",
            "这是标签准确率：实体 F1 统计的是完整的实体。",
            "tag_accuracy",
        ),
    ]
    for kind, en, zh, key in mistakes:
        if all(
            math.isclose(a, _f1_variant(gold, pred, kind), abs_tol=1e-6)
            for a, (gold, pred) in zip(got, cases, strict=True)
        ):
            raise Mistake(en, zh, key)
    for a, b, (gold, pred) in zip(got, want, cases, strict=True):
        if not math.isclose(a, b, abs_tol=1e-6):
            raise Mistake(
                f"entity F1 = {a:.4g}, expected {b:.4g} for gold {gold} and predicted {pred}.",
                f"实体 F1 = {a:.4g}，应为 {b:.4g}（gold {gold}，predicted {pred}）。",
            )


@exercise("ch10.majority_accuracy", "The majority-class baseline", "多数类基线")
def check_majority_accuracy(fn, hidden: bool = False) -> None:
    cases = (
        [
            # majority 1 in train, 0 in test
            ([1, 1, 0, 1, 0, 1, 1, 0, 1, 1], [0, 0, 1, 0, 1, 0, 0, 1]),
            ([2, 0, 2, 1, 2, 2, 0], [0, 2, 1, 1, 1]),  # three classes, majority 2
            ([0, 0, 3, 0, 1], [3, 3, 0, 0, 0, 1]),  # majority 0, class 1 rare
            ([4, 4, 4], [4, 1, 2, 3]),
            # the training majority (1) is not the majority of train + test (0)
            ([1, 1, 1, 0, 0], [0, 0, 0, 0, 1]),
            # the first, last, largest and median labels all differ from the majority 0
            ([2, 0, 0, 0, 3, 4, 1], [0, 0, 1, 2, 4, 0, 3]),
        ]
        if not hidden
        else [
            ([0, 0, 1, 0, 2], [1, 1, 0, 2, 1]),
            ([3, 1, 3, 3, 2, 3], [3, 2, 2, 1]),
            ([1, 2, 2, 2], [2, 2, 1, 0, 1]),
            ([5, 0, 5], [0, 0, 5]),
            ([3, 0, 0, 0, 2, 5, 4], [0, 2, 3, 5, 0, 4, 0, 0]),
        ]
    )
    got = [number(fn(torch.tensor(train), torch.tensor(test)), "accuracy") for train, test in cases]

    def accuracy(train, test, kind="right"):
        train_t, test_t = torch.tensor(train), torch.tensor(test)
        counts = torch.bincount(train_t)
        predicted = {
            "right": int(counts.argmax()),
            "test_majority": int(torch.bincount(test_t).argmax()),
            "one": 1,
            "zero": 0,
            "argmin": int(counts.argmin()),
        }.get(kind, int(counts.argmax()))
        right = float((test_t == predicted).float().mean())
        return {
            "train_share": float((train_t == int(counts.argmax())).float().mean()),
            "count": float((test_t == predicted).sum()),
            "percentage": 100 * right,
        }.get(kind, right)

    want = [accuracy(*case) for case in cases]
    if all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(got, want, strict=True)):
        return
    variants = [
        (
            "test_majority",
            "You chose the majority class of the TEST labels: the baseline may only use the "
            "training labels "
            "(peeking at the test set is cheating).",
            "你用了测试集标签的多数类：基线只能使用训练集标签（偷看测试集就是作弊）。",
            "test_majority",
        ),
        (
            "train_share",
            "That is the majority share in the training set: the baseline's accuracy is measured "
            "on the test "
            "labels.",
            "这是训练集中多数类的比例：基线的准确率要在测试集标签上测量。",
            "train_share",
        ),
        (
            "one",
            "You predicted class 1 whatever the data: predict the most frequent class of the "
            "training labels "
            "(torch.bincount(train_labels).argmax()).",
            "你不论数据如何都预测类别 1："
            "应预测训练集标签中出现最多的类别（torch.bincount(train_labels).argmax()）。",
            "hard_coded_class",
        ),
        (
            "zero",
            "You predicted class 0 whatever the data: predict the most frequent class of the "
            "training labels.",
            "你不论数据如何都预测类别 0：应预测训练集标签中出现最多的类别。",
            "hard_coded_class",
        ),
        (
            "count",
            "That is the number of right answers: divide by the number of test labels.",
            "这是答对的个数：还要除以测试标签的个数。",
            "count_not_fraction",
        ),
        (
            "percentage",
            "Return a fraction between 0 and 1, not a percentage.",
            "请返回 0 到 1 之间的比例，而不是百分数。",
            "percentage",
        ),
        (
            "argmin",
            "You predicted the LEAST frequent training class: use argmax.",
            "你预测的是训练集中最少见的类别：应使用 argmax。",
            "argmin",
        ),
    ]
    for kind, en, zh, key in variants:
        if all(
            math.isclose(a, accuracy(*case, kind), abs_tol=1e-6)
            for a, case in zip(got, cases, strict=True)
        ):
            raise Mistake(en, zh, key)
    for a, b, (train, test) in zip(got, want, cases, strict=True):
        if not math.isclose(a, b, abs_tol=1e-6):
            raise Mistake(
                f"majority_accuracy({train}, {test}) returned {a:.4g}, expected {b:.4g}.",
                f"majority_accuracy({train}, {test}) 返回了 {a:.4g}，应为 {b:.4g}。",
            )
