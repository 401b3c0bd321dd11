"""rnn: model I/O, the float32 reference forward, readout, gradients and training.

The lowest layer of satrnn; it imports nothing from `automaton` or `analyses`.
"""
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import ElmanRNN, load_model

__all__ = ["ElmanRNN", "SatrnnInputError", "load_model"]
