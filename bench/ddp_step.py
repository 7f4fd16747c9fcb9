"""Seconds per step of the book's pretraining recipe on this many ranks (``run.py --only ddp``):

    torchrun --standalone --nproc_per_node=2 bench/ddp_step.py

The recipe's model (H 192, 4 layers, vocabulary 8000), a global batch of 32 random pairs of 128
tokens in 2 micro-batches (accumulated on 1 process, one per rank on 2), no dropout; 3 warm-up
steps, then 12
timed. Rank 0 prints one JSON line.
"""

import json
import time

import torch

from rnn2bert.bert import BertConfig, BertForPreTraining
from rnn2bert.ddp_demo import batches
from rnn2bert.pretraining import pretraining_loss
from rnn2bert.training import TrainConfig, init_distributed, train, world

WARMUP, TIMED = 3, 12


def main() -> None:
    torch.set_num_threads(1)
    init_distributed()
    rank, world_size = world()
    torch.manual_seed(0)
    model = BertForPreTraining(
        BertConfig(
            vocab_size=8000,
            hidden_size=192,
            num_hidden_layers=4,
            num_attention_heads=4,
            intermediate_size=768,
            max_position_embeddings=128,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        )
    )
    config = dict(lr=1e-3, warmup=1, progress=False, accumulate=2 // world_size)
    stream = batches(vocab_size=8000, batch=32, length=128, mask_prob=0.15, seed=0)
    train(
        model,
        stream,
        pretraining_loss,
        TrainConfig(steps=WARMUP, **config),
        loss_names=("loss", "mlm", "nsp"),
    )
    start = time.perf_counter()
    history = train(
        model,
        stream,
        pretraining_loss,
        TrainConfig(steps=TIMED, **config),
        loss_names=("loss", "mlm", "nsp"),
    )
    seconds = (time.perf_counter() - start) / TIMED
    if rank == 0:
        print(
            json.dumps(
                {
                    "ranks": world_size,
                    "seconds_per_step": seconds,
                    "tokens_per_s": round(sum(history["tokens"]) / (time.perf_counter() - start)),
                    "precision": history["precision"],
                }
            )
        )


if __name__ == "__main__":
    main()
