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

When every section has ``b2 == b0 != 0`` (Butterworth band-, low- and high-pass filters, notches;
odd-order band-passes add one ``b = b0 [1, 0, -1]`` section, which :func:`unit_order` moves last)
and the cascade splits into whole groups, ``plan_groups(sos, unit=True)`` plans the *unit* form
that the fused feature kernels use: each numerator divided by its ``b0`` and the section run in
direct form II, ``w = v - a1 w1 - a2 w2;  y = w + b1 w1 + w2`` (delays ``w1, w2`` = ``w`` one and
two samples back), whose recursion is one multiply-add deep. The cascade then computes the filter's
output divided by ``gain``, the product of the ``b0`` (:func:`plan_gain`); :func:`unit_delays`
turns scipy's delays (``sosfilt_zi``) into this form's.

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

# column 3 of a planned section (a0, which the kernels never read) marks the form: raw, unit,
# or unit with a last section b = [1, 0, -1] (y = w - w2)
RAW, UNIT, UNIT_ODD = 1.0, 0.0, -1.0


def row_size(group: int) -> int:
    return 2 * LANES + 2 * LANES * group


def _group_size(n_sections: int) -> int:
    return 5 if n_sections == 5 else 4


def _kinds(sos: np.ndarray) -> np.ndarray:
    """Per section: 1 if ``b2 == b0 != 0``, -1 if ``b1 == 0`` and ``b2 == -b0 != 0``, else 0."""
    b0, b1, b2 = sos[:, 0], sos[:, 1], sos[:, 2]
    return np.where((b0 != 0) & (b2 == b0), 1, np.where((b0 != 0) & (b1 == 0) & (b2 == -b0), -1, 0))


def unit_order(sos: np.ndarray) -> np.ndarray:
    """``sos`` with its ``b = b0 [1, 0, -1]`` section (odd-order band-pass filters have one) moved
    last, where the unit form takes it; the cascade's transfer function is unchanged."""
    kinds = _kinds(sos)
    return np.ascontiguousarray(np.concatenate([sos[kinds != -1], sos[kinds == -1]]))


def is_unit(sos: np.ndarray) -> bool:
    """Whether the unit form applies: every ``b2 == b0 != 0``, save at most one last section with
    ``b = b0 [1, 0, -1]`` (see :func:`unit_order`), and no identity padding is needed."""
    n = sos.shape[0]
    kinds = _kinds(sos)
    whole = n % _group_size(n) == 0
    return bool(whole and np.all(kinds[:-1] == 1) and kinds[-1] != 0)


