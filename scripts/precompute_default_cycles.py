"""Precompute the default model's cycles with a large budget: satrnn/report/default_cycles.json.

Usage: python scripts/precompute_default_cycles.py [--starts 1 --budget 10000000]
       [--landscape-starts 32 --landscape-budget 10000000] [--cycle-landscape-starts 64] [--seed 0]
       [--out satrnn/report/default_cycles.json]

Seeded searches of the shipped default model's sign dynamics (exact semantics), each equal to a `satrnn`
command that the file records and the report prints:
1. "cycles": every input byte 0..255 x `--starts` random starts, Brent with `--budget` steps each
   (`satrnn cycles --input all --starts N --seed S --budget B --semantics exact`);
2. "landscape 0xXX" under the default corpus's most used byte: the report's landscape starts
   (`--landscape-starts`, the same seed: the same start states as the report's own search) continued to
   `--landscape-budget` steps each (`satrnn landscape --input X --starts N --budget B --seed S --semantics exact`);
3. "landscape 0xXX" under each other byte under which search 1 closed a cycle (at most
   `--max-cycle-landscapes`), `--cycle-landscape-starts` starts with search 1's budget: basin fractions.
The file is keyed by the sha256 of the model's weights: after the default model is retrained, run this
again (the report ignores a file made for other weights). Results do not depend on the thread count.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from satrnn.analyses.cycle_survey import survey
from satrnn.analyses.landscape import SECTION_STARTS
from satrnn.automaton.landscape import landscape_job
from satrnn.automaton.sign import SignAutomaton
from satrnn.clikit import progress, steps_callback
from satrnn.report.known_cycles import KnownCycle, KnownCycles, KnownSearch, weights_sha256
from satrnn.rnn.default import default_model_and_text

REPO = Path(__file__).resolve().parent.parent
SEMANTICS = "exact"


def _dumps(doc: dict) -> str:
    """JSON with one top-level key per line and one element per line in lists of records (reviewable diffs)."""
    lines = []
    for k, v in doc.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            body = ",\n".join("  " + json.dumps(e) for e in v)
            lines.append(f" {json.dumps(k)}: [\n{body}\n ]")
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=1, help="random starts per input byte (default 1)")
    ap.add_argument("--budget", type=int, default=10_000_000, help="steps per start and input (default 1e7)")
    ap.add_argument("--landscape-starts", type=int, default=SECTION_STARTS,
                    help=f"starts of the landscape search (default {SECTION_STARTS}, the report's)")
    ap.add_argument("--landscape-budget", type=int, default=10_000_000, help="steps per landscape start (1e7)")
    ap.add_argument("--cycle-landscape-starts", type=int, default=64,
                    help="starts of the landscape under each other input with a cycle found (default 64)")
    ap.add_argument("--max-cycle-landscapes", type=int, default=4,
                    help="at most this many such inputs (default 4, the smallest bytes)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(REPO / "satrnn" / "report" / "default_cycles.json"))
    a = ap.parse_args()
    model, xs = default_model_and_text()
    A = SignAutomaton.from_model(model, SEMANTICS)
    digest = weights_sha256(model)
    searches, cycles = [], []

    inputs = list(range(256))
    t0 = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("cycles, every input", total=len(inputs) * a.starts)
        sv = survey(model, inputs, starts=a.starts, budget=a.budget, seed=a.seed, semantics=SEMANTICS, automaton=A,
                    on_batch=steps_callback(bar, task, "cycles, every input", a.budget))
    searches.append(KnownSearch(name="cycles", command=sv.command(), inputs=tuple(inputs), starts=a.starts,
                                seed=a.seed, budget=a.budget, semantics=SEMANTICS, jobs=sv.jobs, resolved=sv.resolved,
                                total_steps=sv.total_steps, seconds=round(time.perf_counter() - t0, 1)))
    cycles += [KnownCycle(input=c.input, period=c.period, transient=c.transient, transient_max=c.transient_max,
                          starts=c.starts, smallest_state=c.smallest_state, search="cycles") for c in sv.cycles]
    print(f"cycles: {sv.resolved} of {sv.jobs} searches closed a cycle, {len(sv.cycles)} distinct, "
          f"{sv.total_steps:,} steps in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    most_used = int(np.bincount(xs, minlength=256).argmax())
    found = sorted({c.input for c in sv.cycles} - {most_used})[: a.max_cycle_landscapes]
    jobs = []
    for x, starts, budget in [(most_used, a.landscape_starts, a.landscape_budget)] + \
            [(x, a.cycle_landscape_starts, a.budget) for x in found]:
        t0 = time.perf_counter()
        label = f"landscape under 0x{x:02x}"
        with progress() as bar:
            task = bar.add_task(label, total=starts)
            job = landscape_job(A, np.array([x], dtype=np.uint8), starts=starts, budget=budget, seed=a.seed,
                                on_batch=steps_callback(bar, task, label, budget), model_digest=digest)
        job = job.__class__(**(job.__dict__ | {"seconds": round(job.seconds, 1)}))
        jobs.append(job)
        resolved = starts - job.unresolved
        cmd = f"satrnn landscape --input 0x{x:02x} --starts {starts} --budget {budget} --seed {a.seed} " \
              f"--semantics {SEMANTICS}"
        searches.append(KnownSearch(name=f"landscape 0x{x:02x}", command=cmd, inputs=(x,), starts=starts,
                                    seed=a.seed, budget=budget, semantics=SEMANTICS, jobs=starts, resolved=resolved,
                                    total_steps=job.steps, seconds=round(time.perf_counter() - t0, 1)))
        cycles += [KnownCycle(input=x, period=job.periods[k], transient=job.transient_min[k],
                              transient_max=job.transient_max[k], starts=job.counts[k], smallest_state=rep,
                              search=f"landscape 0x{x:02x}") for k, rep in enumerate(job.reps)]
        print(f"{label}: {resolved} of {starts} starts closed a cycle, {len(job.reps)} attractor(s), "
              f"{job.steps:,} steps in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    opts = [f"--starts {a.starts}", f"--budget {a.budget}", f"--landscape-starts {a.landscape_starts}",
            f"--landscape-budget {a.landscape_budget}", f"--cycle-landscape-starts {a.cycle_landscape_starts}",
            f"--max-cycle-landscapes {a.max_cycle_landscapes}", f"--seed {a.seed}"]
    generated = "python scripts/precompute_default_cycles.py " + " ".join(opts)   # every option, not --out
    known = KnownCycles(weights_sha256=digest, semantics=SEMANTICS, generated_by=generated.strip(),
                        searches=tuple(searches), cycles=tuple(cycles), landscape_jobs=tuple(jobs))
    Path(a.out).write_text(_dumps(known.as_dict()), encoding="utf-8")
    print(f"wrote {a.out}: {len(cycles)} cycle(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
