"""The first run as a new user sees it: a fresh clone, a fresh venv, empty numba cache and SATRNN_HOME.

    python benchmarks/bench_cold_start.py [--model M --text T] [--keep DIR]

Clones this repository's HEAD into a temporary folder, installs it there (`pip install -e .`, packages from
pip's own cache when present), then times `satrnn report` (no arguments: the default model) cold, i.e. with
an empty NUMBA_CACHE_DIR and SATRNN_HOME, and warm (the same again), and the same pair on MODEL TEXT when
given. Prints every time and the machine load, since a loaded machine stretches all of them. These are wall
times of whole commands, which is what the README's timing line quotes; no ratio is involved.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(cmd, env=None, cwd=None) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"bench_cold_start: {' '.join(map(str, cmd))} failed ({r.returncode}): "
                 f"{r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}")
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="also time `satrnn report MODEL TEXT` (e.g. ../shared/data/sat_model.bin)")
    ap.add_argument("--text", help="the text for --model")
    ap.add_argument("--keep", help="use this folder instead of a temporary one, and keep it")
    args = ap.parse_args()
    if bool(args.model) != bool(args.text):
        sys.exit("bench_cold_start: --model and --text go together")

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="satrnn-cold-"))
    try:
        clone = root / "satrnn"
        if clone.exists():
            shutil.rmtree(clone)
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        venv = clone / ".venv"
        t_venv = _run([sys.executable, "-m", "venv", str(venv)])
        py, satrnn = venv / "bin" / "python", venv / "bin" / "satrnn"
        t_install = _run([str(py), "-m", "pip", "install", "--quiet", "-e", "."], cwd=clone)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "SATRNN_HOME"))}
        env["NUMBA_CACHE_DIR"] = str(root / "numba-cache")
        env["SATRNN_HOME"] = str(root / "satrnn-home")
        for d in (env["NUMBA_CACHE_DIR"], env["SATRNN_HOME"]):
            shutil.rmtree(d, ignore_errors=True)

        rows = [("venv", t_venv), ("pip install -e .", t_install)]
        load0 = os.getloadavg()[0]
        rows.append(("satrnn report (cold: empty numba cache and SATRNN_HOME)",
                     _run([str(satrnn), "report"], env=env, cwd=root)))
        rows.append(("satrnn report (warm)", _run([str(satrnn), "report"], env=env, cwd=root)))
        if args.model:
            m, t = str(Path(args.model).resolve()), str(Path(args.text).resolve())
            shutil.rmtree(env["NUMBA_CACHE_DIR"], ignore_errors=True)
            rows.append(("satrnn report M T (cold numba cache)", _run([str(satrnn), "report", m, t], env=env,
                                                                      cwd=root)))
            rows.append(("satrnn report M T (warm)", _run([str(satrnn), "report", m, t], env=env, cwd=root)))
        load1 = os.getloadavg()[0]
        width = max(len(r[0]) for r in rows)
        for name, dt in rows:
            print(f"{name:<{width}}  {dt:7.1f} s")
        print(f"load average (1 min) before / after the report runs: {load0:.1f} / {load1:.1f} "
              f"on {os.cpu_count()} cores")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
