"""tools/finetune_grid.py: a tiny run of chapter 10's grid has the schema the chapter reads, the
committed results have it too and belong to the committed checkpoints, and both chapters print
their results table from the committed JSON."""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "chapters" / "data" / "ch10_results.json"
CHAPTERS = [ROOT / "chapters" / lang / "10-fine-tuning.ipynb" for lang in ("en", "zh")]


def load_tool():
    spec = importlib.util.spec_from_file_location(
        "finetune_grid", ROOT / "tools" / "finetune_grid.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


grid_tool = load_tool()

# The results are computed by `python tools/finetune_grid.py` (about 25 minutes of CPU); until
# chapters/data/ch10_results.json is committed, only the tiny run is tested.
needs_results = pytest.mark.skipif(
    not RESULTS.exists(), reason="chapters/data/ch10_results.json not computed yet"
)


def check_schema(doc: dict) -> None:
    assert doc["schema"] == grid_tool.SCHEMA
    seeds, settings = doc["seeds"], doc["settings"]
    assert seeds == list(settings["seeds"]) and len(set(seeds)) == len(seeds)
    for lang in ("en", "zh"):
        identity = doc["checkpoints"][lang]
        assert len(identity["model_sha256"]) == 64
    assert doc["wall_seconds"] and all(s > 0 for s in doc["wall_seconds"])
    keys = [t["key"] for t in doc["tasks"]]
    assert keys == [k for k in grid_tool.JOBS if k in keys], "tasks in the order of JOBS"
    for task in doc["tasks"]:
        assert task["metric"] in ("accuracy", "entity F1", "exact match")
        assert set(task["sizes"]) == {"train", "val", "test"}
        epochs = task["epochs"]
        name = {"reviews": "review_epochs", "minilm": "minilm_epochs"}.get(task["key"], "epochs")
        assert name in grid_tool.USES[task["key"]] and epochs == settings[name]
        recipe = grid_tool.RECIPE.get(task["key"], "sentence")  # the learning rates it ran with
        lr = [settings["minilm_lr"], None] if recipe is None else settings["lr"][recipe]
        assert [task["lr"]["encoder"], task["lr"]["head"]] == list(lr)
        if task["key"] == "reviews":  # the head it ran with
            assert task["pooling"] == settings["review_pooling"] in ("cls", "mean")
            assert task["layer_decay"] == settings["review_layer_decay"]
        kinds = [row["kind"] for row in task["rows"]]
        assert "baseline" in kinds, f"{task['task']}: no non-neural baseline"
        inits = [row["init"] for row in task["rows"] if row["kind"] == "fine-tuned"]
        assert len(inits) == 2 and inits[1] == "random init" and inits[0].startswith("pretrained")
        for row in task["rows"]:
            scores = row["scores"]
            assert all(0.0 <= s <= 1.0 for s in scores)
            assert row["mean"] == pytest.approx(statistics.fmean(scores))
            assert row["min"] == min(scores) and row["max"] == max(scores)
            if row["kind"] == "fine-tuned":
                assert len(scores) == len(seeds)
                assert row["std"] == pytest.approx(
                    statistics.stdev(scores) if len(seeds) > 1 else 0.0
                )
                for run, seed, score in zip(row["runs"], seeds, scores, strict=True):
                    assert run["seed"] == seed and run["test"] == score
                    assert len(run["per_epoch"]) == epochs and 1 <= run["epoch"] <= epochs
                    # the epoch is chosen on the validation split, never on the test split
                    best_val = max(e["val"] for e in run["per_epoch"])
                    assert run["per_epoch"][run["epoch"] - 1]["val"] == best_val
                    assert run["per_epoch"][run["epoch"] - 1]["test"] == score


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "tiny.json"
    grid_tool.main(["--tiny", "--out", str(out), "--threads", "1"])
    return json.loads(out.read_text(encoding="utf-8"))


def test_a_tiny_grid_has_the_schema(tiny):
    check_schema(tiny)
    assert [t["key"] for t in tiny["tasks"]] == list(grid_tool.JOBS)


def test_merging_keeps_the_tasks_not_rerun(tiny):
    part = {**tiny, "tasks": tiny["tasks"][:1], "wall_seconds": [1.0]}
    merged = grid_tool.merge({**tiny, "tasks": tiny["tasks"][1:]}, part)
    assert [t["key"] for t in merged["tasks"]] == list(grid_tool.JOBS)
    with pytest.raises(ValueError):
        grid_tool.merge({**tiny, "settings": {}}, part)


def test_merging_checks_the_settings_each_kept_task_read(tiny):
    reviews, others = tiny["tasks"][:1], tiny["tasks"][1:]
    assert reviews[0]["key"] == "reviews"
    # the reviews rerun with another recipe: the other tasks, computed before, may stay
    old = {**tiny, "tasks": others, "settings": {**tiny["settings"], "review_epochs": 9}}
    merged = grid_tool.merge(old, {**tiny, "tasks": reviews})
    assert [t["key"] for t in merged["tasks"]] == list(grid_tool.JOBS)
    # ... but a kept task computed with other settings than it reads now may not
    for name, value in (("epochs", 9), ("pair_words", 3), ("n_train", 5)):
        old = {**tiny, "tasks": others, "settings": {**tiny["settings"], name: value}}
        with pytest.raises(ValueError, match="other settings"):
            grid_tool.merge(old, {**tiny, "tasks": reviews})
    old = {**tiny, "tasks": reviews, "settings": {**tiny["settings"], "review_length": 7}}
    with pytest.raises(ValueError, match="cannot keep reviews"):
        grid_tool.merge(old, {**tiny, "tasks": others})


def test_merging_checks_the_checkpoint_each_kept_task_read(tiny):
    assert set(grid_tool.READS) == set(grid_tool.JOBS)
    # a new Chinese checkpoint: the tasks on the English one (and MiniLM) may stay, ...
    new_zh = {**tiny["checkpoints"], "zh": {**tiny["checkpoints"]["zh"], "model_sha256": "0"}}
    zh_tasks = [t for t in tiny["tasks"] if grid_tool.READS[t["key"]] == "zh"]
    others = [t for t in tiny["tasks"] if grid_tool.READS[t["key"]] != "zh"]
    assert zh_tasks and others
    merged = grid_tool.merge(
        {**tiny, "tasks": others}, {**tiny, "checkpoints": new_zh, "tasks": zh_tasks}
    )
    assert [t["key"] for t in merged["tasks"]] == list(grid_tool.JOBS)
    assert merged["checkpoints"] == new_zh
    # ... but not a task fine-tuned from the old Chinese one
    with pytest.raises(ValueError, match="another zh checkpoint"):
        grid_tool.merge(
            {**tiny, "tasks": tiny["tasks"]}, {**tiny, "checkpoints": new_zh, "tasks": zh_tasks[:1]}
        )


@needs_results
def test_the_committed_results_have_the_schema_and_match_the_checkpoints():
    doc = json.loads(RESULTS.read_text(encoding="utf-8"))
    check_schema(doc)
    assert [t["key"] for t in doc["tasks"]] == list(grid_tool.JOBS)
    assert len(doc["seeds"]) >= 3
    for lang in ("en", "zh"):
        weights = ROOT / "checkpoints" / lang / "model.safetensors"
        assert doc["checkpoints"][lang]["model_sha256"] == grid_tool.sha256(weights), (
            f"chapters/data/ch10_results.json was computed from other {lang} weights: "
            "rerun python tools/finetune_grid.py"
        )


@needs_results
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.parent.name)
def test_the_chapter_prints_its_table_from_the_json(path):
    doc = json.loads(RESULTS.read_text(encoding="utf-8"))
    cells = [
        c
        for c in nbformat.read(path, as_version=4).cells
        if c.cell_type == "code" and "ch10_results.json" in c.source
    ]
    assert cells, f"{path.name}: no cell reads chapters/data/ch10_results.json"
    printed = "".join(
        o.get("text", "") for c in cells for o in c.outputs if o.output_type == "stream"
    )
    sections = printed.split("--- ")[1:]  # one section a task, in the JSON's order
    assert len(sections) == len(doc["tasks"]), f"{path.name}: not one table section a task"
    for task, section in zip(doc["tasks"], sections, strict=True):
        assert section.startswith(task["task"]), f"{task['task']} not in the table"
        lines = section.splitlines()
        for row in task["rows"]:
            number = f"{row['mean']:.3f}"
            if row["kind"] == "fine-tuned":
                number += f" ± {row['std']:.3f}"
            assert any(row["model"] in line and number in line for line in lines), (
                f"{path.parent.name}: {task['task']} / {row['model']}: {number} not printed; "
                "re-execute the chapter"
            )
