"""Data parallelism, shown on a toy BERT (chapter 09, tests/test_training.py) · 数据并行演示。

    torchrun --standalone --nproc_per_node=2 -m rnn2bert.ddp_demo OUT  # 2 ranks, 1 micro-batch each
    python -m rnn2bert.ddp_demo OUT                    # 1 process, 2 micro-batches accumulated

Both train a 2-layer BERT for 4 steps on the same global batches of random tokens and save the
parameters (rank 0) to OUT: DDP averages the ranks' gradients, which is what accumulating the
micro-batches computes, so the two files must hold the same parameters.
"""

import sys

import torch

from rnn2bert.bert import BertConfig, BertForPreTraining
from rnn2bert.pretraining import pretrain
from rnn2bert.training import init_distributed, world

MICRO_BATCHES = 2


def batches(
    vocab_size: int = 50, batch: int = 8, length: int = 12, mask_prob: float = 0.3, seed: int = 1
):
    """An endless stream of random pretraining batches: ``mask_prob`` of the positions labelled."""
    g = torch.Generator().manual_seed(seed)
    while True:
        ids = torch.randint(5, vocab_size, (batch, length), generator=g)
        labels = torch.where(torch.rand(batch, length, generator=g) < mask_prob, ids, -100)
        labels[:, 0] = -100
        yield {
            "input_ids": ids,
            "token_type_ids": torch.zeros_like(ids),
            "attention_mask": torch.ones_like(ids),
            "labels": labels,
            "next_sentence_label": torch.randint(0, 2, (batch,), generator=g),
        }


def main(out: str) -> None:
    torch.set_num_threads(1)
    init_distributed()
    rank, world_size = world()
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = BertForPreTraining(config)
    history = pretrain(
        model,
        batches(),
        steps=4,
        lr=1e-2,
        warmup=1,
        precision="fp32",
        progress=False,
        accumulate=MICRO_BATCHES // world_size,
    )
    if rank == 0:
        torch.save({"state": model.state_dict(), "history": history}, out)


if __name__ == "__main__":
    main(sys.argv[1])
