"""The book's performance benchmark (``make bench``): writes ``bench/results.md`` and ``bench/results.json``.

    python bench/run.py                          # every section but make-test (see below)
    python bench/run.py --only step,mha          # some sections
    python bench/run.py --with-make-test         # also time the whole `make test`
    python bench/run.py --only notebooks --jobs 1 --notebooks chapters/en/09-pretraining.ipynb

Sections (``--only``; the default runs all but ``maketest``):

* ``book``      the ``make book`` command from committed outputs, built into a temporary folder;
* ``notebooks`` every chapter and solution notebook executed (in memory, in its own folder, never
                written back) in a fresh kernel, against its budget; ``--jobs 2`` (the default)
                runs two at once: each notebook calls ``rnn2bert.setup()``, one torch thread;
* ``maketest``  the whole ``make test`` (only with ``--with-make-test``: ~10+ minutes); otherwise the
                last recorded time (``bench/make_test.json``) is reported, with its date;
* ``mha``       multi-head attention forward + backward, the book's (plain and ``need_weights=False``)
                against ``torch.nn.MultiheadAttention``, sequence lengths 32–1024: time, peak memory;
* ``step``      one BERT pretraining step (forward, backward, clipping, AdamW; MLM + NSP), the book's
                ``BertForPreTraining`` + ``pretraining_step`` against Hugging Face's
                ``BertForPreTraining`` with the same config and weights, interleaved, median of pairs;
* ``levers``    the book's step with one speed-up taken away at a time, against the full step;
* ``matmul``    this machine's dense float32 matmul rate, and the share of it each step reaches
                (FLOPs counted by ``torch.utils.flop_counter``);
* ``tokenizer`` the book's WordPiece against Hugging Face's ``BertTokenizer`` (Python) and
                ``BertTokenizerFast`` (Rust), for information.

Timings are wall clock on this machine. Where two things are compared they run in the same
process, interleaved (A, B, A, B, …), and the figure is the median of the per-pair ratios, so
that the load of other processes hits both sides alike. Sections not measured in a run keep the
figures of the last run that measured them (``results.json``), marked with their date.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tools"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

SECTIONS = ["book", "notebooks", "maketest", "mha", "step", "levers", "matmul", "tokenizer", "ddp", "pretraining"]
DEFAULT = [s for s in SECTIONS if s != "maketest"]
GOALS = {"book_s": 60, "make_test_s": 30 * 60, "step_ratio": 0.5}
# the book's pretraining model (tools/pretrain.py); dropout: its pretraining recipe (0) and BERT's (0.1)
STEP_CONFIG = dict(vocab_size=8000, hidden_size=192, num_hidden_layers=4, num_attention_heads=4,
                   intermediate_size=768, max_position_embeddings=128)
BATCH, LENGTH = 32, 128


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def log(*args) -> None:
    print(*args, flush=True)


def timed_pairs(fns: dict, pairs: int, warmup: int = 1) -> dict[str, list[float]]:
    """Run the functions in turn (A, B, A, B, …) ``pairs`` times after ``warmup`` rounds; seconds each."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(pairs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """Median over the pairs of ``time(a) / time(b)``."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def median(values) -> float:
    return statistics.median(values)


# ----------------------------------------------------------------------------- machine
def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import transformers

    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__.split("+")[0],
            "transformers": transformers.__version__, "python": platform.python_version(),
            "torch_threads": torch.get_num_threads(), "load_average_start": os.getloadavg()}


# ----------------------------------------------------------------------------- book
def bench_book(args) -> dict:
    """``make book`` (``jupyter-book build . -W -n --keep-going --all``) into a temporary folder."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    with tempfile.TemporaryDirectory(prefix="bench-book-") as out:
        cmd = [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going", "--all", "--path-output", out]
        env = dict(os.environ, RNN2BERT_SOLUTIONS="1")
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
        pages = len(list(Path(out).rglob("*.html")))
    result = {"seconds": round(seconds, 1), "ok": proc.returncode == 0, "pages": pages,
              "goal_s": GOALS["book_s"], "command": "make book (jupyter-book build . -W -n --keep-going --all)"}
    if proc.returncode:
        result["error_tail"] = (proc.stdout + proc.stderr)[-1500:]
    log(f"book: {seconds:.1f} s, {pages} pages, ok={result['ok']}")
    return result


# ----------------------------------------------------------------------------- notebooks
def run_notebook(path: Path) -> tuple[float, str | None]:
    """Execute ``path`` in a fresh kernel in its own folder, as ``make execute`` does, without
    writing it back. Returns ``(seconds, error or None)``."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env_seed = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = "0"
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        error = None
    except Exception as exc:  # noqa: BLE001 — reported in the results
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
        error = f"{type(exc).__name__}: " + " / ".join(line.strip() for line in message[-6:] if line.strip())[-300:]
    finally:
        if env_seed is None:
            os.environ.pop("PYTHONHASHSEED", None)
    return time.perf_counter() - start, error


