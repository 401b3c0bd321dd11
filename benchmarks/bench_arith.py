"""satrnn's own arithmetic (issue 25): the forward's speed against the naive C forward and against the
previous kernels (which called the host's libm), all in one run on the same generated text.

Measured, each as a ratio within this run (machines are noisy; only ratios mean much):
1. states: `forward.iter_states` (satrnn's vectorised tanh) against the same recurrence with the host's
   scalar tanhf per neuron (the kernel of commit ce21a50, rebuilt here from today's `_matvec_acc`);
2. eval: `forward.evaluate` (2 threads) and the `satrnn eval` command against `benchmarks/naive_forward.c`
   (gcc -O2: the papers' loops with libm tanhf and exp), compute time only on both sides, on --kb KB;
3. margins: `satrnn margins MODEL TEXT --json` in KB/s, and the same command of the baseline commit
   (--baseline, default ce21a50) run from a temporary git worktree in the same sitting;
4. --eval-mb N: `satrnn eval` on N MB (wall time, as the README quotes it).
Also the floor of the readout on this CPU: the float32-product widening and double additions alone
(32,768 of each per prediction at H = 128), timed by a kernel that does only that.

Usage: python benchmarks/bench_arith.py [--kb 256] [--margins-kb 64] [--baseline ce21a50] [--eval-mb 0]
(the published weights from SATRNN_DATA or ../shared/data).
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from satrnn.rnn import forward as fw
from satrnn.rnn.model import load_model
from satrnn.rnn.numba_config import njit

REPO = Path(__file__).resolve().parent.parent
# Subprocesses run here, never in the repository: `python -m`/`-c` put the working directory first on sys.path,
# where the repository's own satrnn/ would shadow a baseline commit's.
RUN_DIR = tempfile.gettempdir()
DATA = Path(os.environ.get("SATRNN_DATA", REPO.parent / "shared" / "data"))


def make_text(path: Path, n: int, seed: int = 0) -> None:
    """n bytes drawn with the published text's byte frequencies (seeded)."""
    counts = np.bincount(np.fromfile(DATA / "enwik_1024.txt", dtype=np.uint8), minlength=256).astype(np.float64)
    rng = np.random.default_rng(seed)
    path.write_bytes(rng.choice(256, size=n, p=counts / counts.sum()).astype(np.uint8).tobytes())


# ---- the previous recurrence: today's sums, the host's scalar tanhf -----------------------------------

@njit
def _libm_states_chunk(WxT, WhT, bh, xs, h, z, hs):
    n, H = xs.shape[0], WhT.shape[0]
    for t in range(n):
        x = xs[t]
        for i in range(H):
            z[i] = bh[i] + WxT[x, i]
        fw._matvec_acc(z, WhT, h)
        for i in range(H):
            h[i] = math.tanh(z[i])          # the host's tanhf (numba calls libm on a float32)
        for i in range(H):
            hs[t, i] = h[i]


@njit
def _widen_add_floor(P, L, rows):
    """The readout's unavoidable part, per row: 256 outputs x H terms, each a float32 value widened to double
    and added in order (P (H, 256) holds stand-in products; nothing is multiplied)."""
    H = P.shape[0]
    for _ in range(rows):
        for o in range(256):
            L[o] = 0.0
        for j in range(H):
            for o in range(256):
                L[o] += np.float64(P[j, o])


def cpu_seconds(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_cli_cpu(args, env=None) -> tuple[float, float]:
    """(wall, CPU) seconds of `python -m satrnn ARGS` (CPU: user + system of the child, all its threads)."""
    t0, c0 = time.perf_counter(), _children_cpu()
    r = subprocess.run([sys.executable, "-m", "satrnn", *args], capture_output=True, text=True, env=env,
                       cwd=RUN_DIR)
    if r.returncode != 0:
        raise SystemExit(f"satrnn {' '.join(args)} failed: {r.stderr.strip()[-400:]}")
    return time.perf_counter() - t0, _children_cpu() - c0


def run_cli(args, env=None) -> float:
    return run_cli_cpu(args, env)[0]


def baseline_env(commit: str, workdir: Path) -> dict:
    """An environment whose `python -m satrnn.analyses` runs `commit` (a detached worktree, the layers mapped
    under a `satrnn` shim package as setuptools' package-dir does), with its own numba cache."""
    wt = workdir / "baseline"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(wt), commit], check=True,
                   capture_output=True)
    shim = workdir / "shim" / "satrnn"
    shim.mkdir(parents=True)
    for f in (wt / "satrnn").iterdir():          # modules, and the app's subpackages where the commit has them
        if f.name != "__pycache__" and (f.suffix == ".py" or f.is_dir()):
            (shim / f.name).symlink_to(f)
    for layer in ("rnn", "automaton", "analyses"):
        (shim / layer).symlink_to(wt / layer)
    return dict(os.environ, PYTHONPATH=str(shim.parent), NUMBA_CACHE_DIR=str(workdir / "numba"))


