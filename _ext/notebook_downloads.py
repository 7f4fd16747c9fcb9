"""notebook_downloads: links to notebooks that are not pages of the site become downloads.

A chapter links to its exercise and solution notebooks with ordinary relative links,
``[Exercises](../../exercises/en/02-self-attention.ipynb)``, which work in Jupyter.
Those notebooks are not pages of the website, so MyST would report a missing document.
For targets under the folders in ``notebook_download_dirs`` (default: ``exercises``,
``solutions``) this extension turns the link into a Sphinx download link instead: the
notebook is copied into the site (``_downloads/``) and the link fetches it. Links to any
other missing document still warn, so a chapter left out of ``_toc.yml`` fails the build.

Every chapter has four such notebooks with one name (``exercises/en/08-bert.ipynb``,
``solutions/zh/08-bert.ipynb`` ...), and a browser saves a download under the link's file
name: the second would become ``08-bert (1).ipynb``. So each link asks the browser for a name
of its own, ``08-bert-exercises-en.ipynb`` (the ``download`` attribute: Sphinx writes it
empty, and the link carries the name as a class that ``name_downloads`` moves there after
the build).

A site for students without the solutions (``make book SOLUTIONS=0``, which sets the
environment variable ``RNN2BERT_SOLUTIONS=0``): links into the folders in
``notebook_withheld_dirs`` (then ``solutions``) become their plain text, and no solution
notebook is copied into the site.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform

NAME_CLASS = "nb-save-as-"  # the class that carries a download's file name to the HTML
NAMED = re.compile(r'(<a class="[^"]*\b' + NAME_CLASS + r'([\w.-]+)\b[^"]*") download=""')


def saved_name(target: str) -> str:
    """``exercises/zh/08-bert`` -> ``08-bert-exercises-zh.ipynb``: the folder and language
    in the name, so that a chapter's four notebooks do not overwrite one another."""
    kind, lang, stem = target.split("/")[-3:]
    return f"{stem}-{kind}-{lang}.ipynb"


def name_downloads(app: Sphinx, exception: Exception | None) -> None:
    """After the build: each download link's ``download=""`` gets the name of its class."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        named = NAMED.sub(lambda m: f'{m.group(1)} download="{m.group(2)}"', text)
        if named != text:
            page.write_text(named, encoding="utf-8")


class NotebookLinksToDownloads(SphinxTransform):
    """Runs on each document after parsing, before Sphinx collects its download files."""

    default_priority = 800

    def apply(self, **kwargs) -> None:
        dirs = set(self.config.notebook_download_dirs)
        withheld = set(self.config.notebook_withheld_dirs)
        for node in list(self.document.findall(addnodes.pending_xref)):
            target = node.get("reftarget", "")
            if node.get("refdomain") != "doc" or node.get("reftype") != "myst":
                continue
            if target in self.env.found_docs or target.split("/", 1)[0] not in dirs:
                continue
            if target.split("/", 1)[0] in withheld:
                node.replace_self(nodes.inline("", "", *node.children, classes=["withheld"]))
                continue
            path = next(
                (
                    target + suffix
                    for suffix in self.config.source_suffix
                    if (Path(self.env.srcdir) / (target + suffix)).is_file()
                ),
                None,
            )
            if path is None:
                continue  # not a file either: leave it to MyST, which warns
            download = addnodes.download_reference(
                "",
                "",
                *node.children,
                refdomain=None,
                reftype="myst",
                reftarget="/" + path,
                refdoc=node.get("refdoc"),
                refexplicit=True,
                classes=["download", NAME_CLASS + saved_name(target)],
            )
            download.source, download.line = node.source, node.line
            node.replace_self(download)


def setup(app: Sphinx) -> dict:
    app.add_config_value("notebook_download_dirs", ["exercises", "solutions"], "env", [list])
    withheld = ["solutions"] if os.environ.get("RNN2BERT_SOLUTIONS") == "0" else []
    app.add_config_value("notebook_withheld_dirs", withheld, "env", [list])
    app.add_transform(NotebookLinksToDownloads)
    app.connect("build-finished", name_downloads)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
