"""Checks for chapter 09, pretraining BERT (masked LM and next sentence prediction)."""

from __future__ import annotations

import torch

from .core import compare, exercise, generator, predictions, require_integer_ids

IGNORE = -100


def _ids(seed: int = 3, shape: tuple[int, int] = (3, 12), hidden: bool = False):
    g = torch.Generator().manual_seed(seed) if not hidden else generator(seed, hidden)
    B, L = shape
    original = torch.randint(5, 50, shape, generator=g)
    chosen = torch.rand(shape, generator=g) < 0.3
    for b in range(min(B, L, 3)):
        chosen[b, b] = True
    chosen[:, -1] = False
    # float64, so that u = 0.8 or 0.9 is the same number in torch and in Python (a float32 0.9
    # is below the float 0.9: a loop over u.tolist() and torch's u < 0.9 would disagree)
    u = torch.rand(shape, generator=g).double()
    kinds = [0.5, 0.85, 0.95]
    for b in range(min(B, L, 3)):
        u[b, b] = kinds[b]  # one of each kind, for sure
    random_ids = torch.randint(5, 50, shape, generator=g)
    return original, chosen, u, random_ids


def _cases(seed: int, hidden: bool):
    cases = [
        _ids(seed, hidden=hidden),
        _ids(seed + 1, (1, 5), hidden),
        _ids(seed + 2, (4, 7), hidden),
    ]
    original, chosen, u, random_ids = _ids(seed + 3, (2, 6), hidden)
    chosen[1] = False  # a sentence with nothing chosen
    chosen[0, :3] = True
    u[0, :3] = torch.tensor([0.8, 0.9, 0.79999], dtype=torch.float64)  # at the 80/10/10 boundaries
    cases.append((original, chosen, u, random_ids))
    return cases


@exercise("ch09.mlm_labels", "Masked-LM labels", "掩码语言模型的标签")
def check_mlm_labels(mlm_labels, hidden: bool = False) -> None:
    for n, (original, chosen, u, random_ids) in enumerate(_cases(3, hidden)):
        mask_id = 4 if n % 2 == 0 else 103
        corrupted = torch.where(chosen & (u < 0.8), mask_id, original)
        corrupted = torch.where(chosen & (u >= 0.8) & (u < 0.9), random_ids, corrupted)
        got = mlm_labels(original, corrupted, chosen)
        compare(
            got,
            torch.where(chosen, original, IGNORE),
            "labels",
            wrong=[
                (
                    original,
                    "You put labels everywhere: the loss would be mostly about copying visible "
                    "tokens. Keep the original "
                    "id only at the chosen positions, -100 elsewhere.",
                    "你在所有位置都给了标签：损失的大部分就成了抄写可见的词元。"
                    "只在被选中的位置保留原始编号，其余位置为 -100。",
                    "labels_everywhere",
                ),
                (
                    torch.where(chosen, original, 0),
                    "You used 0 instead of -100 for the ignored positions: 0 is a real token id "
                    "([PAD]), so the loss would train on it. Use -100 (cross_entropy's "
                    "ignore_index).",
                    "你在忽略的位置用了 0 而不是 -100：0 是一个真实的词元编号（[PAD]），"
                    "损失会在这些位置上训练。应使用 -100（cross_entropy 的 ignore_index）。",
                    "zero_not_minus_100",
                ),
                (
                    torch.where(chosen, original, -1),
                    "Use -100 for the ignored positions: it is cross_entropy's default "
                    "ignore_index (-1 is not ignored).",
                    "忽略的位置应使用 -100：这是 cross_entropy 默认的 ignore_index（-1 "
                    "不会被忽略）。",
                    "minus_one",
                ),
                (
                    torch.where(chosen, corrupted, IGNORE),
                    "You took the labels from the corrupted input ([MASK] / random ids): the "
                    "label is the ORIGINAL token the model must recover.",
                    "你从被破坏的输入（[MASK] 或随机词元）中取了标签："
                    "标签应是模型要恢复的原始词元。",
                    "labels_from_corrupted",
                ),
                (
                    torch.where(~chosen, original, IGNORE),
                    "You inverted the selection: labels belong at the chosen positions, -100 "
                    "at the others.",
                    "你把选择弄反了：标签应放在被选中的位置，其余位置为 -100。",
                    "inverted_selection",
                ),
                (
                    torch.where(corrupted == mask_id, original, IGNORE),
                    "You labelled only the [MASK]ed positions: the loss covers "
                    "EVERY chosen position, the ones replaced by a random token and the unchanged "
                    "ones too.",
                    "你只给变成 [MASK] 的位置加了标签：损失覆盖“所有”被选中的位置，"
                    "包括换成随机词元的和保持不变的。",
                    "only_masked",
                ),
                (
                    torch.where(corrupted != original, original, IGNORE),
                    "You labelled the positions whose token changed: a chosen "
                    "token that stays unchanged (10%) is still predicted. Use `chosen`.",
                    "你给词元发生变化的位置加了标签：被选中但保持不变的词元（10%）同样要预测。"
                    "应使用 `chosen`。",
                    "only_changed",
                ),
            ],
        )
        require_integer_ids(got, "labels", loss=True)


