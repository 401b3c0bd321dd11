"""A cycle survey of the sign automaton: Brent's search from seeded random starts under the bytes a text
uses most, sized to close the cycles that exist, with typed results.

The survey is `satrnn cycles` with fixed options (`CycleSurvey.command()` prints them): the same inputs,
starts, seed, budget and semantics give the same cycles, for any thread count. Its size is fixed in steps,
not seconds, so that a seed always gives the same result; the defaults (16 inputs x 2 starts x 10^6 steps,
at most 3.2e7 steps) take a few seconds of kernel time on one core. On the published weights they close
about 20 cycles (input 0x20 reaches its period-19,168 cycle within ~35,000 steps).

Timing is kernel time only: the kernels are loaded (compiled or read from numba's cache) by a one-step
warm-up search before the clock starts.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

import numpy as np

from satrnn.automaton import cycles as cyc
from satrnn.automaton.sign import SignAutomaton
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.record import Record

DEFAULT_INPUTS = 16
DEFAULT_STARTS = 2
DEFAULT_SEED = 0
DEFAULT_BUDGET = 500_000
DEFAULT_SEMANTICS = "exact"


@dataclass(frozen=True)
class CycleRecord(Record):
    """One distinct cycle: constant input byte, period (steps), transient (steps from the start to the
    cycle; min and max over the starts that reached it), starts that reached it, and the smallest state on
    the cycle (hex, the cycle's identity)."""
    input: int
    period: int
    transient: int
    transient_max: int
    starts: int
    smallest_state: str


@dataclass(frozen=True)
class CycleSurvey(Record):
    """Result of `survey`. jobs = inputs x starts searches; resolved = jobs that closed a cycle within
    `budget` steps; total_steps = Boolean steps simulated; kernel_seconds excludes compilation. Its JSON
    document also holds resolved_fraction, steps_per_second and periods."""

    JSON_PROPERTIES = ("resolved_fraction", "steps_per_second", "periods")

    inputs: tuple[int, ...]
    starts: int
    seed: int
    budget: int
    semantics: str
    jobs: int
    resolved: int
    cycles: tuple[CycleRecord, ...]
    total_steps: int
    kernel_seconds: float
    fallbacks: int

    @property
    def resolved_fraction(self) -> float:
        return self.resolved / self.jobs if self.jobs else 0.0

    @property
    def steps_per_second(self) -> float | None:
        return self.total_steps / self.kernel_seconds if self.kernel_seconds > 0 else None

    @property
    def periods(self) -> list[int]:
        return sorted({c.period for c in self.cycles})

    def command(self, model: str | None = None, text: str | None = None) -> str:
        """The `satrnn cycles` command that gives the same result (no MODEL/TEXT: the default model)."""
        parts = ["satrnn", "cycles"] + [shlex.quote(str(p)) for p in (model, text) if p is not None]
        if sorted(self.inputs) == list(range(256)):
            parts += ["--input", "all"]
        else:
            for x in self.inputs:
                parts += ["--input", f"0x{x:02x}"]
        parts += ["--starts", str(self.starts), "--seed", str(self.seed), "--budget", str(self.budget),
                  "--semantics", self.semantics]
        return " ".join(parts)

    def summary(self) -> cyc.CycleSummary:
        """This survey in the form of `automaton.cycles.summarize` (cycles labelled by input byte, basin
        fraction = share of the starts under that input), as `render.cycles` draws it for `satrnn cycles`."""
        unresolved = self.jobs - self.resolved
        return cyc.CycleSummary(
            jobs=self.jobs, distinct_cycles=len(self.cycles), unresolved=unresolved,
            fraction_unresolved=unresolved / self.jobs if self.jobs else 0.0, budget_steps=self.budget,
            total_steps=self.total_steps, seconds=self.kernel_seconds, steps_per_second=self.steps_per_second,
            fallbacks=self.fallbacks, periods=self.periods,
            cycles=tuple(cyc.SearchCycle(input_index=self.inputs.index(c.input), input=c.input, rep=c.smallest_state,
                                         period=c.period, starts=c.starts, basin_fraction=c.starts / self.starts,
                                         transient_min=c.transient, transient_max=c.transient_max)
                         for c in self.cycles))


def most_used_bytes(xs, k: int) -> list[int]:
    """The k bytes that occur most often in xs (ties: smaller byte first); fewer if xs has fewer."""
    counts = np.bincount(np.asarray(xs, dtype=np.uint8), minlength=256)
    order = np.argsort(-counts, kind="stable")
    return [int(b) for b in order[:k] if counts[b] > 0]


def survey(model, inputs, starts: int = DEFAULT_STARTS, budget: int = DEFAULT_BUDGET, seed: int = DEFAULT_SEED,
           semantics: str = DEFAULT_SEMANTICS, automaton: SignAutomaton | None = None,
           on_batch=None) -> CycleSurvey:
    """Brent's search for every (random start, constant input) pair: `starts` states drawn from
    numpy's default_rng(seed), each under each input byte, `budget` steps per search.
    on_batch(done_jobs, total_jobs, steps) reports progress."""
    inputs = [int(x) for x in inputs]
    if not inputs or any(not 0 <= x <= 255 for x in inputs):
        raise SatrnnInputError("cycle survey inputs must be one or more bytes in 0..255")
    if starts < 1:
        raise SatrnnInputError(f"cycle survey needs at least one start, got {starts}")
    a = automaton if automaton is not None else SignAutomaton.from_model(model, semantics)
    st = cyc.random_starts(a.H, starts, seed)
    seqs = np.array(inputs, dtype=np.uint8).reshape(-1, 1)
    cyc.find_cycles(a, st[:1], seqs[:1], 1)  # load the kernels before timing (kernel time only)
    search = cyc.find_cycles(a, st, seqs, budget, on_batch=on_batch,
                             batch=None if on_batch is None else max(1, len(inputs)))
    sm = cyc.summarize(search)
    cycles = tuple(CycleRecord(input=inputs[c.input_index], period=c.period, transient=c.transient_min,
                               transient_max=c.transient_max, starts=c.starts, smallest_state=c.rep)
                   for c in sm.cycles)
    return CycleSurvey(inputs=tuple(inputs), starts=int(starts), seed=int(seed), budget=int(budget),
                       semantics=semantics, jobs=sm.jobs, resolved=sm.jobs - sm.unresolved, cycles=cycles,
                       total_steps=sm.total_steps, kernel_seconds=float(search.seconds), fallbacks=sm.fallbacks)