def states_and_eval(a, model, model_path: Path, td: Path) -> None:
    """Parts 1 and 2 (module docstring), on a generated text of a.kb KB in td."""
    text = td / "text.bin"
    make_text(text, a.kb * 1024)
    xs = np.fromfile(text, dtype=np.uint8)

    # 1. states
    W = fw.Weights.of(model)
    H = model.H
    hs = np.empty((fw.chunk_bytes(H), H), np.float32)
    zs = np.empty((0, H), np.float32)

    def old_states():
        h, z = np.zeros(H, np.float32), np.empty(H, np.float32)
        for s in range(0, xs.shape[0], hs.shape[0]):
            _libm_states_chunk(W.WxT, W.WhT, W.bh, xs[s:s + hs.shape[0]], h, z, hs)
        return h

    def new_states():
        h, z = np.zeros(H, np.float32), np.empty(H, np.float32)
        for s in range(0, xs.shape[0], hs.shape[0]):
            fw._states_chunk(W.WxT, W.WhT, W.bh, xs[s:s + hs.shape[0]], h, z, hs, zs, W.sem)
        return h

    old_states(), new_states()                          # compile
    best = {}
    for name, fn in (("libm", old_states), ("own", new_states)):
        best[name] = min(cpu_seconds(fn)[0] for _ in range(3))
    kbs = {k: a.kb * 1.024 / v for k, v in best.items()}
    print(f"states on {a.kb} KB (one core): own tanh {kbs['own']:.0f} KB/s, host tanhf {kbs['libm']:.0f} KB/s: "
          f"{best['libm'] / best['own']:.2f}x")

    # 2. eval against the naive C forward
    exe = td / "naive_forward"
    subprocess.run(["cc", "-O2", "-o", str(exe), str(REPO / "benchmarks" / "naive_forward.c"), "-lm"], check=True)
    out = subprocess.run([str(exe), str(model_path), str(text)], capture_output=True, text=True, check=True).stdout
    c_bpc, c_sec = float(out.split()[1]), float(out.split()[3])
    fw.evaluate(model, xs[:4096])                       # compile; then the best of 3
    wall, cpu, r = min((cpu_seconds(lambda: fw.evaluate(model, xs)) for _ in range(3)), key=lambda o: o[0])
    cli = run_cli(["eval", str(model_path), str(text), "--json"])
    print(f"eval on {a.kb} KB: naive C {c_sec:.2f} s (bpc {c_bpc:.12f}); satrnn evaluate {wall:.3f} s wall, "
          f"{cpu:.3f} s CPU (bpc {r.bpc:.12f}): {c_sec / wall:.1f}x the naive C forward; `satrnn eval` "
          f"command {cli:.2f} s with start-up ({c_sec / cli:.1f}x)")

    # the readout's floor on this CPU: widening + adding alone
    P = np.asarray(model.Wy.T, dtype=np.float32, order="C")
    L = np.empty(256)
    _widen_add_floor(P, L, 10)
    rows = 20000
    t_floor = min(cpu_seconds(lambda: _widen_add_floor(P, L, rows))[1] for _ in range(3)) / rows
    costs = np.empty(rows)
    V = np.ascontiguousarray(np.tanh(np.random.default_rng(1).standard_normal((rows, H))).astype(np.float32))
    numba.set_num_threads(1)
    fw._readout(W.WyT, W.by, V[:10], xs[:10], True, costs, np.empty((0, 256)))
    t_ro = min(cpu_seconds(lambda: fw._readout(W.WyT, W.by, V, xs[:rows], True, costs,
                                               np.empty((0, 256))))[1] for _ in range(3)) / rows
    t_st = best["own"] / xs.shape[0]
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    ncpu = min(2, os.cpu_count() or 1)
    print(f"per prediction (CPU, one core): recurrence {1e6 * t_st:.2f} us, readout {1e6 * t_ro:.2f} us, of which "
          f"the widen+add floor {1e6 * t_floor:.2f} us; floor of a {ncpu}-core eval "
          f"{(t_st + t_floor) / ncpu * 1e6:.2f} us/byte = {c_sec / xs.shape[0] / ((t_st + t_floor) / ncpu):.1f}x "
          f"the naive C forward; achieved {c_sec / wall:.1f}x")



# Times the streamed states and evaluate of whichever satrnn the interpreter imports (this tree, or a baseline
# commit through baseline_env), interleaved by the caller: "states_s eval_s bpc" on stdout, best of 3 each.
_TIMING = """
import sys, time
import numpy as np
from satrnn.rnn import forward as fw
from satrnn.rnn.model import load_model
m = load_model(sys.argv[1]); xs = np.fromfile(sys.argv[2], dtype=np.uint8)
for _ in fw.iter_states(m, xs[:4096]): pass
fw.evaluate(m, xs[:4096])
def best(fn):
    out = []
    for _ in range(3):
        t0 = time.perf_counter(); r = fn(); out.append((time.perf_counter() - t0, r))
    return min(out, key=lambda o: o[0])
def states():
    for _ in fw.iter_states(m, xs): pass
st, _ = best(states)
ev, r = best(lambda: fw.evaluate(m, xs))
print(st, ev, repr(r.bpc))
"""


