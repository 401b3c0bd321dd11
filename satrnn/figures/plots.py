"""One function per figure: `fn(result, ax=None, *, subject=None, ...) -> Axes` (see `satrnn.figures`).

`subject` names the model and text (e.g. "sat_model.bin on enwik_1024.txt") in the title. Alignment as in
the analyses: h_t is the state after byte t and predicts byte t+1; flips at t compare h_{t-1} and h_t.
Units are on the axes: bpc = bits per character; steps = Boolean steps of the sign automaton under a
constant input byte; |z| = |pre-activation| of a neuron before tanh.
"""
from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Mapping

import numpy as np

from satrnn.figures import style
from satrnn.rnn.text import display_byte

# The margin thresholds the analyses count at (automaton.margins: "margins < 1", "margins < 0.1"; seed 001
# states its claim at |z| > 1). Definitions of the bins, not measured values.
MARGIN_THRESHOLDS = (0.1, 1.0)
RASTER_MAX_STEPS = 1024     # columns of the sign raster (the first steps of a longer text)

# Fixed colours (matplotlib's tab10): the same figure whatever the user's matplotlibrc.
BLUE, ORANGE, GREEN, RED, PURPLE, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f"
_TAB20 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
          "#dbdb8d", "#9edae5")


def figure_function(width: float = 6.4, height: float = 3.6):
    """Decorator: draw under the fixed style; with ax=None make a new figure (pyplot, so notebooks show it)."""
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, ax=None, **kwargs):
            with style():
                if ax is None:
                    import matplotlib.pyplot as plt
                    _, ax = plt.subplots(figsize=(width, height), layout="constrained")
                fn(*args, ax=ax, **kwargs)
            return ax
        wrapper.size = (width, height)
        return wrapper
    return deco


def _title(ax, what: str, subject: str | None) -> None:
    ax.set_title(what + (f"\n{subject}" if subject else ""), loc="left")


def _get(result, name: str, default=None):
    """A field of a typed result or of a dict."""
    if isinstance(result, Mapping):
        return result.get(name, default)
    return getattr(result, name, default)


