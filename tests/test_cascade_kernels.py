"""The vector cascade kernels against scipy: both forms, both directions, runs of any length."""

import numpy as np
import pytest
from scipy import signal as sps

from physioaffect.signal._cascade import (
    LANES,
    band_chunk,
    bandpass_zi,
    is_bandpass,
    plan_gain,
    plan_groups,
    row_size,
    state_to_rows,
)

N = 300


def _designs():
    return {
        "bandpass4": sps.butter(4, [8, 14], btype="band", fs=128, output="sos"),  # 4 sections
        "bandpass5": sps.butter(5, [4, 8], btype="band", fs=128, output="sos"),  # one group of 5
        "bandpass8": sps.butter(8, [1, 4], btype="band", fs=200, output="sos"),  # two groups of 4
        "lowpass3": sps.butter(3, 20, fs=128, output="sos"),  # 2 sections, padded (raw form)
    }


def _buffer(x):
    """(LANES, n) -> the transposed block layout buf[i * LANES + lane]."""
    return np.ascontiguousarray(x.T).ravel()


def _unbuffer(buf, n):
    return buf.reshape(n, LANES).T


def _run(sos, bandpass, buf, n, runs, *, reverse=False, zi=None):
    """Filter ``buf`` with the planned cascade over consecutive runs, from delays ``zi`` in the
    planned form (n_sections, 2, LANES) or from rest; the filter's output (LANES, n)."""
    groups = plan_groups(sos, bandpass=bandpass)
    n_groups, group = groups.shape[:2]
    if zi is None:
        W = np.zeros((n_groups, row_size(group)))
    else:
        W = state_to_rows(zi, group, n_groups)
    out = np.zeros(n * LANES)
    tmp = np.zeros(n * LANES)
    edges = np.concatenate([[0], np.cumsum(runs)])
    order = range(len(runs) - 1, -1, -1) if reverse else range(len(runs))
    for r in order:
        band_chunk(W, groups, buf, tmp, out, edges[r], edges[r + 1], True, reverse, LANES)
    gain = plan_gain(sos, bandpass=bandpass)
    return _unbuffer(out, n) * gain


@pytest.mark.parametrize("name", list(_designs()))
@pytest.mark.parametrize("bandpass", [False, True])
def test_cascade_matches_scipy_in_runs_of_any_length(rng, name, bandpass):
    sos = _designs()[name]
    x = rng.standard_normal((LANES, N))
    ref = sps.sosfilt(sos, x, axis=1)
    buf = _buffer(x)
    whole = _run(sos, bandpass, buf, N, [N])
    np.testing.assert_allclose(whole, ref, rtol=0, atol=1e-11 * np.abs(ref).max())
    # runs of 1 .. 9 samples go through the pipeline's short path, its prologue and epilogue
    runs = []
    while sum(runs) < N:
        runs.append(min(int(rng.integers(1, 10)), N - sum(runs)))
    np.testing.assert_array_equal(_run(sos, bandpass, buf, N, runs), whole)


@pytest.mark.parametrize("bandpass", [False, True])
def test_reverse_runs_filter_the_time_reversed_signal(rng, bandpass):
    sos = _designs()["bandpass4"]
    x = rng.standard_normal((LANES, N))
    ref = sps.sosfilt(sos, x[:, ::-1], axis=1)[:, ::-1]
    got = _run(sos, bandpass, _buffer(x), N, [7, 1, 3, 120, 169], reverse=True)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-11 * np.abs(ref).max())


def test_bandpass_form_applies_to_butterworth_band_passes_only():
    d = _designs()
    for name in ("bandpass4", "bandpass5", "bandpass8"):
        sos = d[name]
        assert is_bandpass(sos)
        groups = plan_groups(sos, bandpass=True).reshape(-1, 6)
        assert np.all(groups[:, 3] == 0.0)  # the band-pass form
        np.testing.assert_array_equal(groups[:, :3], np.tile([1.0, 0.0, -1.0], (len(sos), 1)))
        # the same filter: gain times the product of the [1, 0, -1] sections
        planned = groups.copy()
        planned[:, 3] = 1.0
        planned[0, :3] *= plan_gain(sos, bandpass=True)
        w, h = sps.sosfreqz(sos, worN=512)
        np.testing.assert_allclose(sps.sosfreqz(planned, worN=512)[1], h, rtol=0, atol=1e-10)
    assert not is_bandpass(d["lowpass3"])
    assert not is_bandpass(sps.butter(4, 20, fs=128, output="sos"))  # a low-pass: zeros at -1 only
    assert not is_bandpass(sps.butter(6, [8, 14], btype="band", fs=128, output="sos"))  # padding
    assert not is_bandpass(sps.cheby2(4, 40, [8, 14], btype="band", fs=128, output="sos"))
    assert plan_groups(d["lowpass3"], bandpass=True)[0, 0, 3] == 1.0  # raw form
    assert plan_gain(d["lowpass3"], bandpass=True) == 1.0
    assert plan_gain(d["bandpass4"]) == 1.0  # the raw form unless asked
    np.testing.assert_allclose(plan_gain(d["bandpass4"], bandpass=True), np.prod(d["bandpass4"][:, 0]))


