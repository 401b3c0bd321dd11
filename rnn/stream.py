"""The float32 forward over a long text in fixed-size chunks: O(chunk x H) memory, identical bits.

`prediction_chunks(model, source)` yields, for the predictions t = t0..t0+m-1, the bytes read and predicted
and the states h_t and pre-activations z_t (h_{-1} = 0), carrying the state across chunks. It is
`forward.iter_states` (the one chunked forward path, the same kernel as `forward.run_states`), so the
concatenated chunks equal the whole-text run exactly, and the text may be a file read as it is consumed.
Between chunks Python regains control, so Ctrl-C is honoured within one chunk's time (CHUNK bytes, well
under a second for H = 128). `fold_chunks` feeds one stream to several analyses (folds).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from satrnn.rnn.forward import iter_states
from satrnn.rnn.model import ElmanRNN

CHUNK = 2048   # about 0.05 s of forward + readout per chunk on a quiet machine (H = 128): Ctrl-C stays prompt


@dataclass(frozen=True)
class PredictionChunk:
    """Predictions t = t0..t0+m-1 of a streamed forward pass: x (m,) the bytes read (x_t), x_next (m,) the
    bytes predicted (x_{t+1}), hs / zs (m, H) the states h_t and pre-activations z_t (views into reused
    buffers: valid until the next chunk has been consumed)."""
    t0: int
    x: np.ndarray
    x_next: np.ndarray
    hs: np.ndarray
    zs: np.ndarray


def prediction_chunks(model: ElmanRNN, source, chunk: int | None = None, progress=None):
    """The float32 forward over the predictions t = 0..n-2 of a text of n bytes, as PredictionChunks.

    `source`: a byte array or an iterable of byte arrays (`rnn.text.iter_text(path)`: the file is read as it
    is consumed, never whole). Memory is O(chunk x H) whatever n; the states equal the whole-text run
    bit for bit (one carried state, the reference kernel). Each chunk is held back until the next one has
    been computed, for its last byte to predict. `progress(done)`: predictions done, after each chunk."""
    chunk = CHUNK if chunk is None else int(chunk)
    prev = None
    for blk in iter_states(model, source, want_z=True, chunk=chunk):
        if prev is not None:
            yield PredictionChunk(prev.start, prev.xs, np.concatenate([prev.xs[1:], blk.xs[:1]]), prev.hs[1:],
                                  prev.zs)
            if progress is not None:
                progress(prev.start + prev.xs.shape[0])
        prev = blk
    if prev is not None and prev.xs.shape[0] > 1:
        m = prev.xs.shape[0] - 1
        yield PredictionChunk(prev.start, prev.xs[:m], prev.xs[1:], prev.hs[1:m + 1], prev.zs[:m])
        if progress is not None:
            progress(prev.start + m)


def fold_chunks(chunks, *folds) -> list:
    """Run several analyses over one stream of chunks: each fold is a started-on-demand generator that
    receives every chunk by `send(chunk)` and, sent None at the end, returns its result (StopIteration's
    value). One forward pass then serves them all; memory stays O(chunk). Returns the results in order."""
    out = []
    try:
        for f in folds:
            next(f)
        for c in chunks:
            for f in folds:
                f.send(c)
        for f in folds:
            try:
                f.send(None)
            except StopIteration as stop:
                out.append(stop.value)
            else:
                raise RuntimeError("a fold did not return after the last chunk")
    except BaseException:
        for f in folds:      # their `finally` blocks run now (temporary files), not at garbage collection
            f.close()
        raise
    return out
