"""Causal SOS filtering of many rows, a block of ``LANES`` rows per task (see ``_cascade``)."""

from __future__ import annotations

import numpy as np

from .._numba import jit
from .._parallel import run_tasks
from ._cascade import CHUNK, LANES, band_chunk, load_block, plan_groups, state_to_rows


@jit
def _sosfilt_block(x, out, c0, nl, groups, W):
    n_times = x.shape[1]
    buf = np.empty(CHUNK * LANES)
    tmp = np.empty(CHUNK * LANES)
    res = np.empty(CHUNK * LANES)
    for t0 in range(0, n_times, CHUNK):
        cnt = min(CHUNK, n_times - t0)
        load_block(x, c0, nl, t0, cnt, 0, buf)
        band_chunk(W, groups, buf, tmp, res, 0, cnt, True, False, nl)
        for lane in range(nl):
            for i in range(cnt):
                out[c0 + lane, t0 + i] = res[i * LANES + lane]


def sosfilt_rows(x, sos, zi, n_jobs=1):
    """Filter every row of ``x`` (n_rows, n_times) with ``sos`` from delays ``zi``.

    ``zi`` has shape (n_rows, n_sections, 2); returns ``(y, zf)`` with ``zf`` shaped like ``zi``.
    """
    n_rows = x.shape[0]
    n_sections = sos.shape[0]
    groups = plan_groups(sos)
    n_groups, group = groups.shape[:2]
    out = np.empty_like(x)
    rows = []
    for c0 in range(0, n_rows, LANES):
        nl = min(LANES, n_rows - c0)
        z = np.moveaxis(zi[c0:c0 + nl], 0, -1)  # (n_sections, 2, nl)
        rows.append(state_to_rows(z, group, n_groups))
    run_tasks(_sosfilt_block,
              [(x, out, c0, min(LANES, n_rows - c0), groups, W)
               for c0, W in zip(range(0, n_rows, LANES), rows, strict=True)], n_jobs)
    zf = np.empty_like(zi)
    for blk, W in enumerate(rows):
        c0 = blk * LANES
        nl = min(LANES, n_rows - c0)
        for s in range(n_sections):
            g, k = divmod(s, group)
            o = 2 * LANES + 2 * LANES * k
            zf[c0:c0 + nl, s, 0] = W[g, o:o + nl]
            zf[c0:c0 + nl, s, 1] = W[g, o + LANES:o + LANES + nl]
    return out, zf
