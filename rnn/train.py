"""Truncated-BPTT training of the Elman RNN (Numba), with Adam or SGD, clipping, cosine learning rate.

One epoch walks the text once from h_{-1} = 0 in consecutive chunks of `bptt` predictions (the last chunk
may be shorter); the hidden state is carried from chunk to chunk within the epoch (not back-propagated
through) and reset to zero at the start of every epoch. Each chunk makes one optimizer update with the
gradient of its MEAN cross-entropy in nats (`rnn.bptt`), after clipping the global L2 norm to `clip`.
The learning rate of update k (0-based, K updates in the whole run) is lr for the constant schedule and
lr_min + (lr - lr_min) (1 + cos(pi k / K)) / 2 for the cosine schedule.

Initialisation (seeded, numpy PCG64): every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), drawn in the
papers' order Wx, Wh, bh, Wy, by. There is no other randomness, so a run is a pure function of the recipe
and the text; kernels are sequential, so it is bit-identical for any thread count.

Master weights and optimizer state are kept in the working precision (float64 by default, or float32);
the result is rounded to float32 (the model format). Checkpoints (`.npz`) are loadable as models and also
hold the master weights, optimizer moments, update count and epoch, so a resumed run is bit-identical
to an uninterrupted one.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from satrnn.rnn.bptt import DTYPES, _chunk_grads
from satrnn.rnn.elementary import cos_f64, tanh_code
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.files import open_regular
from satrnn.rnn.forward import LN2, as_bytes, forward
from satrnn.rnn.model import (
    MATRICES,
    MAX_H,
    MAX_NPZ_BYTES,
    N_BYTES,
    NPZ_FORMAT_VERSION,
    ElmanRNN,
    atomic_write_bytes,
    n_floats_for,
)
from satrnn.rnn.numba_config import njit

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("cosine", "constant")
CHECKPOINT_KIND = "satrnn-train-checkpoint"
TRAINER_VERSION = 3  # bump when a change alters the weights a recipe produces (invalidates cached defaults)
# 3: satrnn's own tanh, exp, log and cos (rnn.elementary) instead of the host's libm


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a training run besides the text."""

    H: int = 128
    epochs: int = 4000
    bptt: int = 50
    lr: float = 0.001
    lr_min: float = 0.0
    optimizer: str = "adam"
    schedule: str = "constant"
    clip: float = 0.0          # global L2 norm bound per update; 0 = no clipping
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    seed: int = 42
    precision: str = "f64"
    tanh: str = "fdlibm"       # float32 tanh semantics (precision "f32"; the model's evaluation semantics)
    trainer_version: int = TRAINER_VERSION

    def validate(self) -> Recipe:
        def bad(msg):
            raise SatrnnInputError(msg)
        if not isinstance(self.H, int) or not 1 <= self.H <= 4096:
            bad(f"--hidden must be between 1 and 4096, got {self.H}")
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= 10**7:
            bad(f"--epochs must be between 1 and 10000000, got {self.epochs}")
        if not isinstance(self.bptt, int) or not 1 <= self.bptt <= 10**6:
            bad(f"--bptt must be between 1 and 1000000, got {self.bptt}")
        for name, v, lo, hi in (("--lr", self.lr, 0.0, 100.0), ("--lr-min", self.lr_min, 0.0, 100.0),
                                ("--clip", self.clip, 0.0, 1e12), ("beta1", self.beta1, 0.0, 0.999999),
                                ("beta2", self.beta2, 0.0, 0.999999999), ("eps", self.eps, 1e-30, 1.0)):
            if not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
                bad(f"{name} must be a finite number between {lo} and {hi}, got {v}")
        if self.lr <= 0:
            bad(f"--lr must be > 0, got {self.lr}")
        if self.lr_min > self.lr:
            bad(f"--lr-min ({self.lr_min}) must not exceed --lr ({self.lr})")
        if self.optimizer not in OPTIMIZERS:
            bad(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            bad(f"--schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.precision not in DTYPES:
            bad(f"--precision must be one of {', '.join(DTYPES)}, got {self.precision!r}")
        tanh_code(self.tanh)
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            bad(f"--seed must be between 0 and {2**63 - 1}, got {self.seed}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Recipe:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise SatrnnInputError(f"unknown recipe field(s): {', '.join(sorted(unknown))}")
        return cls(**d)

    def digest(self) -> str:
        """sha256 of the canonical JSON of the recipe."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


def text_digest(xs: np.ndarray) -> str:
    return hashlib.sha256(as_bytes(xs).tobytes()).hexdigest()


def chunks_per_epoch(n_bytes: int, bptt: int) -> int:
    return -(-(n_bytes - 1) // bptt)


# ---- kernels ---------------------------------------------------------------------------------------

@njit
def _views(flat, H):
    a = H * N_BYTES
    b = a + H * H
    c = b + H
    d = c + N_BYTES * H
    return (flat[:a].reshape((H, N_BYTES)), flat[a:b].reshape((H, H)), flat[b:c],
            flat[c:d].reshape((N_BYTES, H)), flat[d:])


@njit
def _powi(a, n):
    """a^n for an integer n >= 0 by binary exponentiation: numba's own `**` for integer exponents, without
    its fallback to the host's pow() above 2^16 (so the bits never depend on the host's libm)."""
    r = 1.0
    while n != 0:
        if n & 1:
            r *= a
        n >>= 1
        a *= a
    return r


@njit
def _train_epoch(params, grads, m, v, xs, H, bptt, step0, total_steps, hp, opt, schedule, sem, chunk_losses):
    """One epoch of truncated BPTT with an update per chunk; params/grads/m/v are flat (papers' order).

    hp = [lr, lr_min, clip, beta1, beta2, eps]. opt: 0 Adam, 1 SGD; schedule: 0 cosine, 1 constant; sem:
    the float32 tanh semantics code. Every transcendental is satrnn's own (the weights are the same bits
    on every host).
    Writes the summed cross-entropy (nats) of each chunk into chunk_losses; returns the new update count.
    """
    lr0, lr_min, clip, b1, b2, eps = hp[0], hp[1], hp[2], hp[3], hp[4], hp[5]
    Wx, Wh, bh, Wy, by = _views(params, H)
    gWx, gWh, gbh, gWy, gby = _views(grads, H)
    n_pred = xs.shape[0] - 1
    hs = np.empty((bptt + 1, H), dtype=params.dtype)
    ps = np.empty((bptt, N_BYTES), dtype=params.dtype)
    WhT = np.empty((H, H), dtype=params.dtype)
    WyT = np.empty((H, N_BYTES), dtype=params.dtype)
    h = np.zeros(H, dtype=params.dtype)
    dh0 = np.empty(H, dtype=params.dtype)
    step = step0
    k = 0
    for s in range(0, n_pred, bptt):
        T = min(bptt, n_pred - s)
        for i in range(H):
            for j in range(H):
                WhT[j, i] = Wh[i, j]
        for o in range(N_BYTES):
            for j in range(H):
                WyT[j, o] = Wy[o, j]
        for q in range(grads.shape[0]):
            grads[q] = 0.0
        chunk_losses[k] = _chunk_grads(Wx, Wh, bh, Wy, by, WhT, WyT, xs[s:s + T + 1], h, hs[:T + 1], ps[:T],
                                       gWx, gWh, gbh, gWy, gby, dh0, sem)
        for i in range(H):
            h[i] = hs[T, i]
        # gradient of the chunk's mean loss, then global-norm clipping
        scale = 1.0 / T
        nrm2 = 0.0
        for q in range(grads.shape[0]):
            g = grads[q] * scale
            grads[q] = g
            nrm2 += np.float64(g) * np.float64(g)
        nrm = math.sqrt(nrm2)
        if clip > 0.0 and nrm > clip:
            c = clip / nrm
            for q in range(grads.shape[0]):
                grads[q] = grads[q] * c
        if schedule == 0:
            lr = lr_min + 0.5 * (lr0 - lr_min) * (1.0 + cos_f64(math.pi * step / total_steps))
        else:
            lr = lr0
        if opt == 0:
            bc1 = 1.0 - _powi(b1, step + 1)
            bc2 = 1.0 - _powi(b2, step + 1)
            a = lr / bc1
            for q in range(params.shape[0]):
                g = grads[q]
                m[q] = b1 * m[q] + (1.0 - b1) * g
                v[q] = b2 * v[q] + (1.0 - b2) * (g * g)
                params[q] -= a * m[q] / (math.sqrt(v[q] / bc2) + eps)
        else:
            for q in range(params.shape[0]):
                params[q] -= lr * grads[q]
        step += 1
        k += 1
    return step


# ---- state, checkpoints ----------------------------------------------------------------------------

def init_params(H: int, seed: int, precision: str = "f64") -> np.ndarray:
    """Seeded flat parameter vector (papers' order Wx, Wh, bh, Wy, by), U(-1/sqrt(H), 1/sqrt(H))."""
    rng = np.random.default_rng(seed)
    k = 1.0 / math.sqrt(H)
    return rng.uniform(-k, k, n_floats_for(H)).astype(DTYPES[precision])


def params_to_model(flat: np.ndarray, H: int, meta: dict | None = None) -> ElmanRNN:
    """Round a flat master-weight vector to a float32 ElmanRNN."""
    f = np.asarray(flat, dtype=np.float64).astype(np.float32)
    sizes = (H * N_BYTES, H * H, H, N_BYTES * H, N_BYTES)
    shapes = ((H, N_BYTES), (H, H), (H,), (N_BYTES, H), (N_BYTES,))
    arrays, off = {}, 0
    for name, size, shape in zip(MATRICES, sizes, shapes):
        arrays[name] = f[off:off + size].reshape(shape)
        off += size
    if not all(np.isfinite(a).all() for a in arrays.values()):
        raise SatrnnInputError("training diverged (NaN/Inf weights); lower --lr or set --clip")
    return ElmanRNN(**arrays, meta=meta or {})


@dataclass
class TrainState:
    """Where a run is: master weights, optimizer moments, updates made and epochs completed."""

    recipe: Recipe
    text_sha256: str
    params: np.ndarray
    m: np.ndarray
    v: np.ndarray
    step: int = 0
    epoch: int = 0
    history: list = field(default_factory=list)   # training bpc per completed epoch
    seconds: float = 0.0

    @classmethod
    def fresh(cls, recipe: Recipe, xs: np.ndarray) -> TrainState:
        p = init_params(recipe.H, recipe.seed, recipe.precision)
        return cls(recipe=recipe, text_sha256=text_digest(xs), params=p, m=np.zeros_like(p), v=np.zeros_like(p))

    def meta(self) -> dict:
        return {"trainer": "satrnn.rnn.train", "recipe": self.recipe.to_dict(),
                "recipe_sha256": self.recipe.digest(), "text_sha256": self.text_sha256, "epoch": self.epoch,
                "updates": self.step, "train_bpc_last_epoch": self.history[-1] if self.history else None,
                "train_seconds": round(self.seconds, 3)}

    def model(self, extra_meta: dict | None = None) -> ElmanRNN:
        return params_to_model(self.params, self.recipe.H, {**self.meta(), **(extra_meta or {})})


def save_checkpoint(state: TrainState, path: str | os.PathLike) -> None:
    """Atomically write a checkpoint `.npz`: a loadable model plus the exact training state."""
    p = Path(path)
    if p.suffix.lower() != ".npz":
        raise SatrnnInputError(f"checkpoint file {p} must end in .npz")
    model = state.model({"kind": CHECKPOINT_KIND})
    payload = dict(model.arrays(), format_version=np.int64(NPZ_FORMAT_VERSION),
                   meta=np.array(json.dumps(model.meta, sort_keys=True)),
                   train_params=state.params, train_m=state.m, train_v=state.v,
                   train_step=np.int64(state.step), train_epoch=np.int64(state.epoch),
                   train_history=np.asarray(state.history, dtype=np.float64))
    atomic_write_bytes(p, lambda f: np.savez(f, **payload))


def load_checkpoint(path: str | os.PathLike) -> TrainState:
    p = Path(path)
    f, size = open_regular(p, "checkpoint file")  # missing, FIFO, device: one line, never blocks
    f.close()
    if size > MAX_NPZ_BYTES:
        raise SatrnnInputError(f"checkpoint file {p} has {size:,} bytes, more than a checkpoint of H={MAX_H} holds")
    try:
        with np.load(p, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("kind") != CHECKPOINT_KIND:
                raise SatrnnInputError(f"{p} is a model, not a training checkpoint (no optimizer state)")
            recipe = Recipe.from_dict(meta["recipe"]).validate()
            st = TrainState(recipe=recipe, text_sha256=meta["text_sha256"], params=np.array(z["train_params"]),
                            m=np.array(z["train_m"]), v=np.array(z["train_v"]), step=int(z["train_step"]),
                            epoch=int(z["train_epoch"]), history=[float(b) for b in z["train_history"]],
                            seconds=float(meta.get("train_seconds", 0.0)))
    except SatrnnInputError:
        raise
    except Exception as e:  # noqa: BLE001 - any unreadable file is one line of bad input
        raise SatrnnInputError(f"checkpoint {p} is not readable ({type(e).__name__}: {e})") from None
    want = n_floats_for(recipe.H)
    dt = DTYPES[recipe.precision]
    for name in ("params", "m", "v"):
        a = getattr(st, name)
        if a.shape != (want,) or a.dtype != dt:
            raise SatrnnInputError(f"checkpoint {p}: {name} has shape {a.shape} dtype {a.dtype}, "
                                   f"expected ({want},) {np.dtype(dt)}")
    if st.recipe.trainer_version != TRAINER_VERSION:
        raise SatrnnInputError(f"checkpoint {p} was written by trainer version {st.recipe.trainer_version}, "
                               f"this satrnn has {TRAINER_VERSION}")
    return st


# ---- the loop ----------------------------------------------------------------------------------------

@dataclass
class TrainResult:
    model: ElmanRNN
    state: TrainState
    bpc: float                  # float32 reference forward (rnn.forward) on the training text
    seconds: float              # total training wall time (all epochs, including resumed-from ones)


def train(xs, recipe: Recipe | None = None, *, resume: TrainState | None = None, progress=None,
          checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 0,
          stop_after_epoch: int | None = None, extra_meta: dict | None = None, label: str | None = None
          ) -> TrainResult:
    """Train on the bytes xs (>= 2 bytes) and return the float32 model with its final reference bpc.

    resume: a TrainState (from `load_checkpoint`) to continue; its recipe is used and xs must match it.
    progress: a rich Progress (already entered) to show epochs and the running training bpc.
    checkpoint / checkpoint_every: write a checkpoint every N epochs (and at the end) when given.
    stop_after_epoch: stop early after this epoch (the schedule still assumes recipe.epochs; used to make
    an interrupted run for resume tests). label: the progress bar's text (default "training H=...").
    """
    xs = as_bytes(xs)
    if xs.shape[0] < 2:
        raise SatrnnInputError(f"training text has {xs.shape[0]} byte(s); at least 2 are needed")
    if resume is not None:
        state = resume
        recipe = state.recipe
        if state.text_sha256 != text_digest(xs):
            raise SatrnnInputError("the text differs from the one the checkpoint was trained on")
    else:
        recipe = (recipe or Recipe()).validate()
        state = TrainState.fresh(recipe, xs)
    r = recipe
    K = chunks_per_epoch(xs.shape[0], r.bptt)
    total = r.epochs * K
    hp = np.array([r.lr, r.lr_min, r.clip, r.beta1, r.beta2, r.eps], dtype=np.float64)
    opt = OPTIMIZERS.index(r.optimizer)
    sched = SCHEDULES.index(r.schedule)
    grads = np.zeros_like(state.params)
    losses = np.zeros(K, dtype=np.float64)
    last = r.epochs if stop_after_epoch is None else min(r.epochs, stop_after_epoch)
    task = None
    label = label or f"training H={r.H}"
    if progress is not None:
        task = progress.add_task(label, total=r.epochs, completed=state.epoch)
    t0 = time.perf_counter()
    while state.epoch < last:
        state.step = _train_epoch(state.params, grads, state.m, state.v, xs, r.H, r.bptt, state.step, total,
                                  hp, opt, sched, tanh_code(r.tanh), losses)
        state.epoch += 1
        bpc = float(losses.sum()) / (xs.shape[0] - 1) / LN2
        if not math.isfinite(bpc):
            raise SatrnnInputError(f"training diverged at epoch {state.epoch} (loss is NaN/Inf); "
                                   "lower --lr or set --clip")
        state.history.append(bpc)
        if task is not None:
            progress.update(task, completed=state.epoch,
                            description=f"{label} [cyan]{bpc:.4f} bpc[/cyan]")
        if checkpoint is not None and checkpoint_every and state.epoch % checkpoint_every == 0:
            state.seconds += time.perf_counter() - t0
            t0 = time.perf_counter()
            save_checkpoint(state, checkpoint)
    seconds = time.perf_counter() - t0
    state.seconds += seconds
    if checkpoint is not None:
        save_checkpoint(state, checkpoint)
    model = state.model(extra_meta).with_tanh(r.tanh)
    bpc = forward(model, xs).bpc
    model = model.replace(meta={**model.meta, "bpc_f32": bpc})
    return TrainResult(model=model, state=state, bpc=bpc, seconds=state.seconds)
