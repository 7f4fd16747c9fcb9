"""Checks for chapter 11, beyond BERT (UniLM, ALBERT, ELECTRA, T5, GPT, mixture of experts)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..masks import causal_mask, prefix_mask
from .core import Mistake, compare, exercise


@exercise("ch11.prefix_mask", "UniLM's sequence-to-sequence mask", "UniLM 的序列到序列掩码")
def check_prefix_mask(answer) -> None:
    for size, prefix_len in ((5, 2), (6, 3), (4, 0), (3, 3)):
        want = prefix_mask(size, prefix_len)
        source_sees_all = want.clone()
        source_sees_all[:prefix_len] = True
        got = answer(size, prefix_len)
        compare(got, want, f"prefix_mask({size}, {prefix_len})", wrong=[
            (causal_mask(size), "That is the causal (GPT) mask: the source (the first prefix_len positions) must attend to the whole source, in both directions.",
             "这是因果(GPT)掩码：源片段(前 prefix_len 个位置)应能双向关注整个源片段。"),
            (source_sees_all, "The source attends to the target: the first prefix_len rows must be False at the target columns, or the source could read the answer.",
             "源片段关注到了目标片段：前 prefix_len 行在目标列上必须为 False，否则源片段就能读到答案。"),
            (want.T, "Transposed: rows are queries, columns are keys; row i says which positions position i may attend to.",
             "转置了：行是查询，列是键；第 i 行表示位置 i 可以关注哪些位置。"),
            (torch.ones(size, size, dtype=torch.bool), "That is the bidirectional (BERT) mask: the target must not see the target tokens to its right.",
             "这是双向(BERT)掩码：目标片段不能看到自己右侧的目标词元。"),
        ])


@exercise("ch11.albert_embedding_params", "ALBERT's factorised embeddings", "ALBERT 的嵌入分解")
def check_albert_embedding_params(answer) -> None:
    for V, E, H in ((30_000, 128, 768), (30_000, 128, 4096), (1000, 16, 64)):
        got = answer(V, E, H)
        compare(list(got) if isinstance(got, tuple) else got, torch.tensor([V * E + E * H, V * H]),
                f"albert_embedding_params({V}, {E}, {H})", wrong=[
            (torch.tensor([V * E, V * H]), "You forgot the projection from E to H: factorised = V·E + E·H.",
             "你忘了从 E 到 H 的投影：分解后为 V·E + E·H。"),
            (torch.tensor([V * E + V * H, V * H]), "The projection is E·H (one E -> H matrix shared by all tokens), not V·H.",
             "投影是 E·H(所有词元共用一个 E -> H 的矩阵)，不是 V·H。"),
            (torch.tensor([V * H, V * E + E * H]), "Swapped: return (factorised, full) = (V·E + E·H, V·H).",
             "顺序反了：应返回 (分解后, 不分解) = (V·E + E·H, V·H)。"),
        ], shape_hints=[
            ((), "Return a pair (factorised, full).", "请返回一对数 (分解后, 不分解)。"),
        ])


def _electra_example():
    g = torch.Generator().manual_seed(11)
    original = torch.randint(5, 30, (3, 10), generator=g)
    chosen = torch.rand(3, 10, generator=g) < 0.4
    chosen[0, :2] = True
    samples = torch.randint(5, 30, (int(chosen.sum()),), generator=g)
    samples[:2] = original[0, :2]  # the generator sampled the original token twice
    return original, chosen, samples


@exercise("ch11.electra_labels", "ELECTRA's discriminator labels", "ELECTRA 判别器的标签")
def check_electra_labels(answer) -> None:
    original, chosen, samples = _electra_example()
    corrupted = original.clone()
    corrupted[chosen] = samples
    want = (corrupted != original).long()
    got = answer(original.clone(), chosen.clone(), samples.clone())
    compare(got, want, "labels", wrong=[
        (chosen.long(), "You labelled every masked position as replaced. Where the generator sampled the original token, the token IS original: label 0.",
         "你把每个被遮住的位置都标成了“被替换”。生成器恰好采样到原词的位置，词元就是原词：标签为 0。"),
        (1 - want, "Inverted: 1 = replaced, 0 = original.", "标签反了：1 = 被替换，0 = 原词。"),
        (torch.where(chosen, want, -100), "The discriminator is trained on EVERY token, not only on the masked positions: no -100 here.",
         "判别器在每个词元上都训练，而不只是被遮住的位置：这里不该有 -100。"),
    ])


def _t5(words, spans, *, sentinels=True, final=True, one_sentinel=False, per_token=False):
    source, target, last = [], [], 0
    for k, (a, b) in enumerate(spans):
        s = "<extra_id_0>" if one_sentinel else f"<extra_id_{k}>"
        source += words[last:a] + ([s] * (b - a) if per_token else [s])
        target += ([s] if sentinels else []) + words[a:b]
        last = b
    if final and sentinels:
        target.append("<extra_id_0>" if one_sentinel else f"<extra_id_{len(spans)}>")
    return source + words[last:], target


@exercise("ch11.t5_span_corruption", "T5's span corruption", "T5 的片段破坏")
def check_t5_span_corruption(answer) -> None:
    words = "Thank you for inviting me to your party last week .".split()
    spans = [(2, 4), (8, 9)]
    got = answer(list(words), list(spans))
    if not (isinstance(got, tuple) and len(got) == 2):
        raise Mistake("Return a pair (source, target) of lists of words.", "请返回一对 (source, target)，每个都是词的列表。")
    got = (list(got[0]), list(got[1]))
    if got == _t5(words, spans):
        return
    mistakes = [
        (_t5(words, spans, sentinels=False), "The target needs the sentinels too: each span's words follow the sentinel that replaced them, <extra_id_0> for inviting <extra_id_1> last <extra_id_2>.",
         "目标序列也需要哨兵：每个片段的词跟在替换它的那个哨兵后面，即 <extra_id_0> for inviting <extra_id_1> last <extra_id_2>。"),
        (_t5(words, spans, final=False), "The target ends with one more sentinel (<extra_id_2> here), after the last span.",
         "目标序列在最后一个片段之后还要以一个哨兵结尾(这里是 <extra_id_2>)。"),
        (_t5(words, spans, one_sentinel=True), "Each span gets its own sentinel, numbered in order: <extra_id_0>, <extra_id_1>, ...",
         "每个片段有自己的哨兵，按顺序编号：<extra_id_0>、<extra_id_1>……"),
        (_t5(words, spans, per_token=True), "A whole span becomes ONE sentinel in the source, not one per word (that would be BERT-style masking).",
         "在源序列中，整个片段只换成一个哨兵，而不是每个词一个(那是 BERT 式的掩码)。"),
    ]
    for value, en, zh in mistakes:
        if got == value:
            raise Mistake(en, zh)
    want = _t5(words, spans)
    raise Mistake(f"Not the expected (source, target). Expected source {' '.join(want[0])!r}, target {' '.join(want[1])!r}; got {' '.join(got[0])!r}, {' '.join(got[1])!r}.",
                  f"(source, target) 不对。应为 source {' '.join(want[0])!r}、target {' '.join(want[1])!r}；得到 {' '.join(got[0])!r}、{' '.join(got[1])!r}。")


@exercise("ch11.causal_lm_loss", "The causal LM loss and its shift", "因果语言模型的损失与错位")
def check_causal_lm_loss(answer) -> None:
    g = torch.Generator().manual_seed(12)
    logits = torch.randn(2, 7, 11, generator=g, dtype=torch.float64)
    ids = torch.randint(0, 11, (2, 7), generator=g)
    want = F.cross_entropy(logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten())
    got = answer(logits.clone(), ids.clone())
    compare(got, want, "loss", wrong=[
        (F.cross_entropy(logits.flatten(0, 1), ids.flatten()), "No shift: the output at position t must be scored against token t + 1, not against token t (which it may see).",
         "没有错位：位置 t 的输出应与第 t + 1 个词元比较，而不是第 t 个(它本来就能看到)。"),
        (F.cross_entropy(logits[:, 1:].flatten(0, 1), ids[:, :-1].flatten()), "Shifted the wrong way: drop the LAST logits and the FIRST token, logits[:, :-1] against ids[:, 1:].",
         "错位方向反了：应去掉最后一个位置的 logits 和第一个词元，即 logits[:, :-1] 对 ids[:, 1:]。"),
        (F.cross_entropy(logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten(), reduction="sum"), "You summed the losses: take the mean over the predicted positions.",
         "你把损失求和了：应对所有预测位置取平均。"),
    ], shape_hints=[
        ((2, 6), "Return one number, the mean over all predicted positions.", "请返回一个数：所有预测位置的平均损失。"),
    ])


@exercise("ch11.top_k_routing", "Top-k routing of a mixture of experts", "混合专家的 top-k 路由")
def check_top_k_routing(answer) -> None:
    g = torch.Generator().manual_seed(13)
    logits = torch.randn(6, 5, generator=g, dtype=torch.float64)
    k = 2

    def keep(p, largest=True, renormalise=True):
        top = p.topk(k, dim=-1, largest=largest)
        gates = torch.zeros_like(p).scatter(-1, top.indices, top.values)
        return gates / gates.sum(-1, keepdim=True) if renormalise else gates

    probs = logits.softmax(-1)
    got = answer(logits.clone(), k)
    compare(got, keep(probs), "gates", wrong=[
        (keep(probs, renormalise=False), "You kept the top-k probabilities but did not renormalise them: each row of gates must sum to 1 over its k experts.",
         "你保留了前 k 个概率，却没有重新归一化：每一行的门控权重在它的 k 个专家上应加起来等于 1。"),
        (probs, "Every expert got a weight: keep only the top k per token, the others must be exactly 0 (that is what saves the computation).",
         "每个专家都分到了权重：每个词元只保留前 k 个，其余必须恰好为 0(省下的计算量正来自这里)。"),
        (keep(logits.softmax(0)), "Softmax over the wrong axis: each TOKEN (row) distributes its weight over the experts, dim=-1.",
         "softmax 的轴不对：每个词元(每一行)把权重分给各个专家，应沿 dim=-1。"),
        (keep(probs, largest=False), "You kept the k SMALLEST scores: route each token to its k highest-scoring experts.",
         "你保留的是得分最小的 k 个：应把词元送往得分最高的 k 个专家。"),
    ])
