"""Sweeps on Dask: many independent sign-automaton searches, in chunks, with results committed to SQLite.

A sweep (`SweepSpec`) is a list of jobs. A job is (model digest, semantics, input byte sequence, seed,
start index, budget, pin set); its start state is row `start_index` of `cycles.random_starts(H, N, seed)`
for any N > start_index -- the state `satrnn cycles --starts N --seed S` uses for start i -- computed
directly by skipping the generator ahead (`start_states`), so a job is self-contained and any subset of jobs
runs anywhere. A job's result depends only on its parameters (the kernels are per-job deterministic), so a
sweep's stored rows equal the same jobs run serially in one process, bit for bit.

Engine: Dask distributed only. `open_client(None, n)` starts a LocalCluster of n worker processes with one
thread each; `open_client("tcp://HOST:PORT")` connects to an existing scheduler. Jobs go to the workers in
chunks (`Chunk`, run by `run_chunk`) with the model as bytes scattered to every worker (no shared files);
each chunk's rows are committed in one transaction as soon as it completes. At most a few chunks per worker
are in flight, so memory and the scheduler's queue stay bounded however long the sweep.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
import traceback
import warnings
from collections import OrderedDict, deque
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from satrnn.automaton import cycles as cyc
from satrnn.automaton import landscape as ls
from satrnn.automaton.bitset import from_hex, pack, to_hex
from satrnn.automaton.sign import parse_pins as sign_parse_pins
from satrnn.rnn.errors import SatrnnInputError, SatrnnRunError
from satrnn.rnn.model import ElmanRNN, from_flat, to_flat
from satrnn.sweeps.store import (
    STATUS_CYCLE,
    STATUS_DONE,
    STATUS_FAILED,
    STATUS_UNRESOLVED,
    JobRow,
    LandscapeRow,
    SweepStore,
    utc_now,
)

CLUSTER_EXTRA_MESSAGE = "satrnn sweep needs the [cluster] extra: pip install 'satrnn[cluster]'"
KINDS = ("cycles", "pin", "landscape")
MAX_CANCELLED_RETRIES = 3  # resubmissions of a chunk whose task the cluster cancelled (lost input)


def require_dask():
    """The `distributed` module, or a one-line input error naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise SatrnnInputError(CLUSTER_EXTRA_MESSAGE) from None
    return distributed


def model_digest(model: ElmanRNN) -> str:
    """sha256 (hex) of the float32 weights in the `.bin` order Wx, Wh, bh, Wy, by (little-endian)."""
    return hashlib.sha256(to_flat(model).tobytes()).hexdigest()


