"""satrnn: exact simulator and analysis toolkit for a trained character-level Elman RNN.

The installed distribution exposes one import name, ``satrnn``, with four floors that depend one way only:
``satrnn.rnn`` (model I/O, reference forward, gradients, training) <- ``satrnn.automaton`` (Universal Model,
bitsets, sign-automaton kernels) <- ``satrnn.analyses`` (the papers' questions) <- the application in this
package (the API, the CLI and its commands, the report, the claims ledger, the explorer, sweeps). In the
repository the three lower floors live in the top-level folders ``rnn/``, ``automaton/`` and ``analyses/``.

The public Python API (documented in ``satrnn.api``; imported on first use, so ``import satrnn`` stays cheap)::

    import satrnn
    model = satrnn.load_model("sat_model.bin")          # or: model, text = satrnn.default_model()
    text = satrnn.load_text("enwik_1024.txt")
    satrnn.forward(model, text).bpc                     # Forward: states, preactivations, log_probs, logits, bpc
    A = satrnn.SignAutomaton(model, semantics="exact", pin={8: +1})
    satrnn.check_isomorphism(model, text).isomorphic    # IsoVerdict
    satrnn.find_cycles(model, inputs=[0x20], starts=2, budget=10**6, seed=0).cycles   # CycleRecords
    satrnn.flip_cascades(model, text), satrnn.derrida(model, text), satrnn.knockout(model, text)
    satrnn.coflip_graph(model, text)                    # networkx.Graph
    satrnn.verify(model, text)                          # LedgerRecords
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("satrnn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
    __version__ = "0+unknown"

# The API's names, resolved from satrnn.api on first access (PEP 562): the CLI does not pay for them.
__all__ = ["ElmanRNN", "SatrnnInputError", "load_model", "save_model", "load_text", "default_model", "forward",
           "Forward", "SignAutomaton", "check_isomorphism", "IsoVerdict", "find_cycles", "flip_cascades",
           "CascadeSummary", "derrida", "DerridaCurve", "knockout", "Knockout", "coflip_graph", "verify",
           "LedgerRecord", "landscape", "estimate_landscape", "__version__"]


def __getattr__(name: str):
    if name in __all__:
        from satrnn import api
        return getattr(api, name)
    raise AttributeError(f"module 'satrnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
