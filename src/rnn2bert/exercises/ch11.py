"""Checks for chapter 11, beyond BERT (UniLM, ALBERT, ELECTRA, T5, GPT, mixture of experts)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..masks import causal_mask, prefix_mask
from .core import (
    Mistake,
    as_tensor,
    boolean,
    compare,
    describe,
    exercise,
    generator,
    pair,
    require_finite,
)


@exercise("ch11.prefix_mask", "UniLM's sequence-to-sequence mask", "UniLM 的序列到序列掩码")
def check_prefix_mask(answer, hidden: bool = False) -> None:
    cases = (
        ((5, 2), (6, 3), (4, 0), (3, 3), (1, 1), (7, 1))
        if not hidden
        else ((6, 2), (5, 4), (3, 0), (4, 4), (2, 1), (8, 5))
    )
    for size, prefix_len in cases:
        want = prefix_mask(size, prefix_len)
        source_sees_all = want.clone()
        source_sees_all[:prefix_len] = True
        got = boolean(answer(size, prefix_len), f"prefix_mask({size}, {prefix_len})")
        while got.dim() > 2 and got.shape[0] == 1:  # (1, 1, L, L) broadcasts like (L, L)
            got = got[0]
        compare(
            got,
            want,
            f"prefix_mask({size}, {prefix_len})",
            wrong=[
                (
                    causal_mask(size),
                    "That is the causal (GPT) mask: the source (the first prefix_len positions) "
                    "must attend to the whole source, in both directions.",
                    "这是因果（GPT）掩码：源片段（前 prefix_len 个位置）应能双向关注整个源片段。",
                ),
                (
                    source_sees_all,
                    "The source attends to the target: the first prefix_len rows must be False at "
                    "the target columns, or the source could read the answer.",
                    "源片段关注到了目标片段：前 prefix_len 行在目标列上必须为 False，"
                    "否则源片段就能读到答案。",
                ),
                (
                    want.T,
                    "Transposed: rows are queries, columns are keys; row i says which positions "
                    "position i may attend to.",
                    "转置了：行是查询，列是键；第 i 行表示位置 i 可以关注哪些位置。",
                ),
                (
                    torch.ones(size, size, dtype=torch.bool),
                    "That is the bidirectional (BERT) mask: the target must not see the target "
                    "tokens to its right.",
                    "这是双向（BERT）掩码：目标片段不能看到自己右侧的目标词元。",
                ),
                (
                    prefix_mask(size, prefix_len + 1) if prefix_len < size else None,
                    "Off by one: the source is the first prefix_len positions, 0 … prefix_len − 1.",
                    "差了一位：源片段是前 prefix_len 个位置，0 … prefix_len − 1。",
                    "off_by_one",
                ),
                (
                    prefix_mask(size, prefix_len - 1) if prefix_len > 0 else None,
                    "Off by one: the source is the first prefix_len positions, 0 … prefix_len − 1.",
                    "差了一位：源片段是前 prefix_len 个位置，0 … prefix_len − 1。",
                    "off_by_one",
                ),
                (
                    ~want,
                    "You masked the wrong side: True means 'may attend'.",
                    "掩码反了：True 表示“可以关注”。",
                    "wrong_side",
                ),
            ],
        )


@exercise("ch11.albert_embedding_params", "ALBERT's factorised embeddings", "ALBERT 的嵌入分解")
def check_albert_embedding_params(answer, hidden: bool = False) -> None:
    cases = (
        ((30_000, 128, 768), (30_000, 128, 4096), (1000, 16, 64), (50, 8, 8), (7, 3, 5))
        if not hidden
        else ((21_128, 128, 1024), (250_000, 256, 768), (500, 32, 48), (10, 10, 4), (9, 2, 6))
    )
    for V, E, H in cases:
        name = f"albert_embedding_params({V}, {E}, {H})"
        got = pair(
            answer(V, E, H),
            "Return a pair (factorised, full).",
            "请返回一对数（分解后，不分解）。",
            numeric=True,
        )
        compare(
            list(got),
            torch.tensor([V * E + E * H, V * H]),
            name,
            inputs=f"V={V}, E={E}, H={H}",
            wrong=[
                (
                    torch.tensor([V * E, V * H]),
                    "You forgot the projection from E to H: factorised = V·E + E·H.",
                    "你忘了从 E 到 H 的投影：分解后为 V·E + E·H。",
                    "no_projection",
                ),
                (
                    torch.tensor([V * E + V * H, V * H]),
                    "The projection is E·H (one E -> H matrix shared by all tokens), not V·H.",
                    "投影是 E·H（所有词元共用一个 E -> H 的矩阵），不是 V·H。",
                    "projection_V_H",
                ),
                (
                    torch.tensor([V * H, V * E + E * H]),
                    "Swapped: return (factorised, full) = (V·E + E·H, V·H).",
                    "顺序反了：应返回（分解后，不分解）= (V·E + E·H, V·H)。",
                    "swapped",
                ),
                (
                    torch.tensor([V * E * H, V * H]),
                    "The two parts add, they do not multiply: a V × E table plus an E × H "
                    "projection, V·E + E·H.",
                    "两部分是相加而不是相乘：一张 V × E 的表加一个 E × H 的投影，V·E + E·H。",
                    "multiplied",
                ),
                (
                    torch.tensor([V * E + E * H + H, V * H]),
                    "Weights only: the question leaves out the projection's bias.",
                    "只算权重：题目不算投影的偏置。",
                    "bias_counted",
                ),
            ],
        )


def _electra_example(seed: int = 11, shape: tuple[int, int] = (3, 10), hidden: bool = False):
    g = torch.Generator().manual_seed(seed) if not hidden else generator(seed, hidden)
    original = torch.randint(5, 30, shape, generator=g)
    chosen = torch.rand(shape, generator=g) < 0.4
    chosen[0, :2] = True
    samples = torch.randint(5, 30, (int(chosen.sum()),), generator=g)
    samples[:2] = original[0, :2]  # the generator sampled the original token twice
    return original, chosen, samples


@exercise("ch11.electra_labels", "ELECTRA's discriminator labels", "ELECTRA 判别器的标签")
def check_electra_labels(answer, hidden: bool = False) -> None:
    for n, shape in enumerate([(3, 10), (1, 4), (4, 6)]):
        original, chosen, samples = _electra_example(11 + n, shape, hidden)
        corrupted = original.clone()
        corrupted[chosen] = samples
        want = (corrupted != original).long()
        got = answer(original, chosen, samples)
        column_major = original.clone().T
        column_major[chosen.T] = samples
        compare(
            got,
            want,
            "labels",
            wrong=[
                (
                    chosen.long(),
                    "You labelled every masked position as replaced. Where the generator sampled "
                    "the original token, "
                    "the token IS original: label 0.",
                    "你把每个被遮住的位置都标成了“被替换”。生成器恰好采样到原词的位置，"
                    "词元就是原词：标签为 0。",
                    "every_masked_replaced",
                ),
                (
                    1 - want,
                    "Inverted: 1 = replaced, 0 = original.",
                    "标签反了：1 = 被替换，0 = 原词。",
                    "inverted",
                ),
                (
                    torch.where(chosen, want, -100),
                    "The discriminator is trained on EVERY token, not only on the masked "
                    "positions: "
                    "no -100 here.",
                    "判别器在每个词元上都训练，而不只是被遮住的位置：这里不该有 -100。",
                    "only_masked_positions",
                ),
                (
                    (column_major.T != original).long(),
                    "The samples go to the chosen positions in row-major order (as "
                    "original[chosen] lists them): corrupted[chosen] = samples.",
                    "采样的词元按行优先的顺序放到被选中的位置（与 original[chosen] 的顺序相同）："
                    "corrupted[chosen] = samples。",
                    "column_major",
                ),
            ],
        )


def _t5(
    words,
    spans,
    *,
    sentinels=True,
    final=True,
    one_sentinel=False,
    per_token=False,
    end_inclusive=False,
    from_one=False,
):
    source, target, last = [], [], 0
    offset = 1 if from_one else 0
    for k, (a, b) in enumerate(spans):
        b = b + 1 if end_inclusive else b
        s = "<extra_id_0>" if one_sentinel else f"<extra_id_{k + offset}>"
        source += words[last:a] + ([s] * (b - a) if per_token else [s])
        target += ([s] if sentinels else []) + words[a:b]
        last = b
    if final and sentinels:
        target.append("<extra_id_0>" if one_sentinel else f"<extra_id_{len(spans) + offset}>")
    return source + words[last:], target


T5_CASES = [
    ("Thank you for inviting me to your party last week .", [(2, 4), (8, 9)]),
    ("a b c d e f", [(0, 1), (5, 6)]),  # spans at the very start and end
    ("one two three four", [(1, 2), (2, 3)]),  # two adjacent spans
    ("the cat sat on the mat", [(1, 5)]),  # one long span
    ("nothing is hidden here", []),  # no span: the target is one sentinel
]
HIDDEN_T5_CASES = [
    ("we went to the market and bought some bread", [(1, 2), (4, 7)]),
    ("x y z", [(0, 3)]),
    ("p q r s t u v", [(0, 1), (1, 2), (6, 7)]),
    ("a long sentence without gaps", [(2, 3)]),
    ("only words", []),
]


@exercise("ch11.t5_span_corruption", "T5's span corruption", "T5 的片段破坏")
def check_t5_span_corruption(answer, hidden: bool = False) -> None:
    for text, spans in T5_CASES if not hidden else HIDDEN_T5_CASES:
        words = text.split()
        got = pair(
            answer(list(words), [tuple(s) for s in spans]),
            "Return a pair (source, target) of lists of words.",
            "请返回一对 (source, target)，每个都是词的列表。",
        )
        if not all(
            isinstance(part, (list, tuple)) and all(isinstance(w, str) for w in part)
            for part in got
        ):
            raise Mistake(
                f"source and target should be lists of words (strings), got {describe(got[0])}, "
                f"{describe(got[1])}.",
                f"source 和 target 应是词（字符串）的列表，却得到 {describe(got[0])}、"
                f"{describe(got[1])}。",
                "wrong_type",
            )
        got = (list(got[0]), list(got[1]))
        want = _t5(words, spans)
        if got == want:
            continue
        mistakes = [
            (
                _t5(words, spans, sentinels=False),
                "The target needs the sentinels too: each span's words follow the sentinel "
                "that replaced them, <extra_id_0> for inviting <extra_id_1> last <extra_id_2>.",
                "目标序列也需要哨兵：每个片段的词跟在替换它的那个哨兵后面，即 <extra_id_0> for "
                "inviting <extra_id_1> last <extra_id_2>。",
                "target_without_sentinels",
            ),
            (
                _t5(words, spans, final=False),
                "The target ends with one more sentinel (<extra_id_2> in the example), after "
                "the last span.",
                "目标序列在最后一个片段之后还要以一个哨兵结尾（例子中是 <extra_id_2>）。",
                "no_final_sentinel",
            ),
            (
                _t5(words, spans, one_sentinel=True),
                "Each span gets its own sentinel, numbered in order: <extra_id_0>, "
                "<extra_id_1>, ...",
                "每个片段有自己的哨兵，按顺序编号：<extra_id_0>、<extra_id_1>……",
                "one_sentinel_for_all",
            ),
            (
                _t5(words, spans, per_token=True),
                "A whole span becomes ONE sentinel in the source, not one per word (that would "
                "be BERT-style masking).",
                "在源序列中，整个片段只换成一个哨兵，而不是每个词一个（那是 BERT 式的掩码）。",
                "sentinel_per_word",
            ),
            (
                _t5(words, spans, end_inclusive=True),
                "The end of a span is excluded: (2, 4) hides words 2 and 3.",
                "片段的终点不包含在内：(2, 4) 遮住的是第 2 和第 3 个词。",
                "end_inclusive",
            ),
            (
                _t5(words, spans, from_one=True),
                "Sentinels are numbered from 0: <extra_id_0> for the first span.",
                "哨兵从 0 开始编号：第一个片段用 <extra_id_0>。",
                "numbered_from_one",
            ),
            (
                want[::-1],
                "Swapped: return (source, target), the corrupted input first.",
                "顺序反了：应返回 (source, target)，被破坏的输入在前。",
                "swapped",
            ),
        ]
        for value, en, zh, key in mistakes:
            if got == value:
                raise Mistake(en, zh, key)
        raise Mistake(
            f"Not the expected (source, target) for words {text!r} and spans {spans}: expected "
            "source "
            f"{' '.join(want[0])!r}, target {' '.join(want[1])!r}; got {' '.join(got[0])!r}, "
            f"{' '.join(got[1])!r}.",
            f"对于词 {text!r} 和片段 {spans}，(source, target) 不对：应为 source "
            f"{' '.join(want[0])!r}、"
            f"target {' '.join(want[1])!r}；得到 {' '.join(got[0])!r}、{' '.join(got[1])!r}。",
        )


@exercise("ch11.causal_lm_loss", "The causal LM loss and its shift", "因果语言模型的损失与错位")
def check_causal_lm_loss(answer, hidden: bool = False) -> None:
    shapes = [(2, 7, 11), (1, 2, 5), (3, 4, 3)] if not hidden else [(3, 5, 8), (1, 3, 4), (2, 9, 6)]
    # the last case in float32 with large logits (gaps above 100): a softmax written as exp / sum
    # overflows, and log(softmax) meets log(0); F.cross_entropy (log-sum-exp) stays finite
    for n, (B, L, V) in enumerate([*shapes, (2, 5, 7)]):
        large = n == len(shapes)
        g = (
            torch.Generator().manual_seed(12)
            if n == 0 and not hidden
            else generator(12 + n, hidden)
        )
        logits = torch.randn(B, L, V, generator=g, dtype=torch.float64) * (60 if large else 2)
        logits = logits.float() if large else logits
        ids = torch.randint(0, V, (B, L), generator=g)
        want = F.cross_entropy(logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten())
        got = answer(logits, ids)
        if large:
            require_finite(got, "loss")
        per_token = F.cross_entropy(
            logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten(), reduction="none"
        )
        compare(
            got,
            want,
            "loss",
            wrong=[
                (
                    lambda: F.cross_entropy(logits.flatten(0, 1), ids.flatten()),
                    "No shift: the output at position t must be scored "
                    "against token t + 1, not against token t (which it may see).",
                    "没有错位：位置 t 的输出应与第 t + 1 个词元比较，而不是第 t "
                    "个（它本来就能看到）。",
                    "no_shift",
                ),
                (
                    lambda: F.cross_entropy(logits[:, 1:].flatten(0, 1), ids[:, :-1].flatten()),
                    "Shifted the wrong way: drop the LAST "
                    "logits and the FIRST token, logits[:, :-1] against ids[:, 1:].",
                    "错位方向反了：应去掉最后一个位置的 logits 和第一个词元，即 logits[:, :-1] 对 "
                    "ids[:, 1:]。",
                    "wrong_way",
                ),
                (
                    lambda: per_token.sum(),
                    "You summed the losses: take the mean over the predicted positions.",
                    "你把损失求和了：应对所有预测位置取平均。",
                    "summed",
                ),
                (
                    lambda: per_token.sum() / B,
                    "You divided the sum by the batch size only: take the mean over all B·(L − 1) "
                    "predicted positions.",
                    "你只把总和除以了批大小：应对全部 B·(L − 1) 个预测位置取平均。",
                    "divided_by_batch",
                ),
                (
                    lambda: F.cross_entropy(
                        logits[:, :-1].softmax(-1).flatten(0, 1), ids[:, 1:].flatten()
                    ),
                    "You applied a softmax "
                    "before cross_entropy: it expects raw logits (it applies log_softmax itself).",
                    "你在 cross_entropy 之前做了 softmax：它需要原始 logits（它自己会做 "
                    "log_softmax）。",
                    "softmax_before_loss",
                ),
                (
                    lambda: F.nll_loss(logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten()),
                    "nll_loss expects log-probabilities: use "
                    "cross_entropy on the logits (or nll_loss on log_softmax).",
                    "nll_loss 需要对数概率：应对 logits 用 cross_entropy（或对 log_softmax 用 "
                    "nll_loss）。",
                    "nll_on_logits",
                ),
            ],
            shape_hints=[
                (
                    (B, L - 1),
                    "Return one number, the mean over all predicted positions.",
                    "请返回一个数：所有预测位置的平均损失。",
                    "per_position",
                ),
                (
                    (B * (L - 1),),
                    "Return one number, the mean over all predicted positions.",
                    "请返回一个数：所有预测位置的平均损失。",
                    "per_position",
                ),
            ],
        )


@exercise("ch11.top_k_routing", "Top-k routing of a mixture of experts", "混合专家的 top-k 路由")
def check_top_k_routing(answer, hidden: bool = False) -> None:
    cases = (
        [((6, 5), 2), ((4, 8), 1), ((3, 3), 3), ((5, 4), 3)]
        if not hidden
        else [((5, 6), 2), ((3, 4), 1), ((2, 5), 5), ((7, 7), 3)]
    )
    # the last case in float32 with large logits: a softmax written as exp / sum gives NaN
    for n, (shape, k) in enumerate([*cases, ((5, 6), 2)]):
        large = n == len(cases)
        g = (
            torch.Generator().manual_seed(13)
            if n == 0 and not hidden
            else generator(13 + n, hidden)
        )
        logits = torch.randn(*shape, generator=g, dtype=torch.float64) * (100 if large else 1.5)
        logits = logits.float() if large else logits

        def keep(p, largest=True, renormalise=True):
            top = p.topk(k, dim=-1, largest=largest)
            gates = torch.zeros_like(p).scatter(-1, top.indices, top.values)
            return gates / gates.sum(-1, keepdim=True) if renormalise else gates

        probs = logits.softmax(-1)
        got = answer(logits, k)
        if large:
            require_finite(got, "gates")
        compare(
            got,
            keep(probs),
            f"gates (k={k})",
            wrong=[
                (
                    lambda: keep(probs, renormalise=False),
                    "You kept the top-k probabilities but did not renormalise them: each row "
                    "of gates must sum to 1 over its k experts.",
                    "你保留了前 k 个概率，却没有重新归一化：每一行的门控权重在它的 k "
                    "个专家上应加起来等于 1。",
                    "not_renormalised",
                ),
                (
                    probs,
                    "Every expert got a weight: keep only the top k per token, the others must be "
                    "exactly 0 (that is what "
                    "saves the computation).",
                    "每个专家都分到了权重：每个词元只保留前 k 个，其余必须恰好为 "
                    "0（省下的计算量正来自这里）。",
                    "all_experts",
                ),
                (
                    lambda: keep(logits.softmax(0)),
                    "Softmax over the wrong axis: each TOKEN (row) distributes its weight over the "
                    "experts, dim=-1.",
                    "softmax 的轴不对：每个词元（每一行）把权重分给各个专家，应沿 dim=-1。",
                    "wrong_axis",
                ),
                (
                    lambda: keep(probs, largest=False),
                    "You kept the k SMALLEST scores: route each token to its k highest-scoring "
                    "experts.",
                    "你保留的是得分最小的 k 个：应把词元送往得分最高的 k 个专家。",
                    "smallest",
                ),
                (
                    lambda: keep(logits, renormalise=False),
                    "The gates are softmax probabilities, not raw logits.",
                    "门控权重是 softmax 概率，而不是原始 logits。",
                    "raw_logits",
                ),
                (
                    lambda: (keep(probs) > 0).to(torch.float64),
                    "The gates are the renormalised probabilities, not 0/1 choices.",
                    "门控权重是重新归一化后的概率，而不是 0/1 的选择。",
                    "one_hot_choice",
                ),
                (
                    lambda: keep(probs) / k,
                    "Each row of gates sums to 1, not 1/k.",
                    "每一行门控权重之和为 1，而不是 1/k。",
                    "divided_by_k",
                ),
            ],
        )
    _check_ties(answer, hidden)


def _check_ties(answer, hidden: bool) -> None:
    """Tied scores (an all-zero router, as at initialisation; three experts level at the top):
    still exactly k experts per token, each with weight 1/k, chosen among the tied leaders."""
    k, tied = (
        (2, torch.zeros(3, 6, dtype=torch.float64))
        if not hidden
        else (
            3,
            torch.zeros(2, 7, dtype=torch.float64),
        )
    )
    tied[1, : k + 1] = 1.0  # row 1: k + 1 leaders tied for k places
    gates = as_tensor(answer(tied.clone(), k), "gates")
    if gates.shape != tied.shape:
        return  # the shape is checked, with its message, on the cases above
    for g_row, t_row in zip(gates, tied, strict=True):
        chosen = g_row != 0
        leaders = t_row == t_row.max()
        if int(chosen.sum()) != k or not bool((chosen <= leaders).all()):
            raise Mistake(
                f"With tied scores (router logits {describe(t_row)}, k={k}) your gates keep "
                f"{int(chosen.sum())} experts: keep exactly k per token, among the highest, "
                "however the ties fall (torch.topk does; a test such as p >= the k-th largest "
                "keeps every tied expert).",
                f"得分相同时（路由 logits 为 {describe(t_row)}，k={k}），你的门控保留了 "
                f"{int(chosen.sum())} 个专家：每个词元必须恰好保留 k 个得分最高的专家，不论并列"
                "如何（torch.topk 就是这样；p >= 第 k 大的值 这类判断会保留所有并列的专家）。",
                "ties_keep_more_than_k",
            )
        compare(g_row[chosen], torch.full((k,), 1.0 / k, dtype=torch.float64), "gates")