def start_states(H: int, seed: int, indices) -> np.ndarray:
    """Packed start states (len(indices), W): row i equals cycles.random_starts(H, N, seed)[i] for any N > i.

    random_starts draws rng.random((N, H)) from default_rng(seed) (PCG64), one 64-bit output per double,
    row-major; so row i starts at output i * H and a run of consecutive rows is one draw after advance()."""
    idx = np.asarray(indices, dtype=np.int64)
    out = np.empty((idx.shape[0], (H + 63) // 64), dtype=np.uint64)
    if idx.shape[0] == 0:
        return out
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    breaks = np.nonzero(np.diff(s) != 1)[0] + 1
    for run in np.split(np.arange(s.shape[0]), breaks):
        lo = int(s[run[0]])
        bg = np.random.PCG64(seed)
        bg.advance(lo * H)
        out[order[run]] = pack(np.random.Generator(bg).random((run.shape[0], H)) < 0.5)
    return out


def pins_text(pins) -> str:
    """Canonical text of a validated pin set (sorted ((neuron, sign), ...)): "" or "8=+1,56=-1"."""
    return ",".join(f"{j}={v:+d}" for j, v in pins)


def parse_pins(text: str, H: int) -> str:
    """Canonical pin text from a spec like "56=-1,8=+1" (sign.parse_pins validates: one line, exit 2)."""
    return pins_text(sign_parse_pins(text, H))


def pins_of(text: str, H: int) -> tuple[tuple[int, int], ...]:
    return sign_parse_pins(text, H)


# ---- jobs and chunks ------------------------------------------------------------------------------

INLINE_INPUT_BYTES = 64  # an input sequence up to this long is its own key (hex); longer ones are keyed by digest
DIGEST_PREFIX = "sha256:"


def input_key(seq: bytes) -> str:
    """The key of an input sequence in params, jobs and result rows: its hex (one byte = 2 digits) when at most
    INLINE_INPUT_BYTES long, else "sha256:" + the sha256 of its bytes. A `--periodic-text` input (the whole
    TEXT) is thus stored once per sweep as a digest, not once per job row as hex (10 MB x 8 starts made a
    210 MB store)."""
    seq = bytes(seq)
    if len(seq) <= INLINE_INPUT_BYTES:
        return seq.hex()
    return DIGEST_PREFIX + hashlib.sha256(seq).hexdigest()


def input_bytes(key: str, sequences=None) -> bytes:
    """The bytes of an input key (`sequences` maps digest keys to their bytes)."""
    if key.startswith(DIGEST_PREFIX):
        if sequences is None or key not in sequences:
            raise SatrnnInputError(f"input {key[:23]}...: its bytes are not known here (the TEXT it was made of)")
        return bytes(sequences[key])
    return bytes.fromhex(key)

@dataclass(frozen=True)
class SweepSpec:
    """Everything that defines a sweep's job list. inputs: hex byte sequences (one byte = 2 digits);
    pin_sets: canonical pin texts ("" = no pin).

    cycles / pin: one job per (pin set, start index < starts, input), start-major within a pin set (the order
    of `satrnn cycles`); all jobs share `seed`. landscape: one job per (pin set, seed in seed .. seed +
    seeds - 1, input), each `starts` random starts from its own seed (= `satrnn landscape --starts N --seed
    s`)."""

    kind: str
    model_digest: str
    H: int
    semantics: str
    inputs: tuple[str, ...]
    starts: int
    seed: int
    budget: int
    pin_sets: tuple[str, ...] = ("",)
    seeds: int = 1
    # the bytes of every digest-keyed input (see input_key): not part of the sweep's identity, never stored
    sequences: MappingProxyType = field(default_factory=lambda: MappingProxyType({}), compare=False, repr=False)

    @property
    def n_jobs(self) -> int:
        per = self.seeds if self.kind == "landscape" else self.starts
        return len(self.pin_sets) * per * len(self.inputs)

    def params(self) -> dict:
        p = {"kind": self.kind, "model_digest": self.model_digest, "H": self.H, "semantics": self.semantics,
             "inputs": list(self.inputs), "starts": self.starts, "seed": self.seed, "budget": self.budget,
             "pin_sets": list(self.pin_sets)}
        if self.kind == "landscape":
            p["seeds"] = self.seeds
        return p

    @classmethod
    def from_params(cls, p: dict) -> SweepSpec:
        return cls(kind=p["kind"], model_digest=p["model_digest"], H=p["H"], semantics=p["semantics"],
                   inputs=tuple(p["inputs"]), starts=p["starts"], seed=p["seed"], budget=p["budget"],
                   pin_sets=tuple(p["pin_sets"]), seeds=p.get("seeds", 1))

    def params_sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.params(), sort_keys=True).encode()).hexdigest()

    def jobs(self):
        """(input hex, start index or seed, pins) for every job, in order."""
        index = range(self.seed, self.seed + self.seeds) if self.kind == "landscape" else range(self.starts)
        for pins in self.pin_sets:
            for i in index:
                for inp in self.inputs:
                    yield inp, i, pins

    def key(self, job) -> tuple:
        inp, i, pins = job
        if self.kind == "landscape":
            return (self.model_digest, self.semantics, inp, i, self.starts, self.budget, pins)
        return (self.model_digest, self.semantics, inp, self.seed, i, self.budget, pins)

    def where(self) -> tuple[str, tuple]:
        """SQL condition (and its arguments) selecting exactly this sweep's jobs in its kind table."""
        q_in = ", ".join("?" * len(self.inputs))
        q_pin = ", ".join("?" * len(self.pin_sets))
        tail = f"AND input IN ({q_in}) AND pins IN ({q_pin})"
        if self.kind == "landscape":
            return ("model_digest = ? AND semantics = ? AND seed >= ? AND seed < ? AND starts = ? AND budget = ? "
                    + tail, (self.model_digest, self.semantics, self.seed, self.seed + self.seeds, self.starts,
                             self.budget, *self.inputs, *self.pin_sets))
        return ("model_digest = ? AND semantics = ? AND seed = ? AND budget = ? AND start_index < ? " + tail,
                (self.model_digest, self.semantics, self.seed, self.budget, self.starts, *self.inputs,
                 *self.pin_sets))


@dataclass(frozen=True)
class Chunk:
    """A batch of jobs of one sweep, run by one task: jobs = ((input hex, start index, pins), ...)."""

    kind: str
    model_digest: str
    H: int
    semantics: str
    seed: int
    budget: int
    jobs: tuple
    sweep_id: int | None = None
    starts: int = 0  # landscape: random starts per job


# ---- the worker side ------------------------------------------------------------------------------

_AUTOMATA: OrderedDict = OrderedDict()  # per worker process: (digest, semantics, pins) -> SignAutomaton
_AUTOMATA_KEEP = 4


