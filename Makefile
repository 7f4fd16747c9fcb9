# From RNN to BERT · 从 RNN 到 BERT
#   make book       build the bilingual site into _build/html (from committed outputs)
#   make test       the whole test suite (what CI runs), make lint included
#   make test-fast  library, parity and exercise checks (no notebook run, no site): ~1 min
#   make lint       ruff check + ruff format --check: library, tools, tests, site extensions, notebooks
#   make execute    re-run every chapter and solution notebook in place
#   make exercises  regenerate exercises/ from solutions/
#   make serve      serve _build/html on http://localhost:8000
#   make pretrain   pretrain the tiny English and Chinese BERTs into checkpoints/ (torchrun, DDP, bf16 where the CPU has it; ~2.5 h on 2 cores, timed)
#   make bench      measure: site build, notebook times, attention, BERT step vs Hugging Face -> bench/results.md
#   make diagrams   redraw the architecture diagrams chapters/{en,zh}/diagrams/*.svg
#   make slides     reveal.js slides of every chapter, both languages, offline, into _build/slides
#   make student-bundle   the students' zip (exercises, chapters, library; no solutions) in _build/
#   make book SOLUTIONS=0 builds the site without the solution notebooks (for students)
#   make otter      every chapter as an otter-grader assignment (hidden tests, points) into _build/otter
#   make grading-deps   bubblewrap, which the grader's per-submission sandbox needs (Debian package)
#   grading a folder of submissions: python -m rnn2bert.grading DIR --chapter NN --out grades.csv (teaching/)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JB     := $(VENV)/bin/jupyter-book
SOLUTIONS ?= 1

.PHONY: help venv book serve test test-fast lint execute exercises diagrams pretrain bench slides serve-slides student-bundle browser-deps otter grading-deps clean

help:
	@sed -n '2,/^$$/s/^#//p' Makefile

# (Re)install when the pins change. The constraints file pins every transitive package too.
$(STAMP): requirements.txt requirements-dev.txt requirements-data.txt constraints.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps -r requirements-data.txt
	@touch $@

venv: $(STAMP)

book: $(STAMP)
	@rm -rf _build/html
	RNN2BERT_SOLUTIONS=$(SOLUTIONS) $(JB) build . -W -n --keep-going --all
	@echo
	@echo "The book is built. Open: file://$(CURDIR)/_build/html/index.html   (or: make serve)"

serve:
	@test -f _build/html/index.html || $(MAKE) book
	$(PY) -m http.server --directory _build/html --bind 127.0.0.1 8000

execute: $(STAMP)
	$(PY) tools/execute_notebooks.py chapters solutions

exercises: $(STAMP)
	$(PY) -m rnn2bert.exercises.generate solutions exercises

diagrams: $(STAMP)
	$(PY) tools/diagrams.py

# Reproduces checkpoints/ (seeded). The two languages train side by side, each under torchrun
# with half of the cores as DDP ranks (gloo on CPUs): 1 rank each on 2 cores, 2 from 4 cores.
# The recipe's global batch is 2 micro-batches: 1 rank accumulates them, 2 ranks take one each:
# the same run (tests/test_training.py). Interrupted? Run it again: it resumes from
# _build/pretrain/. Multi-node: chapters/en/appendix-setup.md.
NPROC ?= $(shell nproc)
pretrain: $(STAMP)
	@ranks=$$(( $(NPROC) >= 4 ? 2 : 1 )); threads=$$(( $(NPROC) >= 4 ? $(NPROC) / 4 : 1 )); pids=""; \
	for lang in en zh; do \
	  $(VENV)/bin/torchrun --standalone --nproc_per_node=$$ranks \
	    tools/pretrain.py --lang $$lang --threads $$threads & pids="$$pids $$!"; \
	done; status=0; for pid in $$pids; do wait $$pid || status=1; done; exit $$status

# Benchmarks (bench/README.md); BENCH_ARGS="--only step,mha" or "--with-make-test" to choose.
bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

slides: $(STAMP)
	@rm -rf _build/slides
	$(PY) tools/slides.py --out _build/slides

serve-slides:
	@test -f _build/slides/index.html || $(MAKE) slides
	$(PY) -m http.server --directory _build/slides --bind 127.0.0.1 8001

student-bundle: $(STAMP)
	$(PY) tools/student_bundle.py --out _build/rnn2bert-student.zip

# Headless Chromium and a CJK font for the browser tests (Debian packages), when missing
# and when this machine can install them. The browser tests skip, loudly, otherwise.
browser-deps:
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  echo "browser-deps: chromium and fonts-noto-cjk present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk) >/dev/null \
	    || echo "browser-deps: could not install chromium/fonts-noto-cjk"; \
	else \
	  echo "browser-deps: not root or no apt-get: install chromium and fonts-noto-cjk yourself"; \
	fi

# The teaching kit's grading: otter-assign sources of every chapter, and the grader's sandbox.
otter: $(STAMP)
	@rm -rf _build/otter
	$(PY) tools/otter_export.py --out _build/otter --assign

grading-deps:
	@if command -v bwrap >/dev/null 2>&1; then \
	  echo "grading-deps: bubblewrap present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap) >/dev/null \
	    || echo "grading-deps: could not install bubblewrap"; \
	else \
	  echo "grading-deps: not root or no apt-get: install bubblewrap yourself (the grader refuses to run without it, unless --sandbox none)"; \
	fi

test: $(STAMP) browser-deps grading-deps lint
	$(PY) -m pytest -n 2 --dist loadfile --nbval tests chapters/en solutions/en

# The quick loop while editing the library: no notebook is executed and no site is built.
FAST_TESTS := tests/test_library.py tests/test_masks_beyond.py tests/test_positional.py \
              tests/test_transformer.py tests/test_bert.py tests/test_fast_paths.py \
              tests/test_parity.py tests/test_exercises.py
test-fast: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow and not browser" $(FAST_TESTS)

# ruff, pinned in requirements-dev.txt; the notebook folders' ruff.toml set 80 columns.
LINT_PATHS := src tools tests _ext chapters exercises solutions
lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

clean:
	rm -rf _build test-artifacts
