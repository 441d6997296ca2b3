"""The vector cascade kernels against scipy: both forms, both directions, runs of any length."""

import numpy as np
import pytest
from scipy import signal as sps

from physioaffect.signal._cascade import (
    LANES,
    band_chunk,
    is_unit,
    plan_gain,
    plan_groups,
    row_size,
    state_to_rows,
    unit_delays,
    unit_order,
)

N = 300


def _designs():
    return {
        "bandpass4": sps.butter(4, [8, 14], btype="band", fs=128, output="sos"),  # 4 sections
        # one group of 5, its b = [1, 0, -1] section moved last for the unit form
        "bandpass5": unit_order(sps.butter(5, [4, 8], btype="band", fs=128, output="sos")),
        "bandpass8": sps.butter(8, [1, 4], btype="band", fs=200, output="sos"),  # two groups of 4
        "lowpass3": sps.butter(3, 20, fs=128, output="sos"),  # 2 sections, padded (raw form)
    }


def _buffer(x):
    """(LANES, n) -> the transposed block layout buf[i * LANES + lane]."""
    return np.ascontiguousarray(x.T).ravel()


def _unbuffer(buf, n):
    return buf.reshape(n, LANES).T


def _run(sos, unit, buf, n, runs, *, reverse=False, zi=None):
    """Filter ``buf`` with the planned cascade over consecutive runs; (output, sums)."""
    groups = plan_groups(sos, unit=unit)
    n_groups, group = groups.shape[:2]
    if zi is None:
        W = np.zeros((n_groups, row_size(group)))
    else:
        z = unit_delays(zi, sos) if unit and is_unit(sos) else zi
        W = state_to_rows(z, group, n_groups)
    out = np.zeros(n * LANES)
    tmp = np.zeros(n * LANES)
    edges = np.concatenate([[0], np.cumsum(runs)])
    order = range(len(runs) - 1, -1, -1) if reverse else range(len(runs))
    for r in order:
        band_chunk(W, groups, buf, tmp, out, edges[r], edges[r + 1], True, reverse)
    gain = plan_gain(sos, unit=unit)
    return _unbuffer(out, n) * gain


@pytest.mark.parametrize("name", list(_designs()))
@pytest.mark.parametrize("unit", [False, True])
def test_cascade_matches_scipy_in_runs_of_any_length(rng, name, unit):
    sos = _designs()[name]
    x = rng.standard_normal((LANES, N))
    ref = sps.sosfilt(sos, x, axis=1)
    buf = _buffer(x)
    whole = _run(sos, unit, buf, N, [N])
    np.testing.assert_allclose(whole, ref, rtol=0, atol=1e-11 * np.abs(ref).max())
    # runs of 1 .. 9 samples go through the pipeline's short path, its prologue and epilogue
    runs = []
    while sum(runs) < N:
        runs.append(min(int(rng.integers(1, 10)), N - sum(runs)))
    np.testing.assert_array_equal(_run(sos, unit, buf, N, runs), whole)


@pytest.mark.parametrize("unit", [False, True])
def test_reverse_runs_filter_the_time_reversed_signal(rng, unit):
    sos = _designs()["bandpass4"]
    x = rng.standard_normal((LANES, N))
    ref = sps.sosfilt(sos, x[:, ::-1], axis=1)[:, ::-1]
    got = _run(sos, unit, _buffer(x), N, [7, 1, 3, 120, 169], reverse=True)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-11 * np.abs(ref).max())


def test_unit_form_applies_to_butterworth_and_not_elsewhere():
    d = _designs()
    assert is_unit(d["bandpass4"]) and is_unit(d["bandpass8"]) and is_unit(d["bandpass5"])
    assert plan_groups(d["bandpass5"], unit=True)[0, 0, 3] == -1.0  # ends in [1, 0, -1]
    odd = sps.butter(5, [4, 8], btype="band", fs=128, output="sos")
    assert not is_unit(odd)  # scipy puts the [1, 0, -1] section in the middle
    np.testing.assert_allclose(sps.sosfreqz(unit_order(odd))[1], sps.sosfreqz(odd)[1], atol=1e-12)
    assert not is_unit(d["lowpass3"])  # two sections would need identity padding
    assert plan_groups(d["lowpass3"], unit=True)[0, 0, 3] == 1.0  # raw form
    assert plan_gain(d["lowpass3"], unit=True) == 1.0
    assert plan_gain(d["bandpass4"]) == 1.0  # the raw form unless asked
    np.testing.assert_allclose(plan_gain(d["bandpass4"], unit=True), np.prod(d["bandpass4"][:, 0]))


@pytest.mark.parametrize("name", ["bandpass4", "bandpass5", "bandpass8"])
def test_unit_delays_continue_scipy_state(rng, name):
    # scipy's delays (from sosfilt_zi, as the zero-phase pass seeds them) turned into the unit
    # form's give the same output
    sos = _designs()[name]
    x = rng.standard_normal((LANES, N))
    zi = sps.sosfilt_zi(sos)[:, :, None] * x[None, None, :, 0]  # (n_sections, 2, LANES)
    ref, _ = sps.sosfilt(sos, x, axis=1, zi=np.moveaxis(zi, 2, 1))
    got = _run(sos, True, _buffer(x), N, [N], zi=zi)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())


@pytest.mark.parametrize("sfreq, band, order", [(128.0, (8, 14), 4), (200.0, (1, 4), 4),
                                               (128.0, (4, 8), 5)])
def test_advance_tables_give_the_delays_the_cascade_leaves(rng, sfreq, band, order):
    from physioaffect.signal._cascade import CHUNK, advance_chunk, advance_tables

    sos = unit_order(sps.butter(order, band, btype="band", fs=sfreq, output="sos"))
    groups = plan_groups(sos, unit=True)
    K, T = advance_tables(groups, CHUNK)
    x = rng.standard_normal((LANES, CHUNK))
    zi = sps.sosfilt_zi(sos)[:, :, None] * rng.standard_normal(LANES)[None, None, :]
    start = state_to_rows(unit_delays(zi, sos), sos.shape[0], 1)
    W_run = start.copy()
    band_chunk(W_run, groups, _buffer(x), np.zeros(CHUNK * LANES), np.zeros(CHUNK * LANES), 0, CHUNK,
               True, False)
    W_adv = start[0].copy()
    advance_chunk(W_adv, K, T, _buffer(x), CHUNK)
    delays = slice(2 * LANES, None)
    scale = np.abs(W_run[0, delays]).max()
    np.testing.assert_allclose(W_adv[delays], W_run[0, delays], rtol=0, atol=1e-11 * scale)
