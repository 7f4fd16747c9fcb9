"""Classic wrong answers (and correct alternatives) for the chapter 08 exercises."""

import torch


def _wordpiece(word, vocab, shortest=False, hashes=True, on_failure="unk"):
    pieces, start = [], 0
    while start < len(word):
        ends = range(start + 1, len(word) + 1) if shortest else range(len(word), start, -1)
        for end in ends:
            piece = word[start:end] if start == 0 or not hashes else "##" + word[start:end]
            if piece in vocab:
                break
        else:
            if on_failure == "stay":  # no [UNK] fallback: the loop never advances
                continue
            if on_failure == "skip":
                start += 1
                continue
            return pieces + ["[UNK]"] if on_failure == "partial" else ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def _wordpiece_no_lookup_loop(word, vocab):  # never ends, without ever asking the vocabulary
    while True:
        word = word + ""


def _wordpiece_recursive(word, vocab, first=True):  # correct: recursion, a tuple
    if not word:
        return ()
    for end in range(len(word), 0, -1):
        piece = word[:end] if first else "##" + word[:end]
        if piece in vocab:
            rest = _wordpiece_recursive(word[end:], vocab, first=False)
            return ("[UNK]",) if rest == ("[UNK]",) else (piece, *rest)
    return ("[UNK]",)


def _count(V, H, L, I, P, S):
    embeddings = (V + P + S) * H + 2 * H
    layer = 4 * (H * H + H) + 2 * H * I + I + H + 4 * H
    return embeddings + L * layer + H * H + H


WRONG = {
    "ch08.wordpiece": [
        (lambda w, vocab: _wordpiece(w, vocab, shortest=True), "shortest matching piece"),
        (lambda w, vocab: _wordpiece(w, vocab, hashes=False), 'forgot the "##"'),
        (lambda w, vocab: _wordpiece(w, vocab, on_failure="partial"), "pieces found so far"),
        (lambda w, vocab: _wordpiece(w, vocab, on_failure="skip"), "skipped the character"),
        (lambda w, vocab: _wordpiece(w, vocab, on_failure="stay"), "never ends"),
        (_wordpiece_no_lookup_loop, "did not finish"),
        (lambda w, vocab: " ".join(_wordpiece(w, vocab)), "list of strings"),
        (
            lambda w, vocab: [
                "##" + p if not p.startswith("##") and p != "[UNK]" else p
                for p in _wordpiece(w, vocab)
            ],
            "wordpiece(",
        ),
    ],
    "ch08.segment_ids": [
        (lambda a, b: [0] * (a + 1) + [1] * (b + 2), "closes sentence A"),
        (lambda a, b: [0] * (a + b + 3), "All zeros"),
        (lambda a, b: [0] * (a + 2) + [1] * b + [0], "final [SEP]"),
        (lambda a, b: [1] * (a + 2) + [2] * (b + 1), "index a table"),
        (lambda a, b: [0] * a + [1] * b, "forgot the special tokens"),
        (lambda a, b: [0] * (a + 1) + [1] * (b + 1), "One special token short"),
        (lambda a, b: [0] * (b + 2) + [1] * (a + 1), "swapped n_a and n_b"),
        (lambda a, b: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1], "segment_ids("),
    ],
    "ch08.input_embedding": [
        (lambda ids, tt, W, S, P, ln: ln(W[ids] + P[: ids.shape[1]]), "forgot the segment"),
        (lambda ids, tt, W, S, P, ln: ln(W[ids] + S[tt]), "forgot the position"),
        (lambda ids, tt, W, S, P, ln: W[ids] + S[tt] + P[: ids.shape[1]], "forgot the LayerNorm"),
        (lambda ids, tt, W, S, P, ln: ln(W[ids]) + S[tt] + P[: ids.shape[1]], "after the sum"),
        (
            lambda ids, tt, W, S, P, ln: ln(W[ids] + tt[..., None] + P[: ids.shape[1]]),
            "constant shift",
        ),
        (lambda ids, tt, W, S, P, ln: ln(W[ids] + S[tt] + P[ids]), "with the token ids"),
        (lambda ids, tt, W, S, P, ln: ln(W[ids] + S[1 - tt] + P[: ids.shape[1]]), "swapped"),
        (lambda ids, tt, W, S, P, ln: ln(W[ids] + S[tt] + P[1 : ids.shape[1] + 1]), "position 0"),
    ],
    "ch08.count_parameters": [
        (lambda V, H, L, I, P, S: _count(V, H, L, I, P, S) - (P + S) * H, "position and segment"),
        (lambda V, H, L, I, P, S: _count(V, H, L, I, P, S) - (H * H + H), "pooler"),
        (lambda V, H, L, I, P, S: _count(V, H, L, I, P, S) - 2 * H - 4 * H * L, "LayerNorms"),
        (lambda V, H, L, I, P, S: _count(V, H, L, I, P, S) - L * (5 * H + I) - H, "biases"),
        (
            lambda V, H, L, I, P, S: _count(V, H, L, I, P, S) + H * H + 3 * H + V + 2 * H + 2,
            "pretraining heads",
        ),
        (lambda V, H, L, I, P, S: _count(V, H, 1, I, P, S), "one encoder layer"),
        (lambda V, H, L, I, P, S: _count(V, H, L, I, P, S) - 2 * H, "after the embeddings"),
    ],
}

