"""Tests of the EDA, PPG and respiration features (physioaffect.features.peripheral).

Real recordings come from the NeuroKit2 example data in ``../shared/data/real/neurokit2-data/``
(100 Hz CSV files with a header row); known answers come from signals built here with numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from physioaffect.errors import InvalidParameterError, InvalidSignalError
from physioaffect.features.peripheral import (
    EDA_FEATURES,
    PPG_FEATURES,
    RSP_FEATURES,
    _range_stats,
    _window_slope,
    _window_starts,
    eda_decompose,
    eda_features,
    ppg_features,
    respiration_features,
)

NK_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "neurokit2-data"
SFREQ = 100.0  # every NeuroKit2 example file used here is sampled at 100 Hz

EDA_IDX = {name: i for i, name in enumerate(EDA_FEATURES)}
PPG_IDX = {name: i for i, name in enumerate(PPG_FEATURES)}
RSP_IDX = {name: i for i, name in enumerate(RSP_FEATURES)}


def _read_csv(name: str) -> dict[str, np.ndarray]:
    path = NK_DATA / name
    if not path.is_file():
        pytest.skip(f"real NeuroKit2 example data not found: {path} is absent")
    with path.open() as f:
        header = f.readline().strip().split(",")
    values = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return {col: values[:, i] for i, col in enumerate(header)}


@pytest.fixture(scope="module")
def resting_5min():
    return _read_csv("bio_resting_5min_100hz.csv")  # ECG, PPG, RSP


@pytest.fixture(scope="module")
def resting_8min():
    return _read_csv("bio_resting_8min_100hz.csv")  # ECG, RSP, EDA, PhotoSensor


@pytest.fixture(scope="module")
def event_related():
    return _read_csv("bio_eventrelated_100hz.csv")  # ECG, EDA, Photosensor, RSP


# --------------------------------------------------------------------------------------------
# Synthetic signals with known answers (numpy only)
# --------------------------------------------------------------------------------------------


def _pulse_train(bpm: float, duration: float, sfreq: float) -> np.ndarray:
    """PPG-like wave: a systolic peak and a smaller dicrotic wave per beat, at ``bpm``."""
    t = np.arange(int(duration * sfreq)) / sfreq
    phase = (t * bpm / 60.0) % 1.0
    systolic = np.exp(-0.5 * ((phase - 0.25) / 0.07) ** 2)
    dicrotic = 0.4 * np.exp(-0.5 * ((phase - 0.55) / 0.09) ** 2)
    rng = np.random.default_rng(1)
    return systolic + dicrotic + 0.01 * rng.standard_normal(t.size)


def _bateman_eda(scr_times, duration: float, sfreq: float) -> np.ndarray:
    """Tonic level with a slow drift plus one Bateman-shaped SCR (tau 0.75 s / 2 s) per time."""
    t = np.arange(int(duration * sfreq)) / sfreq
    x = 4.0 + 0.005 * t  # SCL 4 uS drifting by 0.3 uS per minute
    for onset, amplitude in scr_times:
        u = np.clip(t - onset, 0.0, None)
        bateman = np.exp(-u / 2.0) - np.exp(-u / 0.75)
        x += amplitude * bateman / bateman.max()
    return x


def test_ppg_known_heart_rate():
    ppg = _pulse_train(72.0, 40.0, SFREQ)
    feats = ppg_features(ppg[np.newaxis], SFREQ)
    assert feats.shape == (1, len(PPG_FEATURES))
    assert feats[0, PPG_IDX["hr_mean"]] == pytest.approx(72.0, abs=1.0)
    # a perfectly regular train: nearly no variability (sample-grid jitter only, 1 sample = 10 ms)
    assert feats[0, PPG_IDX["hrv_sdnn"]] < 10.0
    assert feats[0, PPG_IDX["hr_std"]] < 1.5


def test_respiration_known_rate():
    t = np.arange(0, 60.0, 1 / SFREQ)
    rsp = 0.8 * np.sin(2 * np.pi * (15.0 / 60.0) * t)
    feats = respiration_features(rsp[np.newaxis], SFREQ)
    assert feats[0, RSP_IDX["rsp_rate_mean"]] == pytest.approx(15.0, abs=0.5)
    assert feats[0, RSP_IDX["rsp_rrv"]] < 0.05  # breath-to-breath intervals are all 4 s
    # peak-to-trough excursion of a 0.8-amplitude sine is 1.6 (cleaning band-passes it a little)
    assert feats[0, RSP_IDX["rsp_amplitude_mean"]] == pytest.approx(1.6, rel=0.1)


def test_eda_known_scr_count_and_timing():
    onsets = [(10.0, 0.8), (30.0, 0.5), (50.0, 1.0)]
    eda = _bateman_eda(onsets, 70.0, SFREQ)
    feats = eda_features(eda[np.newaxis], SFREQ)
    assert feats[0, EDA_IDX["scr_count"]] == 3
    assert feats[0, EDA_IDX["scr_rate"]] == pytest.approx(3 / (70.0 / 60.0))
    assert feats[0, EDA_IDX["scl_mean"]] == pytest.approx(4.0 + 0.005 * 35.0, abs=0.3)
    # a Bateman (0.75 s, 2 s) response peaks 1.18 s after its onset
    dec = eda_decompose(eda, SFREQ)
    expected_peaks = np.array([t for t, _ in onsets]) + 1.18
    np.testing.assert_allclose(dec.scr_peaks / SFREQ, expected_peaks, atol=0.3)
    assert np.all(dec.scr_onsets < dec.scr_peaks)
    # the largest response is the third (1.0 uS), the smallest the second (0.5 uS)
    assert np.argmax(dec.scr_amplitudes) == 2 and np.argmin(dec.scr_amplitudes) == 1


def test_eda_without_responses_counts_zero_and_nan_amplitude():
    eda = np.full((1, 3000), 5.0)
    feats = eda_features(eda, SFREQ, window=10.0)
    assert feats.shape == (3, 1, len(EDA_FEATURES))
    np.testing.assert_array_equal(feats[:, 0, EDA_IDX["scr_count"]], 0.0)
    np.testing.assert_array_equal(feats[:, 0, EDA_IDX["scr_amplitude_sum"]], 0.0)
    assert np.all(np.isnan(feats[:, 0, EDA_IDX["scr_amplitude_mean"]]))
    np.testing.assert_allclose(feats[:, 0, EDA_IDX["scl_mean"]], 5.0)


# --------------------------------------------------------------------------------------------
# Real recordings
# --------------------------------------------------------------------------------------------


def test_ppg_heart_rate_agrees_with_ecg(resting_5min):
    import neurokit2 as nk

    ecg = nk.ecg_clean(resting_5min["ECG"], sampling_rate=int(SFREQ))
    _, info = nk.ecg_peaks(ecg, sampling_rate=int(SFREQ))
    r_peaks = np.asarray(info["ECG_R_Peaks"])
    hr_ecg = float(np.mean(60.0 / (np.diff(r_peaks) / SFREQ)))
    assert hr_ecg == pytest.approx(86.0, abs=3.0)  # the documented resting heart rate

    feats = ppg_features(resting_5min["PPG"][np.newaxis], SFREQ)
    assert feats[0, PPG_IDX["hr_mean"]] == pytest.approx(hr_ecg, abs=3.0)
    # resting adult HRV in a plausible range (ms)
    assert 10.0 < feats[0, PPG_IDX["hrv_rmssd"]] < 150.0
    assert 10.0 < feats[0, PPG_IDX["hrv_sdnn"]] < 200.0

    # per minute, PPG heart rate still tracks the ECG heart rate of the same minute
    per_min = ppg_features(resting_5min["PPG"][np.newaxis], SFREQ, window=60.0)
    assert per_min.shape == (5, 1, len(PPG_FEATURES))
    for w in range(5):
        in_min = r_peaks[(r_peaks >= w * 6000) & (r_peaks < (w + 1) * 6000)]
        hr_min = np.mean(60.0 / (np.diff(in_min) / SFREQ))
        assert per_min[w, 0, PPG_IDX["hr_mean"]] == pytest.approx(hr_min, abs=3.0)


def test_respiration_rate_is_physiological(resting_5min):
    feats = respiration_features(resting_5min["RSP"][np.newaxis], SFREQ, window=60.0, step=30.0)
    assert feats.shape == (9, 1, len(RSP_FEATURES))
    rate = feats[:, 0, RSP_IDX["rsp_rate_mean"]]
    assert np.all((rate > 8.0) & (rate < 25.0)), rate
    assert np.all(feats[:, 0, RSP_IDX["rsp_amplitude_mean"]] > 0)
    assert np.all(feats[:, 0, RSP_IDX["rsp_rrv"]] > 0)


def test_eda_responds_to_negative_images(event_related):
    # Image onsets are where the photosensor drops; check that against the documented samples.
    photo = event_related["Photosensor"]
    drops = np.flatnonzero(np.diff((photo < np.median(photo)).astype(int)) == 1) + 1
    np.testing.assert_array_equal(drops, [1024, 4957, 9224, 12984])
    negative = [0, 3]  # conditions: Negative, Neutral, Neutral, Negative
    neutral = [1, 2]

    # An SCR starts 1-3 s after a stimulus and takes 1-3 s to rise, so its peak lands up to
    # about 6 s after onset: a 6-s window from each image onset holds the response.
    feats = eda_features(event_related["EDA"][np.newaxis], SFREQ, window=6.0, onsets=drops / SFREQ)
    assert feats.shape == (4, 1, len(EDA_FEATURES))
    count = feats[:, 0, EDA_IDX["scr_count"]]
    amp_sum = feats[:, 0, EDA_IDX["scr_amplitude_sum"]]
    auc = feats[:, 0, EDA_IDX["phasic_auc"]]
    # Both Negative images are followed by an SCR of more than 1 uS, neither Neutral image is:
    # negative pictures raise sympathetic arousal, which the sweat glands show.
    assert np.all(count[negative] >= 1)
    np.testing.assert_array_equal(count[neutral], 0)
    assert np.all(amp_sum[negative] > 1.0)
    assert auc[negative].min() > auc[neutral].max()


def test_eda_decomposition_on_real_recording(resting_8min):
    eda = resting_8min["EDA"]
    dec = eda_decompose(eda, SFREQ)
    for part in (dec.clean, dec.tonic, dec.phasic):
        assert part.shape == eda.shape
    # the two parts add back up to the cleaned signal (complementary filters), to 1% of its range
    assert np.max(np.abs(dec.tonic + dec.phasic - dec.clean)) < 0.01 * np.ptp(dec.clean)
    # the tonic level is smooth: its curvature is a small fraction of the cleaned signal's
    assert np.std(np.diff(dec.tonic, 2)) < 0.05 * np.std(np.diff(dec.clean, 2))
    # the tonic level carries the signal's level, the phasic part hovers around zero
    assert np.mean(dec.tonic) == pytest.approx(np.mean(dec.clean), rel=0.01)
    assert abs(np.mean(dec.phasic)) < 0.05 * np.mean(dec.clean)
    assert dec.scr_peaks.size == dec.scr_onsets.size == dec.scr_amplitudes.size
    assert np.all(dec.scr_amplitudes >= 0.01)


# --------------------------------------------------------------------------------------------
# Windowing helpers
# --------------------------------------------------------------------------------------------


def test_window_starts():
    starts, n_win = _window_starts(1000, 100.0, window=2.0, step=1.0)
    assert n_win == 200
    np.testing.assert_array_equal(starts, np.arange(0, 801, 100))
    starts, n_win = _window_starts(1000, 100.0, window=3.0, step=None)  # step defaults to window
    np.testing.assert_array_equal(starts, [0, 300, 600])
    starts, n_win = _window_starts(1000, 100.0, window=None, step=None)
    assert n_win == 1000 and starts.tolist() == [0]
    starts, _ = _window_starts(1000, 100.0, window=2.0, step=None, onsets=[0.5, 7.99])
    assert starts.tolist() == [50, 799]


def test_window_helpers_match_direct_computation():
    rng = np.random.default_rng(0)
    x = 10.0 + np.cumsum(rng.standard_normal(2000)) * 0.01
    starts, n_win = _window_starts(x.size, 50.0, window=4.0, step=1.5)
    t = np.arange(n_win) / 50.0
    slopes = _window_slope(x, starts, n_win, 50.0)
    expected = [np.polyfit(t, x[s : s + n_win], 1)[0] for s in starts]
    np.testing.assert_allclose(slopes, expected, rtol=1e-8, atol=1e-10)

    values = rng.standard_normal(30)
    a = np.array([0, 5, 10, 29, 30])
    b = np.array([4, 6, 25, 30, 30])
    n, total, mean, std = _range_stats(values, a, b)
    np.testing.assert_array_equal(n, b - a)
    for i in range(a.size):
        seg = values[a[i] : b[i]]
        assert total[i] == pytest.approx(seg.sum())
        if seg.size >= 1:
            assert mean[i] == pytest.approx(seg.mean())
        else:
            assert np.isnan(mean[i])
        if seg.size >= 2:
            assert std[i] == pytest.approx(seg.std(ddof=1))
        else:
            assert np.isnan(std[i])


# --------------------------------------------------------------------------------------------
# Vectorisation and labelled output
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_channel_signals(resting_5min, resting_8min, event_related):
    """Two 60-s channels per modality, from different recordings."""
    n = int(60 * SFREQ)
    return {
        "eda": np.stack([event_related["EDA"][:n], resting_8min["EDA"][:n]]),
        "ppg": np.stack([resting_5min["PPG"][:n], resting_5min["PPG"][n : 2 * n]]),
        "rsp": np.stack([resting_5min["RSP"][:n], resting_8min["RSP"][:n]]),
    }


FUNCS = {"eda": eda_features, "ppg": ppg_features, "rsp": respiration_features}
N_FEATURES = {"eda": len(EDA_FEATURES), "ppg": len(PPG_FEATURES), "rsp": len(RSP_FEATURES)}


@pytest.mark.parametrize("kind", ["eda", "ppg", "rsp"])
def test_channels_match_single_channel_calls(kind, two_channel_signals):
    func = FUNCS[kind]
    data = two_channel_signals[kind]
    feats = func(data, SFREQ, window=20.0, step=10.0)
    assert feats.shape == (5, 2, N_FEATURES[kind])
    for c in range(2):
        single = func(data[c : c + 1], SFREQ, window=20.0, step=10.0)
        np.testing.assert_array_equal(feats[:, c, :], single[:, 0, :])
    # leading dims are carried through: (2 epochs, 2 channels, n_times)
    batched = func(np.stack([data, data[::-1]]), SFREQ, window=20.0, step=10.0)
    assert batched.shape == (2, 5, 2, N_FEATURES[kind])
    np.testing.assert_array_equal(batched[0], feats)
    np.testing.assert_array_equal(batched[1], feats[:, ::-1])
    # two channels from different recordings do not give the same numbers
    assert not np.allclose(feats[:, 0], feats[:, 1], equal_nan=True)


def test_xarray_in_dataarray_out(two_channel_signals):
    data = two_channel_signals["ppg"]
    da = xr.DataArray(
        data,
        dims=("channel", "time"),
        coords={"channel": ["PPG_a", "PPG_b"], "time": np.arange(data.shape[1]) / SFREQ},
        attrs={"sfreq": SFREQ},
    )
    out = ppg_features(da, None, window=20.0, step=10.0)  # sfreq read from attrs
    assert isinstance(out, xr.DataArray)
    assert out.dims == ("window", "channel", "feature")
    assert out.coords["channel"].values.tolist() == ["PPG_a", "PPG_b"]
    assert out.coords["feature"].values.tolist() == list(PPG_FEATURES)
    assert out.coords["unit"].values.tolist() == ["bpm", "bpm", "ms", "ms"]
    np.testing.assert_allclose(out.coords["onset"].values, [0.0, 10.0, 20.0, 30.0, 40.0])
    assert out.attrs["sfreq"] == SFREQ
    assert out.attrs["window"] == 20.0 and out.attrs["step"] == 10.0
    np.testing.assert_array_equal(out.values, ppg_features(data, SFREQ, window=20.0, step=10.0))
    assert out.sel(channel="PPG_b", feature="hr_mean").shape == (5,)

    # dims in another order and a leading dim with its coord are handled
    da3 = (
        xr.concat([da, da], dim="epoch")
        .assign_coords(epoch=[3, 7])
        .transpose("time", "epoch", "channel")
    )
    out3 = ppg_features(da3, SFREQ)
    assert out3.dims == ("epoch", "channel", "feature")
    assert out3.coords["epoch"].values.tolist() == [3, 7]
    assert out3.attrs["window"] == pytest.approx(60.0)
    # as_xarray=False gives numpy back; numpy in with as_xarray=True gives default channel names
    assert isinstance(ppg_features(da, as_xarray=False), np.ndarray)
    forced = eda_features(two_channel_signals["eda"], SFREQ, as_xarray=True)
    assert forced.dims == ("channel", "feature")
    assert forced.coords["channel"].values.tolist() == ["ch0", "ch1"]
    assert dict(zip(forced.feature.values, forced.unit.values, strict=True)) == EDA_FEATURES


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_names_the_channel(bad):
    data = np.zeros((3, 500))
    data[1, 42] = bad
    for func in FUNCS.values():
        with pytest.raises(InvalidSignalError, match=r"channel 1 \('ch1'\).*1 NaN or inf"):
            func(data, SFREQ)
    with pytest.raises(InvalidSignalError, match="`signal` holds 1 NaN or inf"):
        eda_decompose(data[1], SFREQ)


def test_window_longer_than_signal():
    data = np.zeros((1, 500))  # 5 s at 100 Hz
    with pytest.raises(InvalidParameterError, match=r"`window`=8.0 s .*\(5 s, 500 samples"):
        ppg_features(data, SFREQ, window=8.0)


@pytest.mark.parametrize("sfreq", [None, 0.0, -100.0, float("nan")])
def test_missing_or_invalid_sfreq(sfreq):
    data = np.zeros((1, 500))
    for func in FUNCS.values():
        with pytest.raises(InvalidParameterError, match="`sfreq`"):
            func(data, sfreq)


def test_other_parameter_errors():
    data = np.zeros((1, 500))
    with pytest.raises(InvalidParameterError, match="`step`"):
        eda_features(data, SFREQ, window=2.0, step=0.0)
    with pytest.raises(InvalidParameterError, match="`onsets`"):
        eda_features(data, SFREQ, window=2.0, onsets=[4.0])  # 4 s + 2 s > 5 s
    with pytest.raises(InvalidParameterError, match="`method`"):
        ppg_features(data, SFREQ, method="nope")
    with pytest.raises(InvalidParameterError, match="`sfreq`=50.0 differs"):
        eda_features(xr.DataArray(data, dims=("channel", "time"), attrs={"sfreq": SFREQ}), 50.0)
    with pytest.raises(InvalidSignalError, match=r"shape \(500,\)"):
        eda_features(data[0], SFREQ)
    with pytest.raises(InvalidSignalError, match="could not be processed"):
        ppg_features(np.zeros((1, 50)), SFREQ)