def plan_groups(sos: np.ndarray, unit: bool = False) -> np.ndarray:
    """Split (n_sections, 6) SOS into (n_groups, G, 6), G = 5 for a 5-section cascade, else 4.

    With ``unit``, a cascade that allows it (:func:`is_unit`) comes out in the unit form, each
    numerator divided by its ``b0``. Public filtering keeps the raw form, whose delays are scipy's
    bit for bit, so that a filter continued from returned delays equals one run exactly.
    """
    n = sos.shape[0]
    group = _group_size(n)
    n_groups = -(-n // group)
    out = np.zeros((n_groups * group, 6))
    if unit and is_unit(sos):
        out[:, :3] = sos[:, :3] / sos[:, :1]
        out[:, 4:] = sos[:, 4:]
        out[:, 3] = UNIT
        if _kinds(sos)[-1] == -1:  # the last group ends in a [1, 0, -1] section
            out[(n_groups - 1) * group:, 3] = UNIT_ODD
    else:
        out[:] = (1.0, 0.0, 0.0, RAW, 0.0, 0.0)
        out[:n] = sos
        out[:n, 3] = RAW
    return np.ascontiguousarray(out.reshape(n_groups, group, 6))


def plan_gain(sos: np.ndarray, unit: bool = False) -> float:
    """The gain of ``plan_groups(sos, unit)``: its cascade's output is the filter's divided by it
    (1 in the raw form)."""
    if not (unit and is_unit(sos)):
        return 1.0
    return float(np.prod(sos[:, 0]))


def unit_delays(z: np.ndarray, sos: np.ndarray) -> np.ndarray:
    """scipy's delays (n_sections, 2, ...) of ``sos`` -> the delays of its unit form (same shape).

    Section ``s`` of the unit form sees the filter's signals divided by ``P_s``, the product of the
    ``b0`` up to it; its direct-form-II delays ``(w1, w2)`` give the transposed form's as
    ``z0 = (b1 - a1) w1 + (b2 - a2) w2`` and ``z1 = (b2 - a2) w1 + (a1 b2 - a2 b1) w2`` (``b1, b2``
    divided by ``b0``), which is solved here.
    """
    out = np.empty_like(z, dtype=np.float64)
    scale = np.cumprod(sos[:, 0])
    for s, (b0, b1, b2, _, a1, a2) in enumerate(sos):
        b1, b2 = b1 / b0, b2 / b0  # b2 is 1, or -1 for a [1, 0, -1] section
        m = np.array([[b1 - a1, b2 - a2], [b2 - a2, a1 * b2 - a2 * b1]])
        zn = np.asarray(z[s], dtype=np.float64) / scale[s]
        out[s] = np.linalg.solve(m, zn.reshape(2, -1)).reshape(zn.shape)
    return out


def advance_tables(groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(K, T)`` that advance the delays of a one-group unit-form cascade over ``n`` samples.

    ``groups`` is ``plan_groups(sos, unit=True)`` with one group of G sections; with ``s`` the 2G
    delays before (``z0, z1`` of each section, here ``w(i-1), w(i-2)``) and ``x`` the samples, the
    delays after are ``T @ s + K.T @ x``: ``T`` (2G, 2G), ``K`` (n, 2G). One step of the cascade,
    run from each unit delay and from a unit sample, gives the state-space pair ``(A, B)``; then
    ``T = A^n`` and ``K[j] = A^(n-1-j) B``.
    """
    if groups.shape[0] != 1 or groups[0, 0, 3] == RAW:
        raise ValueError("advance tables need a one-group unit-form plan")
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


# pipelined or not, as measured kernel by kernel (summing and direct form II: not)
_VW = _simd.VW
advance8 = _simd.state_advance_kernel(8)
advance10 = _simd.state_advance_kernel(10)
_k4_raw_sum = _simd.cascade_kernel(4, False, False, pipelined=False)
_k4_raw_store = _simd.cascade_kernel(4, True, False)
_k4_unit_sum = _simd.cascade_kernel(4, False, True, pipelined=False)
_k4_unit_store = _simd.cascade_kernel(4, True, True, pipelined=False)
_k5_raw_sum = _simd.cascade_kernel(5, False, False, pipelined=False)
_k5_raw_store = _simd.cascade_kernel(5, True, False)
_k5_unit_sum = _simd.cascade_kernel(5, False, True, pipelined=False)
_k5_unit_store = _simd.cascade_kernel(5, True, True, pipelined=False)
_k4_odd_sum = _simd.cascade_kernel(4, False, True, pipelined=False, odd_last=True)
_k4_odd_store = _simd.cascade_kernel(4, True, True, pipelined=False, odd_last=True)
_k5_odd_sum = _simd.cascade_kernel(5, False, True, pipelined=False, odd_last=True)
_k5_odd_store = _simd.cascade_kernel(5, True, True, pipelined=False, odd_last=True)


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


@jit(numba.void(_vec_rw, _mat_ro, _vec_ro, _vec_rw, _i8, _i8, _b1, _b1))
def _run_group(W, c, src, dst, i0, i1, store, reverse):
    _simd.keep_out_of_line()
    form = c[0, 3]
    five = c.shape[0] == 5
    for k in range(0, LANES, _VW):
        if form == UNIT:
            if five:
                if store:
                    _k5_unit_store(W, c, src, dst, i0, i1, k, reverse)
                else:
                    _k5_unit_sum(W, c, src, dst, i0, i1, k, reverse)
            elif store:
                _k4_unit_store(W, c, src, dst, i0, i1, k, reverse)
            else:
                _k4_unit_sum(W, c, src, dst, i0, i1, k, reverse)
        elif form == UNIT_ODD:
            if five:
                if store:
                    _k5_odd_store(W, c, src, dst, i0, i1, k, reverse)
                else:
                    _k5_odd_sum(W, c, src, dst, i0, i1, k, reverse)
            elif store:
                _k4_odd_store(W, c, src, dst, i0, i1, k, reverse)
            else:
                _k4_odd_sum(W, c, src, dst, i0, i1, k, reverse)
        elif five:
            if store:
                _k5_raw_store(W, c, src, dst, i0, i1, k, reverse)
            else:
                _k5_raw_sum(W, c, src, dst, i0, i1, k, reverse)
        elif store:
            _k4_raw_store(W, c, src, dst, i0, i1, k, reverse)
        else:
            _k4_raw_sum(W, c, src, dst, i0, i1, k, reverse)


@jit(numba.void(_mat_rw, _cube_ro, _vec_ro, _vec_rw, _vec_rw, _i8, _i8, _b1, _b1))
def band_chunk(W, groups, src, tmp, dst, i0, i1, store, reverse):
    """Run one band's cascade over transposed samples ``i0 .. i1`` of ``src``.

    ``W`` holds one row per group; ``groups`` is (n_groups, G, 6) from :func:`plan_groups`. With
    ``store`` the output goes to ``dst``; otherwise its sum and sum of squares accumulate in
    ``W[-1, :2 * LANES]``. ``tmp`` carries the output between groups (and may be ``dst``). With
    ``reverse`` the samples are taken from ``i1 - 1`` down to ``i0`` (outputs stay in place).
    """
    n_groups = groups.shape[0]
    cur = src
    for g in range(n_groups):
        last = g == n_groups - 1
        out = dst if last else tmp
        keep = store or not last
        _run_group(W[g], groups[g], cur, out, i0, i1, keep, reverse)
        cur = tmp


@jit(numba.void(_vec_rw, _mat_ro, _mat_ro, _vec_ro, _i8))
def advance_chunk(W, K, T, src, cnt):
    """Advance one-group delay row ``W`` over ``cnt`` transposed samples of ``src`` by the tables of
    :func:`advance_tables` (``cnt`` must be the ``n`` they were made for); sums untouched."""
    _simd.keep_out_of_line()
    for k in range(0, LANES, _VW):
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
