"""Fused differential-entropy kernels: every band's biquad cascade and the window sums in one pass.

Work is split into tasks of (block of ``LANES`` rows) x (group of bands). A task copies a chunk of
its rows into a transposed buffer once, then for each band runs the sections one after another over
the chunk (section-major: a section's two delays per lane stay in a small local array the compiler
keeps in registers), and the last section adds ``y`` and ``y * y`` straight into float64 sums. No
filtered signal is written to memory.

Causal mode walks a list of *runs* ``[start, stop)``: each run adds into one accumulator row and may
reset the delays first. Continuous filtering over windows uses runs between consecutive window
edges (reset only at the first); per-window filtering (TorchEEG semantics) uses one resetting run per
window.

Zero-phase mode reproduces ``scipy.signal.sosfiltfilt`` (odd extension, ``sosfilt_zi`` scaled by
the first sample of each pass) without storing the forward output: the forward pass saves every
band's delays at the start of each chunk; the backward pass walks the chunks from the end,
recomputes each chunk's forward output from its saved delays into an L1/L2-sized buffer, reverses it
and runs the backward cascade over it.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit, prange

LANES = 16
CHUNK = 1024


@jit
def _load_ext(x, c0, nl, t0, cnt, pad, buf):
    """Copy samples ``t0 .. t0+cnt`` of rows ``c0 .. c0+nl`` of the odd extension of ``x`` by
    ``pad`` samples, transposed into ``buf[i * LANES + lane]``; unused lanes are zero."""
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
        last = row[n - 1]
        for i in range(cnt):
            t = lo + i
            if t < 0:
                v = 2.0 * first - row[-t]
            elif t >= n:
                v = 2.0 * last - row[2 * (n - 1) - t]
            else:
                v = row[t]
            buf[i * LANES + lane] = v


@jit
def _section(src, dst, i0, i1, sos, b, s, state):
    """One biquad over transposed samples ``i0 .. i1``: ``src`` -> ``dst`` (may be the same buffer)."""
    b0 = sos[b, s, 0]
    b1 = sos[b, s, 1]
    b2 = sos[b, s, 2]
    a1 = sos[b, s, 4]
    a2 = sos[b, s, 5]
    z0 = np.empty(LANES)
    z1 = np.empty(LANES)
    for lane in range(LANES):
        z0[lane] = state[b, s, 0, lane]
        z1[lane] = state[b, s, 1, lane]
    for i in range(i0, i1):
        base = i * LANES
        for lane in range(LANES):
            v = src[base + lane]
            y = b0 * v + z0[lane]
            z0[lane] = b1 * v + z1[lane] - a1 * y
            z1[lane] = b2 * v - a2 * y
            dst[base + lane] = y
    for lane in range(LANES):
        state[b, s, 0, lane] = z0[lane]
        state[b, s, 1, lane] = z1[lane]


@jit
def _section_sums(src, i0, i1, sos, b, s, state, sums, sqs):
    """Last biquad of a cascade over transposed samples ``i0 .. i1``, adding ``y`` and ``y * y``
    to ``sums`` and ``sqs`` instead of storing ``y``."""
    b0 = sos[b, s, 0]
    b1 = sos[b, s, 1]
    b2 = sos[b, s, 2]
    a1 = sos[b, s, 4]
    a2 = sos[b, s, 5]
    z0 = np.empty(LANES)
    z1 = np.empty(LANES)
    for lane in range(LANES):
        z0[lane] = state[b, s, 0, lane]
        z1[lane] = state[b, s, 1, lane]
    for i in range(i0, i1):
        base = i * LANES
        for lane in range(LANES):
            v = src[base + lane]
            y = b0 * v + z0[lane]
            z0[lane] = b1 * v + z1[lane] - a1 * y
            z1[lane] = b2 * v - a2 * y
            sums[lane] += y
            sqs[lane] += y * y
    for lane in range(LANES):
        state[b, s, 0, lane] = z0[lane]
        state[b, s, 1, lane] = z1[lane]


@jit
def _cascade_sums(xin, work, cnt, sos, b, state, sums, sqs):
    n_sections = sos.shape[1]
    if n_sections == 1:
        _section_sums(xin, 0, cnt, sos, b, 0, state, sums, sqs)
        return
    _section(xin, work, 0, cnt, sos, b, 0, state)
    for s in range(1, n_sections - 1):
        _section(work, work, 0, cnt, sos, b, s, state)
    _section_sums(work, 0, cnt, sos, b, n_sections - 1, state, sums, sqs)


@jit
def _causal_task(x, c0, nl, sos, b_lo, b_hi, run_start, run_stop, run_reset, run_acc, acc):
    n_bands, n_sections = sos.shape[0], sos.shape[1]
    state = np.zeros((n_bands, n_sections, 2, LANES))
    xin = np.empty(CHUNK * LANES)
    work = np.empty(CHUNK * LANES)
    sums = np.empty(LANES)
    sqs = np.empty(LANES)
    for r in range(run_start.shape[0]):
        if run_reset[r]:
            state[:] = 0.0
        a = run_acc[r]
        for t0 in range(run_start[r], run_stop[r], CHUNK):
            cnt = min(CHUNK, run_stop[r] - t0)
            _load_ext(x, c0, nl, t0, cnt, 0, xin)
            for b in range(b_lo, b_hi):
                sums[:] = 0.0
                sqs[:] = 0.0
                _cascade_sums(xin, work, cnt, sos, b, state, sums, sqs)
                for lane in range(nl):
                    acc[a, b, 0, c0 + lane] += sums[lane]
                    acc[a, b, 1, c0 + lane] += sqs[lane]


@jit(parallel=True)
def de_sums_causal(x, sos, run_start, run_stop, run_reset, run_acc, n_acc, n_groups):
    """Per-run sums of the causally band-filtered rows of ``x``.

    Parameters
    ----------
    x : (n_rows, n_times) float64, C-contiguous
    sos : (n_bands, n_sections, 6) float64
    run_start, run_stop : (n_runs,) int64
        Sample ranges to filter, in order.
    run_reset : (n_runs,) bool
        Zero every delay before the run.
    run_acc : (n_runs,) int64
        Accumulator row each run adds into.
    n_acc : int
    n_groups : int
        Split the bands into this many groups, one task each (more parallel work for few rows).

    Returns
    -------
    acc : (n_acc, n_bands, 2, n_rows) float64
        ``acc[a, b, 0]`` sum of y, ``acc[a, b, 1]`` sum of y**2.
    """
    n_rows = x.shape[0]
    n_bands = sos.shape[0]
    n_blocks = (n_rows + LANES - 1) // LANES
    acc = np.zeros((n_acc, n_bands, 2, n_rows))
    for task in prange(n_blocks * n_groups):
        blk = task // n_groups
        g = task % n_groups
        c0 = blk * LANES
        nl = min(LANES, n_rows - c0)
        b_lo = (g * n_bands) // n_groups
        b_hi = ((g + 1) * n_bands) // n_groups
        _causal_task(x, c0, nl, sos, b_lo, b_hi, run_start, run_stop, run_reset, run_acc, acc)
    return acc


@jit
def _reverse(src, dst, cnt):
    for i in range(cnt):
        j = (cnt - 1 - i) * LANES
        base = i * LANES
        for lane in range(LANES):
            dst[base + lane] = src[j + lane]


@jit
def _zero_phase_task(x, c0, nl, sos, zi, pad, b_lo, b_hi, seg_of, acc):
    n = x.shape[1]
    n_ext = n + 2 * pad
    n_bands, n_sections = sos.shape[0], sos.shape[1]
    n_chunks = (n_ext + CHUNK - 1) // CHUNK
    fwd = np.zeros((n_bands, n_sections, 2, LANES))
    bwd = np.zeros((n_bands, n_sections, 2, LANES))
    saved = np.empty((n_chunks, n_bands, n_sections, 2, LANES))
    xin = np.empty(CHUNK * LANES)
    work = np.empty(CHUNK * LANES)
    rev = np.empty(CHUNK * LANES)
    last = np.zeros((n_bands, LANES))

    # Forward pass: delays start at zi * first extended sample; save them at every chunk start.
    _load_ext(x, c0, nl, 0, 1, pad, xin)
    for b in range(b_lo, b_hi):
        for s in range(n_sections):
            for k in range(2):
                for lane in range(LANES):
                    fwd[b, s, k, lane] = zi[b, s, k] * xin[lane]
    for c in range(n_chunks):
        t0 = c * CHUNK
        cnt = min(CHUNK, n_ext - t0)
        _load_ext(x, c0, nl, t0, cnt, pad, xin)
        for b in range(b_lo, b_hi):
            saved[c, b] = fwd[b]
            _section(xin, work, 0, cnt, sos, b, 0, fwd)
            for s in range(1, n_sections):
                _section(work, work, 0, cnt, sos, b, s, fwd)
            if c == n_chunks - 1:
                for lane in range(LANES):
                    last[b, lane] = work[(cnt - 1) * LANES + lane]

    # Backward pass over the chunks from the end.
    for b in range(b_lo, b_hi):
        for s in range(n_sections):
            for k in range(2):
                for lane in range(LANES):
                    bwd[b, s, k, lane] = zi[b, s, k] * last[b, lane]
    sums = np.empty(LANES)
    sqs = np.empty(LANES)
    for c in range(n_chunks - 1, -1, -1):
        t0 = c * CHUNK
        cnt = min(CHUNK, n_ext - t0)
        _load_ext(x, c0, nl, t0, cnt, pad, xin)
        for b in range(b_lo, b_hi):
            fwd[b] = saved[c, b]
            _section(xin, work, 0, cnt, sos, b, 0, fwd)
            for s in range(1, n_sections):
                _section(work, work, 0, cnt, sos, b, s, fwd)
            _reverse(work, rev, cnt)
            # rev[i] is extended sample t0 + cnt - 1 - i, i.e. original sample t0 + cnt - 1 - i - pad.
            for s in range(n_sections - 1):
                _section(rev, rev, 0, cnt, sos, b, s, bwd)
            # Sum over the accumulation segments met in this chunk, walking backwards in time.
            i = 0
            while i < cnt:
                t = t0 + cnt - 1 - i - pad
                if t < 0 or t >= n:
                    seg = -1
                else:
                    seg = seg_of[t]
                j = i + 1
                while j < cnt:
                    tj = t0 + cnt - 1 - j - pad
                    sj = -1 if (tj < 0 or tj >= n) else seg_of[tj]
                    if sj != seg:
                        break
                    j += 1
                sums[:] = 0.0
                sqs[:] = 0.0
                # Last section over samples i..j; summed only inside a segment (not in the padding).
                if seg >= 0:
                    _section_sums(rev, i, j, sos, b, n_sections - 1, bwd, sums, sqs)
                    for lane in range(nl):
                        acc[seg, b, 0, c0 + lane] += sums[lane]
                        acc[seg, b, 1, c0 + lane] += sqs[lane]
                else:
                    _section(rev, rev, i, j, sos, b, n_sections - 1, bwd)
                i = j


@jit(parallel=True)
def de_sums_zero_phase(x, sos, zi, pad, seg_of, n_acc, n_groups):
    """Per-segment sums of the zero-phase (forward-backward) band-filtered rows of ``x``.

    Parameters
    ----------
    x : (n_rows, n_times) float64, C-contiguous
    sos : (n_bands, n_sections, 6) float64
    zi : (n_bands, n_sections, 2) float64
        ``scipy.signal.sosfilt_zi`` of each band.
    pad : int
        Odd-extension length at each end (scipy's ``padlen``).
    seg_of : (n_times,) int64
        Accumulator row of every sample (segments between window edges).
    n_acc, n_groups : int

    Returns
    -------
    acc : (n_acc, n_bands, 2, n_rows) float64
    """
    n_rows = x.shape[0]
    n_bands = sos.shape[0]
    n_blocks = (n_rows + LANES - 1) // LANES
    acc = np.zeros((n_acc, n_bands, 2, n_rows))
    for task in prange(n_blocks * n_groups):
        blk = task // n_groups
        g = task % n_groups
        c0 = blk * LANES
        nl = min(LANES, n_rows - c0)
        b_lo = (g * n_bands) // n_groups
        b_hi = ((g + 1) * n_bands) // n_groups
        _zero_phase_task(x, c0, nl, sos, zi, pad, b_lo, b_hi, seg_of, acc)
    return acc
