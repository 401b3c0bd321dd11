"""Regenerate docs/screenshots/*.svg: one SVG per view of `satrnn explore`, written by its --screenshot option.

Usage: python scripts/make_screenshots.py [MODEL TEXT] [--out docs/screenshots] [--size 120x40]
(default MODEL/TEXT: $SATRNN_DATA/sat_model.bin and enwik_1024.txt, the published weights).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHOTS = [  # (file, arguments)
    ("graph.svg", ["--view", "graph", "--select", "h8"]),
    ("neurons.svg", ["--view", "neurons"]),
    ("neuron-h8.svg", ["--view", "neurons", "--select", "h8", "--pin", "-1"]),
    ("raster.svg", ["--view", "raster", "--select", "h8"]),
    ("cycles.svg", ["--view", "cycles"]),
    ("ledger.svg", ["--view", "ledger"]),
]


def main() -> int:
    data = Path(os.environ.get("SATRNN_DATA", REPO.parent / "shared" / "data"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=str(data / "sat_model.bin"))
    ap.add_argument("text", nargs="?", default=str(data / "enwik_1024.txt"))
    ap.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    ap.add_argument("--size", default="120x40")
    a = ap.parse_args()
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for name, extra in SHOTS:
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "satrnn", "explore", a.model, a.text, "--size", a.size,
               "--screenshot", str(Path(a.out) / name), *extra]
        r = subprocess.run(cmd, timeout=1800)
        print(f"{name}: exit {r.returncode} in {time.perf_counter() - t0:.1f} s", flush=True)
        if r.returncode:
            return r.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