def _automaton(model_bytes: bytes, chunk: Chunk, pins: str):
    """The (pinned) sign automaton of the chunk's model, cached per worker process."""
    key = (chunk.model_digest, chunk.semantics, pins)
    A = _AUTOMATA.get(key)
    if A is None:
        if pins:  # the kernels' pin masks on the unpinned automaton's tables (nothing rebuilt)
            A = _automaton(model_bytes, chunk, "").with_pins(dict(pins_of(pins, chunk.H)))
        else:
            from satrnn.automaton.sign import SignAutomaton
            model = from_flat(np.frombuffer(model_bytes, dtype="<f4").astype(np.float32), chunk.H)
            if model_digest(model) != chunk.model_digest:
                raise SatrnnInputError("the model bytes on this worker do not match the sweep's model digest")
            A = SignAutomaton.from_model(model, chunk.semantics)
        _AUTOMATA[key] = A
        while len(_AUTOMATA) > _AUTOMATA_KEEP:
            _AUTOMATA.popitem(last=False)
    return A


def _worker_name() -> str:
    try:
        from distributed import get_worker
        return str(get_worker().name)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _row(chunk: Chunk, inp: str, i: int, pins: str, worker: str, seconds: float, start=None, status=STATUS_FAILED,
         transient=None, period=None, rep=None, steps=None, fallbacks=None, error=None) -> JobRow:
    return JobRow(model_digest=chunk.model_digest, semantics=chunk.semantics, input=inp, seed=chunk.seed,
                  start_index=int(i), budget=chunk.budget, pins=pins, start=start, status=status, transient=transient,
                  period=period, rep=rep, steps=steps, fallbacks=fallbacks, error=error, worker=worker,
                  seconds=seconds, sweep_id=chunk.sweep_id, finished=utc_now())


def _landscape_row(chunk: Chunk, inp: str, seed: int, pins: str, worker: str, seconds: float, status=STATUS_FAILED,
                   attractors=None, unresolved=None, steps=None, fallbacks=None, error=None) -> LandscapeRow:
    return LandscapeRow(model_digest=chunk.model_digest, semantics=chunk.semantics, input=inp, seed=int(seed),
                        starts=chunk.starts, budget=chunk.budget, pins=pins, status=status, attractors=attractors,
                        unresolved=unresolved, steps=steps, fallbacks=fallbacks, error=error, worker=worker,
                        seconds=seconds, sweep_id=chunk.sweep_id, finished=utc_now())


def _search(chunk: Chunk, model_bytes: bytes, pins: str, inp: str, idx: list[int], worker: str,
            sequences=None) -> list[JobRow]:
    """One find_cycles call for jobs sharing (pins, input)."""
    t0 = time.perf_counter()
    A = _automaton(model_bytes, chunk, pins)
    starts = start_states(chunk.H, chunk.seed, idx)  # used as given, pinned or not (as `satrnn cycles --pin`)
    seq = np.frombuffer(input_bytes(inp, sequences), dtype=np.uint8).reshape(1, -1)
    s = cyc.find_cycles(A, starts, seq, chunk.budget)
    dt = (time.perf_counter() - t0) / len(idx)
    out = []
    for jb, i in enumerate(idx):
        ok = s.status[jb] == cyc.STATUS_CYCLE
        out.append(_row(chunk, inp, i, pins, worker, dt, to_hex(starts[jb], chunk.H),
                        STATUS_CYCLE if ok else STATUS_UNRESOLVED, int(s.mu[jb]) if ok else None,
                        int(s.lam[jb]) if ok else None, s.rep_hex(jb), int(s.steps[jb]), int(s.fallbacks[jb])))
    return out


def _landscape(chunk: Chunk, model_bytes: bytes, pins: str, inp: str, seed: int, worker: str,
               sequences=None) -> LandscapeRow:
    """One landscape job: landscape.landscape_job (`starts` random starts from `seed`)."""
    t0 = time.perf_counter()
    A = _automaton(model_bytes, chunk, "")
    j = ls.landscape_job(A, np.frombuffer(input_bytes(inp, sequences), dtype=np.uint8), starts=chunk.starts,
                         budget=chunk.budget, seed=int(seed), pins=pins_of(pins, chunk.H),
                         model_digest=chunk.model_digest)
    att = [{"rep": r, "period": p, "count": c, "transient_min": a, "transient_max": b, "transient_sum": t}
           for r, p, c, a, b, t in zip(j.reps, j.periods, j.counts, j.transient_min, j.transient_max,
                                       j.transient_sum)]
    return _landscape_row(chunk, inp, seed, pins, worker, time.perf_counter() - t0, STATUS_DONE, json.dumps(att),
                          j.unresolved, j.steps, j.fallbacks)


