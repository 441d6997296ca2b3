"""Numba kernels for cascaded biquads with channels in SIMD lanes.

A block of ``LANES`` channels is copied, a chunk of samples at a time, into a small transposed
buffer ``buf[i * LANES + lane]``; every biquad then runs the same recurrence over the lanes side by
side, so LLVM turns the lane loop into vector instructions. States live in one flat work array with
offsets known per section, which lets LLVM prove that loads and stores do not alias.

The biquad is the transposed direct form II of ``scipy.signal.sosfilt``, written FMA-friendly::

    y  = b0 * v + z0
    z0 = b1 * v + z1 - a1 * y
    z1 = b2 * v - a2 * y
"""

from __future__ import annotations

import numpy as np

from .._numba import jit, prange

LANES = 16
CHUNK = 512


@jit
def _load(x, c0, nl, t0, cnt, buf):
    """Copy ``x[c0:c0+nl, t0:t0+cnt]`` transposed into ``buf`` (zeros in unused lanes)."""
    for i in range(cnt * LANES):
        buf[i] = 0.0
    for lane in range(nl):
        row = x[c0 + lane]
        for i in range(cnt):
            buf[i * LANES + lane] = row[t0 + i]


@jit
def _store(buf, out, c0, nl, t0, cnt):
    for lane in range(nl):
        for i in range(cnt):
            out[c0 + lane, t0 + i] = buf[i * LANES + lane]


@jit
def _cascade_chunk(buf, cnt, sos, state):
    """Run every section of ``sos`` over ``cnt`` transposed samples in place.

    ``state[(2 * s + k) * LANES + lane]`` holds delay ``k`` of section ``s``.
    """
    n_sections = sos.shape[0]
    for i in range(cnt):
        base = i * LANES
        for s in range(n_sections):
            b0 = sos[s, 0]
            b1 = sos[s, 1]
            b2 = sos[s, 2]
            a1 = sos[s, 4]
            a2 = sos[s, 5]
            o0 = 2 * s * LANES
            o1 = o0 + LANES
            for lane in range(LANES):
                v = buf[base + lane]
                y = b0 * v + state[o0 + lane]
                state[o0 + lane] = b1 * v + state[o1 + lane] - a1 * y
                state[o1 + lane] = b2 * v - a2 * y
                buf[base + lane] = y


@jit
def _sosfilt_block(x, out, c0, nl, sos, zi, zf):
    n_times = x.shape[1]
    n_sections = sos.shape[0]
    state = np.zeros(2 * n_sections * LANES)
    for lane in range(nl):
        for s in range(n_sections):
            state[2 * s * LANES + lane] = zi[c0 + lane, s, 0]
            state[(2 * s + 1) * LANES + lane] = zi[c0 + lane, s, 1]
    buf = np.empty(CHUNK * LANES)
    for t0 in range(0, n_times, CHUNK):
        cnt = min(CHUNK, n_times - t0)
        _load(x, c0, nl, t0, cnt, buf)
        _cascade_chunk(buf, cnt, sos, state)
        _store(buf, out, c0, nl, t0, cnt)
    for lane in range(nl):
        for s in range(n_sections):
            zf[c0 + lane, s, 0] = state[2 * s * LANES + lane]
            zf[c0 + lane, s, 1] = state[(2 * s + 1) * LANES + lane]


@jit(parallel=True)
def sosfilt_lanes(x, sos, zi):
    """Filter every row of ``x`` (n_rows, n_times) with ``sos``; returns (y, zf).

    ``zi`` and ``zf`` have shape (n_rows, n_sections, 2).
    """
    n_rows = x.shape[0]
    out = np.empty_like(x)
    zf = np.empty_like(zi)
    n_blocks = (n_rows + LANES - 1) // LANES
    for blk in prange(n_blocks):
        c0 = blk * LANES
        nl = min(LANES, n_rows - c0)
        _sosfilt_block(x, out, c0, nl, sos, zi, zf)
    return out, zf