def bench_notebooks(args) -> dict:
    from execute_notebooks import budget, notebooks

    paths = notebooks(args.notebooks or ["chapters", "solutions"])
    paths = [p.resolve() for p in paths]
    log(f"notebooks: {len(paths)}, {args.jobs} at a time")
    rows = {}
    start = time.perf_counter()

    def one(path: Path):
        proc = subprocess.run([sys.executable, __file__, "--execute-one", str(path)], capture_output=True, text=True)
        try:
            seconds, error = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            seconds, error = float("nan"), f"runner failed: {proc.stderr[-300:]}"
        rel = str(path.relative_to(ROOT))
        row = {"seconds": round(seconds, 1), "budget_s": budget(path.relative_to(ROOT)), "error": error,
               "measured": now(), "jobs": args.jobs, "load_average": round(os.getloadavg()[0], 1)}
        row["ok"] = error is None and seconds <= row["budget_s"]
        log(f"  {seconds:6.1f} s / {row['budget_s']:3d} s  {'ok' if row['ok'] else 'OVER/ERROR':<10} {rel}"
            + (f"  {error}" if error else ""))
        rows[rel] = row

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each notebook in its own process
        list(pool.map(one, paths))
    previous = load_previous(args.out).get("notebooks", {}).get("notebooks", {})
    merged = {**previous, **rows} if args.notebooks else rows
    return {"jobs": args.jobs, "wall_s": round(time.perf_counter() - start, 1), "partial": bool(args.notebooks),
            "notebooks": dict(sorted(merged.items()))}


# ----------------------------------------------------------------------------- make test
MAKE_TEST_FILE = BENCH / "make_test.json"


def bench_maketest(args) -> dict:
    if not args.with_make_test:
        if MAKE_TEST_FILE.exists():
            recorded = json.loads(MAKE_TEST_FILE.read_text())
            return {**recorded, "measured_in_this_run": False}
        return {"seconds": None, "measured_in_this_run": False}
    cmd = ["make", "test"]
    log("make test: running (this takes a while) …")
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    summary = [line for line in proc.stdout.splitlines() if " passed" in line or " failed" in line][-1:]
    result = {"seconds": round(seconds, 1), "returncode": proc.returncode, "summary": summary[0] if summary else "",
              "measured": now(), "goal_s": GOALS["make_test_s"], "load_average_end": os.getloadavg(),
              "failed": [line.split(" - ")[0] for line in proc.stdout.splitlines() if line.startswith("FAILED")]}
    MAKE_TEST_FILE.write_text(json.dumps(result, indent=2) + "\n")
    log(f"make test: {seconds:.0f} s, exit {proc.returncode}, {result['summary']}")
    return {**result, "measured_in_this_run": True}


