"""Fused differential-entropy kernels: every band's cascade and the window sums in one pass.

A task is a block of ``LANES`` rows and a group of bands. It copies a chunk of its rows into a
transposed buffer once, then runs each band's biquad cascade over it with the sum and sum of
squares of the output accumulated in float64 (``physioaffect.signal._cascade``). No filtered signal
is written to memory.

Causal mode walks a list of *runs* ``[start, stop)``; each run may reset the delays first and adds
its sums to one accumulator row. Continuous filtering uses runs between consecutive window edges
(reset only at the first); TorchEEG's per-window semantics use one resetting run per window.

Zero-phase mode reproduces ``scipy.signal.sosfiltfilt`` (odd extension, ``sosfilt_zi`` scaled by
the first sample of each pass) without storing the forward output: the forward pass only saves
every band's delays at the start of each span of ``SPAN`` samples, moving them span to span by a
linear map (``advance_tables``: no recursion) where the plan allows. A band whose impulse response
dies away within a span reads only the end of each span, since the earlier samples' terms fall
below rounding. The backward pass walks the spans from the end, recomputes each span's forward
output from its saved delays into a cache-sized buffer and runs the backward cascade over it in
reverse order (no reversed copy), summing into the segment of each sample. (Storing the whole
forward output instead measured no faster: it is bound by memory traffic.)
"""

from __future__ import annotations

import numpy as np

from .._numba import jit
from ..signal._cascade import CHUNK, LANES, advance_chunk, band_chunk, load_block

# Span of the zero-phase forward pass's saved delays, in samples: 4 chunks. Longer spans let more
# bands skip the start of each span, but their buffers (256 KiB each here) crowd the second-level
# cache: spans of 1,024 samples measured within a few percent of this one, 4,096 and longer slower.
SPAN = 4 * CHUNK


@jit
def _drop_sums(W, b, n_groups):
    for k in range(2 * LANES):
        W[b, n_groups - 1, k] = 0.0


@jit
def _flush(W, b, n_groups, nl, c0, acc, a):
    """Add band ``b``'s running sums of rows ``c0 .. c0 + nl`` to accumulator row ``a``; reset them."""
    last = n_groups - 1
    for lane in range(nl):
        acc[b, a, 0, c0 + lane] += W[b, last, lane]
        acc[b, a, 1, c0 + lane] += W[b, last, LANES + lane]
    _drop_sums(W, b, n_groups)


