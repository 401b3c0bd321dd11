"""The attractor landscape of a text's dynamics, as the report shows it.

`text_landscape(model, xs)` computes the landscape of the sign dynamics under the text's most used byte:
exact when H <= SECTION_EXACT_H, else estimated from a few seeded starts, with its average sensitivity and
the `satrnn landscape` command that reproduces it. The renderer is `satrnn.report.render_landscape`.
"""
from __future__ import annotations

import shlex

import numpy as np

from satrnn.automaton import landscape as ls
from satrnn.automaton.sign import SignAutomaton

SECTION_STARTS = 32
SECTION_BUDGET = 250_000
SECTION_EXACT_H = 16


def text_landscape(model, xs, *, semantics: str = "exact", starts: int = SECTION_STARTS,
                   budget: int = SECTION_BUDGET, seed: int = 0, sensitivity_samples: int = 256,
                   model_arg: str | None = "MODEL"):
    """(result, sensitivity, dict): the landscape under the most used byte of xs; exact for
    H <= SECTION_EXACT_H, else estimated from `starts` seeded starts with `budget` steps each (a few seconds
    on the published weights; unresolved starts are reported). dict: the result's as_dict() plus `input`,
    `sensitivity` and the equivalent `command`, naming the model as `model_arg` (a path; None = the default
    model, which `satrnn landscape` uses when given no MODEL)."""
    x = int(np.bincount(np.asarray(xs, dtype=np.uint8), minlength=256).argmax())
    where = "" if model_arg is None else " " + shlex.quote(str(model_arg))
    A = SignAutomaton.from_model(model, semantics)
    if model.H <= SECTION_EXACT_H:
        result = ls.landscape(A, x)
        sens = ls.landscape_sensitivity(result)
        cmd = f"satrnn landscape{where} --input 0x{x:02x} --exhaustive --semantics {semantics}"
    else:
        result = ls.estimate_landscape(A, x, starts=starts, budget=budget, seed=seed, bootstrap_resamples=2000)
        sens = ls.estimate_sensitivity(A, x, sensitivity_samples, seed)
        cmd = (f"satrnn landscape{where} --input 0x{x:02x} --starts {starts} --budget {budget} --seed {seed} "
               f"--semantics {semantics}")
    data = result.as_dict() | {"input": x, "sensitivity": sens.as_dict(), "command": cmd}
    return result, sens, data
