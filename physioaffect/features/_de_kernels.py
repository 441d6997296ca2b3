"""Fused differential-entropy kernels: every band's cascade and the window sums in one pass.

A task is a block of ``LANES`` rows and a group of bands. It copies a chunk of its rows into a
transposed buffer once, then runs each band's biquad cascade over it with the sum and sum of
squares of the output accumulated in float64 (``physioaffect.signal._cascade``). No filtered signal
is written to memory.

Causal mode walks a list of *runs* ``[start, stop)``; each run may reset the delays first and adds
its sums to one accumulator row. Continuous filtering uses runs between consecutive window edges
(reset only at the first); TorchEEG's per-window semantics use one resetting run per window.

Zero-phase mode reproduces ``scipy.signal.sosfiltfilt`` (odd extension, ``sosfilt_zi`` scaled by
the first sample of each pass) without storing the forward output: the forward pass saves every
band's delays at the start of each chunk and keeps the last chunk's output; the backward pass
walks the chunks from the end, recomputes each earlier chunk's forward output from its saved
delays into a cache-sized buffer, reverses it and runs the backward cascade over it, summing into
the segment of each sample. (Storing the whole forward output instead measured about 12 % faster
on long recordings at 128 bytes per sample and block; bounded memory was kept.)
"""

from __future__ import annotations

import numpy as np

from .._numba import jit
from ..signal._cascade import CHUNK, LANES, band_chunk, load_block, reverse_block


@jit
def _flush(W, b, n_groups, nl, c0, acc, a):
    last = n_groups - 1
    for lane in range(nl):
        acc[a, b, 0, c0 + lane] += W[b, last, lane]
        acc[a, b, 1, c0 + lane] += W[b, last, LANES + lane]
    for k in range(2 * LANES):
        W[b, last, k] = 0.0


@jit
def de_causal_task(x, c0, nl, groups, b_lo, b_hi, run_start, run_stop, run_reset, run_acc, acc):
    """Causal band sums of rows ``c0 .. c0 + nl`` for bands ``b_lo .. b_hi`` over the runs.

    ``groups`` (n_bands, n_groups, G, 6); ``acc`` (n_acc, n_bands, 2, n_rows) is added to.
    """
    n_bands, n_groups, group = groups.shape[0], groups.shape[1], groups.shape[2]
    W = np.zeros((n_bands, n_groups, 2 * LANES + 2 * LANES * group))
    xin = np.empty(CHUNK * LANES)
    tmp = np.empty(CHUNK * LANES)
    for r in range(run_start.shape[0]):
        if run_reset[r]:
            W[:] = 0.0
        for t0 in range(run_start[r], run_stop[r], CHUNK):
            cnt = min(CHUNK, run_stop[r] - t0)
            load_block(x, c0, nl, t0, cnt, 0, xin)
            for b in range(b_lo, b_hi):
                band_chunk(W[b], groups[b], xin, tmp, tmp, 0, cnt, False)
        for b in range(b_lo, b_hi):
            _flush(W, b, n_groups, nl, c0, acc, run_acc[r])


@jit
def _backward_sums(x, c0, nl, groups, b, bwd, fwd_out, t0, cnt, pad, seg_of, rev, tmp, acc):
    """Backward cascade over one chunk of forward output, summing into each sample's segment."""
    n = x.shape[1]
    n_groups = groups.shape[1]
    reverse_block(fwd_out, rev, cnt)
    # rev[i] is extended sample t0 + cnt - 1 - i, original sample t0 + cnt - 1 - i - pad
    i = 0
    while i < cnt:
        t = t0 + cnt - 1 - i - pad
        seg = seg_of[t] if 0 <= t < n else -1
        j = i + 1
        while j < cnt:
            tj = t0 + cnt - 1 - j - pad
            if (seg_of[tj] if 0 <= tj < n else -1) != seg:
                break
            j += 1
        if seg >= 0:
            band_chunk(bwd[b], groups[b], rev, tmp, tmp, i, j, False)
            _flush(bwd, b, n_groups, nl, c0, acc, seg)
        else:
            band_chunk(bwd[b], groups[b], rev, tmp, tmp, i, j, True)
        i = j


@jit
def de_zero_phase_task(x, c0, nl, groups, zi_rows, pad, b_lo, b_hi, seg_of, acc):
    """Zero-phase band sums per segment (``seg_of[t]``) of rows ``c0 .. c0 + nl``.

    ``zi_rows`` (n_bands, n_groups, row): ``sosfilt_zi`` of each band laid out as delay rows, the
    same value in every lane.
    """
    n = x.shape[1]
    n_ext = n + 2 * pad
    n_bands, n_groups = groups.shape[0], groups.shape[1]
    row = zi_rows.shape[2]
    n_chunks = (n_ext + CHUNK - 1) // CHUNK
    fwd = np.zeros((n_bands, n_groups, row))
    bwd = np.zeros((n_bands, n_groups, row))
    saved = np.empty((n_chunks, n_bands, n_groups, row))
    xin = np.empty(CHUNK * LANES)
    tmp = np.empty(CHUNK * LANES)
    res = np.empty(CHUNK * LANES)
    rev = np.empty(CHUNK * LANES)
    # the final chunk's forward output is kept per band: the backward pass starts there, so it
    # need not be recomputed (for epochs shorter than a chunk that saves a third of the work)
    final = np.empty((n_bands, CHUNK * LANES))

    # Forward pass: delays start at zi times the first extended sample of each lane.
    load_block(x, c0, nl, 0, 1, pad, xin)
    for b in range(b_lo, b_hi):
        for g in range(n_groups):
            for k in range(2 * LANES, row):
                fwd[b, g, k] = zi_rows[b, g, k] * xin[k % LANES]
    for c in range(n_chunks):
        t0 = c * CHUNK
        cnt = min(CHUNK, n_ext - t0)
        load_block(x, c0, nl, t0, cnt, pad, xin)
        for b in range(b_lo, b_hi):
            saved[c, b] = fwd[b]
            out = final[b] if c == n_chunks - 1 else res
            band_chunk(fwd[b], groups[b], xin, tmp, out, 0, cnt, True)

    # Backward pass, chunk by chunk from the end, from zi times the last forward output.
    last_cnt = n_ext - (n_chunks - 1) * CHUNK
    for b in range(b_lo, b_hi):
        for g in range(n_groups):
            for k in range(2 * LANES, row):
                bwd[b, g, k] = zi_rows[b, g, k] * final[b, (last_cnt - 1) * LANES + k % LANES]
    for c in range(n_chunks - 1, -1, -1):
        t0 = c * CHUNK
        cnt = min(CHUNK, n_ext - t0)
        if c < n_chunks - 1:
            load_block(x, c0, nl, t0, cnt, pad, xin)
        for b in range(b_lo, b_hi):
            if c < n_chunks - 1:
                fwd[b] = saved[c, b]
                band_chunk(fwd[b], groups[b], xin, tmp, res, 0, cnt, True)
                _backward_sums(x, c0, nl, groups, b, bwd, res, t0, cnt, pad, seg_of, rev, tmp, acc)
            else:
                _backward_sums(x, c0, nl, groups, b, bwd, final[b], t0, cnt, pad, seg_of, rev, tmp,
                               acc)
