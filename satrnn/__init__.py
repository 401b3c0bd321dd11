"""satrnn: exact simulator and analysis toolkit for a trained character-level Elman RNN.

The installed distribution exposes one import name, ``satrnn``, with three layers that depend one way only:
``satrnn.rnn`` (model I/O, reference forward, gradients, training) <- ``satrnn.automaton`` (Universal Model,
bitsets, sign-automaton kernels) <- ``satrnn.analyses`` (the papers' questions, claims ledger, report, CLI).
In the repository the layers live in the top-level folders ``rnn/``, ``automaton/`` and ``analyses/``.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("satrnn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
    __version__ = "0+unknown"
