"""The float32 forward over a long text in fixed-size chunks: O(chunk x H) memory, identical bits.

`state_chunks(model, xs)` yields (t0, hs, zs) with hs[k] = h_{t0+k}, the state after reading x_{t0+k}
(h_{-1} = 0), carrying the state across chunks; the step is the same kernel as `forward.run_states`, so the
concatenated chunks equal the whole-text run exactly. Between chunks Python regains control, so Ctrl-C
is honoured within one chunk's time (CHUNK bytes, well under a second for H = 128).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forward import as_bytes, iter_states, run_states
from .model import ElmanRNN

CHUNK = 2048   # about 0.05 s of forward + readout per chunk on a quiet machine (H = 128): Ctrl-C stays prompt


def state_chunks(model: ElmanRNN, xs, chunk: int | None = None, stop: int | None = None, precision: str = "f32",
                 progress=None):
    """Yield (t0, hs, zs) for t0 = 0, chunk, 2 chunk, ... over xs[:stop] (default all of xs; chunk
    default CHUNK, read at call time so tests can shrink it). `progress(done)`, if given, is called with
    the number of bytes processed after each chunk has been consumed."""
    chunk = CHUNK if chunk is None else int(chunk)
    xs = as_bytes(xs)
    n = xs.shape[0] if stop is None else min(int(stop), xs.shape[0])
    h = None
    for t0 in range(0, n, chunk):
        hs, zs = run_states(model, xs[t0:min(n, t0 + chunk)], precision, h)
        h = hs[-1]
        yield t0, hs, zs
        if progress is not None:
            progress(t0 + hs.shape[0])


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


class SequentialSum:
    """A float64 sum accumulated strictly in index order across chunks (np.cumsum is sequential), so
    chunked results equal one left-to-right loop bit for bit; `add` takes (m,) or (m, k) (per column)."""

    def __init__(self, shape=()):
        self.value = np.zeros(shape, dtype=np.float64)

    def add(self, a) -> None:
        a = np.asarray(a, dtype=np.float64)
        if a.shape[0] == 0:
            return
        self.value = np.cumsum(np.concatenate([self.value[None], a]), axis=0)[-1]