def landscape_job_of(row: LandscapeRow, H: int, sequences=None, seq: tuple | None = None) -> ls.LandscapeJob:
    """The landscape.LandscapeJob a stored row holds (for landscape.merge_jobs); `sequences` resolves a
    digest-keyed input, or `seq` gives the input sequence (as a tuple of ints) directly."""
    att = json.loads(row.attractors)
    col = lambda k: tuple(int(a[k]) for a in att)
    if seq is None:
        seq = tuple(input_bytes(row.input, sequences))
    return ls.LandscapeJob(model_digest=row.model_digest, semantics=row.semantics, H=H,
                           seq=seq, pins=pins_of(row.pins, H), seed=row.seed,
                           starts=row.starts, budget=row.budget, reps=tuple(a["rep"] for a in att),
                           periods=col("period"), counts=col("count"), transient_min=col("transient_min"),
                           transient_max=col("transient_max"), transient_sum=col("transient_sum"),
                           unresolved=row.unresolved, steps=row.steps, fallbacks=row.fallbacks,
                           seconds=row.seconds or 0.0)


def run_chunk(chunk: Chunk, model_bytes: bytes, sequences=None) -> list:
    """Run every job of a chunk (on a Dask worker, or in-process); `sequences` maps digest-keyed inputs to
    their bytes. A job that raises is returned as failed with its error; the others are unaffected. One numba
    thread: the worker process is the unit of parallelism (and results do not depend on the thread count
    anyway)."""
    import numba
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return _run_chunk(chunk, model_bytes, sequences)
    finally:
        numba.set_num_threads(threads)


def _run_chunk(chunk: Chunk, model_bytes: bytes, sequences=None) -> list:
    worker = _worker_name()
    if chunk.kind == "landscape":
        rows = []
        for inp, seed, pins in chunk.jobs:
            try:
                rows.append(_landscape(chunk, model_bytes, pins, inp, seed, worker, sequences))
            except Exception as e:  # noqa: BLE001 - a job that raises is stored as failed, with its error
                rows.append(_failed(chunk, inp, seed, pins, e, worker))
        return rows
    groups: dict[tuple[str, str], list[int]] = {}
    for inp, i, pins in chunk.jobs:
        groups.setdefault((pins, inp), []).append(int(i))
    out: list = []
    for (pins, inp), idx in groups.items():
        try:
            out.extend(_search(chunk, model_bytes, pins, inp, idx, worker, sequences))
        except Exception:  # noqa: BLE001 - rerun the group job by job to find the one that raises
            for i in idx:
                try:
                    out.extend(_search(chunk, model_bytes, pins, inp, [i], worker, sequences))
                except Exception as e:  # noqa: BLE001 - stored as failed, with its error
                    out.append(_failed(chunk, inp, i, pins, e, worker))
    return out


def _failed(chunk: Chunk, inp, i, pins, e: BaseException, worker: str):
    """The failed row of job (inp, i, pins) with the error and where it was raised."""
    msg = f"{type(e).__name__}: {e}".strip()
    tb = traceback.extract_tb(e.__traceback__)
    if tb:
        msg += f" (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno})"
    if chunk.kind == "landscape":
        return _landscape_row(chunk, inp, i, pins, worker, 0.0, error=msg)
    return _row(chunk, inp, i, pins, worker, 0.0, error=msg)


# ---- the client side ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    """Passed to the progress callback: jobs done (this run and before), running, failed, total."""

    done: int
    running: int
    failed: int
    total: int
    steps: int


@dataclass(frozen=True)
class SweepOutcome:
    sweep_id: int
    jobs: int
    skipped: int
    computed: int
    failed: int
    chunks: int
    chunk_size: int
    workers: int
    seconds: float
    finished: bool
    task_seconds: float = 0.0
    job_seconds: float = 0.0
    per_chunk: list = field(default_factory=list, compare=False)
    resubmitted: int = 0  # chunk tasks submitted again because the cluster had lost their input


DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds to reach a --scheduler and hear Dask's handshake (--connect-timeout)
WORKERS_PER_CORE = 4  # --workers above this many per usable core is refused
SCHEDULER_SCHEMES = ("tcp", "tls")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def max_workers() -> int:
    return WORKERS_PER_CORE * usable_cores()


