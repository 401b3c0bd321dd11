"""`satrnn report --html`: the report as one self-contained HTML document, each section's tables next to its
figures.

Tables are rendered by rich at a fixed width (`clikit.SAVE_WIDTH`, whatever terminal ran the command) with
inline styles; figures (`satrnn.figures.catalog`) are inlined as SVG, glyphs drawn as paths. The file loads
nothing: no script, stylesheet, font or image from anywhere else, so it reads the same offline. Element ids of
each inlined SVG get a per-figure prefix, so ids stay unique in the document.
"""
from __future__ import annotations

import html
import re

# The figures shown with each report section (names of satrnn.figures.catalog.FIGURES).
SECTION_FIGURES = {
    "margins": ("margins",),
    "sign": ("sign-raster",),
    "saturation": ("dwell-times",),
    "coflip": ("coflip-graph",),
    "cascades": ("derrida",),
    "cycles": ("cycles",),
    "landscape": ("basins",),
    "knockout": ("knockout",),
    "attribution": ("attribution",),
}

_FRAGMENT = '<pre class="rich"><code>{code}</code></pre>'
_STYLE = """
body { font-family: 'DejaVu Sans', Verdana, sans-serif; margin: 1.5em; color: #1a1a1a; background: #ffffff; }
h1 { font-size: 1.3em; }
pre.rich { font-family: 'DejaVu Sans Mono', Menlo, Consolas, 'Courier New', monospace; font-size: 12px;
           line-height: 1.25; overflow-x: auto; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #444; }
p.skipped { font-size: 0.9em; color: #8a6d00; }
"""


def _prefix_ids(svg: str, prefix: str) -> str:
    """Make the SVG's ids (and the references to them) unique in a document holding several figures."""
    svg = re.sub(r'<metadata>.*?</metadata>', "", svg, flags=re.S)       # RDF boilerplate, nothing to show
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r'(xlink:href|href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{prefix}{m.group(2)}"', svg)
    return re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{prefix}{m.group(1)})", svg)


def figure_count(sections) -> int:
    return sum(len(SECTION_FIGURES.get(n, ())) for n in sections)


def section_figures(results, sections, subject: str | None, seed: int = 0, on_figure=None) -> dict:
    """{section: [(figure title, inline svg) or (figure title, None, why nothing is shown)]} for the report's
    sections, drawn from the report's own results (`results`: the report's `satrnn.cache.Results`, so nothing
    is computed twice); on_figure(title) before each."""
    from satrnn.figures import svg_inline
    from satrnn.figures.catalog import FIGURES, NothingToShow, draw
    out: dict[str, list] = {}
    k = 0
    for name in sections:
        for fig_name in SECTION_FIGURES.get(name, ()):
            if on_figure is not None:
                on_figure(FIGURES[fig_name].title)
            try:
                fig, title = draw(fig_name, results, subject, seed=seed)
            except NothingToShow as e:
                out.setdefault(name, []).append((FIGURES[fig_name].title, None, str(e)))
                continue
            k += 1
            out.setdefault(name, []).append((FIGURES[fig_name].title, _prefix_ids(svg_inline(fig, title), f"f{k}-")))
    return out


def report_html(title: str, sections, figures: dict) -> str:
    """The document: `sections` = [(name, renderable)] in report order (each a rich Panel with its title),
    `figures` from `section_figures`."""
    from satrnn.clikit import saving_console
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{html.escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
             f"<h1>{html.escape(title)}</h1>"]
    for name, renderable in sections:
        con = saving_console()
        con.print(renderable)
        parts.append(f'<section id="{html.escape(name)}">')
        parts.append(con.export_html(inline_styles=True, code_format=_FRAGMENT, clear=True))
        for entry in figures.get(name, ()):
            if entry[1] is None:
                parts.append(f'<p class="skipped">Figure "{html.escape(entry[0])}": nothing to show '
                             f"({html.escape(entry[2])}).</p>")
            else:
                parts.append(f"<figure>{entry[1]}<figcaption>{html.escape(entry[0])}</figcaption></figure>")
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
