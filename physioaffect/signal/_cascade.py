"""Biquad cascades over a block of ``LANES`` channels, the hot loop of every filter here.

Samples of a block of channels sit transposed in a flat buffer, ``buf[i * LANES + lane]``. The
delays of a group of 4 or 5 sections (and, when summing, the running sum and sum of squares of its
output) live in one flat row ``W``; the cascade itself runs in the vector kernels of
:mod:`physioaffect.signal._simd`, four channels per AVX register with the delays in registers.

``W`` row layout, for a group of G sections::

    [0, LANES)            running sum of the group's output       (summing mode)
    [LANES, 2 LANES)      running sum of its square
    2 LANES + 2 LANES s   delay z0 of section s, then z1 at + LANES

The biquad is scipy's transposed direct form II (the *raw* form, used for all public filtering,
whose delays are scipy's bit for bit)::

    y = b0 v + z0;  z0 = b1 v + z1 - a1 y;  z1 = b2 v - a2 y

A band-pass filter whose zeros are N at z = 1 and N at z = -1 (Butterworth band-passes: scipy pairs
them as sections ``b0 [1, 2, 1]``, ``b0 [1, -2, 1]`` and, for odd N, one ``b0 [1, 0, -1]``) has the
same transfer function when every section takes one zero of each, ``b = [1, 0, -1]``, and the
product of the ``b0`` is kept as a gain. Where the cascade splits into whole groups,
``plan_groups(sos, bandpass=True)`` plans this *band-pass* form, which the fused feature kernels
use: each section runs in direct form II, ``w = v - a1 w1 - a2 w2;  y = w - w2`` (delays ``w1, w2``
= ``w`` one and two samples back), two multiply-adds against the raw form's five. The cascade then
computes the filter's output divided by ``gain`` (:func:`plan_gain`); :func:`bandpass_zi` gives
this form's delays in the steady state of a unit step (scipy's ``sosfilt_zi``).

Cascades of other lengths are split into groups of 4 (or one group of 5) and padded with identity
sections (``b = [1, 0, 0], a = [1, 0, 0]``, raw form).

Numba's on-disk cache of a kernel is keyed by its own file only: after editing this module or
``_simd``, clear the caches of the kernels that call it (``make clean-cache``) or they keep the old
code.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit, numba
from . import _simd

LANES = 16
CHUNK = 512
assert LANES == _simd._LANES and LANES % _simd.VW == 0

# column 3 of a planned section (a0, which the kernels never read) marks its form
RAW, BANDPASS = 1.0, 0.0


def row_size(group: int) -> int:
    return 2 * LANES + 2 * LANES * group


def _group_size(n_sections: int) -> int:
    return 5 if n_sections == 5 else 4


def is_bandpass(sos: np.ndarray) -> bool:
    """Whether ``sos`` has the band-pass form: every numerator ``b0 [1, 2, 1]``, ``b0 [1, -2, 1]``
    or ``b0 [1, 0, -1]``, as many of the first kind as of the second (so the zeros are N at z = 1
    and N at z = -1), and a cascade that splits into whole groups (no identity padding)."""
    n = sos.shape[0]
    b0 = sos[:, 0]
    if n % _group_size(n) or np.any(b0 == 0):
        return False
    b = sos[:, :3] / b0[:, None]
    kinds = [np.all(np.abs(b - k) <= 1e-12, axis=1) for k in ((1, 2, 1), (1, -2, 1), (1, 0, -1))]
    return bool(np.all(kinds[0] | kinds[1] | kinds[2]) and kinds[0].sum() == kinds[1].sum())


def plan_groups(sos: np.ndarray, bandpass: bool = False) -> np.ndarray:
    """Split (n_sections, 6) SOS into (n_groups, G, 6), G = 5 for a 5-section cascade, else 4.

    With ``bandpass``, a cascade that allows it (:func:`is_bandpass`) comes out in the band-pass
    form, every numerator ``[1, 0, -1]``. Public filtering keeps the raw form, whose delays are
    scipy's bit for bit, so that a filter continued from returned delays equals one run exactly.
    """
    n = sos.shape[0]
    group = _group_size(n)
    n_groups = -(-n // group)
    out = np.zeros((n_groups * group, 6))
    if bandpass and is_bandpass(sos):
        out[:, :3] = (1.0, 0.0, -1.0)
        out[:, 3] = BANDPASS
        out[:, 4:] = sos[:, 4:]
    else:
        out[:] = (1.0, 0.0, 0.0, RAW, 0.0, 0.0)
        out[:n] = sos
        out[:n, 3] = RAW
    return np.ascontiguousarray(out.reshape(n_groups, group, 6))


def plan_gain(sos: np.ndarray, bandpass: bool = False) -> float:
    """The gain of ``plan_groups(sos, bandpass)``: its cascade's output is the filter's divided by
    it (1 in the raw form)."""
    if not (bandpass and is_bandpass(sos)):
        return 1.0
    return float(np.prod(sos[:, 0]))


def bandpass_zi(sos: np.ndarray) -> np.ndarray:
    """Delays (n_sections, 2) of the band-pass form of ``sos`` in the steady state of a unit step.

    The first section's ``w`` settles at ``1 / (1 + a1 + a2)`` and its output ``w - w2`` at 0, so
    every later section rests at zero. Like scipy's ``sosfilt_zi`` (whose delays belong to another
    realisation), scaled by a signal's first sample it starts the filter as if that sample had
    always been there: the outputs that follow are the same.
    """
    z = np.zeros((sos.shape[0], 2))
    z[0] = 1.0 / (1.0 + sos[0, 4] + sos[0, 5])
    return z


def advance_tables(groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(K, T)`` that advance the delays of a one-group band-pass-form cascade over ``n`` samples.

    ``groups`` is ``plan_groups(sos, bandpass=True)`` with one group of G sections; with ``s`` the 2G
    delays before (``z0, z1`` of each section, here ``w(i-1), w(i-2)``) and ``x`` the samples, the
    delays after are ``T @ s + K.T @ x``: ``T`` (2G, 2G), ``K`` (n, 2G). One step of the cascade,
    run from each unit delay and from a unit sample, gives the state-space pair ``(A, B)``; then
    ``T = A^n`` and ``K[j] = A^(n-1-j) B``.
    """
    if groups.shape[0] != 1 or groups[0, 0, 3] == RAW:
        raise ValueError("advance tables need a one-group band-pass-form plan")
    c = groups[0]
    n_sec = c.shape[0]
    n_states = 2 * n_sec
    # columns: the unit delays with no input, then a unit sample from rest
    w = np.zeros((n_sec, 2, n_states + 1))
    for m in range(n_states):
        w[m // 2, m % 2, m] = 1.0
    v = np.zeros(n_states + 1)
    v[n_states] = 1.0
    for sec in range(n_sec):
        b1, b2, a1, a2 = c[sec, 1], c[sec, 2], c[sec, 4], c[sec, 5]
        w1, w2 = w[sec, 0].copy(), w[sec, 1].copy()
        wn = v - a1 * w1 - a2 * w2
        v = wn + b1 * w1 + b2 * w2
        w[sec, 0], w[sec, 1] = wn, w1
    step = w.reshape(n_states, n_states + 1)
    A, B = step[:, :n_states], step[:, n_states]
    K = np.empty((n, n_states))
    r = B.copy()
    for m in range(n):  # r = A^m B, the delays m samples after a unit sample
        K[n - 1 - m] = r
        r = A @ r
    T = np.linalg.matrix_power(A, n)
    return np.ascontiguousarray(K), np.ascontiguousarray(T)


def advance_first(K: np.ndarray, tol: float = 1e-18) -> int:
    """The first row of an advance table ``K`` (n, n_states) that matters.

    The rows before it hold less than ``tol`` of the table's total absolute weight: the samples they
    multiply reach the delays only through the tail of the impulse response, below rounding.
    Leaving them out changes the advanced delays by less than ``tol`` times the largest delays the
    input could produce.
    """
    weight = np.abs(K).sum(axis=1)
    head = np.cumsum(weight) / weight.sum()
    return int(np.searchsorted(head, tol, side="right"))


def state_to_rows(z: np.ndarray, group: int, n_groups: int) -> np.ndarray:
    """Delays (n_sections, 2, n_lanes<=LANES) -> W rows (n_groups, row_size) (sums zero)."""
    rows = np.zeros((n_groups, row_size(group)))
    n_sections, _, n_lanes = z.shape
    for s in range(n_sections):
        g, k = divmod(s, group)
        o = 2 * LANES + 2 * LANES * k
        rows[g, o:o + n_lanes] = z[s, 0]
        rows[g, o + LANES:o + LANES + n_lanes] = z[s, 1]
    return rows


# pipelined or not, as measured kernel by kernel
_VW = _simd.VW
advance8 = _simd.state_advance_kernel(8)
advance10 = _simd.state_advance_kernel(10)
_k4_raw_sum = _simd.cascade_kernel(4, False, False, pipelined=False)
_k4_raw_store = _simd.cascade_kernel(4, True, False)
_k5_raw_sum = _simd.cascade_kernel(5, False, False, pipelined=False)
_k5_raw_store = _simd.cascade_kernel(5, True, False)
_k4_bp_sum = _simd.cascade_kernel(4, False, True, pipelined=False)
_k4_bp_store = _simd.cascade_kernel(4, True, True, pipelined=False)
_k5_bp_sum = _simd.cascade_kernel(5, False, True, pipelined=False)
_k5_bp_store = _simd.cascade_kernel(5, True, True, pipelined=False)


# Explicit signatures for the kernels that hold the vector code: callers pass constants (0,
# True, ...), and without them Numba compiles a specialisation per combination of literal
# arguments, each with every vector variant inside (seconds apiece on a cold cache).
_f8 = numba.float64
_vec_rw = numba.types.Array(_f8, 1, "C")
_vec_ro = numba.types.Array(_f8, 1, "C", readonly=True)
_mat_rw = numba.types.Array(_f8, 2, "C")
_mat_ro = numba.types.Array(_f8, 2, "C", readonly=True)
_cube_ro = numba.types.Array(_f8, 3, "C", readonly=True)
_i8, _b1 = numba.int64, numba.boolean


# One function per kernel variant: each gets its own register allocation, which LLVM does worse
# for a loop that shares its function with the other variants (extra moves between registers).
_sig_lanes = numba.void(_vec_rw, _mat_ro, _vec_ro, _vec_rw, _i8, _i8, _b1, _i8)


@jit(_sig_lanes)
def _lanes4_bp_sum(W, c, src, dst, i0, i1, reverse, nl):
    _simd.keep_out_of_line()
    for k in range(0, nl, _VW):
        _k4_bp_sum(W, c, src, dst, i0, i1, k, reverse)


@jit(_sig_lanes)
def _lanes4_bp_store(W, c, src, dst, i0, i1, reverse, nl):
    _simd.keep_out_of_line()
    for k in range(0, nl, _VW):
        _k4_bp_store(W, c, src, dst, i0, i1, k, reverse)


@jit(_sig_lanes)
def _lanes5_bp_sum(W, c, src, dst, i0, i1, reverse, nl):
    _simd.keep_out_of_line()
    for k in range(0, nl, _VW):
        _k5_bp_sum(W, c, src, dst, i0, i1, k, reverse)


@jit(_sig_lanes)
def _lanes5_bp_store(W, c, src, dst, i0, i1, reverse, nl):
    _simd.keep_out_of_line()
    for k in range(0, nl, _VW):
        _k5_bp_store(W, c, src, dst, i0, i1, k, reverse)


@jit(_sig_lanes)
def _lanes4_raw_sum(W, c, src, dst, i0, i1, reverse, nl):
    _simd.keep_out_of_line()
    for k in range(0, nl, _VW):
        _k4_raw_sum(W, c, src, dst, i0, i1, k, reverse)


@jit(_sig_lanes)
def _lanes4_raw_store(W, c, src, dst, i0, i1, reverse, nl):
    _simd.keep_out_of_line()
    for k in range(0, nl, _VW):
        _k4_raw_store(W, c, src, dst, i0, i1, k, reverse)


@jit(_sig_lanes)
def _lanes5_raw_sum(W, c, src, dst, i0, i1, reverse, nl):
    _simd.keep_out_of_line()
    for k in range(0, nl, _VW):
        _k5_raw_sum(W, c, src, dst, i0, i1, k, reverse)


@jit(_sig_lanes)
def _lanes5_raw_store(W, c, src, dst, i0, i1, reverse, nl):
    _simd.keep_out_of_line()
    for k in range(0, nl, _VW):
        _k5_raw_store(W, c, src, dst, i0, i1, k, reverse)


@jit(numba.void(_vec_rw, _mat_ro, _vec_ro, _vec_rw, _i8, _i8, _b1, _b1, _i8))
def _run_group(W, c, src, dst, i0, i1, store, reverse, nl):
    five = c.shape[0] == 5
    if c[0, 3] == BANDPASS:
        if five:
            if store:
                _lanes5_bp_store(W, c, src, dst, i0, i1, reverse, nl)
            else:
                _lanes5_bp_sum(W, c, src, dst, i0, i1, reverse, nl)
        elif store:
            _lanes4_bp_store(W, c, src, dst, i0, i1, reverse, nl)
        else:
            _lanes4_bp_sum(W, c, src, dst, i0, i1, reverse, nl)
    elif five:
        if store:
            _lanes5_raw_store(W, c, src, dst, i0, i1, reverse, nl)
        else:
            _lanes5_raw_sum(W, c, src, dst, i0, i1, reverse, nl)
    elif store:
        _lanes4_raw_store(W, c, src, dst, i0, i1, reverse, nl)
    else:
        _lanes4_raw_sum(W, c, src, dst, i0, i1, reverse, nl)


@jit(numba.void(_mat_rw, _cube_ro, _vec_ro, _vec_rw, _vec_rw, _i8, _i8, _b1, _b1, _i8))
def band_chunk(W, groups, src, tmp, dst, i0, i1, store, reverse, nl):
    """Run one band's cascade over transposed samples ``i0 .. i1`` of ``src``.

    ``W`` holds one row per group; ``groups`` is (n_groups, G, 6) from :func:`plan_groups`. With
    ``store`` the output goes to ``dst``; otherwise its sum and sum of squares accumulate in
    ``W[-1, :2 * LANES]``. ``tmp`` carries the output between groups (and may be ``dst``). With
    ``reverse`` the samples are taken from ``i1 - 1`` down to ``i0`` (outputs stay in place). Only
    the vectors of 4 lanes that hold any of the first ``nl`` lanes are run.
    """
    n_groups = groups.shape[0]
    cur = src
    for g in range(n_groups):
        last = g == n_groups - 1
        out = dst if last else tmp
        keep = store or not last
        _run_group(W[g], groups[g], cur, out, i0, i1, keep, reverse, nl)
        cur = tmp


@jit(numba.void(_vec_rw, _mat_ro, _mat_ro, _vec_ro, _i8, _i8))
def advance_chunk(W, K, T, src, cnt, nl):
    """Advance one-group delay row ``W`` over ``cnt`` transposed samples of ``src`` by the tables of
    :func:`advance_tables` (``cnt`` must be the ``n`` they were made for), in the vectors that hold
    the first ``nl`` lanes; sums untouched."""
    _simd.keep_out_of_line()
    for k in range(0, nl, _VW):
        if K.shape[1] == 10:
            advance10(W, K, T, src, cnt, k)
        else:
            advance8(W, K, T, src, cnt, k)


@jit
def load_block(x, c0, nl, t0, cnt, pad, buf):
    """Copy samples ``t0 .. t0 + cnt`` of rows ``c0 .. c0 + nl`` of ``x``, oddly extended by
    ``pad`` samples at each end (``pad = 0``: no extension), transposed into ``buf``.

    Unused lanes are zero.
    """
    n = x.shape[1]
    if nl < LANES:
        for i in range(cnt * LANES):
            buf[i] = 0.0
    lo = t0 - pad
    if lo >= 0 and lo + cnt <= n:
        # rows in whole groups of 4 by register transposes (all but the last cnt % 4 samples)
        rows_done = _simd.transpose_rows(x, c0, nl, lo, cnt, buf)
        head = cnt - cnt % 4 if rows_done > 0 else 0
        for lane in range(nl):
            row = x[c0 + lane]
            for i in range(head if lane < rows_done else 0, cnt):
                buf[i * LANES + lane] = row[lo + i]
        return
    for lane in range(nl):
        row = x[c0 + lane]
        first = row[0]
        final = row[n - 1]
        for i in range(cnt):
            t = lo + i
            if t < 0:
                v = 2.0 * first - row[-t]
            elif t >= n:
                v = 2.0 * final - row[2 * (n - 1) - t]
            else:
                v = row[t]
            buf[i * LANES + lane] = v
