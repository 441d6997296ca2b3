"""Biquad cascades over a block of ``LANES`` channels, the hot loop of every filter here.

Samples of a block of channels sit transposed in a flat buffer, ``buf[i * LANES + lane]``. For each
sample, the lane loop runs a whole group of 4 or 5 sections in a row, keeping the value in a
register from section to section; the delays (and, when summing, the running sum and sum of
squares) live in one flat row ``W`` at offsets known at compile time, so LLVM proves that the
accesses do not alias and turns the lane loop into vector instructions (channels side by side).

``W`` row layout, for a group of G sections::

    [0, LANES)            running sum of the group's output       (summing mode)
    [LANES, 2 LANES)      running sum of its square
    2 LANES + 2 LANES s   delay z0 of section s, then z1 at + LANES

The biquad is scipy's transposed direct form II, written FMA-friendly::

    y = b0 v + z0;  z0 = b1 v + z1 - a1 y;  z1 = b2 v - a2 y

Cascades of other lengths are split into groups of 4 (or one group of 5) and padded with identity
sections (b0 = 1, all else 0), which pass samples through exactly.

Numba's on-disk cache of a kernel is keyed by its own file only: after editing this module, clear
the caches of the kernels that call it (``make clean-cache``) or they keep the old code.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit

LANES = 16
CHUNK = 512


def row_size(group: int) -> int:
    return 2 * LANES + 2 * LANES * group


def plan_groups(sos: np.ndarray) -> np.ndarray:
    """Split (n_sections, 6) SOS into (n_groups, G, 6), G = 5 for a 5-section cascade, else 4."""
    n = sos.shape[0]
    group = 5 if n == 5 else 4
    n_groups = -(-n // group)
    out = np.zeros((n_groups * group, 6))
    out[:, 0] = 1.0
    out[:, 3] = 1.0
    out[:n] = sos
    return np.ascontiguousarray(out.reshape(n_groups, group, 6))


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


@jit(inline="always")
def _bq(W, o, lane, v, b0, b1, b2, a1, a2):
    y = b0 * v + W[o + lane]
    W[o + lane] = b1 * v + W[o + LANES + lane] - a1 * y
    W[o + LANES + lane] = b2 * v - a2 * y
    return y


@jit
def _cascade4(W, c, src, dst, i0, i1, store):
    b00, b01, b02, a01, a02 = c[0, 0], c[0, 1], c[0, 2], c[0, 4], c[0, 5]
    b10, b11, b12, a11, a12 = c[1, 0], c[1, 1], c[1, 2], c[1, 4], c[1, 5]
    b20, b21, b22, a21, a22 = c[2, 0], c[2, 1], c[2, 2], c[2, 4], c[2, 5]
    b30, b31, b32, a31, a32 = c[3, 0], c[3, 1], c[3, 2], c[3, 4], c[3, 5]
    if store:
        for i in range(i0, i1):
            base = i * LANES
            for lane in range(LANES):
                v = src[base + lane]
                v = _bq(W, 2 * LANES, lane, v, b00, b01, b02, a01, a02)
                v = _bq(W, 4 * LANES, lane, v, b10, b11, b12, a11, a12)
                v = _bq(W, 6 * LANES, lane, v, b20, b21, b22, a21, a22)
                v = _bq(W, 8 * LANES, lane, v, b30, b31, b32, a31, a32)
                dst[base + lane] = v
    else:
        for i in range(i0, i1):
            base = i * LANES
            for lane in range(LANES):
                v = src[base + lane]
                v = _bq(W, 2 * LANES, lane, v, b00, b01, b02, a01, a02)
                v = _bq(W, 4 * LANES, lane, v, b10, b11, b12, a11, a12)
                v = _bq(W, 6 * LANES, lane, v, b20, b21, b22, a21, a22)
                v = _bq(W, 8 * LANES, lane, v, b30, b31, b32, a31, a32)
                W[lane] += v
                W[LANES + lane] += v * v


@jit
def _cascade5(W, c, src, dst, i0, i1, store):
    b00, b01, b02, a01, a02 = c[0, 0], c[0, 1], c[0, 2], c[0, 4], c[0, 5]
    b10, b11, b12, a11, a12 = c[1, 0], c[1, 1], c[1, 2], c[1, 4], c[1, 5]
    b20, b21, b22, a21, a22 = c[2, 0], c[2, 1], c[2, 2], c[2, 4], c[2, 5]
    b30, b31, b32, a31, a32 = c[3, 0], c[3, 1], c[3, 2], c[3, 4], c[3, 5]
    b40, b41, b42, a41, a42 = c[4, 0], c[4, 1], c[4, 2], c[4, 4], c[4, 5]
    if store:
        for i in range(i0, i1):
            base = i * LANES
            for lane in range(LANES):
                v = src[base + lane]
                v = _bq(W, 2 * LANES, lane, v, b00, b01, b02, a01, a02)
                v = _bq(W, 4 * LANES, lane, v, b10, b11, b12, a11, a12)
                v = _bq(W, 6 * LANES, lane, v, b20, b21, b22, a21, a22)
                v = _bq(W, 8 * LANES, lane, v, b30, b31, b32, a31, a32)
                v = _bq(W, 10 * LANES, lane, v, b40, b41, b42, a41, a42)
                dst[base + lane] = v
    else:
        for i in range(i0, i1):
            base = i * LANES
            for lane in range(LANES):
                v = src[base + lane]
                v = _bq(W, 2 * LANES, lane, v, b00, b01, b02, a01, a02)
                v = _bq(W, 4 * LANES, lane, v, b10, b11, b12, a11, a12)
                v = _bq(W, 6 * LANES, lane, v, b20, b21, b22, a21, a22)
                v = _bq(W, 8 * LANES, lane, v, b30, b31, b32, a31, a32)
                v = _bq(W, 10 * LANES, lane, v, b40, b41, b42, a41, a42)
                W[lane] += v
                W[LANES + lane] += v * v


@jit
def band_chunk(W, groups, src, tmp, dst, i0, i1, store):
    """Run one band's cascade over transposed samples ``i0 .. i1`` of ``src``.

    ``W`` holds one row per group; ``groups`` is (n_groups, G, 6). With ``store`` the output goes
    to ``dst``; otherwise its sum and sum of squares accumulate in ``W[-1, :2 * LANES]``.
    ``tmp`` carries the output between groups (and may be ``dst``).
    """
    n_groups = groups.shape[0]
    five = groups.shape[1] == 5
    cur = src
    for g in range(n_groups):
        last = g == n_groups - 1
        out = dst if last else tmp
        keep = store or not last
        if five:
            _cascade5(W[g], groups[g], cur, out, i0, i1, keep)
        else:
            _cascade4(W[g], groups[g], cur, out, i0, i1, keep)
        cur = tmp


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
        for lane in range(nl):
            row = x[c0 + lane]
            for i in range(cnt):
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


@jit
def reverse_block(src, dst, cnt):
    """``dst[i] = src[cnt - 1 - i]`` sample-wise (all lanes)."""
    for i in range(cnt):
        j = (cnt - 1 - i) * LANES
        base = i * LANES
        for lane in range(LANES):
            dst[base + lane] = src[j + lane]