# ----------------------------------------------------------------------------- peak memory
def peak_bytes(fn) -> int:
    """Peak CPU memory allocated by tensors while ``fn()`` runs, above what was allocated before
    (from the profiler's memory events)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.json"
        prof.export_chrome_trace(str(path))
        events = json.loads(path.read_text())["traceEvents"]
    memory = sorted((e for e in events if e.get("name") == "[memory]"), key=lambda e: e["ts"])
    if not memory:
        return 0
    before = memory[0]["args"]["Total Allocated"] - memory[0]["args"]["Bytes"]
    return max(e["args"]["Total Allocated"] for e in memory) - before


# ----------------------------------------------------------------------------- mha
def bench_mha(args) -> dict:
    """Self-attention forward + backward, d_model 256, 4 heads, batch 8, training mode, dropout 0."""
    from rnn2bert.attention import MultiHeadAttention

    d_model, heads, batch = 256, 4, 8
    torch.manual_seed(0)
    book = MultiHeadAttention(d_model, heads).train()
    ref = torch.nn.MultiheadAttention(d_model, heads, batch_first=True).train()
    with torch.no_grad():  # the same weights on both sides
        ref.in_proj_weight.copy_(torch.cat([book.w_q.weight, book.w_k.weight, book.w_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([book.w_q.bias, book.w_k.bias, book.w_v.bias]))
        ref.out_proj.weight.copy_(book.w_o.weight)
        ref.out_proj.bias.copy_(book.w_o.bias)
    rows = []
    for length in args.mha_lengths:
        x = torch.randn(batch, length, d_model, requires_grad=True)
        fns = {
            "book": lambda: book(x, x, x)[0].sum().backward(),
            "book_fast": lambda: book(x, x, x, need_weights=False)[0].sum().backward(),
            "torch": lambda: ref(x, x, x, need_weights=False)[0].sum().backward(),
            "torch_weights": lambda: ref(x, x, x, average_attn_weights=False)[0].sum().backward(),
        }
        pairs = max(3, min(15, int(2048 / length) * 3))
        times = timed_pairs(fns, pairs)
        memory = {name: peak_bytes(fn) for name, fn in fns.items()}
        row = {"length": length, "batch": batch, "pairs": pairs,
               **{f"{n}_ms": round(1000 * median(t), 2) for n, t in times.items()},
               **{f"{n}_MB": round(memory[n] / 2**20, 1) for n in fns},
               "time_book_fast_over_torch": round(ratio(times, "book_fast", "torch"), 3),
               "time_book_over_torch_weights": round(ratio(times, "book", "torch_weights"), 3),
               "time_book_fast_over_book": round(ratio(times, "book_fast", "book"), 3),
               "memory_book_fast_over_torch": round(memory["book_fast"] / memory["torch"], 3),
               "memory_book_over_torch_weights": round(memory["book"] / memory["torch_weights"], 3)}
        log(f"mha L={length}: book {row['book_ms']} ms, fast {row['book_fast_ms']} ms, torch {row['torch_ms']} ms"
            f" (fast/torch {row['time_book_fast_over_torch']}, mem {row['memory_book_fast_over_torch']})")
        rows.append(row)
    return {"d_model": d_model, "num_heads": heads, "batch": batch, "mode": "train(), dropout 0, self-attention, no mask",
            "rows": rows}


# ----------------------------------------------------------------------------- the pretraining step
def pretraining_batch(tokenizer, *, batch_size: int = BATCH, length: int = LENGTH, seed: int = 0) -> dict:
    """A real batch: English NSP pairs (Shakespeare, KJV) packed to ``length`` tokens, masked 80/10/10."""
    from rnn2bert import data
    from rnn2bert.pretraining import chunk_segments, mask_tokens, nsp_pairs, pack_pairs

    documents = data.english_documents("train")[:200:4]
    ids = [[tokenizer.convert_tokens_to_ids(tokenizer.tokenize(s)) for s in doc] for doc in documents]
    pairs = nsp_pairs([chunk_segments(doc, (length - 3) // 2) for doc in ids], seed=seed)[:batch_size]
    batch = pack_pairs(pairs, tokenizer, max_len=length, length=length)
    batch["input_ids"], batch["labels"] = mask_tokens(
        batch["input_ids"], vocab_size=len(tokenizer), mask_token_id=tokenizer.mask_token_id,
        special_token_ids=tokenizer.all_special_ids, generator=torch.Generator().manual_seed(seed))
    return batch


class StepSetup:
    """The two models with the same weights, their optimizers and one batch."""

    def __init__(self, dropout: float = 0.1):
        import transformers
        from rnn2bert.bert import BertConfig, BertForPreTraining, load_hf_state_dict
        from rnn2bert.pretrained import load_tiny_bert
        from rnn2bert.pretraining import pretraining_optimizer

        _, tokenizer = load_tiny_bert("en")  # its vocabulary has 8000 word pieces
        self.dropout = dropout
        self.config = BertConfig(**STEP_CONFIG, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
        assert len(tokenizer) == self.config.vocab_size
        self.batch = pretraining_batch(tokenizer)
        torch.manual_seed(0)
        self.hf = transformers.BertForPreTraining(transformers.BertConfig(**self.config.to_dict())).train()
        self.book = BertForPreTraining(self.config).train()
        load_hf_state_dict(self.book, self.hf.state_dict())
        self.hf_attn = self.hf.config._attn_implementation
        self.book_opt = pretraining_optimizer(self.book, lr=1e-4)
        self.hf_opt = pretraining_optimizer(self.hf, lr=1e-4)  # the same: HF Trainer's default is fused AdamW too

    def book_step(self, precision: str = "auto"):
        from rnn2bert.pretraining import pretraining_step

        pretraining_step(self.book, self.batch, self.book_opt, precision=precision)  # auto: this machine's best

    def hf_step(self, model=None, optimizer=None, bf16: bool = False):
        model, optimizer = model or self.hf, optimizer or self.hf_opt
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**self.batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()


def check_same_loss(setup: StepSetup) -> float:
    """Both models give the same loss on the batch (eval mode: no dropout)."""
    from rnn2bert.pretraining import pretraining_loss

    setup.book.eval(), setup.hf.eval()
    with torch.no_grad():
        difference = abs(pretraining_loss(setup.book, setup.batch)[0].item() - setup.hf(**setup.batch).loss.item())
    setup.book.train(), setup.hf.train()
    return difference


def bench_step(args) -> dict:
    """The book's step against Hugging Face's at its best on this CPU (fp32 or bf16 autocast, whichever
    is faster), interleaved in one process; for the book's pretraining recipe (dropout 0) and BERT's 0.1."""
    from rnn2bert.training import best_precision

    result = {"book_precision": best_precision("cpu"), "pairs": args.pairs, "threads": torch.get_num_threads(),
              "optimizer": "all: torch.optim.AdamW(fused=True), weight decay 0.01 on matrices only; "
                           "clip_grad_norm_(1.0)",
              "book_path": "rnn2bert.pretraining.pretraining_step: pretraining_loss (no attention maps: fused QKV "
                           "and attention; last layer at [CLS] and the labelled positions only; MLM head at the "
                           "labelled rows only), autocast where the CPU has bf16 units",
              "hf_path": "transformers.BertForPreTraining(**batch).loss (logits at every position), fp32 and "
                         "under torch.autocast(bfloat16)", "by_dropout": {}}
    for dropout in (0.0, 0.1):
        setup = StepSetup(dropout)
        difference = check_same_loss(setup)
        times = timed_pairs({"book": setup.book_step, "book_fp32": lambda: setup.book_step("fp32"),
                             "hf_fp32": setup.hf_step, "hf_bf16": lambda: setup.hf_step(bf16=True)},
                            args.pairs, warmup=2)
        hf_best = min(("hf_fp32", "hf_bf16"), key=lambda k: median(times[k]))
        r = ratio(times, "book", hf_best)
        labelled = int((setup.batch["labels"] != -100).sum())
        real = int(setup.batch["attention_mask"].sum())
        result["by_dropout"][str(dropout)] = {
            "book_s": round(median(times["book"]), 4), "book_fp32_s": round(median(times["book_fp32"]), 4),
            "book_vs_fp32": round(ratio(times, "book", "book_fp32"), 3),
            "hf_fp32_s": round(median(times["hf_fp32"]), 4),
            "hf_bf16_s": round(median(times["hf_bf16"]), 4), "hf_best": hf_best, "ratio": round(r, 3),
            "book_tokens_per_s": round(real / median(times["book"])),
            "same_loss_eval_abs_diff": difference, "hf_attn_implementation": setup.hf_attn,
            **{f"{k}_times_s": [round(t, 4) for t in v] for k, v in times.items()}}
        log(f"step, dropout {dropout}: book {median(times['book']):.3f} s (fp32 {median(times['book_fp32']):.3f} s), HF fp32 {median(times['hf_fp32']):.3f} s, "
            f"HF bf16 {median(times['hf_bf16']):.3f} s; ratio to HF's best ({hf_best}) {r:.3f}")
    main = result["by_dropout"]["0.0"]  # the book's pretraining recipe trains without dropout
    result.update(config={**STEP_CONFIG, "batch": BATCH, "length": LENGTH, "dropout": 0.0},
                  batch=f"{BATCH} English NSP pairs (Shakespeare + KJV) packed to {LENGTH}: {real} real tokens, "
                        f"{labelled} masked-LM labels",
                  book_s=main["book_s"], hf_s=min(main["hf_fp32_s"], main["hf_bf16_s"]), ratio=main["ratio"],
                  goal=GOALS["step_ratio"], meets_goal=main["ratio"] <= GOALS["step_ratio"],
                  hf_attn_implementation=main["hf_attn_implementation"],
                  same_loss_eval_abs_diff=main["same_loss_eval_abs_diff"],
                  book_times_s=main["book_times_s"], hf_times_s=main[f"{main['hf_best']}_times_s"])
    return result


def bench_ddp(args) -> dict:
    """Data parallelism on this machine: the recipe's pretraining step (global batch of 32 pairs of 128
    tokens, 2 micro-batches) on 1 process (accumulating) and on 2 torchrun ranks (gloo), 1 thread each."""
    torchrun = Path(sys.executable).with_name("torchrun")
    seconds = {}
    for ranks in (1, 2):
        command = [str(torchrun), "--standalone", f"--nproc_per_node={ranks}", str(BENCH / "ddp_step.py")]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        seconds[ranks] = json.loads(done.stdout.strip().splitlines()[-1])
        log(f"ddp: {ranks} process(es): {seconds[ranks]['seconds_per_step']:.3f} s/step")
    speedup = seconds[1]["seconds_per_step"] / seconds[2]["seconds_per_step"]
    return {"one_process": seconds[1], "two_ranks": seconds[2], "speedup": round(speedup, 2),
            "load_average": os.getloadavg()}


def bench_pretraining(args) -> dict:
    """From the checkpoints' training logs: throughput and held-out accuracy at [MASK] per CPU-hour.
    Each stage is timed on its own (they may have run under other loads), so a step's CPU time is
    its stage's seconds per step."""
    out = {}
    for lang in ("en", "zh"):
        log_file = ROOT / "checkpoints" / lang / "training_log.json"
        record = json.loads(log_file.read_text(encoding="utf-8"))
        if "eval" not in record:
            continue
        processes = record.get("world_size", 1)
        stage_steps = record.get("stage_steps", [record["steps"]])
        stage_seconds = [m * 60 for m in record.get("stage_minutes", [record["train_minutes"]])]
        per_step = [sec / n for sec, n in zip(stage_seconds, stage_steps)]

        def cpu_hours(step: int) -> float:
            seconds, start = 0.0, 0
            for n, s in zip(stage_steps, per_step):
                seconds += s * min(max(step - start, 0), n)
                start += n
            return seconds * processes / 3600

        tokens = record.get("train_tokens_seen")
        out[lang] = {"steps": record["steps"], "train_minutes": round(record["train_minutes"], 1),
                     "processes": processes, "seconds_per_step": round(record["train_minutes"] * 60 / record["steps"], 3),
                     "stages": [{"steps": n, "minutes": round(sec / 60, 1), "seconds_per_step": round(s, 3)}
                                for n, sec, s in zip(stage_steps, stage_seconds, per_step)],
                     "curve": [{"step": e["step"], "cpu_hours": round(cpu_hours(e["step"]), 3),
                                "mask_accuracy": round(e["mask_accuracy"], 4)} for e in record["eval"]],
                     "final_mask_accuracy": record["test"]["mask_accuracy"],
                     "neighbours_mask_accuracy": record["baselines"]["neighbours"]["mask"]}
        if tokens:
            out[lang]["tokens_per_s"] = round(tokens / (record["train_minutes"] * 60))
    return out


