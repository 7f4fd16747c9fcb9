"""mathjax_a11y: turning on MathJax's accessibility tools keeps the formulas on the page.

Adds ``_assets/mathjax_a11y.js`` after Sphinx's MathJax configuration (priority 600 > 500)
and before MathJax (which Sphinx loads deferred). The script explains the MathJax 3.2.2
bug it works around.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict:
    app.add_js_file("mathjax_a11y.js", priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