def parse_scheduler(address: str) -> tuple[str, str, int]:
    """(address for Dask, host, port) of a --scheduler value: tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT
    (= tcp). Anything else is a one-line input error, before anything is created or contacted."""
    text = address.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    bad = f"--scheduler must look like tcp://HOST:PORT (a Dask scheduler), got {address!r}"
    if scheme not in SCHEDULER_SCHEMES:
        raise SatrnnInputError(bad + f": scheme {scheme!r} is not one of {', '.join(SCHEDULER_SCHEMES)}")
    host, colon, port_text = rest.rpartition(":")
    if not colon or not host or "/" in rest:
        raise SatrnnInputError(bad)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise SatrnnInputError(bad + f": port {port_text!r} is not 1-65535")
    return f"{scheme}://{rest}", host, int(port_text)


def _wait_thread(target, deadline: float | None):
    """Run target() (connecting to Dask, starting a LocalCluster: calls that do not return on Ctrl-C, or, for
    Dask's handshake, ever) in a daemon thread, and wait for it here in 0.1 s steps, so Ctrl-C raises
    KeyboardInterrupt at once on this (the main) thread. SIGINT is blocked in the helper thread; the worker
    processes a LocalCluster spawns ignore it themselves (satrnn.cli). Returns ("ok", value), ("error",
    exception) or ("timeout", None) after `deadline` (time.monotonic) passed."""
    import signal
    import threading
    box = {}

    def run():
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            box["ok"] = target()
        except BaseException as e:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = e

    t = threading.Thread(target=run, name="satrnn-sweep-connect", daemon=True)
    t.start()
    while t.is_alive():
        if deadline is not None and time.monotonic() > deadline:
            return "timeout", None
        t.join(0.1)
    return ("ok", box["ok"]) if "ok" in box else ("error", box.get("error"))


def _kill_spawned_workers() -> None:
    """Kill the worker processes a half-started LocalCluster spawned (this process's multiprocessing
    children), so an interrupted start leaves none behind."""
    import multiprocessing
    import multiprocessing.util
    for child in multiprocessing.active_children():
        with contextlib.suppress(Exception):
            child.kill()
    # and any worker still being spawned (not yet in active_children: it would read its start-up data from a
    # closed pipe and print a traceback): every child process started by multiprocessing's spawn
    with contextlib.suppress(Exception):
        import psutil  # a dependency of distributed
        for proc in psutil.Process().children(recursive=True):
            with contextlib.suppress(Exception):
                if "--multiprocessing-fork" in proc.cmdline():
                    proc.kill()
    # The CLI then ends with os._exit (no interpreter teardown), which would skip multiprocessing's exit
    # finalizers: the semaphores of the nannies' queues would stay registered, and multiprocessing's resource
    # tracker would print a "leaked semaphore objects" warning. Run the finalizers (priority >= 0) now.
    with contextlib.suppress(Exception):
        multiprocessing.util._run_finalizers(0)


def open_client(scheduler: str | None, workers: int | None, timeout: float = DEFAULT_CONNECT_TIMEOUT):
    """(client, cluster or None): connect to `scheduler` (checked by parse_scheduler; a TCP connect, then
    Dask's handshake, both within `timeout` seconds), or start a LocalCluster of `workers` processes with
    one thread each (loopback only, no dashboard). Ctrl-C while connecting or starting raises
    KeyboardInterrupt within 0.1 s; the workers started so far are killed, and they print nothing (they
    start with SIGINT blocked)."""
    distributed = require_dask()
    import logging
    import socket
    if scheduler:
        address, host, port = parse_scheduler(scheduler)
        t0 = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=timeout):
                pass
        except TimeoutError:
            raise SatrnnInputError(f"cannot connect to the Dask scheduler at {scheduler}: no answer within "
                                   f"{timeout:g} s (--connect-timeout SECONDS waits longer)") from None
        except OSError as e:
            raise SatrnnInputError(f"cannot connect to the Dask scheduler at {scheduler}: "
                                   f"{e.strerror or type(e).__name__}") from None
        left = max(0.5, timeout - (time.monotonic() - t0))
        # Dask's handshake has no timeout of its own (a server that accepts and never answers, such as an
        # HTTP server waiting for a request, would hang it): bounded here.
        state, value = _wait_thread(lambda: distributed.Client(address, timeout=left), time.monotonic() + left)
        if state == "ok":
            return value, None
        if state == "timeout":
            raise SatrnnInputError(f"{scheduler} accepted the connection but gave no Dask handshake within "
                                   f"{timeout:g} s: is it a Dask scheduler? (--connect-timeout SECONDS waits "
                                   "longer)")
        e = value
        if isinstance(e, (OSError, TimeoutError)) and "Timed out" in str(e):
            raise SatrnnInputError(f"cannot connect to the Dask scheduler at {scheduler}: no answer within "
                                   f"{timeout:g} s (--connect-timeout SECONDS waits longer)")
        raise SatrnnInputError(f"{scheduler} did not answer as a Dask scheduler ({type(e).__name__}"
                               + (f": {str(e).splitlines()[0][:120]}" if str(e) else "") + ")")
    n = workers or usable_cores()
    # The scheduler's small HTTP server (health checks; no dashboard here) defaults to port 8787 and moves to a
    # free port with a UserWarning when another cluster holds it: harmless, so not shown.
    warnings.filterwarnings("ignore", message="Port 8787 is already in use", category=UserWarning)
    # Dask times the creation of its scratch folders and warns past 1 s, which a loaded machine reaches.
    warnings.filterwarnings("ignore", message="Creating scratch directories", category=UserWarning)

    def start():
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=None, silence_logs=logging.CRITICAL,
                                           env={"NUMBA_NUM_THREADS": "1"}, preload=[__name__])
        try:
            return distributed.Client(cluster), cluster
        except BaseException:
            cluster.close(timeout=5)
            raise

    with _SpawnGuard() as guard:
        try:
            state, value = _wait_thread(start, None)
        except KeyboardInterrupt:
            guard.close()
            logging.getLogger("distributed").setLevel(logging.CRITICAL + 1)
            _kill_spawned_workers()
            raise
    if state == "ok":
        return value
    e = value
    if isinstance(e, MemoryError):
        raise SatrnnRunError("out of memory while starting the Dask workers; use fewer --workers") from None
    raise SatrnnRunError(f"the Dask LocalCluster did not start ({type(e).__name__}"
                         + (f": {str(e).splitlines()[0][:160]}" if str(e) else "") + "); try fewer --workers")