def bench_levers(args) -> dict:
    """The book's step with one lever undone at a time, interleaved with the full step."""
    import copy

    import torch.nn.functional as F
    import transformers
    from rnn2bert.pretraining import IGNORE, pretraining_optimizer, pretraining_step, rows_for_heads

    setup = StepSetup()
    book, batch = setup.book, setup.batch
    chosen = batch["labels"] != IGNORE
    args3 = batch["input_ids"], batch["token_type_ids"], batch["attention_mask"]

    def plain_optimizer(model):
        decay = [p for p in model.parameters() if p.ndim > 1]
        no_decay = [p for p in model.parameters() if p.ndim <= 1]
        return torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                                  {"params": no_decay, "weight_decay": 0.0}], lr=1e-4)  # CPU default: for-loop

    def loss_of(model, *, subset: bool, sparse: bool, maps: bool):
        if not sparse:  # the MLM head (and the last layer) at every position
            return model(**batch, output_attentions=maps).loss
        if subset:  # the last layer at [CLS] and the labelled positions only
            rows, valid = rows_for_heads(chosen)
            out = model.bert(*args3, output_attentions=maps, last_rows=rows)
            hidden = out.last_hidden_state[:, 1:][valid[:, 1:]]
        else:
            out = model.bert(*args3, output_attentions=maps)
            hidden = out.last_hidden_state[chosen]
        mlm_logits, nsp_logits = model.heads(hidden, out.pooler_output)
        return (F.cross_entropy(mlm_logits, batch["labels"][chosen])
                + F.cross_entropy(nsp_logits, batch["next_sentence_label"]))

    def step(model, optimizer, **flags):
        loss = loss_of(model, **flags)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    variants = {  # name: (subset, sparse, maps, fused AdamW, meaning)
        "no_last_layer_subset": (False, True, False, True,
                                 "last encoder layer at every position (MLM head still at the labelled rows only)"),
        "no_sparse_mlm": (False, False, False, True,
                          "MLM head (transform + decoder) and last layer at every position, as model(**batch).loss"),
        "no_fast_attention": (True, True, True, True,
                              "attention maps computed (plain attention: three Q/K/V matmuls, scores divided, mask applied)"),
        "no_fused_adamw": (True, True, False, False,
                           "torch.optim.AdamW with PyTorch's CPU default (a for-loop over the parameters)"),
        "none": (False, False, True, False, "no lever: model(**batch).loss with maps, for-loop AdamW"),
    }
    models = {name: copy.deepcopy(book) for name in ["all", *variants]}
    opts = {name: pretraining_optimizer(m, lr=1e-4) if name == "all" or variants[name][3] else plain_optimizer(m)
            for name, m in models.items()}
    fns = {"all": lambda: pretraining_step(models["all"], batch, opts["all"])}
    for name, (subset, sparse, maps, _, _) in variants.items():
        fns[name] = (lambda name=name, subset=subset, sparse=sparse, maps=maps:
                     step(models[name], opts[name], subset=subset, sparse=sparse, maps=maps))
    hf_eager = transformers.BertForPreTraining._from_config(
        transformers.BertConfig(**setup.config.to_dict()), attn_implementation="eager").train()
    assert hf_eager.config._attn_implementation == "eager"
    hf_eager.load_state_dict(setup.hf.state_dict())
    hf_eager_opt = pretraining_optimizer(hf_eager, lr=1e-4)
    fns["hf_sdpa"] = setup.hf_step
    fns["hf_eager"] = lambda: setup.hf_step(hf_eager, hf_eager_opt)
    times = timed_pairs(fns, args.lever_pairs, warmup=1)
    meaning = {"all": "the library's step, every lever (`pretraining_step`)",
               **{name: v[4] for name, v in variants.items()},
               "hf_sdpa": "Hugging Face, attn_implementation='sdpa' (its CPU default), fused AdamW",
               "hf_eager": "Hugging Face, attn_implementation='eager', fused AdamW"}
    result = {"pairs": args.lever_pairs, "threads": torch.get_num_threads(),
              "median_s": {name: round(median(t), 4) for name, t in times.items()},
              "over_all": {name: round(ratio(times, name, "all"), 3) for name in times},
              "over_hf_sdpa": {name: round(ratio(times, name, "hf_sdpa"), 3) for name in times},
              "meaning": meaning}
    log("levers (time / the library's step): " + ", ".join(f"{k} {v}" for k, v in result["over_all"].items()))
    return result


