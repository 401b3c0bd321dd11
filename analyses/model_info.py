"""Static facts about a model's weights: shapes, parameter counts, magnitude percentiles, spectral radius."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from satrnn.rnn.model import MATRICES, ElmanRNN
from satrnn.rnn.record import Record, key

PERCENTILES = (10, 25, 50, 75, 90, 95, 99)
SIGNIFICANT = np.float32(0.01)


def floor_percentile(sorted_abs: np.ndarray, p: float) -> float:
    """a[floor(p * N / 100)] of an ascending array, no interpolation (DEFINITIONS 8.3)."""
    N = sorted_abs.shape[0]
    return float(sorted_abs[min(N - 1, int(p * N // 100))])


def spectral_radius(W: np.ndarray) -> float:
    """Largest |eigenvalue| of a square matrix, computed in float64."""
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(W, dtype=np.float64)))))


@dataclass(frozen=True)
class MatrixStats(Record):
    """One parameter array: shape, size, |w| min / max / double mean, floor percentiles p -> a[floor(p N / 100)]
    (keys "10", "25", ...), entries with |w| > 0.01 (strict float32; JSON key "count_abs_gt_0.01"), exact
    zeros."""
    shape: list
    params: int
    abs_min: float
    abs_max: float
    abs_mean: float
    abs_percentiles: dict
    count_abs_gt_001: int = key("count_abs_gt_0.01")
    zeros: int


@dataclass(frozen=True)
class ModelSummary(Record):
    """Static facts of a model's weights: H, parameters, per-array `MatrixStats` (by name: Wx, Wh, bh, Wy, by),
    significant patterns |w| > 0.01 in Wx, Wh and Wy (JSON key "significant_patterns_0.01"), the spectral
    radius of Wh (float64), the model's scalar metadata, its vocabulary (None: all 256 bytes) and import
    provenance (None unless imported)."""
    H: int
    params: int
    matrices: dict
    significant_patterns_001: int = key("significant_patterns_0.01")
    spectral_radius_Wh: float
    meta: dict
    vocab: list | None
    provenance: dict | None


def model_summary(model: ElmanRNN) -> ModelSummary:
    """Per-matrix shape, size, |w| min/max/mean and floor percentiles, count with |w| > 0.01 (strict, float32);
    the vocabulary (None: all 256 bytes) and the import provenance (None unless imported)."""
    mats = {}
    for name in MATRICES:
        a = getattr(model, name)
        mag = np.sort(np.abs(a).ravel())
        mats[name] = MatrixStats(
            shape=list(a.shape), params=int(a.size), abs_min=float(mag[0]), abs_max=float(mag[-1]),
            abs_mean=float(np.mean(mag, dtype=np.float64)),
            abs_percentiles={str(p): floor_percentile(mag, p) for p in PERCENTILES},
            count_abs_gt_001=int(np.count_nonzero(mag > SIGNIFICANT)), zeros=int(np.count_nonzero(a == 0)))
    return ModelSummary(
        H=model.H, params=model.n_params, matrices=mats,
        significant_patterns_001=int(sum(mats[n].count_abs_gt_001 for n in ("Wx", "Wh", "Wy"))),
        spectral_radius_Wh=spectral_radius(model.Wh),
        meta={k: v for k, v in model.meta.items() if isinstance(v, (str, int, float, bool))},
        vocab=None if model.vocab is None else list(model.vocab),
        provenance=model.meta.get("import") if isinstance(model.meta.get("import"), dict) else None)
