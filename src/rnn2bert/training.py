"""One training loop for pretraining and fine-tuning (chapters 09 and 10) · 训练循环。

``train(model, batches, loss_fn, steps=…)`` is the loop both chapters use: AdamW with parameter
groups (no weight decay on biases and LayerNorm, an optional learning rate of its own for a new
head), linear warm-up then linear decay, gradient clipping, the precision this machine does best
(bf16 autocast where the CPU or GPU has bf16 units, fp32 elsewhere), a ``tqdm`` bar with tokens
per second, checkpoints to resume an interrupted run, and data parallelism with PyTorch's
``DistributedDataParallel`` when the process was started by ``torchrun``.

Data parallelism in one paragraph: W processes (ranks) each hold a full copy of the model. Every
step, all ranks draw the same global batch of W·b examples and rank r keeps micro-batch r (b
examples); each computes its loss and gradients, DDP averages the gradients across the ranks
(an all-reduce, overlapped with the backward pass), and every rank applies the same update, so
the copies stay equal. The result is the update of a single process that accumulates the
gradients of the W micro-batches and divides by W (``accumulate=W`` below), which the tests check.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

IGNORE = -100  # label of the positions a loss skips (PyTorch's cross_entropy default)

Batch = dict[str, torch.Tensor]
LossFn = Callable[[nn.Module, Batch], "torch.Tensor | tuple[torch.Tensor, ...]"]


# -- precision and device ------------------------------------------------------------------


def cpu_has_bf16() -> bool:
    """True when this CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX): there, bf16
    autocast is several times faster than fp32. Elsewhere bf16 is emulated and slower."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    # torch.cpu has the checks in recent PyTorch (2.13 here); torch._C._cpu had them in older ones
    modules = [m for m in (getattr(torch, "cpu", None), getattr(torch._C, "_cpu", None)) if m]
    return any(getattr(m, name, lambda: False)() for m in modules for name in checks)


def best_precision(device: torch.device | str = "cpu") -> str:
    """``"bf16"`` where the device has bf16 units (a recent GPU, or a CPU with AVX512-BF16/AMX),
    else ``"fp32"``."""
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_bf16() else "fp32"


def autocast(device: torch.device | str, precision: str):
    """The context the forward pass runs in: bf16 autocast, or nothing for fp32."""
    device = torch.device(device)
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision != "bf16":
        raise ValueError(
            f"precision must be 'fp32' or 'bf16', got {precision!r} · 精度只能是 fp32 或 bf16"
        )
    return torch.autocast(device.type, dtype=torch.bfloat16)


def to_device(batch: Batch, device: torch.device | str) -> Batch:
    return {name: t.to(device, non_blocking=True) for name, t in batch.items()}


# -- optimizer and schedule ----------------------------------------------------------------


def layer_depth(name: str, num_layers: int, encoder_prefix: str = "bert.") -> int:
    """How many Transformer layers lie above an encoder parameter: 0 in the last layer and the
    pooler, ``num_layers - 1 - i`` in layer i, ``num_layers`` in the embeddings."""
    rest = name[len(encoder_prefix) :]
    if rest.startswith("embeddings."):
        return num_layers
    if rest.startswith("encoder.layers."):
        return num_layers - 1 - int(rest.split(".")[2])
    return 0