# ----------------------------------------------------------------------------- matmul
def matmul_rate(n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times) / 1e9


def step_flops(fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def bench_matmul(args, step_result: dict | None) -> dict:
    rates = {n: round(matmul_rate(n), 1) for n in (1024, 2048)}
    shapes = {}
    for m, k, n in ((4096, 256, 1024), (4096, 256, 768), (4096, 256, 8000)):
        a, b = torch.randn(m, k), torch.randn(k, n)
        a @ b
        times = []
        for _ in range(5):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
        shapes[f"{m}x{k} @ {k}x{n}"] = round(2 * m * k * n / min(times) / 1e9, 1)
    peak = max(rates.values())
    setup = StepSetup()
    flops = {"book": step_flops(setup.book_step), "hf": step_flops(setup.hf_step)}
    result = {"gflops_square": rates, "gflops_step_shapes": shapes, "peak_gflops": peak,
              "threads": torch.get_num_threads(),
              "step_gflop": {k: round(v / 1e9, 1) for k, v in flops.items()}}
    if step_result:
        result["step_measured"] = step_result.get("date", "this run")
        for side in ("book", "hf"):
            achieved = flops[side] / step_result[f"{side}_s"] / 1e9
            result[f"{side}_gflops_achieved"] = round(achieved, 1)
            result[f"{side}_share_of_peak"] = round(achieved / peak, 3)
    log(f"matmul: {rates} GFLOP/s; step GFLOP {result['step_gflop']}; "
        f"shares {result.get('book_share_of_peak')} (book), {result.get('hf_share_of_peak')} (HF)")
    return result


# ----------------------------------------------------------------------------- tokenizer
def bench_tokenizer(args) -> dict:
    import transformers
    from rnn2bert import data
    from rnn2bert.pretrained import minilm_folder
    from rnn2bert.tokenizer import WordPieceTokenizer

    folder = minilm_folder()
    texts = [s for doc in data.english_documents("train")[:120] for s in doc][:3000]
    texts += [s for doc in data.chinese_documents("train")[:40] for s in doc][:1000]
    characters = sum(len(t) for t in texts)
    book = WordPieceTokenizer.from_pretrained(folder)
    slow = transformers.BertTokenizer.from_pretrained(folder)
    fast = transformers.BertTokenizerFast.from_pretrained(folder)
    def book_cold():  # a new tokenizer each time: its memory of word pieces starts empty
        fresh = WordPieceTokenizer(book.vocab, lowercase=book.lowercase)
        return [fresh.tokenize(t) for t in texts]

    fns = {"book": book_cold,
           "hf_python": lambda: [slow.tokenize(t) for t in texts],
           "hf_rust": lambda: [e.tokens for e in fast.backend_tokenizer.encode_batch(texts, add_special_tokens=False)]}
    times = timed_pairs(fns, args.tokenizer_pairs, warmup=1)
    tokens = sum(len(x) for x in fns["book"]())
    same = fns["book"]() == fns["hf_python"]()
    result = {"texts": len(texts), "characters": characters, "tokens": tokens, "same_tokens_as_hf": same,
              "tokens_per_s": {n: round(tokens / median(t)) for n, t in times.items()},
              "time_over_book": {n: round(ratio(times, n, "book"), 3) for n in times},
              "vocabulary": "all-MiniLM-L6-v2 (30522 word pieces, lowercasing)"}
    log(f"tokenizer: {result['tokens_per_s']} tokens/s; same tokens as HF: {same}")
    return result


# ----------------------------------------------------------------------------- report
def load_previous(out: Path = BENCH) -> dict:
    path = out / "results.json"
    return json.loads(path.read_text()) if path.exists() else {}


def fmt_s(seconds) -> str:
    return "—" if seconds is None else f"{seconds:.1f} s"


def write_markdown(results: dict) -> str:
    m, measured = results["machine"], results["measured_in_this_run"]
    lines = ["# Benchmarks · 性能基准", "",
             f"Written by `make bench` (`python bench/run.py`) on {results['date']}.", "",
             f"Machine: {m['cpu']}, {m['cores']} cores; torch {m['torch']} ({m['torch_threads']} threads), "
             f"transformers {m['transformers']}, Python {m['python']}. Load average (1/5/15 min) at the start "
             f"{', '.join(f'{x:.1f}' for x in m['load_average_start'])}, at the end "
             f"{', '.join(f'{x:.1f}' for x in m['load_average_end'])}.", ""]
    if max(m["load_average_start"][0], m["load_average_end"][0]) > 1.5:
        lines += ["**This machine was busy during the run** (a load average above the core count means other "
                  "processes were competing for the 2 cores): absolute times are inflated. Ratios of things "
                  "measured interleaved in one process are less affected.", ""]
    lines += [f"Measured in this run: {', '.join(measured) or 'nothing'}. "
              "Sections not measured keep their last recorded figures, each with its own date.", ""]

    def when(section):
        s = results.get(section)
        return "" if not s else f" *(measured {s.get('date', '?')})*"

    s = results.get("step")
    if s and "by_dropout" in s:
        lines += [f"## BERT pretraining step: the book against Hugging Face at its best{when('step')}", "",
                  f"Config: {', '.join(f'{k} {v}' for k, v in s['config'].items() if k != 'dropout')}; {s['batch']}. "
                  f"Forward, backward, gradient clipping and AdamW, MLM + NSP, training mode, {s['threads']} threads, "
                  f"{s['pairs']} interleaved rounds. The book's step runs in its default precision on this machine "
                  f"(here {s['book_precision']}: bf16 autocast where the CPU has bf16 units, else fp32); Hugging Face's "
                  "is timed in fp32 and "
                  "under bf16 autocast, and the faster of the two is its best.", "",
                  "| dropout | book | book in fp32 (book / fp32) | HF fp32 | HF bf16 autocast | HF's best "
                  "| **book / HF's best** | book tokens/s |",
                  "|---|---|---|---|---|---|---|---|"]
        for dropout, d in s["by_dropout"].items():
            fp32 = f"{d['book_fp32_s']:.3f} s ({d['book_vs_fp32']:.2f}×)" if "book_fp32_s" in d else "–"
            lines.append(f"| {dropout}{' (the book recipe)' if dropout == '0.0' else ' (BERT default)'} | {d['book_s']:.3f} s | "
                         f"{fp32} | {d['hf_fp32_s']:.3f} s | {d['hf_bf16_s']:.3f} s | {d['hf_best']} | **{d['ratio']:.3f}** | "
                         f"{d['book_tokens_per_s']:,} |")
        lines += ["", f"Goal: ≤ {s['goal']} for the book's pretraining recipe (dropout 0): "
                  f"{'met' if s['meets_goal'] else 'NOT met'} ({s['ratio']:.3f}). Book: {s['book_path']}. HF: {s['hf_path']}; "
                  f"attn_implementation = `{s['hf_attn_implementation']}`. Optimizer: {s['optimizer']}. Same weights on "
                  f"both sides; loss difference in eval mode {s['same_loss_eval_abs_diff']:.1e}. With dropout, PyTorch's "
                  "fused CPU attention kernel has no dropout, so both sides fall back to unfused attention.", ""]
    d = results.get("ddp")
    if d:
        lines += [f"## Data parallelism: 1 → 2 processes{when('ddp')}", "",
                  "The book's pretraining step (`bench/ddp_step.py`: the recipe's model, a global batch of 32 pairs of 128 "
                  "tokens in 2 micro-batches, no dropout, 1 thread per process), on one process that accumulates the two "
                  "micro-batches and on 2 `torchrun` ranks (DDP, gloo) with one each:", "",
                  "| processes | s/step | tokens/s |", "|---|---|---|",
                  f"| 1 | {d['one_process']['seconds_per_step']:.3f} | {d['one_process']['tokens_per_s']:,} |",
                  f"| 2 (DDP) | {d['two_ranks']['seconds_per_step']:.3f} | {d['two_ranks']['tokens_per_s']:,} |", "",
                  f"Speed-up {d['speedup']:.2f}× (load average {', '.join(f'{x:.1f}' for x in d['load_average'])} at the end).", ""]
    pt = results.get("pretraining")
    if pt:
        lines += [f"## Pretraining quality per CPU-hour{when('pretraining')}", "",
                  "Held-out accuracy at `[MASK]` positions (320 pairs of the held-out split) against the CPU-hours "
                  "spent (each stage at its own measured seconds per step, × processes), from "
                  "`checkpoints/<lang>/training_log.json`; the curve every 1,000 steps and at the end:", ""]
        for lang, r in ((k, v) for k, v in pt.items() if k in ("en", "zh")):
            points = [c for c in r["curve"] if c["step"] % 1000 == 0 or c is r["curve"][-1]]
            curve = ", ".join(f"{c['cpu_hours']:.2f} h: {c['mask_accuracy']:.1%}" for c in points)
            stages = "; ".join(f"stage {i}: {s['steps']:,} steps, {s['minutes']} min, {s['seconds_per_step']} s/step"
                               for i, s in enumerate(r.get("stages", []), 1))
            lines += [f"- **{lang}**: {r['steps']:,} steps in {r['train_minutes']} min on {r['processes']} process(es)"
                      f"{' (' + stages + ')' if stages else ''}"
                      f"{', ' + format(r['tokens_per_s'], ',') + ' tokens/s' if 'tokens_per_s' in r else ''}; "
                      f"final {r['final_mask_accuracy']:.1%} at `[MASK]` on the whole held-out split "
                      f"(neighbour counts {r['neighbours_mask_accuracy']:.1%}). Curve: {curve}."]
        lines.append("")
    history = results.get("step_history", [])
    if len(history) > 1:
        lines += ["Every run of this section (date, ratio, book / HF median step, load average when it ended): "
                  + "; ".join(f"{h['date']}: {h['ratio']:.3f} ({h['book_s']:.2f} s / {h['hf_s']:.2f} s, load {h['load']})"
                              for h in history)
                  + ". When the machine is saturated (a step several times slower than quiet), both sides wait "
                    "on the other processes and the ratio drifts toward 1.", ""]
    lv = results.get("levers")
    if lv:
        lines += [f"### What each lever is worth{when('levers')}", "",
                  f"The library's step with one lever undone, interleaved with the full step ({lv['pairs']} rounds, "
                  f"{lv['threads']} threads). A time above 1 is what the lever saves.", "",
                  "| variant | median | time / library step | time / HF (sdpa) |", "|---|---|---|---|"]
        for name, meaning in lv["meaning"].items():
            lines.append(f"| {meaning} | {lv['median_s'][name]:.3f} s | {lv['over_all'][name]:.3f} | {lv['over_hf_sdpa'][name]:.3f} |")
        lines.append("")
    mm = results.get("matmul")
    if mm:
        lines += [f"## Dense matmul rate and the step's share of it{when('matmul')}", "",
                  f"float32 `a @ b`, {mm['threads']} threads: square {mm['gflops_square']} GFLOP/s; the step's shapes "
                  f"{mm['gflops_step_shapes']} GFLOP/s. Peak taken as {mm['peak_gflops']} GFLOP/s.", "",
                  f"FLOPs of one step (forward + backward, `torch.utils.flop_counter`): book {mm['step_gflop']['book']} GFLOP, "
                  f"Hugging Face {mm['step_gflop']['hf']} GFLOP."]
        if "book_share_of_peak" in mm:
            lines += ["", f"Achieved (step times of {mm.get('step_measured', 'this run')}): book {mm['book_gflops_achieved']} GFLOP/s = {mm['book_share_of_peak']:.0%} of the matmul "
                      f"rate; Hugging Face {mm['hf_gflops_achieved']} GFLOP/s = {mm['hf_share_of_peak']:.0%}. The rest of "
                      "the time goes to memory-bound work (dropout's random numbers, GELU, LayerNorm, softmax, the "
                      "optimizer)."]
        lines.append("")
    a = results.get("mha")
    if a:
        lines += [f"## Multi-head attention, forward + backward{when('mha')}", "",
                  f"d_model {a['d_model']}, {a['num_heads']} heads, batch {a['batch']}, {a['mode']}. "
                  "`book` = `MultiHeadAttention` returning its weights (the chapters' path); `fast` = "
                  "`need_weights=False`; `torch` = `nn.MultiheadAttention(need_weights=False)`; "
                  "`torch+w` = with per-head weights. Ratios: time and peak memory, median of interleaved pairs.", "",
                  "| L | book ms | fast ms | torch ms | torch+w ms | fast/torch time | fast/torch memory | book/torch+w time | book/torch+w memory | book MB | fast MB | torch MB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in a["rows"]:
            lines.append(f"| {r['length']} | {r['book_ms']} | {r['book_fast_ms']} | {r['torch_ms']} | {r['torch_weights_ms']} | "
                         f"{r['time_book_fast_over_torch']} | {r['memory_book_fast_over_torch']} | "
                         f"{r['time_book_over_torch_weights']} | {r['memory_book_over_torch_weights']} | "
                         f"{r['book_MB']} | {r['book_fast_MB']} | {r['torch_MB']} |")
        lines.append("")
    b = results.get("book")
    if b:
        lines += [f"## `make book`{when('book')}", "",
                  f"{b['command']}, from committed outputs, into a temporary folder: **{fmt_s(b['seconds'])}** "
                  f"(goal ≤ {b['goal_s']} s: {'met' if b['ok'] and b['seconds'] <= b['goal_s'] else 'NOT met'}), "
                  f"{b['pages']} HTML pages, build {'succeeded' if b['ok'] else 'FAILED'}.", ""]
    t = results.get("maketest")
    if t:
        state = "measured in this run" if t.get("measured_in_this_run") else (
            f"recorded {t['measured']} (run `python bench/run.py --with-make-test` to measure again)" if t.get("seconds") else
            "never measured: run `python bench/run.py --with-make-test`")
        lines += ["## `make test`", ""]
        if t.get("seconds"):
            lines += [f"**{t['seconds'] / 60:.1f} min** ({state}; goal ≤ {GOALS['make_test_s'] // 60} min: "
                      f"{'met' if t['seconds'] <= GOALS['make_test_s'] else 'NOT met'}); exit {t.get('returncode')}, "
                      f"{t.get('summary', '').strip('= ')}."
                      + (f" Failed: {', '.join(f'`{x}`' for x in t['failed'])}." if t.get("failed") else ""), ""]
        else:
            lines += [f"No figure: {state}.", ""]
    nb = results.get("notebooks")
    if nb:
        rows = nb["notebooks"]
        over = [p for p, r in rows.items() if not r["ok"]]
        lines += [f"## Notebooks: execution time against budget{when('notebooks')}", "",
                  "Each notebook in a fresh kernel, in its own folder, as `make execute` runs it (not written back), "
                  "one or two at a time (each notebook uses one torch thread); the load average (1 min) when it "
                  "finished is given, since other work on the machine slows it down. Budgets: chapters 2 min, "
                  "chapter 09 5 min, solutions 1 min. "
                  f"{'All inside their budgets.' if not over else f'Over budget or failed: {len(over)}.'}", "",
                  "| notebook | time | budget | measured | at once | load | |", "|---|---|---|---|---|---|---|"]
        for path, r in rows.items():
            error = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", r.get("error") or "").split())
            flag = "ok" if r["ok"] else ("OVER" if not error else "ERROR: " + error[-160:].replace("|", "\\|"))
            lines.append(f"| {path} | {r['seconds']:.1f} s | {r['budget_s']} s | {r.get('measured', '?')} | "
                         f"{r.get('jobs', nb['jobs'])} | {r.get('load_average', '?')} | {flag} |")
        lines.append("")
    tk = results.get("tokenizer")
    if tk:
        lines += [f"## WordPiece tokenizer throughput (for information){when('tokenizer')}", "",
                  f"{tk['texts']} segments ({tk['characters']:,} characters, {tk['tokens']:,} tokens) of English and Chinese, "
                  f"vocabulary {tk['vocabulary']}; same tokens as Hugging Face's: {tk['same_tokens_as_hf']}.", "",
                  "| tokenizer | tokens/s | time / book |", "|---|---|---|"]
        names = {"book": "the book's `WordPieceTokenizer` (Python)", "hf_python": "HF `BertTokenizer` (Python)",
                 "hf_rust": "HF `BertTokenizerFast` (Rust)"}
        for n, v in tk["tokens_per_s"].items():
            lines.append(f"| {names[n]} | {v:,} | {tk['time_over_book'][n]} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--with-make-test", action="store_true", help="also run and time `make test`")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    parser.add_argument("--notebooks", nargs="*", help="notebooks or folders (default: chapters solutions)")
    parser.add_argument("--pairs", type=int, default=10, help="interleaved step pairs (default 10)")
    parser.add_argument("--lever-pairs", type=int, default=5)
    parser.add_argument("--tokenizer-pairs", type=int, default=3)
    parser.add_argument("--mha-lengths", type=lambda s: [int(x) for x in s.split(",")],
                        default=[32, 64, 128, 256, 512, 1024])
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: the cores)")
    parser.add_argument("--out", type=Path, default=BENCH)
    parser.add_argument("--report-only", action="store_true", help="rewrite results.md from results.json")
    parser.add_argument("--execute-one", type=Path, help=argparse.SUPPRESS)  # internal: one notebook
    args = parser.parse_args(argv)
    if args.execute_one:
        print(json.dumps(run_notebook(args.execute_one)))
        return 0
    if args.report_only:
        results = json.loads((args.out / "results.json").read_text(encoding="utf-8"))
        (args.out / "results.md").write_text(write_markdown(results) + "\n", encoding="utf-8")
        return 0
    sections = args.only.split(",") if args.only else list(DEFAULT)
    if args.with_make_test and "maketest" not in sections:
        sections.append("maketest")
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")

    results = load_previous(args.out)
    results["machine"] = machine()
    results["date"] = now()
    measured = []
    runners = {"book": bench_book, "notebooks": bench_notebooks, "maketest": bench_maketest, "mha": bench_mha,
               "step": bench_step, "levers": bench_levers, "tokenizer": bench_tokenizer, "ddp": bench_ddp,
               "pretraining": bench_pretraining}
    for section in SECTIONS:  # in this order: matmul uses the step's times
        if section not in sections:
            continue
        start = time.perf_counter()
        log(f"== {section}")
        if section == "matmul":
            results[section] = bench_matmul(args, results.get("step"))  # this run's step, or the last recorded
        else:
            results[section] = runners[section](args)
        if section == "maketest" and not args.with_make_test:
            continue
        results[section]["date"] = now()
        results[section]["section_wall_s"] = round(time.perf_counter() - start, 1)
        if section == "step":  # every measurement of the ratio is kept: it depends on the load
            s = results["step"]
            results["step_history"] = results.get("step_history", [])[-19:] + [
                {"date": s["date"], "ratio": s["ratio"], "book_s": s["book_s"], "hf_s": s["hf_s"],
                 "load": round(os.getloadavg()[0], 1)}]
        measured.append(section)
    if "maketest" not in sections:
        results["maketest"] = bench_maketest(argparse.Namespace(with_make_test=False))
    results["machine"]["load_average_end"] = os.getloadavg()
    results["measured_in_this_run"] = measured
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(write_markdown(results) + "\n", encoding="utf-8")
    log(f"wrote {args.out / 'results.md'} and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
