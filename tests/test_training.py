"""The one training loop (rnn2bert.training): DDP equals accumulation, resume equals an
uninterrupted run, bf16 autocast close to fp32, the schedule and the parameter groups."""

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnn2bert.bert import BertConfig, BertForPreTraining
from rnn2bert.ddp_demo import batches
from rnn2bert.pretraining import pretrain, pretraining_loss
from rnn2bert.training import (
    TrainConfig,
    autocast,
    best_precision,
    cpu_has_bf16,
    linear_schedule,
    parameter_groups,
    shard,
    train,
    warmup_steps,
)

ROOT = Path(__file__).resolve().parents[1]


def tiny(dropout: float = 0.0) -> BertForPreTraining:
    torch.manual_seed(0)
    return BertForPreTraining(
        BertConfig(
            vocab_size=50,
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=16,
            hidden_dropout_prob=dropout,
            attention_probs_dropout_prob=dropout,
        )
    )


def run_worker(out: Path, ranks: int | None) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    if ranks is None:
        command = [sys.executable, "-m", "rnn2bert.ddp_demo", str(out)]
    else:
        torchrun = Path(sys.executable).with_name("torchrun")
        command = [
            str(torchrun),
            "--standalone",
            f"--nproc_per_node={ranks}",
            "-m",
            "rnn2bert.ddp_demo",
            str(out),
        ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(out, weights_only=False)


def test_two_gloo_ranks_equal_one_process_accumulating(tmp_path):
    """torchrun with 2 ranks (DDP, gloo), one micro-batch each, ends with the parameters of one
    process that accumulates the same 2 micro-batches: data parallelism changes nothing else."""
    single = run_worker(tmp_path / "single.pt", ranks=None)
    ddp = run_worker(tmp_path / "ddp.pt", ranks=2)
    assert ddp["history"]["world_size"] == 2 and single["history"]["world_size"] == 1
    assert single["state"].keys() == ddp["state"].keys()
    moved = 0
    for name, p in single["state"].items():
        torch.testing.assert_close(ddp["state"][name], p, rtol=1e-5, atol=1e-6, msg=name)
        moved += not torch.equal(p, tiny().state_dict()[name])
    assert moved > 10  # the runs really trained
    # rank 0 records its own micro-batch's loss, the single process the mean of both
    assert ddp["history"]["tokens"] == single["history"]["tokens"]


class Crash(Exception):
    pass


def crashing(stream, after: int):
    for i, batch in enumerate(stream):
        if i == after:
            raise Crash
        yield batch


def test_resume_equals_an_uninterrupted_run(tmp_path):
    """A run killed after step 5 and started again from its checkpoint (saved every 2 steps)
    ends exactly where the uninterrupted run does, dropout included (the random state is saved)."""
    config = dict(steps=6, lr=1e-2, warmup=2, precision="fp32", progress=False)
    whole = tiny(dropout=0.1)
    torch.manual_seed(5)
    pretrain(whole, batches(), **config)

    resumed = tiny(dropout=0.1)
    torch.manual_seed(5)
    with pytest.raises(Crash):
        pretrain(
            resumed,
            crashing(batches(), after=5),
            checkpoint=tmp_path / "state.pt",
            checkpoint_every=2,
            **config,
        )
    assert torch.load(tmp_path / "state.pt", weights_only=False)["step"] == 4
    again = tiny(dropout=0.1)
    history = pretrain(
        again, batches(), checkpoint=tmp_path / "state.pt", checkpoint_every=2, **config
    )
    assert len(history["loss"]) == 6
    for (name, p), q in zip(whole.state_dict().items(), again.state_dict().values(), strict=True):
        torch.testing.assert_close(q, p, rtol=0, atol=0, msg=name)


def test_bf16_autocast_close_to_fp32():
    """The same loss in bf16 autocast as in fp32, to bf16's precision (8 bits of mantissa)."""
    model = tiny()
    batch = next(batches())
    with torch.no_grad():
        fp32 = pretraining_loss(model, batch)
        with autocast("cpu", "bf16"):
            bf16 = pretraining_loss(model, batch)
    for a, b in zip(fp32, bf16, strict=True):
        assert b.dtype == torch.float32  # cross-entropy runs in fp32 under autocast
        torch.testing.assert_close(b, a, rtol=2e-2, atol=2e-2)


def test_bf16_is_chosen_where_the_cpu_has_bf16_units():
    """The CPU's own flags decide: AVX512-BF16 or AMX-BF16 listed -> bf16 (PyTorch moved the
    checks from torch._C._cpu to torch.cpu; reading only the old place gave fp32 everywhere)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo")
    flags = set(cpuinfo.read_text().split())
    has_units = bool({"avx512_bf16", "amx_bf16"} & flags)
    assert cpu_has_bf16() == has_units
    assert best_precision("cpu") == ("bf16" if has_units else "fp32")


def test_accumulating_micro_batches_equals_their_mean_gradient():
    """accumulate=2 gives the update of the mean of the two micro-batches' losses."""
    batch = next(batches())
    a, b = tiny(), tiny()
    config = TrainConfig(steps=1, lr=1e-2, warmup=1, accumulate=2, precision="fp32", progress=False)
    train(a, iter([batch]), pretraining_loss, config, loss_names=("loss", "mlm", "nsp"))
    with pytest.raises(ValueError, match="returned 3 values"):
        train(tiny(), iter([batch]), pretraining_loss, config)
    optimizer = torch.optim.AdamW(parameter_groups(b, lr=1e-2), lr=1e-2)
    loss = sum(pretraining_loss(b, shard(batch, i, 2))[0] for i in range(2)) / 2
    loss.backward()
    torch.nn.utils.clip_grad_norm_(b.parameters(), 1.0)
    optimizer.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_schedule_and_groups():
    assert [round(linear_schedule(s, warmup=2, total=6), 3) for s in range(7)] == [
        0.5,
        1,
        1,
        0.75,
        0.5,
        0.25,
        0,
    ]
    assert (
        warmup_steps(0.1, 100) == 10 and warmup_steps(7, 100) == 7 and warmup_steps(0.0, 100) == 1
    )
    groups = parameter_groups(tiny(), lr=1e-3, head_lr=1e-2, weight_decay=0.01)
    decayed = {id(p) for g in groups if g["weight_decay"] for p in g["params"]}
    model = tiny()
    groups = parameter_groups(model, lr=1e-3, head_lr=1e-2, weight_decay=0.01)
    by_id = {id(p): g for g in groups for p in g["params"]}
    for name, p in model.named_parameters():
        g = by_id[id(p)]
        assert g["weight_decay"] == (0.01 if p.ndim > 1 else 0.0), name
        assert g["lr"] == (1e-3 if name.startswith("bert.") else 1e-2), name
    assert decayed  # some matrices are decayed
    with pytest.raises(ValueError):
        shard(next(batches()), 0, 3)  # 8 rows do not split in 3


def test_layer_decay():
    """Layer-wise decay: the last layer and the pooler at ``lr``, layer i at ``lr·d^(L-1-i)``,
    the embeddings at ``lr·d^L``; the head keeps ``head_lr``; ``layer_decay=1`` changes nothing."""
    model = tiny()  # 2 layers; the MLM/NSP heads ("heads.") stand in for a task head
    d, lr = 0.5, 1e-3
    groups = parameter_groups(model, lr=lr, head_lr=1e-2, layer_decay=d)
    by_id = {id(p): g for g in groups for p in g["params"]}
    expected = {"bert.embeddings.": lr * d**2, "bert.encoder.layers.0.": lr * d}
    expected |= {"bert.encoder.layers.1.": lr, "bert.pooler.": lr, "heads.": 1e-2}
    for name, p in model.named_parameters():
        (rate,) = [r for prefix, r in expected.items() if name.startswith(prefix)]
        assert by_id[id(p)]["lr"] == pytest.approx(rate), name
        assert by_id[id(p)]["weight_decay"] == (0.01 if p.ndim > 1 else 0.0), name
    flat = parameter_groups(model, lr=lr, head_lr=1e-2)
    # without decay: the encoder's two groups, then the head's, as before layer_decay existed
    # (an optimizer state saved by an earlier run still loads)
    assert [(g["lr"], g["weight_decay"]) for g in flat] == [
        (lr, 0.01),
        (lr, 0.0),
        (1e-2, 0.01),
        (1e-2, 0.0),
    ]
    assert sum(len(g["params"]) for g in groups) == sum(1 for _ in model.parameters())
    # the loop uses it: with decay 1e-3 the embeddings (lr·1e-9) move far less than the pooler
    config = TrainConfig(steps=1, lr=lr, layer_decay=1e-3, warmup=1, progress=False)
    before = copy.deepcopy(model.state_dict())
    train(model, batches(), lambda m, b: pretraining_loss(m, b)[0], config)
    moved = {k: (v - before[k]).abs().max().item() for k, v in model.state_dict().items()}
    assert (
        moved["bert.embeddings.word_embeddings.weight"] < 1e-3 * moved["bert.pooler.dense.weight"]
    )
