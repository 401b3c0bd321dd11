"""The attractor landscape of a text's dynamics, as the report shows it.

`text_landscape(model, xs)` computes the landscape of the sign dynamics under the text's most used byte:
exact when H <= SECTION_EXACT_H, else estimated from a few seeded starts, with its average sensitivity and
the `satrnn landscape` command that reproduces it. The renderer is `satrnn.report.render_landscape`.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

import numpy as np

from satrnn.automaton import landscape as ls
from satrnn.automaton.sign import SignAutomaton
from satrnn.rnn.record import Record

SECTION_STARTS = 32
SECTION_BUDGET = 250_000
SECTION_EXACT_H = 16


@dataclass(frozen=True)
class TextLandscape(Record):
    """The landscape under a text's most used byte `input`: the exact or estimated landscape (`result`), its
    average sensitivity, and the equivalent `satrnn landscape` command (naming the model by its path, none for
    the default model).
    Its JSON document is the landscape's, with `input`, `sensitivity` and `command` added."""
    result: ls.ExactLandscape | ls.EstimatedLandscape
    sensitivity: ls.Sensitivity
    input: int
    command: str

    def as_dict(self) -> dict:
        return self.result.as_dict() | {"input": self.input, "sensitivity": self.sensitivity.as_dict(),
                                        "command": self.command}


def text_landscape(model, xs, *, semantics: str = "exact", starts: int = SECTION_STARTS,
                   budget: int = SECTION_BUDGET, seed: int = 0, sensitivity_samples: int = 256,
                   automaton: SignAutomaton | None = None, model_arg: str | None = "MODEL") -> TextLandscape:
    """The landscape under the most used byte of xs: exact for H <= SECTION_EXACT_H, else estimated from
    `starts` seeded starts with `budget` steps each (a few seconds on the published weights; unresolved
    starts are reported). `automaton`: the model's unpinned automaton in `semantics`, if already built.
    The equivalent command names the model as `model_arg` (a path; None = the default model, which
    `satrnn landscape` uses when given no MODEL)."""
    x = int(np.bincount(np.asarray(xs, dtype=np.uint8), minlength=256).argmax())
    where = "" if model_arg is None else " " + shlex.quote(str(model_arg))
    A = automaton if automaton is not None else SignAutomaton.from_model(model, semantics)
    if model.H <= SECTION_EXACT_H:
        result = ls.landscape(A, x)
        sens = ls.landscape_sensitivity(result)
        cmd = f"satrnn landscape{where} --input 0x{x:02x} --exhaustive --semantics {semantics}"
    else:
        result = ls.estimate_landscape(A, x, starts=starts, budget=budget, seed=seed, bootstrap_resamples=2000)
        sens = ls.estimate_sensitivity(A, x, sensitivity_samples, seed)
        cmd = (f"satrnn landscape{where} --input 0x{x:02x} --starts {starts} --budget {budget} --seed {seed} "
               f"--semantics {semantics}")
    return TextLandscape(result=result, sensitivity=sens, input=x, command=cmd)
