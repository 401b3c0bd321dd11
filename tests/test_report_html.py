"""`satrnn report --html` is a self-contained document: the figures inline as SVG next to the tables, nothing
loaded from elsewhere, no cell cut with "…" when the command runs through a pipe at COLUMNS=80."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from satrnn.report.html import SECTION_FIGURES


@pytest.fixture(scope="module")
def html_report(model_path, text_path, tmp_path_factory):
    d = tmp_path_factory.mktemp("html")
    out, svg = d / "r.html", d / "r.svg"
    env = dict(os.environ, COLUMNS="80")
    r = subprocess.run([sys.executable, "-m", "satrnn", "report", str(model_path), str(text_path), "--html", str(out),
                        "--svg", str(svg)], capture_output=True, text=True, env=env, timeout=1800)
    assert r.returncode == 0, r.stderr
    return out.read_text(encoding="utf-8"), svg.read_text(encoding="utf-8"), r


def test_html_has_the_figures_inline(html_report):
    page, _, _ = html_report
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert len(svgs) == sum(len(v) for v in SECTION_FIGURES.values())   # every figure had something to show
    for s in svgs:
        ET.fromstring(s)                                                    # each one well-formed
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "element ids repeat across the inlined figures"
    for caption in ("Margin |z| distribution", "Derrida curve", "Co-flip graph", "Basin fractions"):
        assert caption in page
    assert page.index("Pre-activation margins") < page.index("Margin |z| distribution")   # next to its tables


def test_html_is_self_contained(html_report):
    page, _, _ = html_report
    low = page.lower()
    for bad in ("<script", "<link", "@import", "@font-face", "<img", "<iframe"):
        assert bad not in low, bad
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_saved_outputs_cut_nothing_through_a_pipe_at_80_columns(html_report):
    page, svg, r = html_report
    assert "…" not in page and "…" not in svg
    assert "…" not in r.stdout and r.stderr == ""
    assert max(len(line) for line in r.stdout.splitlines()) > 80     # the pipe got the wide rendering