@exercise("ch09.apply_80_10_10", "The 80/10/10 replacement", "80/10/10 替换规则")
def check_apply_80_10_10(apply_80_10_10, hidden: bool = False) -> None:
    for n, (original, chosen, u, random_ids) in enumerate(_cases(4, hidden)):
        mask_id = 4 if n == 0 and not hidden else (103 if n % 2 else 7)
        got = apply_80_10_10(original, chosen, u, random_ids, mask_id)

        def rule(to_mask, to_random, mask=mask_id):
            out = torch.where(to_mask, mask, original)
            return torch.where(to_random, random_ids, out)

        want = rule(chosen & (u < 0.8), chosen & (u >= 0.8) & (u < 0.9))
        compare(
            got,
            want,
            "inputs",
            wrong=[
                (
                    rule(chosen & (u < 0.1), chosen & (u >= 0.1) & (u < 0.2)),
                    "You swapped the shares (10% [MASK], 10% random, "
                    "80% unchanged): of the chosen positions 80% become [MASK].",
                    "你把比例弄反了（10% [MASK]、10% 随机、80% 不变）：被选中的位置中 80% 应变成 "
                    "[MASK]。",
                    "swapped_shares",
                ),
                (
                    rule(chosen, torch.zeros_like(chosen)),
                    "You are masking all chosen positions with [MASK]: that is the "
                    "100%-[MASK] variant; 10% should get a random token and 10% stay unchanged.",
                    "你把所有被选中的位置都换成了 [MASK]：这是 100% [MASK] 的做法；应有 10% "
                    "换成随机词元、10% 保持不变。",
                    "all_masked",
                ),
                (
                    rule(chosen & (u < 0.8), (u >= 0.8) & (u < 0.9)),
                    "You put random tokens everywhere u falls in [0.8, 0.9), not "
                    "only at the chosen positions: unchosen tokens must stay as they are.",
                    "你在所有满足 0.8 ≤ u < 0.9 的位置都放了随机词元，而不只是被选中的位置："
                    "未被选中的词元必须保持原样。",
                    "random_everywhere",
                ),
                (
                    rule(u < 0.8, chosen & (u >= 0.8) & (u < 0.9)),
                    "You put [MASK] everywhere u < 0.8, not only at the chosen "
                    "positions: unchosen tokens must stay as they are.",
                    "你在所有 u < 0.8 的位置都放了 [MASK]，而不只是被选中的位置："
                    "未被选中的词元必须保持原样。",
                    "mask_everywhere",
                ),
                (
                    rule(chosen & (u < 0.8), chosen & (u >= 0.9)),
                    "You swapped random and unchanged: u in [0.8, 0.9) gets the random "
                    "token, u ≥ 0.9 stays.",
                    "你把“随机”和“不变”弄反了：0.8 ≤ u < 0.9 时换成随机词元，u ≥ 0.9 时保持不变。",
                    "random_unchanged_swapped",
                ),
                (
                    rule(chosen & (u <= 0.8), chosen & (u > 0.8) & (u <= 0.9)),
                    "Off by one at the boundaries: u < 0.8 gives [MASK], "
                    "0.8 ≤ u < 0.9 the random token (u = 0.8 is random, u = 0.9 stays).",
                    "边界差了一点：u < 0.8 换成 [MASK]，0.8 ≤ u < 0.9 换成随机词元（u = 0.8 "
                    "属于随机，u = 0.9 保持不变）。",
                    "boundaries",
                ),
                *[
                    (
                        rule(chosen & (u < 0.8), chosen & (u >= 0.8) & (u < 0.9), mask=fixed)
                        if mask_id != fixed
                        else None,
                        "You wrote a fixed id for [MASK] (the example's 4, or BERT's 103): use "
                        "the mask_id argument.",
                        "你把 [MASK] 写成了固定的编号（例子中的 4，或 BERT 的 103）：应使用参数 "
                        "mask_id。",
                        "hard_coded_mask_id",
                    )
                    for fixed in (4, 103)
                ],
            ],
        )
        require_integer_ids(got, "the model input")


