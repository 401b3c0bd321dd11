"""The float32 forward over a long text in fixed-size chunks: O(chunk x H) memory, identical bits.

`prediction_chunks(model, source)` yields, for the predictions t = t0..t0+m-1, the bytes read and predicted
and the states h_t and pre-activations z_t (h_{-1} = 0), carrying the state across chunks. It is
`forward.iter_states` (the one chunked forward path, the same kernel as `forward.run_states`), so the
concatenated chunks equal the whole-text run exactly, and the text may be a file read as it is consumed.
Between chunks Python regains control, so Ctrl-C is honoured within one chunk's time (CHUNK bytes, well
under a second for H = 128). `fold_chunks` feeds one stream to several analyses (folds).
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import numpy as np

from satrnn.rnn.cancel import cancelled_by
from satrnn.rnn.forward import iter_states
from satrnn.rnn.model import ElmanRNN

CHUNK = 2048   # about 0.05 s of forward + readout per chunk on a quiet machine (H = 128): Ctrl-C stays prompt
WIDE_ELEMENTS = 1 << 20   # neuron-steps per chunk for a consumer that pays a fixed cost per chunk (threads)


def wide_chunk(H: int) -> int:
    """Bytes per chunk for consumers with a fixed cost per chunk (parallel regions, threads handing chunks
    over, Python between kernels): WIDE_ELEMENTS / H, between CHUNK and 8 CHUNK (8,192 at H = 128: 4 MB of
    states and pre-activations a chunk, about 0.2 s of a margins pass), CHUNK from H = 512 on."""
    return max(CHUNK, min(8 * CHUNK, WIDE_ELEMENTS // max(1, int(H))))


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


def prediction_chunks(model: ElmanRNN, source, chunk: int | None = None, progress=None, ahead: bool = False):
    """The float32 forward over the predictions t = 0..n-2 of a text of n bytes, as PredictionChunks.

    `source`: a byte array or an iterable of byte arrays (`rnn.text.iter_text(path)`: the file is read as it
    is consumed, never whole). Memory is O(chunk x H) whatever n; the states equal the whole-text run
    bit for bit (one carried state, the reference kernel). Each chunk is held back until the next one has
    been computed, for its last byte to predict. `progress(done)`: predictions done, after each chunk.
    ahead=True: the recurrence (and the reading of the text) runs on a thread of its own, up to two chunks
    ahead of the consumer, so a consumer that leaves a core idle (serial work) gets it for free; the chunks
    and their bits are the same, and each stays valid until two more have been taken (for
    `fold_chunks(concurrent=True)`). Errors there are raised here; closing the generator stops the thread."""
    chunk = CHUNK if chunk is None else int(chunk)
    prev = None
    # ahead: 6 buffers: a concurrent fold's chunk (fold_chunks), the consumer's, the one held back for its
    # last byte, one queued, one computing, and one spare
    blocks = iter_states(model, source, want_z=True, chunk=chunk, buffers=6 if ahead else 2)
    for blk in (_run_ahead(blocks) if ahead else blocks):
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


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error


_END = object()


def _run_ahead(items):
    """Yield the items of the iterator `items`, which runs on a worker thread at most one item ahead of
    the consumer (a queue of one, plus the item being made). An exception there is raised here; when the
    consumer stops (close, error, Ctrl-C) the worker stops before its next item."""
    box: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as e:  # noqa: BLE001 - forwarded to the consumer, which raises it
            put(_Raised(e))

    worker = threading.Thread(target=work, name="satrnn-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join(timeout=0.1)     # a daemon: one deep in a long chunk stops at its next hand-over


def fold_chunks(chunks, *folds, concurrent: bool = False) -> list:
    """Run several analyses over one stream of chunks: each fold is a started-on-demand generator that
    receives every chunk by `send(chunk)` and, sent None at the end, returns its result (StopIteration's
    value). One forward pass then serves them all; memory stays O(chunk). Returns the results in order.

    concurrent=True: the folds after the first take each chunk on worker threads while the first takes it
    on the calling thread (their kernels release the GIL). A worker may still be on chunk k while the
    calling thread takes chunk k + 1 from `chunks` (it waits for chunk k before handing over k + 1), so a
    chunk must stay valid while two more are taken: `prediction_chunks(..., ahead=True)` keeps it so. Not
    under numba's workqueue threading layer, which aborts when two threads launch parallel regions at once:
    there the folds run in turn, as with concurrent=False. When the calling thread stops (an error, Ctrl-C),
    the workers' folds are cancelled (`rnn.cancel`: their sliced loops raise KeyboardInterrupt within a
    slice), every fold is closed and `chunks` too."""
    from satrnn.rnn.numba_config import concurrent_parallel_regions_ok

    pool = None
    cancel = threading.Event()     # set when the calling thread stops: the workers' sliced loops stop too
    if concurrent and len(folds) > 1 and concurrent_parallel_regions_ok():
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(max_workers=len(folds) - 1, thread_name_prefix="satrnn-fold")

    def send_cancellable(f, c):
        with cancelled_by(cancel):
            return f.send(c)
    pending = []
    out = []
    try:
        for f in folds:
            next(f)
        for c in chunks:
            if pool is None:
                for f in folds:
                    f.send(c)
                continue
            for p in pending:                  # the workers' previous chunk: done before this one goes
                p.result()
            pending = [pool.submit(send_cancellable, f, c) for f in folds[1:]]
            folds[0].send(c)
        for p in pending:
            p.result()
        pending = []
        for f in folds:
            try:
                f.send(None)
            except StopIteration as stop:
                out.append(stop.value)
            else:
                raise RuntimeError("a fold did not return after the last chunk")
    except BaseException:
        cancel.set()             # a worker's fold stops after its current slice (Ctrl-C within a second)
        for p in pending:        # a fold still at work on a chunk finishes it before it is closed
            try:
                p.result()
            except BaseException:  # noqa: BLE001 - the first error is the one raised
                pass
        for f in folds:      # their `finally` blocks run now (temporary files), not at garbage collection
            f.close()
        close = getattr(chunks, "close", None)
        if close is not None:
            close()          # a chunk source running ahead on its own thread stops now
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return out