def parameter_groups(
    model: nn.Module,
    *,
    lr: float,
    weight_decay: float = 0.01,
    head_lr: float | None = None,
    layer_decay: float = 1.0,
    encoder_prefix: str = "bert.",
) -> list[dict]:
    """AdamW groups: weight decay on weight matrices only (not on biases and LayerNorm, as BERT);
    with ``head_lr``, the parameters outside ``encoder_prefix`` (a new task head) get that
    learning rate. ``layer_decay`` < 1: layer-wise learning-rate decay, an encoder parameter
    gets ``lr · layer_decay^depth`` (``layer_depth``), so the embeddings, the most general
    part, move least (Howard & Ruder 2018; Clark et al. 2020). Only parameters with
    ``requires_grad`` (a frozen encoder drops out)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    inside = encoder_prefix + "encoder.layers."
    layers = {n[len(inside) :].split(".")[0] for n, _ in named if n.startswith(inside)}

    def rate(name: str) -> float:
        if not name.startswith(encoder_prefix):
            return lr if head_lr is None else head_lr
        return lr * layer_decay ** layer_depth(name, len(layers), encoder_prefix)

    groups = []
    for is_head in (False, True):  # the encoder's groups, then the head's
        part = [(n, p) for n, p in named if (not n.startswith(encoder_prefix)) == is_head]
        for r in sorted({rate(n) for n, _ in part}, reverse=True):
            same = [p for n, p in part if rate(n) == r]
            groups += [
                {"params": [p for p in same if p.ndim > 1], "weight_decay": weight_decay, "lr": r},
                {"params": [p for p in same if p.ndim <= 1], "weight_decay": 0.0, "lr": r},
            ]
    return [g for g in groups if g["params"]]


def make_optimizer(
    model: nn.Module,
    *,
    lr: float,
    weight_decay: float = 0.01,
    head_lr: float | None = None,
    layer_decay: float = 1.0,
) -> torch.optim.AdamW:
    """AdamW over ``parameter_groups``, fused (one kernel for every parameter of a group: the
    same update, fewer small operations; Hugging Face's ``Trainer`` default)."""
    groups = parameter_groups(
        model, lr=lr, weight_decay=weight_decay, head_lr=head_lr, layer_decay=layer_decay
    )
    return torch.optim.AdamW(groups, lr=lr, fused=True)


def linear_schedule(step: int, *, warmup: int, total: int) -> float:
    """The learning-rate factor: 0 -> 1 over ``warmup`` steps, then 1 -> 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def warmup_steps(warmup: float | int, steps: int) -> int:
    """``warmup`` as a fraction of ``steps`` (a float below 1) or a number of steps (an int)."""
    return max(
        1, int(warmup) if isinstance(warmup, int) or warmup >= 1 else math.ceil(warmup * steps)
    )


# -- distributed ---------------------------------------------------------------------------


def world() -> tuple[int, int]:
    """``(rank, world_size)``: ``(0, 1)`` outside ``torchrun``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed() -> torch.device:
    """Join the process group ``torchrun`` set up (environment ``RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR``…): NCCL with one GPU per rank where CUDA is present, gloo on CPUs. Outside
    ``torchrun`` nothing happens. Returns this rank's device."""
    cuda = torch.cuda.is_available()
    device = (
        torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
    )
    if "RANK" in os.environ and not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if cuda else "gloo")
    return device


def shard(batch: Batch, rank: int, world_size: int) -> Batch:
    """Micro-batch ``rank`` of ``world_size`` equal slices of a global batch (first dimension)."""
    size = next(iter(batch.values())).size(0)
    if size % world_size:
        raise ValueError(
            f"a global batch of {size} does not split into {world_size} equal shards · "
            f"全局批大小 {size} 不能平均分给 {world_size} 个进程"
        )
    b = size // world_size
    return {name: t[rank * b : (rank + 1) * b] for name, t in batch.items()}


class LossModule(nn.Module):
    """Wraps ``model`` and a loss function as one module whose ``forward(batch)`` returns the
    loss, so that DDP (which synchronises the gradients of what its ``forward`` computed) can
    wrap any loss, including ones that call the model's parts, like ``pretraining_loss``."""

    def __init__(self, model: nn.Module, loss_fn: LossFn):
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch: Batch):
        return self.loss_fn(self.model, batch)


# -- checkpoints ---------------------------------------------------------------------------


def save_state(
    path: Path, *, model: nn.Module, optimizer, scheduler, step: int, history: dict
) -> None:
    """Everything needed to resume: weights, optimizer moments, schedule, step, history and the
    random state (dropout), written atomically (a crash mid-write leaves the old file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "step": step,
        "history": history,
        "rng": torch.get_rng_state(),
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_state(path: Path, *, model: nn.Module, optimizer, scheduler) -> tuple[int, dict]:
    """Restore what ``save_state`` wrote; returns ``(step, history)``."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    return state["step"], state["history"]