@jit
def de_causal_task(x, c0, nl, groups, b_lo, b_hi, run_start, run_stop, run_reset, run_acc, acc):
    """Causal band sums of rows ``c0 .. c0 + nl`` for bands ``b_lo .. b_hi`` over the runs.

    ``groups`` (n_bands, n_groups, G, 6); ``acc`` (n_bands, n_acc, 2, n_rows) is added to (band
    first: tasks of other bands write apart, with no cache line between them).
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
                band_chunk(W[b], groups[b], xin, tmp, tmp, 0, cnt, False, False, nl)
        for b in range(b_lo, b_hi):
            _flush(W, b, n_groups, nl, c0, acc, run_acc[r])


@jit
def _copy_rows(dst, src, lo, hi):
    """``dst[lo:hi] = src[lo:hi]`` for (n, n_groups, row) arrays, as a plain loop."""
    for b in range(lo, hi):
        for g in range(dst.shape[1]):
            for k in range(dst.shape[2]):
                dst[b, g, k] = src[b, g, k]


@jit
def _pieces(t0, cnt, pad, n, edges, sg, p_lo, p_hi, p_seg):
    """Split buffer samples ``0 .. cnt`` of the chunk at extended sample ``t0`` into pieces of one
    segment each (``-1``: the padding), from the end; returns (number of pieces, segment pointer).

    Buffer sample ``j`` is original sample ``t0 + j - pad``; ``sg`` is the segment of the last
    sample seen, walked down as the chunks are taken from the end.
    """
    m = 0
    hi = cnt
    while hi > 0:
        t = t0 + hi - 1 - pad
        if t >= n:
            lo = max(0, n + pad - t0)
            seg = -1
        elif t < 0:
            lo = 0
            seg = -1
        else:
            while edges[sg] > t:
                sg -= 1
            lo = max(edges[sg], t0 - pad) - t0 + pad
            seg = sg
        p_lo[m] = lo
        p_hi[m] = hi
        p_seg[m] = seg
        m += 1
        hi = lo
    return m, sg


@jit
def de_zero_phase_task(x, c0, nl, groups, zi_rows, adv_K, adv_T, adv_first, pad, b_lo, b_hi,
                       edges, acc):
    """Zero-phase band sums of rows ``c0 .. c0 + nl`` per segment ``[edges[s], edges[s + 1])``.

    The forward pass saves every band's delays at the start of each *span* of ``S`` extended
    samples, ``S = adv_K.shape[1]`` (a multiple of ``CHUNK``). ``zi_rows`` (n_bands, n_groups, row):
    ``sosfilt_zi`` of each band laid out as delay rows (in the planned form's units), the same value
    in every lane. When ``adv_K`` (n_bands, S, n_states) and ``adv_T`` (n_bands, n_states, n_states)
    are the ``advance_tables`` over a span, the delays move span to span without the recursion,
    as ``T s + sum_j K[j] x_j`` over the span's samples ``j >= adv_first[b]`` only: the earlier
    terms fall below rounding (the band's impulse response has died away), so a band whose response
    is short reads only the end of each span. Otherwise (``adv_K`` with one row) the forward pass
    runs the recursion, with spans of ``CHUNK``.

    The backward pass walks the spans from the end: it recomputes each span's forward output from
    its saved delays into a span-sized buffer and runs the backward cascade over it in reverse
    order (no reversed copy), summing into the segment of each sample.
    """
    n = x.shape[1]
    n_ext = n + 2 * pad
    n_bands, n_groups = groups.shape[0], groups.shape[1]
    row = zi_rows.shape[2]
    n_states = adv_T.shape[1]
    advance = adv_K.shape[1] > 1
    S = adv_K.shape[1] if advance else CHUNK
    n_spans = (n_ext + S - 1) // S
    fwd = np.zeros((n_bands, n_groups, row))
    bwd = np.zeros((n_bands, n_groups, row))
    saved = np.empty((n_spans, n_bands, n_groups, row))
    eye = np.eye(n_states)
    xin = np.empty(S * LANES)
    tmp = np.empty(S * LANES)
    res = np.empty(S * LANES)
    p_lo = np.empty(S + 3, dtype=np.int64)
    p_hi = np.empty(S + 3, dtype=np.int64)
    p_seg = np.empty(S + 3, dtype=np.int64)

    # Forward pass, delays only: they start at zi times the first extended sample of each lane.
    load_block(x, c0, nl, 0, 1, pad, xin)
    for b in range(b_lo, b_hi):
        for g in range(n_groups):
            for k in range(2 * LANES, row):
                fwd[b, g, k] = zi_rows[b, g, k] * xin[k % LANES]
    first = S
    for b in range(b_lo, b_hi):
        first = min(first, adv_first[b]) if advance else 0
    for sp in range(n_spans):
        _copy_rows(saved[sp], fwd, b_lo, b_hi)
        if sp == n_spans - 1:
            break
        s0 = sp * S
        # chunks of the span from the first any band reads
        for t0 in range(s0 + (first // CHUNK) * CHUNK, s0 + S, CHUNK):
            load_block(x, c0, nl, t0, CHUNK, pad, xin)
            for b in range(b_lo, b_hi):
                if not advance:
                    band_chunk(fwd[b], groups[b], xin, tmp, tmp, 0, CHUNK, False, False, nl)
                    continue
                j0 = t0 - s0
                lo = max(adv_first[b] - j0, 0)
                if lo >= CHUNK:
                    continue
                # the delays before the span enter once, through T, with the first chunk read
                # (two call sites: one taking a read-only or a writable table doubled the compile)
                if j0 + lo == adv_first[b]:
                    advance_chunk(fwd[b, 0], adv_K[b, j0 + lo:j0 + CHUNK], adv_T[b],
                                  xin[lo * LANES:], CHUNK - lo, nl)
                else:
                    advance_chunk(fwd[b, 0], adv_K[b, j0 + lo:j0 + CHUNK], eye,
                                  xin[lo * LANES:], CHUNK - lo, nl)
        if not advance:
            for b in range(b_lo, b_hi):
                _drop_sums(fwd, b, n_groups)

    # Backward pass, span by span from the end, from zi times the last forward output.
    sg = edges.shape[0] - 2
    for sp in range(n_spans - 1, -1, -1):
        t0 = sp * S
        cnt = min(S, n_ext - t0)
        m, sg = _pieces(t0, cnt, pad, n, edges, sg, p_lo, p_hi, p_seg)
        load_block(x, c0, nl, t0, cnt, pad, xin)
        for b in range(b_lo, b_hi):
            _copy_rows(fwd, saved[sp], b, b + 1)
            band_chunk(fwd[b], groups[b], xin, tmp, res, 0, cnt, True, False, nl)
            if sp == n_spans - 1:
                for g in range(n_groups):
                    for k in range(2 * LANES, row):
                        bwd[b, g, k] = zi_rows[b, g, k] * res[(cnt - 1) * LANES + k % LANES]
            for p in range(m):
                band_chunk(bwd[b], groups[b], res, tmp, tmp, p_lo[p], p_hi[p], False, True, nl)
                if p_seg[p] >= 0:
                    _flush(bwd, b, n_groups, nl, c0, acc, p_seg[p])
                else:
                    _drop_sums(bwd, b, n_groups)


@jit
def window_variances(acc, i0, n_in, length, factor, out):
    """Population variance of each window from its segments' sums, times ``factor`` of its band.

    ``acc`` (n_bands, n_seg, 2, n_rows) holds the sum and sum of squares per segment; window ``w``
    adds segments ``i0[w] .. i0[w] + n_in[w]`` of ``length`` samples in all. Writes ``out``
    (n_windows, n_rows, n_bands); returns whether every value is finite. A negative variance (from
    rounding) becomes 0; NaN stays NaN.
    """
    n_win, n_rows, n_bands = out.shape
    inv = 1.0 / length
    bad = 0.0  # stays 0 while every value is finite (inf - inf and NaN make it NaN)
    for w in range(n_win):
        lo = i0[w]
        hi = lo + n_in[w]
        for b in range(n_bands):
            f = factor[b]
            for r in range(n_rows):
                s1 = acc[b, lo, 0, r]
                s2 = acc[b, lo, 1, r]
                for j in range(lo + 1, hi):
                    s1 += acc[b, j, 0, r]
                    s2 += acc[b, j, 1, r]
                mean = s1 * inv
                var = s2 * inv - mean * mean
                if var < 0.0:
                    var = 0.0
                var *= f
                bad += var - var
                out[w, r, b] = var
    return bad == 0.0