class _SpawnGuard:
    """While the LocalCluster starts, every process multiprocessing spawns (Dask's worker processes) starts
    with SIGINT blocked: the spawn blocks it in the spawning thread (Dask's own thread, which has it
    unblocked) and the child inherits that mask through exec. A Ctrl-C that lands while a worker's
    interpreter is still starting (before it can ignore SIGINT itself: `dask_setup`, satrnn.cli) then stays
    pending in it instead of printing a traceback. `close()` (on Ctrl-C) stops further spawns and waits for
    one in flight, so that killing the children afterwards finds every one (a child spawned after the kill
    would read its start-up data from a closed pipe and print an EOFError)."""

    def __init__(self):
        import threading
        self.lock = threading.Lock()
        self.closed = False

    def __enter__(self):
        import multiprocessing.util as mp_util
        import signal
        self._spawn = spawn = mp_util.spawnv_passfds

        def spawn_blocked(path, args, passfds):
            with self.lock:
                if self.closed:
                    raise OSError("satrnn: no more worker processes (interrupted)")
                if not hasattr(signal, "pthread_sigmask"):
                    return spawn(path, args, passfds)
                old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                try:
                    return spawn(path, args, passfds)
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, old)

        mp_util.spawnv_passfds = spawn_blocked
        return self

    def close(self) -> None:
        with self.lock:
            self.closed = True

    def __exit__(self, *exc):
        import multiprocessing.util as mp_util
        mp_util.spawnv_passfds = self._spawn
        return False


def dask_setup(worker) -> None:
    """Dask preload for LocalCluster workers: ignore SIGINT. A terminal's Ctrl-C reaches the whole process
    group; the client stops the sweep and shuts its workers down (they would only print tracebacks)."""
    import signal
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def close_client(client, cluster, interrupted: bool = False) -> None:
    """Close the client and our LocalCluster. Interrupted: stop at once -- the LocalCluster's worker processes
    (our children; a busy worker would take seconds to stop) are killed by pid first. Nothing is lost: every
    finished chunk is committed, unfinished ones are recomputed by the next run."""
    if interrupted:
        # Tearing down mid-flight on purpose: Dask would log the connections we cut (with tracebacks).
        import logging
        logging.getLogger("distributed").setLevel(logging.CRITICAL + 1)
    try:
        client.close(timeout=1 if interrupted else 5)
    except Exception:  # noqa: BLE001 - shutting down anyway
        pass
    if cluster is None:
        return
    if interrupted:
        import signal
        for nanny in list(cluster.workers.values()):
            pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
    try:
        cluster.close(timeout=1 if interrupted else 5)
    except Exception:  # noqa: BLE001 - shutting down anyway
        pass