@exercise("ch09.nsp_labels", "Next-sentence labels", "下一句预测的标签")
def check_nsp_labels(nsp_labels, hidden: bool = False) -> None:
    cases = (
        [[True, False, False, True, True, False], [True], [False, False], [True, True, True, False]]
        if not hidden
        else [
            [False, True, True, False, True],
            [False],
            [True, True],
            [False, False, False, True, False],
        ]
    )
    for is_next in cases:
        got = nsp_labels(list(is_next))
        want = torch.tensor([0 if n else 1 for n in is_next])
        compare(
            got,
            want,
            "next_sentence_label",
            wrong=[
                (
                    torch.tensor([1 if n else 0 for n in is_next]),
                    "Inverted: in BERT (and Hugging Face) label 0 means B IS the "
                    "next segment, 1 means B is random.",
                    "标签反了：在 BERT（以及 Hugging Face）中，0 表示 B 确实是下一段，1 表示 B "
                    "是随机的。",
                    "inverted",
                ),
                (
                    torch.tensor([1 if n else 2 for n in is_next]),
                    "Labels are class indices 0 and 1 (0 = IsNext, 1 = NotNext).",
                    "标签是类别编号 0 和 1（0 = 是下一句，1 = 不是）。",
                    "labels_1_and_2",
                ),
            ],
            shape_hints=[
                (
                    (len(is_next), 2),
                    "Return one class index per pair, shape (B,), not a one-hot (B, 2): "
                    "cross_entropy takes class "
                    "indices.",
                    "每一对返回一个类别编号，形状 (B,)，而不是独热（one-hot）的 (B, 2)："
                    "cross_entropy 接受的是类别编号。",
                    "one_hot",
                ),
            ],
        )
        require_integer_ids(got, "next_sentence_label", loss=True)


