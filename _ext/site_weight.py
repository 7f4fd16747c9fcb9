"""site_weight: leave out of the built site the files that no page loads.

``sphinx-mathjax-offline`` copies all of MathJax 3 into ``_static/mathjax`` (24 MB), though the
pages load one combined bundle, ``tex-chtml.js``, and the components it fetches on demand
(``input/``, ``output/``, ``a11y/``, ``sre/``, ``ui/`` ...). The other combined bundles, each an
alternative to ``tex-chtml.js`` (SVG output, MathML input, the "full" builds), are never
requested. Nor are the source maps (``*.map``) of the theme's scripts, which only a browser's
developer tools ask for. After the build this extension deletes both: about 17 of the site's
52 MB, for a reader who downloads or copies the site. A test checks that the pages still load
every file they ask for with the network cut (``tests/test_site.py``).
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

#: MathJax's combined bundles that the pages do not load (they load ``tex-chtml.js``)
UNUSED_BUNDLES = (
    "mml-chtml.js",
    "mml-svg.js",
    "tex-mml-chtml.js",
    "tex-mml-svg.js",
    "tex-svg.js",
    "tex-svg-full.js",
    "tex-chtml-full.js",
    "tex-chtml-full-speech.js",
    "node-main.js",
)


def unused_files(static: Path) -> list[Path]:
    """The files under ``_static`` that no page loads: unused MathJax bundles, source maps."""
    bundles = [static / "mathjax" / name for name in UNUSED_BUNDLES]
    return [p for p in bundles if p.is_file()] + sorted(static.rglob("*.map"))


def trim(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for path in unused_files(Path(app.outdir) / "_static"):
        path.unlink()


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", trim)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
