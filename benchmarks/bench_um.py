"""UM forward from the pattern table vs the reference RNN forward (states + readout + bpc), in one run.

Usage: python benchmarks/bench_um.py [MODEL TEXT] [--repeats N]
Prints the time of each and the ratio (machines are noisy; only the ratio within one run means anything).
Also times the table build (from_rnn) and the round trip (to_rnn), which the isomorphism check adds.
"""
from __future__ import annotations

import argparse

from common import best_time, model_and_text
from satrnn.automaton.um import from_rnn, um_forward
from satrnn.rnn.forward import forward


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model", nargs="?")
    ap.add_argument("text", nargs="?")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    model, xs = model_and_text(a.model, a.text)
    table = from_rnn(model)
    for prec in ("f32", "f64"):          # compile / load caches outside the timing
        forward(model, xs[:3], prec)
        um_forward(table, xs[:3], prec)
    print(f"H={model.H}, {len(xs)} bytes, {len(table):,} patterns, best of {a.repeats}")
    t_build = best_time(lambda: from_rnn(model), a.repeats)
    t_back = best_time(lambda: table.to_rnn(), a.repeats)
    print(f"table build (from_rnn)      : {t_build * 1e3:9.2f} ms")
    print(f"round trip (to_rnn)         : {t_back * 1e3:9.2f} ms")
    for prec in ("f32", "f64"):
        t_ref = best_time(lambda prec=prec: forward(model, xs, prec), a.repeats)
        t_um = best_time(lambda prec=prec: um_forward(table, xs, prec), a.repeats)
        print(f"{prec} reference RNN forward   : {t_ref * 1e3:9.2f} ms")
        print(f"{prec} UM forward (patterns)   : {t_um * 1e3:9.2f} ms")
        print(f"{prec} ratio UM / reference    : {t_um / t_ref:9.2f}x")


if __name__ == "__main__":
    main()