@exercise("ch09.tied_logits", "Scores through the tied embeddings", "通过共享嵌入计算得分")
def check_tied_logits(tied_logits, hidden: bool = False) -> None:
    shapes = [(7, 6, 11), (1, 3, 5), (4, 8, 2)] if not hidden else [(5, 4, 9), (2, 6, 3), (1, 2, 7)]
    for n, (N, H, V) in enumerate(shapes):
        g = torch.Generator().manual_seed(5) if n == 0 and not hidden else generator(5 + n, hidden)
        h = torch.randn(N, H, generator=g, dtype=torch.float64)
        E = torch.randn(V, H, generator=g, dtype=torch.float64)
        b = torch.randn(V, generator=g, dtype=torch.float64)
        got = tied_logits(h, E, b)
        logits = h @ E.T + b
        compare(
            got,
            logits,
            "logits",
            wrong=[
                (
                    h @ E.T,
                    "You forgot the output bias b: logits = h Eᵀ + b.",
                    "忘了输出偏置 b：logits = h Eᵀ + b。",
                    "no_bias",
                ),
                (
                    lambda: torch.softmax(logits, -1),
                    "You returned probabilities (softmax): return the logits, cross_entropy "
                    "applies the softmax itself.",
                    "你返回的是概率（做了 softmax）：应返回 logits，"
                    "cross_entropy 会自己做 softmax。",
                    "probabilities",
                ),
                (
                    lambda: torch.log_softmax(logits, -1),
                    "You returned log-probabilities (log_softmax): return the raw logits, "
                    "cross_entropy normalises them itself.",
                    "你返回的是对数概率（log_softmax）：应返回原始 logits，cross_entropy "
                    "会自己归一化。",
                    "log_probabilities",
                ),
                (
                    h @ E.T - b,
                    "Add the bias, do not subtract it: logits = h Eᵀ + b.",
                    "偏置应加上，而不是减去：logits = h Eᵀ + b。",
                    "bias_subtracted",
                ),
            ],
            shape_hints=[
                (
                    (N, H),
                    "The result must have one score per vocabulary entry, (N, V): multiply h by "
                    "Eᵀ, where E is (V, H).",
                    "结果应对词表中每个词元有一个得分，形状 (N, V)：要乘以 Eᵀ（E 的形状为 (V, H)）"
                    "。",
                    "returned_h",
                ),
                (
                    (V, N),
                    "Shape (V, N): you computed E hᵀ. The scores are h Eᵀ, one row per hidden "
                    "state, (N, V).",
                    "形状是 (V, N)：你算的是 E hᵀ。得分应为 h Eᵀ，每个隐藏状态一行，(N, V)。",
                    "transposed",
                ),
            ],
        )


@exercise("ch09.predict_share", "Predict the share of [MASK] tokens", "预测 [MASK] 所占的比例")
def check_predict_share(predict_share, hidden: bool = False) -> None:
    cases = (
        [(0.15, 0.8, 0.1), (0.2, 0.5, 0.25), (0.4, 1.0, 0.0), (0.3, 0.6, 0.3), (1.0, 0.7, 0.2)]
        if not hidden
        else [
            (0.1, 0.9, 0.05),
            (0.25, 0.4, 0.4),
            (0.5, 0.2, 0.1),
            (0.15, 1.0, 0.0),
            (0.8, 0.5, 0.5),
        ]
    )
    predictions(
        predict_share,
        cases,
        [p * m for p, m, r in cases],
        "predict_share",
        [
            (
                lambda p, m, r: p,
                "That is the share of CHOSEN tokens (15%); only mask_frac of them become [MASK]: "
                "mask_prob × mask_frac.",
                "这是被选中的词元的比例（15%）；其中只有 mask_frac 会变成 [MASK]：mask_prob × "
                "mask_frac。",
                "share_of_chosen",
            ),
            (
                lambda p, m, r: m,
                "80% is the share among the chosen tokens, not among all tokens: multiply by "
                "mask_prob.",
                "80% 是被选中的词元内部的比例，而不是全部词元中的比例：还要乘以 mask_prob。",
                "share_among_chosen",
            ),
            (
                lambda p, m, r: p * (m + r),
                "You counted the random replacements too: they are real tokens, not [MASK].",
                "你把随机替换也算进去了：它们是真实的词元，不是 [MASK]。",
                "counted_random",
            ),
            (
                lambda p, m, r: p * r,
                "That is the share of RANDOM replacements; the [MASK] share is mask_prob × "
                "mask_frac.",
                "这是随机替换的比例；[MASK] 的比例是 mask_prob × mask_frac。",
                "random_share",
            ),
            (
                lambda p, m, r: p * (1 - m - r),
                "That is the share of chosen tokens left unchanged; the [MASK] share is "
                "mask_prob × mask_frac.",
                "这是被选中却保持不变的比例；[MASK] 的比例是 mask_prob × mask_frac。",
                "unchanged_share",
            ),
            (
                lambda p, m, r: 100 * p * m,
                "Return a fraction between 0 and 1, not a percentage.",
                "请返回 0 到 1 之间的比例，而不是百分数。",
                "percentage",
            ),
        ],
    )
