"""The shared cache of computed analyses for one (model, text): `Results`.

The report's sections, the ledger's measurements, the explorer and the claims a command shows all read their
analyses from one `Results`: each analysis (`satrnn.unit.Analysis`) is computed once per set of parameters,
by its unit's `compute(results, **params)` (the options the report, the ledger and the explorer share), and
kept. The passes every analysis builds on (the float32 forward, with log-probabilities, unclamped and in
float64, the readout cache of the knockouts, the sign automata) are cached the same way.

Thread-safe: the report computes some sections on a background thread; a second caller of a key that is
being computed waits for the first and gets the same object. A computation that raises is not cached: the
exception reaches its caller (a failure, never "not measurable"), and the next caller computes again.
"""
from __future__ import annotations

import inspect
import threading
from collections.abc import Callable

import numpy as np

from satrnn.rnn.model import ElmanRNN
from satrnn.unit import Analysis


class Results:
    """The analyses of one model and text, computed on first use and kept (module docstring).

    model: the `ElmanRNN` (under its --tanh); xs: the text as (n,) uint8. `source_args`: how commands that
    the report prints name the model and text (() for the default model)."""

    def __init__(self, model: ElmanRNN | None, xs):
        self.model = model
        self.xs = np.ascontiguousarray(xs, dtype=np.uint8)
        self.source_args: tuple = ("MODEL", "TEXT")
        self._memo: dict = {}
        self._lock = threading.Lock()
        self._key_locks: dict = {}

    @property
    def H(self) -> int:
        return self.model.H

    # ---- the cache --------------------------------------------------------------------------------------

    def memo(self, key, build: Callable):
        """build(), computed once per key. A second caller of a key waits for the first."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self._memo:
                value = build()
                with self._lock:
                    self._memo[key] = value
            return self._memo[key]

    @staticmethod
    def _key(unit: Analysis, params: dict):
        """(name, parameters with the compute function's defaults filled in): get(Q2) and
        get(Q2, variant="paper") are the same result."""
        try:
            bound = inspect.signature(unit.compute).bind(None, **params)
        except TypeError as e:
            raise TypeError(f"{unit.name}: {e}") from None
        bound.apply_defaults()
        args = dict(list(bound.arguments.items())[1:])
        return (unit.name, tuple(sorted(args.items())))

    def get(self, unit: Analysis, **params):
        """The unit's result for these parameters (`unit.compute(self, **params)`, computed once)."""
        return self.memo(self._key(unit, params), lambda: unit.compute(self, **params))

    def put(self, unit: Analysis, result, **params) -> None:
        """Keep a result a command computed itself with the unit's own options, so that what reads the cache
        (the claims the command shows) reuses it instead of computing it again."""
        if not isinstance(result, unit.result):
            raise TypeError(f"{unit.name}: expected a {unit.result.__name__}, got {type(result).__name__}")
        with self._lock:
            self._memo[self._key(unit, params)] = result

    def has(self, unit: Analysis, **params) -> bool:
        """Whether the unit's result for these parameters is already computed."""
        with self._lock:
            return self._key(unit, params) in self._memo

    # ---- the passes every analysis builds on ----------------------------------------------------------

    @property
    def fwd(self):
        """The float32 forward, clamped cost (`rnn.forward.forward`): states, pre-activations, costs, bpc."""
        from satrnn.rnn.forward import forward
        return self.memo("forward", lambda: forward(self.model, self.xs))

    @property
    def fwd_logp(self):
        """The float32 forward with the (n-1, 256) log-probabilities too (8 bytes x 256 per byte of text, so
        only for the measurements that read them)."""
        from satrnn.rnn.forward import forward
        return self.memo("forward logp", lambda: forward(self.model, self.xs, want_logp=True))

    @property
    def fwd_unclamped(self):
        """The float32 forward with the unclamped cost (q1_sparsity's convention)."""
        from satrnn.rnn.forward import forward
        return self.memo("forward unclamped", lambda: forward(self.model, self.xs, clamp=False))

    @property
    def fwd_f64(self):
        """The float64 forward (cross-check of the float32 one)."""
        from satrnn.rnn.forward import forward
        return self.memo("forward f64", lambda: forward(self.model, self.xs, precision="f64"))

    @property
    def readout_cache(self):
        """The readout of every knockout and kept subset from one trajectory (`automaton.redux.ReadoutCache`)."""
        from satrnn.automaton.redux import ReadoutCache
        return self.memo("readout cache", lambda: ReadoutCache(self.model, self.xs, forward_result=self.fwd))

    def automaton(self, semantics: str = "f32-seq"):
        """The model's sign automaton in `semantics` (`automaton.sign.SignAutomaton`), unpinned."""
        from satrnn.automaton.sign import SignAutomaton
        return self.memo(("automaton", semantics), lambda: SignAutomaton.from_model(self.model, semantics))
