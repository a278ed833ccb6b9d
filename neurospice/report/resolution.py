"""How many rows of a transient the waveform table keeps.

ngspice's time points are far denser than a reader of ``waveforms.csv`` needs: the board's
20 s run has 290,000 of them, most on slow, almost straight stretches between spikes. By
default the table keeps the fewest rows from which linear interpolation gives back every
vector to within ``tol`` of its peak-to-peak range (0.1 % unless asked otherwise); the first
and last rows are always kept, and every kept row is one ngspice computed - nothing is
resampled or smoothed. Spike times read from the reduced table therefore differ from the full
table's by at most the time the waveform needs to move ``tol`` of its range, microseconds on a
spike's edge (``tests/test_resolution.py`` checks it on the board). ``--full-resolution`` keeps
every row; the summary's analysis always uses every row.

The algorithm is a vectorised bisection (in the spirit of Douglas-Peucker): start from every
``stride``-th row, then, round after round, split each stretch between kept rows in which some
vector strays from the straight line by more than its tolerance, until none does. Each round
looks only at the rows of stretches that failed the round before.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_TOL", "reduce_rows"]

#: Default tolerance: a fraction of each vector's peak-to-peak range.
DEFAULT_TOL = 1e-3


def reduce_rows(t: np.ndarray, columns: list[np.ndarray], tol: float = DEFAULT_TOL,
                stride: int = 16) -> np.ndarray:
    """Indices (sorted) of the rows to keep (see the module docstring).

    Parameters
    ----------
    t
        The time axis, non-decreasing.
    columns
        The vectors, each as long as ``t`` (real).
    tol
        Largest deviation allowed, as a fraction of each vector's peak-to-peak range
        (``tol <= 0`` keeps every row).
    stride
        Spacing of the rows kept to start with.
    """
    t = np.asarray(t, dtype=float)
    n = len(t)
    if n <= 2 or tol <= 0 or not columns:
        return np.arange(n)
    y = np.vstack([np.asarray(c, dtype=float) for c in columns])  # one contiguous row each
    finite = np.isfinite(y)
    if not finite.all():  # a NaN or inf is kept as it is, with its neighbours
        bad = ~finite.all(axis=0)
        y = np.where(finite, y, 0.0)
    else:
        bad = None
    span = np.ptp(y, axis=1)
    inv = np.where(span > 0, 1.0 / (tol * np.where(span > 0, span, 1.0)), 0.0)

    keep = np.zeros(n, dtype=bool)
    keep[::max(int(stride), 1)] = True
    keep[-1] = True
    if bad is not None:
        near = bad.copy()
        near[1:] |= bad[:-1]
        near[:-1] |= bad[1:]
        keep |= near
    candidates = np.nonzero(~keep)[0]
    while candidates.size:
        kept = np.nonzero(keep)[0]
        seg = np.searchsorted(kept, candidates, side="right") - 1
        left, right = kept[seg], kept[seg + 1]
        dt = t[right] - t[left]
        frac = np.divide(t[candidates] - t[left], dt, out=np.zeros(candidates.size),
                         where=dt > 0)
        err = np.zeros(candidates.size)
        for k in range(len(y)):  # one vector at a time: 1-D gathers, no large temporaries
            if inv[k] == 0.0:
                continue
            yk = y[k]
            yl = yk[left]
            d = yk[right] - yl
            d *= frac
            d += yl
            d -= yk[candidates]
            np.abs(d, out=d)
            d *= inv[k]
            np.maximum(err, d, out=err)
        bad_seg = seg[err > 1.0]  # sorted, as the candidates are
        if bad_seg.size == 0:
            break
        failing = np.zeros(len(kept), dtype=bool)
        failing[bad_seg] = True
        split = np.nonzero(failing)[0]
        keep[(kept[split] + kept[split + 1]) // 2] = True
        candidates = candidates[failing[seg]]
        candidates = candidates[~keep[candidates]]
    return np.nonzero(keep)[0]