def timed_states_eval(model_path: Path, text: Path, env=None) -> tuple[float, float, float]:
    """(states s, evaluate s, bpc) of `_TIMING` run by the satrnn that `env` selects (None: this tree)."""
    r = subprocess.run([sys.executable, "-c", _TIMING, str(model_path), str(text)], capture_output=True, text=True,
                       env=env, cwd=RUN_DIR)
    if r.returncode:
        raise SystemExit(r.stderr[-400:])
    st, ev, bpc = r.stdout.split()[-3:]
    return float(st), float(ev), float(bpc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kb", type=int, default=256)
    ap.add_argument("--margins-kb", type=int, default=64)
    ap.add_argument("--baseline", default="ce21a50")
    ap.add_argument("--eval-mb", type=float, default=0)
    ap.add_argument("--margins-repeats", type=int, default=2)
    ap.add_argument("--skip-eval", action="store_true", help="only the margins comparison")
    a = ap.parse_args()
    model_path = DATA / "sat_model.bin"
    model = load_model(model_path)
    print(f"load average {os.getloadavg()[0]:.2f}; numba threads {numba.get_num_threads()}")
    global RUN_DIR
    with tempfile.TemporaryDirectory() as td:
        td = Path(td)
        RUN_DIR = str(td)

        if not a.skip_eval:
            states_and_eval(a, model, model_path, td)
            if a.baseline:      # the baseline commit's own streamed states and evaluate, interleaved with ours
                text = td / "text.bin"
                env = baseline_env(a.baseline, td / "states")
                try:
                    new_runs, old_runs = [], []
                    for _ in range(2):
                        new_runs.append(timed_states_eval(model_path, text))
                        old_runs.append(timed_states_eval(model_path, text, env))
                    ns, ne = min(r[0] for r in new_runs), min(r[1] for r in new_runs)
                    os_, oe = min(r[0] for r in old_runs), min(r[1] for r in old_runs)
                    print(f"against {a.baseline} itself on {a.kb} KB (iter_states on 1 thread, evaluate on "
                          f"{numba.get_num_threads()}): states {a.kb * 1.024 / ns:.0f} vs {a.kb * 1.024 / os_:.0f} "
                          f"KB/s: {os_ / ns:.2f}x; evaluate {ne:.3f} s vs {oe:.3f} s: {oe / ne:.2f}x "
                          f"(bpc {new_runs[0][2]!r} vs {old_runs[0][2]!r})")
                finally:
                    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                                    str(td / "states" / "baseline")], capture_output=True)

        # 3. margins, against the baseline commit
        mtext = td / "mtext.bin"
        make_text(mtext, a.margins_kb * 1024, seed=1)
        margins_args = ["margins", str(model_path), str(mtext), "--json"]
        run_cli(margins_args)                                                    # compile
        if not a.baseline:
            t_new, c_new = min(run_cli_cpu(margins_args) for _ in range(2))
            line = f"margins on {a.margins_kb} KB: {a.margins_kb * 1.024 / t_new:.0f} KB/s wall ({c_new:.1f} s CPU)"
        if a.baseline:
            env = baseline_env(a.baseline, td)
            try:
                run_cli_cpu(margins_args, env)                                   # compile
                new_runs, old_runs = [], []
                for _ in range(a.margins_repeats):   # interleaved, so that a load change hits both alike
                    new_runs.append(run_cli_cpu(margins_args))
                    old_runs.append(run_cli_cpu(margins_args, env))
                (t_new, c_new), (t_old, c_old) = min(new_runs), min(old_runs)
                line = (f"margins on {a.margins_kb} KB (best of {a.margins_repeats}, interleaved): "
                        f"{a.margins_kb * 1.024 / t_new:.0f} KB/s wall ({c_new:.1f} s CPU); {a.baseline}: "
                        f"{a.margins_kb * 1.024 / t_old:.0f} KB/s wall ({c_old:.1f} s CPU): "
                        f"{t_old / t_new:.2f}x wall, {c_old / c_new:.2f}x CPU")
            finally:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(td / "baseline")],
                               capture_output=True)
        print(line + " (with start-up)")

        if a.eval_mb:
            big = td / "big.bin"
            make_text(big, int(a.eval_mb * 1024 * 1024), seed=2)
            t = run_cli(["eval", str(model_path), str(big), "--max-bytes", str(big.stat().st_size), "--json"])
            print(f"satrnn eval on {a.eval_mb:g} MB: {t:.0f} s ({a.eval_mb * 1.048576 / t:.2f} MB/s)")


if __name__ == "__main__":
    main()