@pytest.mark.parametrize("name", ["bandpass4", "bandpass5", "bandpass8"])
def test_bandpass_zi_continues_like_scipy_sosfilt_zi(rng, name):
    # steady-state delays of each realisation, scaled by the first sample (as sosfiltfilt seeds
    # its passes), give the same output, although the delays themselves differ
    sos = _designs()[name]
    x = rng.standard_normal((LANES, N)) + 5.0
    zi = sps.sosfilt_zi(sos)[:, :, None] * x[None, None, :, 0]  # (n_sections, 2, LANES)
    ref, _ = sps.sosfilt(sos, x, axis=1, zi=np.moveaxis(zi, 2, 1))
    z = bandpass_zi(sos)[:, :, None] * x[None, None, :, 0]
    got = _run(sos, True, _buffer(x), N, [N], zi=z)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())


@pytest.mark.parametrize("sfreq, band, order", [(128.0, (8, 14), 4), (200.0, (1, 4), 4),
                                               (128.0, (4, 8), 5)])
def test_advance_tables_give_the_delays_the_cascade_leaves(rng, sfreq, band, order):
    from physioaffect.signal._cascade import CHUNK, advance_chunk, advance_tables

    sos = sps.butter(order, band, btype="band", fs=sfreq, output="sos")
    groups = plan_groups(sos, bandpass=True)
    K, T = advance_tables(groups, CHUNK)
    x = rng.standard_normal((LANES, CHUNK))
    start = state_to_rows(rng.standard_normal((sos.shape[0], 2, LANES)), sos.shape[0], 1)
    W_run = start.copy()
    band_chunk(W_run, groups, _buffer(x), np.zeros(CHUNK * LANES), np.zeros(CHUNK * LANES), 0, CHUNK,
               True, False, LANES)
    W_adv = start[0].copy()
    advance_chunk(W_adv, K, T, _buffer(x), CHUNK, LANES)
    delays = slice(2 * LANES, None)
    scale = np.abs(W_run[0, delays]).max()
    np.testing.assert_allclose(W_adv[delays], W_run[0, delays], rtol=0, atol=1e-11 * scale)


@pytest.mark.parametrize("sfreq, band", [(128.0, (31, 49)), (128.0, (8, 14)), (200.0, (14, 31))])
def test_advance_from_the_first_row_that_matters(rng, sfreq, band):
    # a span of 4 chunks: the delays enter through T with the first chunk read, later chunks add
    # their terms; the rows before advance_first change nothing above rounding
    from physioaffect.signal._cascade import CHUNK, advance_chunk, advance_first, advance_tables

    span = 4 * CHUNK
    sos = sps.butter(4, band, btype="band", fs=sfreq, output="sos")
    groups = plan_groups(sos, bandpass=True)
    K, T = advance_tables(groups, span)
    first = advance_first(K)
    assert 0 < first < span
    assert np.abs(K[:first]).sum() < 1e-17 * np.abs(K).sum()
    x = rng.standard_normal((LANES, span)) * 10.0
    start = state_to_rows(rng.standard_normal((sos.shape[0], 2, LANES)), sos.shape[0], 1)
    W_run = start.copy()
    band_chunk(W_run, groups, _buffer(x), np.zeros(span * LANES), np.zeros(span * LANES), 0, span,
               True, False, LANES)
    W_adv = start[0].copy()
    buf = _buffer(x)
    j = first
    while j < span:
        stop = min(span, (j // CHUNK + 1) * CHUNK)
        advance_chunk(W_adv, K[j:stop], T if j == first else np.eye(T.shape[0]),
                      buf[j * LANES:stop * LANES], stop - j, LANES)
        j = stop
    delays = slice(2 * LANES, None)
    scale = np.abs(W_run[0, delays]).max()
    np.testing.assert_allclose(W_adv[delays], W_run[0, delays], rtol=0, atol=1e-12 * scale)
