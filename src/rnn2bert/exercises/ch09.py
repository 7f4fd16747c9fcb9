"""Checks for chapter 09, pretraining BERT (masked LM and next sentence prediction)."""
from __future__ import annotations

import torch

from .core import compare, exercise

IGNORE = -100


def _ids(seed: int = 3):
    g = torch.Generator().manual_seed(seed)
    original = torch.randint(5, 50, (3, 12), generator=g)
    chosen = torch.rand(3, 12, generator=g) < 0.3
    chosen[0, 0] = chosen[1, 1] = chosen[2, 2] = True
    chosen[:, -1] = False
    u = torch.rand(3, 12, generator=g)
    u[0, 0], u[1, 1], u[2, 2] = 0.5, 0.85, 0.95  # one of each kind, for sure
    random_ids = torch.randint(5, 50, (3, 12), generator=g)
    return original, chosen, u, random_ids


@exercise("ch09.mlm_labels", "Masked-LM labels", "掩码语言模型的标签")
def check_mlm_labels(mlm_labels) -> None:
    original, chosen, u, random_ids = _ids()
    corrupted = torch.where(chosen & (u < 0.8), 4, original)
    corrupted = torch.where(chosen & (u >= 0.8) & (u < 0.9), random_ids, corrupted)
    got = mlm_labels(original.clone(), corrupted.clone(), chosen.clone())
    compare(got, torch.where(chosen, original, IGNORE), "labels", wrong=[
        (original, "You put labels everywhere: the loss would be mostly about copying visible tokens. Keep the original id only at the chosen positions, -100 elsewhere.",
         "你在所有位置都给了标签：损失的大部分就成了抄写可见的词元。只在被选中的位置保留原始编号，其余位置为 -100。"),
        (torch.where(chosen, original, 0), "You used 0 instead of -100 for the ignored positions: 0 is a real token id ([PAD]), so the loss would train on it. Use -100 (cross_entropy's ignore_index).",
         "你在忽略的位置用了 0 而不是 -100：0 是一个真实的词元编号([PAD])，损失会在这些位置上训练。应使用 -100(cross_entropy 的 ignore_index)。"),
        (torch.where(chosen, corrupted, IGNORE), "You took the labels from the corrupted input ([MASK] / random ids): the label is the ORIGINAL token the model must recover.",
         "你从被破坏的输入([MASK] 或随机词元)中取了标签：标签应是模型要恢复的原始词元。"),
        (torch.where(~chosen, original, IGNORE), "You inverted the selection: labels belong at the chosen positions, -100 at the others.",
         "你把选择弄反了：标签应放在被选中的位置，其余位置为 -100。"),
    ])


@exercise("ch09.apply_80_10_10", "The 80/10/10 replacement", "80/10/10 替换规则")
def check_apply_80_10_10(apply_80_10_10) -> None:
    original, chosen, u, random_ids = _ids(4)
    mask_id = 4
    got = apply_80_10_10(original.clone(), chosen.clone(), u.clone(), random_ids.clone(), mask_id)

    def rule(to_mask, to_random):
        out = torch.where(to_mask, mask_id, original)
        return torch.where(to_random, random_ids, out)

    want = rule(chosen & (u < 0.8), chosen & (u >= 0.8) & (u < 0.9))
    compare(got, want, "inputs", wrong=[
        (rule(chosen & (u < 0.1), chosen & (u >= 0.1) & (u < 0.2)), "You swapped the shares (10% [MASK], 10% random, 80% unchanged): of the chosen positions 80% become [MASK].",
         "你把比例弄反了(10% [MASK]、10% 随机、80% 不变)：被选中的位置中 80% 应变成 [MASK]。"),
        (rule(chosen, torch.zeros_like(chosen)), "You are masking all chosen positions with [MASK]: that is the 100%-[MASK] variant; 10% should get a random token and 10% stay unchanged.",
         "你把所有被选中的位置都换成了 [MASK]：这是 100% [MASK] 的做法；应有 10% 换成随机词元、10% 保持不变。"),
        (rule(chosen & (u < 0.8), (u >= 0.8) & (u < 0.9)), "You put random tokens everywhere u falls in [0.8, 0.9), not only at the chosen positions: unchosen tokens must stay as they are.",
         "你在所有 u 落在 [0.8, 0.9) 的位置都放了随机词元，而不只是被选中的位置：未被选中的词元必须保持原样。"),
        (rule(chosen & (u < 0.8), chosen & (u >= 0.9)), "You swapped random and unchanged: u in [0.8, 0.9) gets the random token, u ≥ 0.9 stays.",
         "你把“随机”和“不变”弄反了：u 在 [0.8, 0.9) 时换成随机词元，u ≥ 0.9 时保持不变。"),
    ])