# -- the loop ------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """The recipe. ``warmup``: a fraction of ``steps`` (float < 1) or a number of steps.
    ``precision``: ``"auto"`` (``best_precision``), ``"fp32"`` or ``"bf16"``. ``accumulate``:
    micro-batches per update (each batch is split in that many equal slices; the update is that
    of their mean gradient). ``checkpoint``: a file to save to every ``checkpoint_every`` steps and
    to resume from if it exists. ``evaluator(model) -> dict``: run (on rank 0, in eval mode) every
    ``evaluate_every`` steps and at the end, recorded in ``history["eval"]`` with the step."""

    steps: int
    lr: float = 1e-3
    warmup: float | int = 0.06
    weight_decay: float = 0.01
    head_lr: float | None = None
    layer_decay: float = 1.0
    max_grad_norm: float = 1.0
    precision: str = "auto"
    accumulate: int = 1
    checkpoint: Path | None = None
    checkpoint_every: int = 500
    evaluator: Callable[[nn.Module], dict] | None = None
    evaluate_every: int = 500
    progress: bool = True
    desc: str = "training · 训练"
    extra: dict = field(default_factory=dict)


def count_tokens(batch: Batch) -> int:
    mask = batch.get("attention_mask")
    return int(mask.sum()) if mask is not None else batch["input_ids"].numel()


def as_losses(out) -> tuple[torch.Tensor, ...]:
    """A loss function may return one loss or ``(loss, part, part, …)``: always a tuple."""
    return out if isinstance(out, tuple) else (out,)


def train(
    model: nn.Module,
    batches: Iterator[Batch],
    loss_fn: LossFn,
    config: TrainConfig,
    *,
    loss_names: tuple[str, ...] = ("loss",),
    device: torch.device | str | None = None,
) -> dict:
    """Train ``model`` for ``config.steps`` updates on ``batches``; ``loss_fn(model, batch)``
    returns the loss (or ``(loss, part, …)``, named by ``loss_names``, all recorded).

    Under ``torchrun`` (see ``init_distributed``) every rank must be given the same stream of
    global batches; each keeps its shard and DDP averages the gradients. Rank 0 writes the
    checkpoints. Returns the history: one list per loss name (per step, averaged over the ranks'
    micro-batches of rank 0), ``tokens`` per step, ``seconds``, ``precision``, ``world_size``.
    """
    rank, world_size = world()
    device = torch.device(device or next(model.parameters()).device)
    model.to(device)
    precision = best_precision(device) if config.precision == "auto" else config.precision
    optimizer = make_optimizer(
        model,
        lr=config.lr,
        weight_decay=config.weight_decay,
        head_lr=config.head_lr,
        layer_decay=config.layer_decay,
    )
    warm = warmup_steps(config.warmup, config.steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: linear_schedule(s, warmup=warm, total=config.steps)
    )
    wrapped = LossModule(model, loss_fn)
    if world_size > 1:
        wrapped = nn.parallel.DistributedDataParallel(
            wrapped, device_ids=[device.index] if device.type == "cuda" else None
        )
    history: dict = {name: [] for name in loss_names} | {"tokens": []}
    start_step = 0
    if config.checkpoint is not None and Path(config.checkpoint).exists():
        start_step, history = load_state(
            config.checkpoint, model=model, optimizer=optimizer, scheduler=scheduler
        )
        for _ in range(start_step):  # the same stream: skip the batches already seen
            next(batches)
    before = history.pop("seconds", 0.0)  # wall time of the runs before this resumption
    params = [p for g in optimizer.param_groups for p in g["params"]]
    model.train()
    start, seen = time.perf_counter(), 0
    bar = tqdm(
        range(start_step, config.steps),
        desc=config.desc,
        initial=start_step,
        total=config.steps,
        disable=not config.progress or rank != 0,
        mininterval=2.0,
        unit="step",
    )
    for step in bar:
        batch = shard(next(batches), rank, world_size)
        micro = [shard(batch, i, config.accumulate) for i in range(config.accumulate)]
        optimizer.zero_grad(set_to_none=True)
        totals = torch.zeros(len(loss_names))
        for i, part in enumerate(micro):
            sync = i == len(micro) - 1 or world_size == 1
            with (
                contextlib.nullcontext() if sync else wrapped.no_sync(),
                autocast(device, precision),
            ):
                losses = as_losses(wrapped(to_device(part, device)))
            if len(losses) != len(loss_names):
                raise ValueError(
                    f"the loss function returned {len(losses)} values, named {loss_names} · "
                    f"损失函数返回 {len(losses)} 个值，与 loss_names 不符"
                )
            (losses[0] / len(micro)).backward()
            totals += torch.stack([x.detach().float().cpu() for x in losses]) / len(micro)
        torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        tokens = count_tokens(batch) * world_size
        seen += tokens
        for name, value in zip(loss_names, totals.tolist(), strict=True):
            history[name].append(value)
        history["tokens"].append(tokens)
        if rank == 0:
            bar.set_postfix(
                {name: f"{history[name][-1]:.3f}" for name in loss_names}
                | {"tok/s": f"{seen / (time.perf_counter() - start):,.0f}"},
                refresh=False,
            )
        done = step + 1
        if (
            config.evaluator is not None
            and rank == 0
            and (done % config.evaluate_every == 0 or done == config.steps)
        ):
            model.eval()
            history.setdefault("eval", []).append({"step": done, **config.evaluator(model)})
            model.train()
        if (
            config.checkpoint is not None
            and rank == 0
            and (done % config.checkpoint_every == 0 or done == config.steps)
        ):
            save_state(
                config.checkpoint,
                model=model,
                optimizer=optimizer,
                scheduler=scheduler,
                step=done,
                history=history | {"seconds": before + time.perf_counter() - start},
            )
    model.eval()
    history.update(
        seconds=before + time.perf_counter() - start, precision=precision, world_size=world_size
    )
    return history