CORRECT = {
    "ch08.wordpiece": [_wordpiece_recursive, lambda w, vocab: tuple(_wordpiece(w, set(vocab)))],
    "ch08.segment_ids": [
        lambda a, b: torch.cat(
            [torch.zeros(a + 2, dtype=torch.long), torch.ones(b + 1, dtype=torch.long)]
        ),
        lambda a, b: [int(i > a + 1) for i in range(a + b + 3)],
        lambda a, b: (torch.arange(a + b + 3) >= a + 2).int(),
    ],
    "ch08.input_embedding": [
        lambda ids, tt, W, S, P, ln: ln(
            torch.nn.functional.embedding(ids, W) + S[tt] + P[torch.arange(ids.shape[1])][None]
        ),
        lambda ids, tt, W, S, P, ln: ln.forward(W[ids] + S[tt] + P[: ids.size(1)].unsqueeze(0)),
    ],
    "ch08.count_parameters": [_count, lambda V, H, L, I, P, S: float(_count(V, H, L, I, P, S))],
}


# Wrong answers from a stress test with answers the checks had not seen (issue 17).


def _greedy(shortest_end=1, longest_end=0, fallback=False, longest_piece=None):
    """WordPiece with the ends tried from len(word) + longest_end (or start + longest_piece, a
    capped search) down to start + shortest_end."""

    def wordpiece(word, vocab):
        pieces, start = [], 0
        while start < len(word):
            top = len(word) + longest_end
            if longest_piece is not None:
                top = min(len(word), start + longest_piece)
            for end in range(top, start + shortest_end - 1, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    break
                if fallback and start > 0 and word[start:end] in vocab:
                    piece = word[start:end]
                    break
            else:
                return ["[UNK]"]
            pieces.append(piece)
            start = end
        return pieces

    return wordpiece


def _backtracking(word, vocab, start=0):  # tries a shorter piece when the rest cannot be cut
    if start == len(word):
        return []
    for end in range(len(word), start, -1):
        piece = word[start:end] if start == 0 else "##" + word[start:end]
        if piece in vocab:
            rest = _backtracking(word, vocab, end)
            if rest != ["[UNK]"]:
                return [piece] + rest
    return ["[UNK]"]


def _embedding(scale=lambda w: 1.0, positions=None):
    def input_embedding(ids, types, word, segment, position, layer_norm):
        where = torch.arange(ids.shape[1]) if positions is None else positions(ids)
        return layer_norm(word[ids] * scale(word) + segment[types] + position[where])

    return input_embedding


WRONG["ch08.wordpiece"] += [
    (_backtracking, "never goes back"),
    (_greedy(longest_end=-1), "Every word became"),  # never tries the whole rest
    (_greedy(shortest_end=2), "returned"),  # never tries one character
    (_greedy(fallback=True), "returned"),  # "run" where "##run" is missing
    (lambda w, v: ["[unk]"] if _greedy()(w, v) == ["[UNK]"] else _greedy()(w, v), "returned"),
]
WRONG["ch08.segment_ids"] += [
    (lambda a, b: [0] * 4 + [1] * 6, "expected"),  # hard-coded from an example
    (lambda a, b: "0" * (a + 2) + "1" * (b + 1), "should"),
    (lambda a, b: [0] * (a + 2) + [1] * b, "special token short"),
]
WRONG["ch08.input_embedding"] += [
    (_embedding(scale=lambda w: w.shape[1] ** 0.5), "is wrong"),
    (_embedding(positions=lambda ids: torch.arange(ids.shape[1]).flip(0)), "is wrong"),
    (
        lambda ids, t, W, S, P, norm: norm(W[ids] + S[t]) + P[: ids.shape[1]],
        "is wrong",
    ),
    (
        lambda ids, t, W, S, P, norm: torch.nn.functional.layer_norm(
            W[ids] + S[t] + P[: ids.shape[1]], W.shape[1:]
        ),
        "is wrong",
    ),
]
WRONG["ch08.count_parameters"] += [
    (
        lambda V, H, L, I, P, S: (
            (V + P + S) * H + 2 * H + L * (4 * (H * H + H) + 2 * H * I + I + H + 2 * H) + H * H + H
        ),
        "returned",
    ),
    (
        lambda V, H, L, I, P, S: (
            (V + P + S) * H + 2 * H + L * (3 * (H * H + H) + 2 * H * I + I + H + 4 * H) + H * H + H
        ),
        "returned",
    ),
    (
        lambda V, H, L, I, P, S: (
            (V + P) * H + 2 * H + L * (4 * (H * H + H) + 2 * H * I + I + H + 4 * H) + H * H + H
        ),
        "returned",
    ),
    (
        lambda V, H, L, I, P, S: (
            (V + P + S) * H + 2 * H + L * (4 * (H * H + H) + 8 * H * H + 5 * H) + H * H + H
        ),
        "returned",
    ),
]
CORRECT["ch08.wordpiece"] += [lambda w, v: tuple(_greedy()(w, v))]


def _embedding_resets_norm(ids, types, word, segment, position, layer_norm):
    with torch.no_grad():  # changes the LayerNorm it was given: the check's copy stays as it was
        layer_norm.weight.fill_(1.0)
        layer_norm.bias.zero_()
    summed = word[ids] + segment[types] + position[: ids.shape[1]]
    return torch.nn.functional.layer_norm(summed, word.shape[1:])


WRONG["ch08.input_embedding"] += [(_embedding_resets_norm, "is wrong")]

WRONG["ch08.segment_ids"] += [  # float ids: an embedding lookup cannot take them
    (lambda a, b: [0.0] * (a + 2) + [1.0] * (b + 1), "embedding table"),
    (lambda a, b: torch.cat([torch.zeros(a + 2), torch.ones(b + 1)]), "embedding table"),
]
WRONG["ch08.segment_ids"] += [  # nn.Embedding takes int64 or int32 indices only (ninth audit)
    (lambda a, b: torch.arange(a + b + 3) >= a + 2, "bool"),
    (lambda a, b: torch.tensor([0] * (a + 2) + [1] * (b + 1), dtype=torch.uint8), "uint8"),
]


def _wordpiece_adds_unk(word, vocab):  # changes the caller's vocabulary
    vocab.add("[UNK]")
    return _wordpiece(word, vocab)


def _embedding_no_grad(input_ids, token_type_ids, word, segment, position, layer_norm):
    with torch.no_grad():
        L = input_ids.shape[1]
        return layer_norm(word[input_ids] + segment[token_type_ids] + position[:L])


WRONG["ch08.wordpiece"] += [
    (_greedy(longest_piece=8), "expected"),
    (_greedy(longest_piece=10), "expected"),
    (_wordpiece_adds_unk, "in place"),
]
WRONG["ch08.input_embedding"] += [(_embedding_no_grad, "no gradient")]