@exercise("ch09.nsp_labels", "Next-sentence labels", "下一句预测的标签")
def check_nsp_labels(nsp_labels) -> None:
    is_next = [True, False, False, True, True, False]
    got = nsp_labels(list(is_next))
    want = torch.tensor([0 if n else 1 for n in is_next])
    compare(got, want, "next_sentence_label", wrong=[
        (torch.tensor([1 if n else 0 for n in is_next]), "Inverted: in BERT (and Hugging Face) label 0 means B IS the next segment, 1 means B is random.",
         "标签反了：在 BERT(以及 Hugging Face)中，0 表示 B 确实是下一段，1 表示 B 是随机的。"),
    ], shape_hints=[
        ((len(is_next), 2), "Return one class index per pair, shape (B,), not a one-hot (B, 2): cross_entropy takes class indices.",
         "每一对返回一个类别编号，形状 (B,)，而不是独热(one-hot)的 (B, 2)：cross_entropy 接受的是类别编号。"),
    ])


@exercise("ch09.tied_logits", "Scores through the tied embeddings", "通过共享嵌入计算得分")
def check_tied_logits(tied_logits) -> None:
    g = torch.Generator().manual_seed(5)
    h = torch.randn(7, 6, generator=g, dtype=torch.float64)   # (N, H)
    E = torch.randn(11, 6, generator=g, dtype=torch.float64)  # (V, H)
    b = torch.randn(11, generator=g, dtype=torch.float64)     # (V,)
    got = tied_logits(h.clone(), E.clone(), b.clone())
    logits = h @ E.T + b
    compare(got, logits, "logits", wrong=[
        (h @ E.T, "You forgot the output bias b: logits = h Eᵀ + b.", "忘了输出偏置 b：logits = h Eᵀ + b。"),
        (torch.softmax(logits, -1), "You returned probabilities (softmax): return the logits, cross_entropy applies the softmax itself.",
         "你返回的是概率(做了 softmax)：应返回 logits，cross_entropy 会自己做 softmax。"),
    ], shape_hints=[
        ((7, 6), "The result must have one score per vocabulary entry, (N, V): multiply h by Eᵀ, where E is (V, H).",
         "结果应对词表中每个词元有一个得分，形状 (N, V)：要乘以 Eᵀ(E 的形状为 (V, H))。"),
    ])


@exercise("ch09.predict_share", "Predict the share of [MASK] tokens", "预测 [MASK] 所占的比例")
def check_predict_share(predict_share) -> None:
    for mask_prob, mask_frac, random_frac in ((0.15, 0.8, 0.1), (0.2, 0.5, 0.25), (0.4, 1.0, 0.0)):
        got = predict_share(mask_prob, mask_frac, random_frac)
        compare([got], torch.tensor([mask_prob * mask_frac]), f"predict_share({mask_prob}, {mask_frac}, {random_frac})", wrong=[
            (torch.tensor([mask_prob]), "That is the share of CHOSEN tokens (15%); only mask_frac of them become [MASK]: mask_prob × mask_frac.",
             "这是被选中的词元的比例(15%)；其中只有 mask_frac 会变成 [MASK]：mask_prob × mask_frac。"),
            (torch.tensor([mask_frac]), "80% is the share among the chosen tokens, not among all tokens: multiply by mask_prob.",
             "80% 是被选中的词元内部的比例，而不是全部词元中的比例：还要乘以 mask_prob。"),
            (torch.tensor([mask_prob * (mask_frac + random_frac)]), "You counted the random replacements too: they are real tokens, not [MASK].",
             "你把随机替换也算进去了：它们是真实的词元，不是 [MASK]。"),
        ])
