"""`satrnn sweep` on Dask: the speed-up of 2 worker processes over 1, and the cost of a task and a commit.

Usage: python benchmarks/bench_sweep.py MODEL [--input X ...] [--starts N] [--budget STEPS] [--seed S]
                                        [--chunk JOBS] [--overhead-tasks N]

1. Scaling: the same cycle sweep (inputs x starts jobs) on a LocalCluster of 1 worker process and of 2, each
   warmed first (numba kernels loaded and the automaton built in every worker), each into a fresh store.
   The ratio is 1-worker wall time / 2-worker wall time; results are checked to be identical.
2. Overhead per task: N tasks of one 1-step job each on the 2-worker cluster (the job itself costs
   microseconds), so wall time / N is what Dask and the store cost per task: submit, schedule, run, return,
   commit. Also the commit alone (one transaction of a chunk's rows) timed on its own.
Machines are noisy (and shared): only ratios within one run mean anything; `uptime` is printed, and so is
the 2-thread speed-up of pure arithmetic measured around the timed sweeps (bench_cycles.spin_speedup: how many
cores were actually free), so the sweep's speed-up can be read against what the machine allowed.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench_cycles import spin_speedup
from satrnn.rnn.model import load_model
from satrnn.rnn.text import parse_byte
from satrnn.sweeps import sweep as sw
from satrnn.sweeps.store import SweepStore


def _warm(client, model, spec):
    """One tiny job of this model on every worker: kernels loaded from the numba cache, automaton built."""
    tiny = sw.SweepSpec(kind=spec.kind, model_digest=spec.model_digest, H=spec.H, semantics=spec.semantics,
                        inputs=spec.inputs[:1], starts=1, seed=spec.seed, budget=1000)
    chunk = sw.Chunk("cycles", tiny.model_digest, tiny.H, tiny.semantics, tiny.seed, tiny.budget,
                     tuple(tiny.jobs()))
    data = sw.to_flat(model).tobytes()
    workers = list(client.scheduler_info()["workers"])
    client.gather([client.submit(sw.run_chunk, chunk, data, workers=[w], pure=False) for w in workers])


def timed_sweep(model, spec, n_workers, chunk, tmp):
    client, cluster = sw.open_client(None, n_workers)
    try:
        _warm(client, model, spec)
        db = Path(tmp) / f"w{n_workers}.sqlite"
        with SweepStore(db) as store:
            t0 = time.perf_counter()
            out = sw.run_sweep(spec, model, store, client, chunk_size=chunk)
            wall = time.perf_counter() - t0
            rows = [(r.key, r.status, r.transient, r.period, r.rep, r.steps) for r in store.rows("cycles")]
        return wall, out, rows
    finally:
        sw.close_client(client, cluster)


def _noop(i):
    return i


def overhead(model, spec0, n_tasks, tmp):
    spec = sw.SweepSpec(kind="cycles", model_digest=spec0.model_digest, H=spec0.H, semantics=spec0.semantics,
                        inputs=spec0.inputs[:1], starts=n_tasks, seed=spec0.seed + 1, budget=1)
    client, cluster = sw.open_client(None, 2)
    try:
        _warm(client, model, spec0)
        client.gather(client.map(_noop, range(50), pure=False))
        t0 = time.perf_counter()
        client.gather(client.map(_noop, range(n_tasks), pure=False))
        dask_alone = (time.perf_counter() - t0) / n_tasks
        with SweepStore(Path(tmp) / "overhead.sqlite") as store:
            t0 = time.perf_counter()
            out = sw.run_sweep(spec, model, store, client, chunk_size=1)
            wall = time.perf_counter() - t0
            rows = store.rows("cycles")
        # the commit alone: the same rows written again as fresh keys, one transaction per 1 and per 100 rows
        with SweepStore(Path(tmp) / "commit.sqlite") as s2:
            t0 = time.perf_counter()
            for r in rows:
                s2.write_rows("cycles", [r])
            commit1 = (time.perf_counter() - t0) / len(rows)
        with SweepStore(Path(tmp) / "commit100.sqlite") as s3:
            t0 = time.perf_counter()
            for k in range(0, len(rows), 100):
                s3.write_rows("cycles", rows[k:k + 100])
            commit100 = (time.perf_counter() - t0) / len(rows)
        return wall, out, commit1, commit100, dask_alone
    finally:
        sw.close_client(client, cluster)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--input", action="append", default=None)
    ap.add_argument("--starts", type=int, default=24)
    ap.add_argument("--budget", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--semantics", default="exact")
    ap.add_argument("--chunk", type=int, default=2)
    ap.add_argument("--overhead-tasks", type=int, default=400)
    args = ap.parse_args()
    model = load_model(args.model)
    inputs = [parse_byte(x) for x in (args.input or ["65", "101", "116"])]
    spec = sw.SweepSpec(kind="cycles", model_digest=sw.model_digest(model), H=model.H, semantics=args.semantics,
                        inputs=tuple(bytes([x]).hex() for x in inputs), starts=args.starts, seed=args.seed,
                        budget=args.budget)
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"sweep: {spec.n_jobs} jobs ({len(inputs)} inputs x {args.starts} starts), budget {args.budget:,}, "
          f"chunk {args.chunk} jobs/task, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        free0 = spin_speedup()
        w1, o1, r1 = timed_sweep(model, spec, 1, args.chunk, tmp)
        steps = sum(r[-1] or 0 for r in r1)
        print(f"1 worker : {w1:7.2f} s  {steps / w1:,.0f} steps/s  ({o1.chunks} tasks)")
        w2, o2, r2 = timed_sweep(model, spec, 2, args.chunk, tmp)
        print(f"2 workers: {w2:7.2f} s  {steps / w2:,.0f} steps/s")
        assert r1 == r2, "results differ between 1 and 2 workers"
        free1 = spin_speedup()
        print(f"speed-up 2 vs 1 workers: {w1 / w2:.2f}x (results identical: {len(r1)} rows)")
        print(f"cores free (2-thread arithmetic speed-up) before / after: {free0:.2f} / {free1:.2f}; sweep speed-up "
              f"/ mean of those: {(w1 / w2) / ((free0 + free1) / 2):.2f}")
        print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
        wall, out, c1, c100, dask_alone = overhead(model, spec, args.overhead_tasks, tmp)
        print(f"dask alone: {args.overhead_tasks} no-op tasks (all submitted at once) on 2 workers: "
              f"{1e3 * dask_alone:.2f} ms per task")
        print(f"overhead: {out.chunks} one-job tasks on 2 workers in {wall:.2f} s: {1e3 * wall / out.chunks:.2f} ms "
              f"per task wall ({2e3 * wall / out.chunks:.2f} ms of worker time per task, job compute "
              f"{1e3 * out.job_seconds / out.chunks:.3f} ms)")
        print(f"commit alone: {1e3 * c1:.2f} ms per 1-row transaction, {1e3 * c100:.3f} ms per row in 100-row "
              f"transactions")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