def auto_chunk_size(n_jobs: int, budget: int, n_workers: int, target_steps: float = 2e8) -> int:
    """Jobs per chunk: about target_steps Boolean steps of budget per chunk (tens of seconds at 10^7 steps/s,
    which keeps Dask's per-task overhead far below 1%), but at least 4 chunks per worker for balance."""
    by_cost = max(1, int(target_steps // max(1, budget)))
    by_balance = max(1, -(-n_jobs // (4 * max(1, n_workers))))
    return max(1, min(by_cost, by_balance))


def pending_jobs(spec: SweepSpec, store: SweepStore) -> list[tuple]:
    """The jobs of `spec` without a result in `store` (failed ones included: they are retried)."""
    done = store.done_keys(spec.kind, *spec.where())
    return [j for j in spec.jobs() if spec.key(j) not in done]


def run_sweep(spec: SweepSpec, model: ElmanRNN, store: SweepStore, client, chunk_size: int | None = None,
              on_progress=None, in_flight_per_worker: int = 3, worker_timeout: float = 60.0) -> SweepOutcome:
    """Run the jobs of `spec` that have no result in `store` yet on the Dask `client` (may be None when none
    is pending); commit each chunk as it completes. on_progress(Progress) is called after each chunk and
    about every 0.25 s."""
    distributed = require_dask()
    from satrnn import __version__
    if model_digest(model) != spec.model_digest or model.H != spec.H:
        raise SatrnnInputError("the model does not match the sweep's model digest")
    t0 = time.perf_counter()
    sweep_id = store.sweep_for(spec.kind, spec.params(), spec.params_sha256(), spec.model_digest, __version__,
                               spec.n_jobs)
    where, args = spec.where()
    pending = pending_jobs(spec, store)
    skipped = spec.n_jobs - len(pending)
    if pending and client is None:
        raise ValueError("run_sweep needs a Dask client when jobs are pending")
    n_workers = 0
    if client is not None:
        try:
            client.wait_for_workers(1, timeout=worker_timeout)
        except TimeoutError:
            raise SatrnnRunError(f"the Dask cluster has no workers (waited {worker_timeout:g} s); start some with "
                                 "`dask worker SCHEDULER`") from None
        n_workers = max(1, len(client.scheduler_info()["workers"]))
    job_cost = spec.budget * (spec.starts if spec.kind == "landscape" else 1)
    size = chunk_size or auto_chunk_size(len(pending), job_cost, max(1, n_workers))
    chunks = [Chunk(spec.kind, spec.model_digest, spec.H, spec.semantics, spec.seed, spec.budget,
                    tuple(pending[k:k + size]), sweep_id, spec.starts) for k in range(0, len(pending), size)]
    model_bytes = to_flat(model).tobytes()
    # hash=False: a fresh key per run. With a content-hashed key, a re-run right after a run (same model, same
    # client) re-scattered the key while the scheduler was still forgetting it, and the new run's tasks were
    # cancelled for "lost dependencies" (seen in CI).
    model_ref = client.scatter(model_bytes, broadcast=True, hash=False) if chunks else None
    # the long inputs (digest-keyed), one dict scattered once to every worker, like the model
    seqs = dict(spec.sequences)
    seqs_ref = client.scatter([seqs], broadcast=True, hash=False)[0] if chunks and seqs else None
    jobs_of: dict = {}
    failed = computed = steps = 0
    per_chunk = []
    todo = deque(chunks)  # a chunk the cluster cancelled (lost input) goes back to the front
    cancelled: dict = {}  # chunk -> times the cluster cancelled its task
    resubmitted = 0
    max_in_flight = max(1, in_flight_per_worker * n_workers)

    def submit_more():
        while todo and len(jobs_of) < max_in_flight:
            chunk = todo.popleft()
            fut = client.submit(run_chunk, chunk, model_ref, seqs_ref, pure=False)
            jobs_of[fut.key] = (fut, chunk, time.perf_counter())

    def settled() -> list:
        """The futures of jobs_of that finished, errored or were cancelled (waits at most 0.25 s)."""
        futs = [f for f, _, _ in jobs_of.values()]
        try:
            done, _ = distributed.wait(futs, timeout=0.25, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        except CancelledError:  # recent `distributed` raises here when a finished future was cancelled
            done = [f for f in futs if f.status != "pending"]
        return list(done)

    def running() -> int:
        try:
            proc = client.processing()
        except Exception:  # noqa: BLE001 - only the progress bar's "running" count; the sweep goes on
            return 0
        keys = {k for ks in proc.values() for k in ks}
        return sum(len(jobs_of[k][1].jobs) for k in keys if k in jobs_of)

    def report():
        if on_progress is not None:
            on_progress(Progress(skipped + computed, running(), failed, spec.n_jobs, steps))

    last = 0.0
    try:
        submit_more()
        report()
        while jobs_of:
            # Chunks are committed in the order they complete (like as_completed), waking at least every
            # 0.25 s for the progress bar and for Ctrl-C.
            lost_input = False
            for fut in settled():
                _, chunk, t_sub = jobs_of.pop(fut.key)
                error = None
                try:
                    results = None if fut.cancelled() else fut.result()
                except (CancelledError, asyncio.CancelledError):  # cancelled while we asked (status was "lost")
                    results = None
                except Exception as e:  # noqa: BLE001 - the task failed (e.g. a worker died too often): its jobs failed
                    error = e
                fut.release()
                if results is None and error is None:
                    # Not cancelled by us: the scheduler lost the task's input (the scattered model, e.g.
                    # every worker holding it died). Scatter it again and resubmit, a bounded number of times.
                    cancelled[chunk] = cancelled.get(chunk, 0) + 1
                    if cancelled[chunk] <= MAX_CANCELLED_RETRIES:
                        todo.appendleft(chunk)
                        resubmitted += 1
                        lost_input = True
                        continue
                    error = CancelledError(f"the cluster cancelled this chunk {cancelled[chunk]} times (lost input)")
                if error is not None:
                    results = [_failed(chunk, inp, i, pins, error, "?") for inp, i, pins in chunk.jobs]
                store.write_rows(spec.kind, results)
                computed += len(results)
                failed += sum(r.status == STATUS_FAILED for r in results)
                steps += sum(r.steps or 0 for r in results)
                per_chunk.append((time.perf_counter() - t_sub, sum(r.seconds for r in results)))
            if lost_input:
                model_ref.release()
                model_ref = client.scatter(model_bytes, broadcast=True, hash=False)
                if seqs_ref is not None:
                    seqs_ref.release()
                    seqs_ref = client.scatter([seqs], broadcast=True, hash=False)[0]
            submit_more()
            if time.perf_counter() - last > 0.25:
                last = time.perf_counter()
                report()
        report()
    finally:
        if jobs_of:
            client.cancel([f for f, _, _ in jobs_of.values()])
        if model_ref is not None:
            model_ref.release()
        if seqs_ref is not None:
            seqs_ref.release()
    counts = store.counts(spec.kind, where, args)
    complete = counts[STATUS_CYCLE] + counts[STATUS_UNRESOLVED] + counts[STATUS_DONE] == spec.n_jobs
    if complete:
        store.mark_finished(sweep_id)
    return SweepOutcome(sweep_id=sweep_id, jobs=spec.n_jobs, skipped=skipped, computed=computed, failed=failed,
                        chunks=len(chunks), chunk_size=size, workers=n_workers,
                        seconds=time.perf_counter() - t0, finished=complete,
                        task_seconds=sum(a for a, _ in per_chunk), job_seconds=sum(b for _, b in per_chunk),
                        per_chunk=per_chunk, resubmitted=resubmitted)


def run_serial(spec: SweepSpec, model: ElmanRNN) -> list[JobRow]:
    """Every job of the sweep in this process, one chunk (the reference a distributed run must equal)."""
    chunk = Chunk(spec.kind, spec.model_digest, spec.H, spec.semantics, spec.seed, spec.budget, tuple(spec.jobs()),
                  None, spec.starts)
    return run_chunk(chunk, to_flat(model).tobytes(), dict(spec.sequences))


def search_from_rows(spec: SweepSpec, rows: list[JobRow]) -> cyc.CycleSearch:
    """A CycleSearch (for cycles.summarize) of a sweep's stored rows, job_seq indexing spec.inputs.
    Failed jobs count as unresolved here (the caller reports them separately)."""
    q_of = {inp: q for q, inp in enumerate(spec.inputs)}
    cyc_rows = [r.status == STATUS_CYCLE for r in rows]
    rep = np.array([from_hex(r.rep, spec.H) if c else np.zeros((spec.H + 63) // 64, dtype=np.uint64)
                    for r, c in zip(rows, cyc_rows)], dtype=np.uint64).reshape(len(rows), (spec.H + 63) // 64)
    return cyc.CycleSearch(
        H=spec.H, status=np.array([cyc.STATUS_CYCLE if c else cyc.STATUS_UNRESOLVED for c in cyc_rows], dtype=np.int8),
        mu=np.array([r.transient if c else -1 for r, c in zip(rows, cyc_rows)], dtype=np.int64),
        lam=np.array([r.period if c else -1 for r, c in zip(rows, cyc_rows)], dtype=np.int64), rep=rep,
        steps=np.array([r.steps or 0 for r in rows], dtype=np.int64),
        fallbacks=np.array([r.fallbacks or 0 for r in rows], dtype=np.int64),
        job_start=np.array([r.start_index for r in rows], dtype=np.int64),
        job_seq=np.array([q_of[r.input] for r in rows], dtype=np.int64), budget=spec.budget, seconds=0.0)
