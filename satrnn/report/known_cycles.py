"""Cycles of the default model's sign dynamics found once with a large budget, shipped as data, re-verified.

The default model's sign dynamics close cycles rarely and late (hundreds of thousands of steps), so the
report's small searches usually find few or none. `scripts/precompute_default_cycles.py` runs large seeded
searches once (every input byte; landscapes under single bytes; each equal to a `satrnn` command, printed
with it) and writes what they found, with their raw landscape counts, to
`satrnn/report/default_cycles.json`, keyed by the sha256 of the default model's float32 weights: a file made
for other weights is never used (`load_known` returns None). Nothing in it is trusted blindly: the report
re-verifies every cycle it shows (`verify_cycle`: from the cycle's smallest state, one period of steps must
return to it, not earlier, and no state on the way may be smaller), which takes milliseconds.

Units: periods and transients in Boolean steps under a constant input byte; states in the CLI's hex
(neuron 0 = lowest bit of the last digit).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from importlib import resources

import numpy as np

from satrnn.automaton import cycles as cyc
from satrnn.automaton.bitset import from_hex, to_int
from satrnn.automaton.landscape import EstimatedLandscape, LandscapeJob, merge_jobs

KIND = "satrnn-known-cycles"
DATA_FILE = "default_cycles.json"
VERSION = 1


@dataclass(frozen=True)
class KnownSearch:
    """One precomputed search: its name ("cycles": every input byte; "landscape 0xXX": the landscape under
    one byte), the `satrnn` command that repeats it exactly, and what it spent and resolved."""
    name: str
    command: str
    inputs: tuple[int, ...]
    starts: int
    seed: int
    budget: int
    semantics: str
    jobs: int
    resolved: int
    total_steps: int
    seconds: float

    @property
    def what(self) -> str:
        """The search in words: '256 inputs x 1 start (seed 0), up to 3,000,000 steps each'."""
        ins = (f"all {len(self.inputs)} input bytes" if len(self.inputs) == 256 else
               f"input 0x{self.inputs[0]:02x}" if len(self.inputs) == 1 else f"{len(self.inputs)} input bytes")
        return (f"{ins} x {self.starts} random start{'s' if self.starts != 1 else ''} (seed {self.seed}), "
                f"up to {self.budget:,} steps each")


@dataclass(frozen=True)
class KnownCycle:
    """A cycle one of the searches closed: constant input byte, period and transient (steps; the transient is
    the smallest over the starts that reached it, transient_max the largest), starts that reached it, its
    smallest state (hex: the cycle's identity) and the name of the search that found it."""
    input: int
    period: int
    transient: int
    transient_max: int
    starts: int
    smallest_state: str
    search: str


@dataclass(frozen=True)
class KnownCycles:
    """The precomputed cycles of one model (by weights sha256) under one semantics."""
    weights_sha256: str
    semantics: str
    generated_by: str
    searches: tuple[KnownSearch, ...]
    cycles: tuple[KnownCycle, ...]
    landscape_jobs: tuple[LandscapeJob, ...]

    def search(self, name: str) -> KnownSearch | None:
        return next((s for s in self.searches if s.name == name), None)

    def for_input(self, x: int) -> tuple[KnownCycle, ...]:
        return tuple(c for c in self.distinct() if c.input == int(x))

    def distinct(self) -> tuple[KnownCycle, ...]:
        """Each cycle once (by input and smallest state), merged over the searches that found it: transient
        min..max and starts over all of them, `search` naming each; by input, then most starts first."""
        merged: dict[tuple, KnownCycle] = {}
        for c in self.cycles:
            key = (c.input, c.smallest_state)
            m = merged.get(key)
            merged[key] = c if m is None else KnownCycle(
                input=c.input, period=c.period, transient=min(m.transient, c.transient),
                transient_max=max(m.transient_max, c.transient_max), starts=m.starts + c.starts,
                smallest_state=c.smallest_state, search=f"{m.search}, {c.search}")
        return tuple(sorted(merged.values(), key=lambda c: (c.input, -c.starts, c.smallest_state)))

    def landscape(self, x: int) -> EstimatedLandscape | None:
        """The precomputed landscape search under byte x as `satrnn landscape` reports it (basin fractions
        with their Clopper-Pearson intervals, entropy with its bootstrap interval), rebuilt from its raw
        counts; None if there was none under x."""
        jobs = [j for j in self.landscape_jobs if j.seq == (int(x),)]
        return merge_jobs(jobs) if jobs else None

    def landscape_search(self, x: int) -> KnownSearch | None:
        return self.search(f"landscape 0x{int(x):02x}")

    def as_dict(self) -> dict:
        return {"kind": KIND, "version": VERSION, "weights_sha256": self.weights_sha256, "semantics": self.semantics,
                "generated_by": self.generated_by, "searches": [s.__dict__ | {"inputs": list(s.inputs)}
                                                               for s in self.searches],
                "cycles": [c.__dict__ for c in self.cycles],
                "landscape_jobs": [j.as_dict() for j in self.landscape_jobs]}

    @classmethod
    def from_dict(cls, d: dict) -> KnownCycles:
        if d.get("kind") != KIND or d.get("version") != VERSION:
            raise ValueError(f"not a {KIND} v{VERSION} document")
        jobs = tuple(LandscapeJob(**{k: (tuple(tuple(p) for p in v) if k == "pins" else
                                         tuple(v) if isinstance(v, list) else v) for k, v in lj.items()})
                     for lj in d.get("landscape_jobs", ()))
        return cls(weights_sha256=d["weights_sha256"], semantics=d["semantics"], generated_by=d["generated_by"],
                   searches=tuple(KnownSearch(**(s | {"inputs": tuple(s["inputs"])})) for s in d["searches"]),
                   cycles=tuple(KnownCycle(**c) for c in d["cycles"]), landscape_jobs=jobs)


def weights_sha256(model) -> str:
    """sha256 of the float32 weights in the papers' order (the ledger's and the default model's digest)."""
    h = hashlib.sha256()
    for name in ("Wx", "Wh", "bh", "Wy", "by"):
        h.update(np.ascontiguousarray(getattr(model, name), dtype="<f4").tobytes())
    return h.hexdigest()


_cache: dict = {}


def load_known(model, semantics: str = "exact") -> KnownCycles | None:
    """The shipped precomputed cycles if they were made for exactly these weights and semantics, else None."""
    if "doc" not in _cache:
        try:
            text = resources.files("satrnn.report").joinpath(DATA_FILE).read_text(encoding="utf-8")
            _cache["doc"] = KnownCycles.from_dict(json.loads(text))
        except (OSError, ValueError, KeyError, TypeError):
            _cache["doc"] = None
    k = _cache["doc"]
    if k is None or k.semantics != semantics or k.weights_sha256 != weights_sha256(model):
        return None
    return k


@dataclass(frozen=True)
class VerifiedCycle:
    """A known cycle checked in this run: ok when the state returned after exactly `period` steps (not
    earlier) and the stored state is the smallest on the cycle; `seconds` of kernel time; `problem` says
    what failed otherwise."""
    cycle: KnownCycle
    ok: bool
    seconds: float
    problem: str = ""


def verify_cycle(automaton, cycle: KnownCycle) -> VerifiedCycle:
    """Step the automaton `period` times from the cycle's smallest state under its input (milliseconds at
    H = 128 for periods up to ~10^6) and check the cycle: first return exactly at `period`, nothing smaller."""
    t0 = time.perf_counter()
    s0 = from_hex(cycle.smallest_state, automaton.H)
    traj = cyc.trajectory(automaton, s0, np.array([cycle.input], dtype=np.uint8), cycle.period)
    back = np.nonzero((traj == s0[None, :]).all(axis=1))[0]
    dt = time.perf_counter() - t0
    if back.size == 0:
        return VerifiedCycle(cycle, False, dt, f"did not return to its state within {cycle.period:,} steps")
    if int(back[0]) + 1 != cycle.period:
        return VerifiedCycle(cycle, False, dt, f"returned after {int(back[0]) + 1:,} steps, not {cycle.period:,}")
    # the smallest state as an integer (highest word most significant: lexsort's last key is its primary key)
    smallest = int(np.lexsort(tuple(traj[:, k] for k in range(traj.shape[1])))[0])
    if to_int(traj[smallest]) < to_int(s0):
        return VerifiedCycle(cycle, False, dt, "a smaller state lies on the cycle")
    return VerifiedCycle(cycle, True, dt)


def verified_known(results) -> tuple[KnownCycles | None, list[VerifiedCycle]]:
    """(KnownCycles or None, [VerifiedCycle]) for the model of `results` (a `satrnn.cache.Results`): every
    distinct precomputed cycle checked once, kept in the shared cache (the cycle and landscape sections and
    their figures read the same check)."""
    def build():
        k = load_known(results.model, "exact")
        if k is None:
            return None, []
        return k, [verify_cycle(results.automaton("exact"), c) for c in k.distinct()]
    return results.memo("known_cycles", build)