def _plain_log_ticks(axis) -> None:
    """Log-axis ticks at 1, 2 and 5 times powers of ten, labelled as plain numbers (10,000, 20,000, ...), no
    labels on the minor ticks (they overlap when the axis spans less than a decade)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def byte_label(x: int) -> str:
    return f"0x{int(x):02x} '{display_byte(int(x))}'"


# ---- margins -----------------------------------------------------------------------------------------

@figure_function()
def margin_distribution(preactivations, ax=None, *, subject: str | None = None, thresholds=MARGIN_THRESHOLDS):
    """Histogram of the margins |z| of every neuron-step (preactivations (n, H): the z_t that gave h_t; pass
    the predicting steps t = 0..n-2 as the analyses count them), log-spaced bins (10 per decade) on a log
    axis, with the thresholds and the share of neuron-steps below each."""
    z = np.abs(np.asarray(preactivations, dtype=np.float64)).ravel()
    total = z.size
    pos = z[z > 0]
    zeros = total - pos.size
    if pos.size:
        lo = math.floor(math.log10(float(pos.min())))
        hi = math.ceil(math.log10(float(pos.max())))
        hi = max(hi, lo + 1)
        edges = np.array([10.0 ** (e / 10) for e in range(10 * lo, 10 * hi + 1)])
        counts, _ = np.histogram(pos, bins=edges)
        ax.stairs(counts, edges, fill=True, color=BLUE, alpha=0.75, label=f"{total:,} neuron-steps")
    ax.set_xscale("log")
    for v, c in zip(thresholds, (RED, ORANGE, GREEN)):
        below = int(np.count_nonzero(z < v))
        ax.axvline(v, color=c, linestyle="--", linewidth=1.0,
                   label=f"|z| = {v:g}: {100 * below / max(total, 1):.2f}% of neuron-steps below")
    if zeros:
        ax.plot([], [], " ", label=f"{zeros:,} exactly 0 (not on a log axis)")
    ax.set_xlabel("margin |z| (|pre-activation|, log scale)")
    ax.set_ylabel("neuron-steps per bin (10 bins per decade)")
    ax.legend(loc="upper left")
    _title(ax, "Margin distribution of the float32 run", subject)


# ---- sign raster -------------------------------------------------------------------------------------

@figure_function(width=7.2, height=3.8)
def sign_raster(states, ax=None, *, subject: str | None = None, max_steps: int = RASTER_MAX_STEPS):
    """The sign of every neuron along the text (states (n, H): h_t, or +-1 signs; sign(0) = +1), time on x
    and neuron on y; a flip at t (sign of h_t differs from h_{t-1}) is coloured by the sign it flipped to.
    At most `max_steps` steps are drawn (the first)."""
    from matplotlib.patches import Patch
    s = np.asarray(states)
    n_all = s.shape[0]
    s = s[:max_steps]
    plus = s >= 0
    n, H = plus.shape
    flip = np.zeros_like(plus)
    flip[1:] = plus[1:] != plus[:-1]
    colours = {"plus": (0.22, 0.22, 0.22), "minus": (0.96, 0.96, 0.96), "to_plus": (0.84, 0.15, 0.16),
               "to_minus": (0.12, 0.47, 0.71)}
    img = np.empty((H, n, 3))
    img[...] = colours["minus"]
    img[plus.T] = colours["plus"]
    img[(flip & plus).T] = colours["to_plus"]
    img[(flip & ~plus).T] = colours["to_minus"]
    ax.imshow(img, aspect="auto", origin="lower", interpolation="nearest", extent=(-0.5, n - 0.5, -0.5, H - 0.5))
    ax.grid(False)
    flips = int(flip.sum())
    ax.legend(handles=[Patch(color=colours["plus"], label="+1"), Patch(color=colours["minus"], label="-1"),
                       Patch(color=colours["to_plus"], label="flip to +1"),
                       Patch(color=colours["to_minus"], label="flip to -1")],
              loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=4, frameon=False)
    ax.set_xlabel("t (byte position; h_t = state after byte t)")
    ax.set_ylabel("neuron j")
    shown = f"first {n:,} of {n_all:,} steps" if n < n_all else f"{n:,} steps"
    _title(ax, f"Sign raster: {shown} x {H} neurons, {flips:,} flips", subject)


# ---- knockout ----------------------------------------------------------------------------------------

@figure_function()
def knockout_delta(result, ax=None, *, subject: str | None = None, label_top: int = 10):
    """Readout knockout (Wy column j zeroed): delta bpc of every neuron by rank (1 = most important), the
    top `label_top` listed. `result`: an analyses.knockout.NeuronKnockout (delta, order, baseline_bpc)."""
    delta = np.asarray(result.delta, dtype=np.float64)
    order = np.asarray(result.order)
    base = result.baseline_bpc
    ranks = np.arange(1, order.size + 1)
    d = delta[order]
    ax.bar(ranks, d, width=0.9, color=np.where(d >= 0, BLUE, ORANGE))
    top = "\n".join(f"{r + 1:>2}. h{int(order[r])}  {d[r]:+.4f}" for r in range(min(label_top, order.size)))
    if top:
        ax.text(0.98, 0.95, "rank, neuron, delta bpc\n" + top, transform=ax.transAxes, ha="right", va="top",
                fontsize=7, family="DejaVu Sans Mono", bbox={"facecolor": "white", "edgecolor": GREY, "alpha": 0.9})
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("knockout rank (1 = largest delta bpc)")
    ax.set_ylabel("delta bpc (bits per character)")
    ax.set_xlim(0, order.size + 1)
    ax.margins(y=0.12)
    _title(ax, "Single-neuron readout knockout" + (f" (baseline {base:.4f} bpc)" if base is not None else ""),
           subject)


@figure_function()
def keep_top_k(report, ax=None, *, subject: str | None = None):
    """bpc keeping only the top-k readout neurons (by knockout rank) and with the top k removed, against k
    (log bpc axis). `report`: an analyses.knockout.NeuronsReport (keep_top_k, cumulative, baseline_bpc)."""
    keep, cum, base = report.keep_top_k, report.cumulative, float(report.baseline_bpc)
    kk, kb = np.asarray(keep.k), np.asarray(keep.bpc, dtype=np.float64)
    ck, cb = np.asarray(cum.k), np.asarray(cum.bpc, dtype=np.float64)
    sel = kk > 0
    ax.plot(kk[sel], kb[sel], marker="o", markersize=2.5, color=BLUE, label="keep only the top k")
    ax.plot(ck, cb, marker="s", markersize=2.5, color=ORANGE, label="remove the top k")
    ax.axhline(base, color=GREEN, linestyle="--", linewidth=1.0, label=f"full model {base:.4f} bpc")
    ax.axhline(8.0, color=GREY, linestyle=":", linewidth=1.0, label="uniform over bytes (8 bpc)")
    ax.set_yscale("log")
    ax.set_xlabel("k (readout neurons, by knockout rank)")
    ax.set_ylabel("bpc (bits per character, log scale)")
    ax.legend(loc="center right")
    _title(ax, "Keep-top-k and cumulative removal of readout neurons", subject)


# ---- Derrida curve -------------------------------------------------------------------------------------

@figure_function()
def derrida_curve(curve, ax=None, *, subject: str | None = None):
    """The Derrida map D(d): mean Hamming distance one step after flipping d random neurons, with its 95%
    interval, against the diagonal D = d (above: perturbations grow). `curve`: an automaton.cascade.DerridaCurve
    (its slope at d = 1, `derrida_coefficient`, a MeanCI or None)."""
    d = np.asarray(curve.d, dtype=np.float64)
    mean = np.asarray(curve.mean, dtype=np.float64)
    ci = np.asarray(curve.ci95, dtype=np.float64).reshape(-1, 2)
    coef = curve.derrida_coefficient
    slope, slope_ci = (coef.mean, coef.ci95) if coef is not None else (None, None)
    ax.fill_between(d, ci[:, 0], ci[:, 1], color=BLUE, alpha=0.25, linewidth=0, label="95% interval")
    ax.plot(d, mean, marker="o", markersize=3, color=BLUE, label="D(d), mean over pairs")
    ax.plot(d, d, color=GREY, linestyle="--", linewidth=1.0, label="D = d")
    if d.size and d.max() / max(d.min(), 1) >= 16:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
    if slope is not None and slope_ci is not None and math.isfinite(float(slope)):
        ax.plot([], [], " ", label=f"slope at d = 1: {float(slope):.2f} [{float(slope_ci[0]):.2f}, "
                                   f"{float(slope_ci[1]):.2f}]")
    ax.set_xlabel("d (neurons flipped before the step)")
    ax.set_ylabel("D(d) (Hamming distance after one step, neurons)")
    ax.legend(loc="upper left")
    _title(ax, "Derrida curve of the sign dynamics", subject)


# ---- dwell times ---------------------------------------------------------------------------------------

@figure_function()
def dwell_times(dwell_hist, ax=None, *, subject: str | None = None):
    """How long a neuron keeps its sign: the number of closed dwells of each length d (dwell_hist[d], as
    analyses.saturation counts them), log count axis, with the mean dwell."""
    G = np.asarray(dwell_hist, dtype=np.int64)
    d = np.arange(G.size)
    sel = (d >= 1) & (G > 0)
    ax.bar(d[sel], G[sel], width=0.85, color=BLUE)
    total = int(G[1:].sum())
    if total:
        mean = float((d[1:] * G[1:]).sum() / total)
        ax.axvline(mean, color=RED, linestyle="--", linewidth=1.0, label=f"mean {mean:.3f} steps ({total:,} dwells)")
        ax.legend(loc="upper right")
    ax.set_yscale("log")
    ax.set_xlabel("dwell time d (steps a neuron keeps its sign)")
    ax.set_ylabel("dwells of length d (count, log scale)")
    _title(ax, "Dwell times of the neurons' signs", subject)


# ---- cycles --------------------------------------------------------------------------------------------

@figure_function(width=6.4, height=4.0)
def cycle_periods(cycles, ax=None, *, subject: str | None = None, label_inputs: int = 20):
    """Every cycle found: transient (steps from the start to the cycle) against period (steps), log-log,
    one colour per input byte; a cycle's `search` field ("cycles", "landscape", ...) sets its marker.
    `cycles`: CycleRecord / KnownCycle objects or dicts with input, period, transient."""
    rows = [(int(_get(c, "input")), int(_get(c, "period")), max(int(_get(c, "transient")), 1),
             str(_get(c, "search", "search") or "search")) for c in cycles]
    inputs = sorted({r[0] for r in rows})
    colour = {x: _TAB20[i % len(_TAB20)] for i, x in enumerate(inputs)}
    markers = {}
    for x, period, transient, src in rows:
        m = markers.setdefault(src, "osD^v"[len(markers) % 5])
        ax.scatter([transient], [period], color=colour[x], marker=m, s=28, edgecolors="black", linewidths=0.4,
                   zorder=3)
    for x in inputs[:label_inputs]:
        ax.scatter([], [], color=colour[x], marker="o", s=20, label=byte_label(x))
    if len(inputs) > label_inputs:
        ax.plot([], [], " ", label=f"... {len(inputs) - label_inputs} more inputs")
    if len(markers) > 1:
        for src, m in markers.items():
            ax.scatter([], [], color="white", edgecolors="black", marker=m, s=20, label=f"found by: {src}")
    if rows:
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax.xaxis)
        _plain_log_ticks(ax.yaxis)
        n = min(len(inputs), label_inputs) + (len(markers) if len(markers) > 1 else 0)
        ax.legend(loc="best", title="input byte", ncols=1 + n // 9, framealpha=0.85)   # inside: never cut off
    ax.set_xlabel("transient (steps before the cycle, log scale)")
    ax.set_ylabel("period (steps, log scale)")
    _title(ax, f"Sign-dynamics cycles under constant inputs: {len(rows)} cycle(s), {len(inputs)} input(s)", subject)


@figure_function()
def basin_fractions(landscape, ax=None, *, subject: str | None = None, max_rows: int = 20, note: str | None = None):
    """Basin fraction of each attractor (by size) of an estimated landscape with its Clopper-Pearson
    interval, and the unresolved starts; an exact landscape's fractions are exact (no interval). `note`
    (e.g. how the landscape was found) is written under the axis label."""
    atts = list(landscape.attractors)[:max_rows]
    exact = not hasattr(landscape, "unresolved")
    if exact:
        atts.sort(key=lambda a: (-a.basin_size, a.rep))
    x = np.arange(len(atts))
    frac = np.array([a.basin_fraction for a in atts], dtype=np.float64)
    labels = [f"{a.period:,}" for a in atts]
    if exact:
        ax.bar(x, frac, color=BLUE, width=0.7)
        what = f"exact over all {landscape.n_states:,} states"
    else:
        ci = np.array([a.basin_fraction_ci for a in atts], dtype=np.float64).reshape(-1, 2)
        err = np.vstack([frac - ci[:, 0], ci[:, 1] - frac]) if len(atts) else None
        ax.bar(x, frac, color=BLUE, width=0.7, yerr=err, capsize=3, ecolor="black", error_kw={"linewidth": 0.8},
               label=f"{100 * landscape.confidence:.0f}% Clopper-Pearson interval")
        if landscape.unresolved:
            x = np.append(x, len(atts))
            ax.bar([len(atts)], [landscape.unresolved_fraction], color=GREY, width=0.7,
                   label=f"unresolved within {landscape.budget:,} steps")
            labels.append("unresolved")
        ax.legend(loc="upper right")
        what = f"{landscape.starts:,} random starts (seed {', '.join(str(s) for s in landscape.seeds[:3])})"
    ax.set_xticks(x, labels, rotation=45 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("attractor (period in steps)" + (f"\n{textwrap.fill(note, 90)}" if note else ""))
    ax.set_ylabel("basin fraction (of starts)" if not exact else "basin fraction (of all states)")
    seq = list(landscape.seq)
    inp = byte_label(seq[0]) if len(seq) == 1 else f"{len(seq)}-byte sequence"
    _title(ax, f"Attractor basins under {inp}: {len(landscape.attractors)} attractor(s), {what}", subject)


# ---- co-flip graph -------------------------------------------------------------------------------------

@figure_function(width=6.4, height=5.6)
def coflip_graph(G, ax=None, *, subject: str | None = None, seed: int = 0, label_hubs: int = 8):
    """The co-flip graph (analyses.coflip.coflip_graph): neurons coloured by community, sized by strength,
    edges by Jaccard; positions from a spring layout seeded with `seed` (they carry no unit)."""
    import networkx as nx
    from matplotlib import patheffects
    from matplotlib.collections import LineCollection
    nodes = sorted(G.nodes)
    linked = G.subgraph([v for v in nodes if G.degree(v) > 0])
    pos = nx.spring_layout(linked, seed=int(seed), weight="weight") if linked.number_of_nodes() else {}
    lone = [v for v in nodes if v not in pos]   # neurons without an edge: a row below the graph
    for i, v in enumerate(lone):
        pos[v] = np.array([-1.0 + 2.0 * (i + 0.5) / len(lone), -1.25])
    comm = {v: int(G.nodes[v].get("community", 0) or 0) for v in nodes}
    strength = np.array([float(G.nodes[v].get("strength", 0.0) or 0.0) for v in nodes])
    edges = sorted((min(u, v), max(u, v), float(w)) for u, v, w in G.edges(data="weight", default=0.0))
    if edges:
        segs = [(pos[u], pos[v]) for u, v, _ in edges]
        wts = np.array([w for *_, w in edges])
        # many edges: drawn as an image inside a vector file (a path per edge would make the SVG huge)
        ax.add_collection(LineCollection(segs, linewidths=0.2 + 2.0 * wts, colors=GREY, alpha=0.35, zorder=1,
                                         rasterized=len(segs) > 400))
    if nodes:
        xy = np.array([pos[v] for v in nodes])
        size = 12 + 60 * (strength / strength.max() if strength.max() > 0 else strength)
        ax.scatter(xy[:, 0], xy[:, 1], s=size, c=[_TAB20[comm[v] % len(_TAB20)] for v in nodes],
                   edgecolors="black", linewidths=0.3, zorder=2)
        halo = [patheffects.withStroke(linewidth=2.0, foreground="white")]
        for i in np.argsort(-strength, kind="stable")[:label_hubs]:
            ax.annotate(f"h{nodes[i]}", xy[i], textcoords="offset points", xytext=(3, 3), fontsize=7, zorder=3,
                        path_effects=halo)
    if lone:
        ax.annotate(f"{len(lone)} neuron(s) without an edge", (-1.0, -1.12), fontsize=7, color=GREY)
    n_comm = len(set(comm.values()))
    thr = G.graph.get("min_jaccard")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_xlabel(f"spring layout (seed {seed}): positions have no unit; colour = community, size = strength")
    _title(ax, f"Co-flip graph: {len(nodes)} neurons, {len(edges)} edges"
               + (f" with Jaccard >= {thr:g}" if thr is not None else "") + f", {n_comm} communities", subject)


# ---- attribution and offsets ---------------------------------------------------------------------------

@figure_function()
def attribution_profile(rows, ax=None, *, subject: str | None = None):
    """Seed 002's per-offset input attribution attr(t, k) = Wx[:, x_{t-k}]^T g_{t->t-k}, mean and mean
    absolute value over positions, against the offset k. `rows`: an analyses.sparse_diff.SparseDiff (its
    `attribution`) or its AttrRow rows (k, signed, unsigned)."""
    rows = getattr(rows, "attribution", rows)
    k = np.array([r.k for r in rows])
    ax.plot(k, [r.unsigned for r in rows], marker="o", markersize=3, color=BLUE, label="mean |attr|")
    ax.plot(k, [r.signed for r in rows], marker="s", markersize=3, color=ORANGE, label="mean attr")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("offset k (bytes back from the consumed byte x_t)")
    ax.set_ylabel("attribution (nats of ln P(x_{t+1}) per unit input)")
    ax.legend(loc="best")
    _title(ax, "Input attribution by offset (seed 002)", subject)


@figure_function()
def offset_profile(q2, ax=None, *, subject: str | None = None):
    """Q2's depth profile (analyses.offsets.q2_offsets): mean number of neurons whose sign changes when the
    byte d back is flipped (x XOR 0x80), and the mean KL divergence of the prediction, against d. `q2`: an
    analyses.offsets.Q2Offsets."""
    prof = [r for r in q2.depth_profile if r.mean_sign_changes is not None]
    d = np.array([r.d for r in prof])
    ax.plot(d, [r.mean_sign_changes for r in prof], marker="o", markersize=3, color=BLUE,
            label="sign changes (neurons)")
    ax.set_xlabel(f"depth d (byte flipped; {q2.flip_convention})")
    ax.set_ylabel("mean sign changes (neurons)")
    ax2 = ax.twinx()
    ax2.plot(d, [r.mean_output_kl_bits for r in prof], marker="s", markersize=3, color=ORANGE,
             label="output KL (bits)")
    ax2.set_ylabel("mean KL of the prediction (bits)")
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper right")
    _title(ax, f"Offset profile: flipping the byte d back ({q2.variant} convention)", subject)
