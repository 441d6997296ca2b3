"""SEED and DREAMER loaders on tiny MATLAB files nested as the owners' files, and the presets."""

import numpy as np
import pytest
from scipy import io as sio
from scipy import signal as sps

from physioaffect.datasets import (
    DREAMER_CHANNELS,
    histn_dreamer,
    load_deap,
    load_dreamer,
    load_seed,
    rbtransformer,
    read_dreamer_mat,
)
from physioaffect.errors import InvalidParameterError, InvalidSignalError, RecordingError

# ------------------------------------------------------------------------------------------------
# SEED
# ------------------------------------------------------------------------------------------------

SEED_LABELS = np.array([[1, 0, -1]], dtype=np.int16)


@pytest.fixture
def seed_dir(tmp_path, rng):
    folder = tmp_path / "SEED" / "Preprocessed_EEG"
    folder.mkdir(parents=True)
    sio.savemat(folder / "label.mat", {"label": SEED_LABELS})
    written = {}
    # dates written out of order: sessions follow the dates
    for subject, prefix, dates in ((1, "djc", ("20131030", "20131027")),
                                   (2, "jl", ("20131105", "20131111"))):
        for date in dates:
            trials = {f"{prefix}_eeg{t}": rng.standard_normal((62, 600 + 37 * t + int(date[-1])))
                      for t in (1, 2, 3)}
            sio.savemat(folder / f"{subject}_{date}.mat", trials)
            written[(subject, date)] = [trials[f"{prefix}_eeg{t}"] for t in (1, 2, 3)]
    return folder, written


def test_seed_values_sessions_padding_and_labels(seed_dir):
    folder, written = seed_dir
    da = load_seed(folder.parent)
    assert da.dims == ("subject", "session", "trial", "channel", "time")
    assert da["subject"].values.tolist() == [1, 2] and da["session"].values.tolist() == [1, 2]
    assert da["date"].values.tolist() == [["20131027", "20131030"], ["20131105", "20131111"]]
    assert da["channel"].values[[0, 61]].tolist() == ["FP1", "CB2"]
    assert da["emotion"].values.tolist() == [1, 0, -1]
    assert da["label"].values.tolist() == [2, 1, 0]
    assert da.attrs["sfreq"] == 200.0
    for s, subject in enumerate((1, 2)):
        for k, date in enumerate(da["date"].values[s]):
            for t, trial in enumerate(written[(subject, date)]):
                n = int(da["n_times"].values[s, k, t])
                assert n == trial.shape[1]
                np.testing.assert_array_equal(da.values[s, k, t, :, :n], trial)
                assert np.isnan(da.values[s, k, t, :, n:]).all()
    only = load_seed(folder, subjects=2, sessions=[2])
    np.testing.assert_array_equal(only.values[0, 0, 0, :, :only["n_times"].values[0, 0, 0]],
                                  written[(2, "20131111")][0])


def test_seed_errors(seed_dir, tmp_path):
    folder, _ = seed_dir
    with pytest.raises(RecordingError, match=r"subject\(s\) \[7\]"):
        load_seed(folder, subjects=[7])
    with pytest.raises(RecordingError, match="session 3"):
        load_seed(folder, sessions=[3])
    (folder / "label.mat").unlink()
    with pytest.raises(RecordingError, match=r"label\.mat"):
        load_seed(folder)
    other = tmp_path / "other"
    other.mkdir()
    sio.savemat(other / "label.mat", {"label": SEED_LABELS})
    sio.savemat(other / "1_20130101.mat", {"x_eeg1": np.zeros((62, 10)), "x_eeg2": np.zeros((62, 10))})
    with pytest.raises(RecordingError, match=r"1_20130101\.mat.*_eeg3"):
        load_seed(other)
    sio.savemat(other / "1_20130101.mat", {f"x_eeg{t}": np.zeros((60, 10)) for t in (1, 2, 3)})
    with pytest.raises(RecordingError, match=r"x_eeg1 has shape \(60, 10\).*62"):
        load_seed(other)


# ------------------------------------------------------------------------------------------------
# DREAMER
# ------------------------------------------------------------------------------------------------

N_TRIALS, N_BASE = 3, 512  # a 4-s baseline stands in for the 61-s one


def _cell(items, shape):
    """A MATLAB cell array of ``shape`` holding ``items`` in MATLAB's (column-major) order."""
    cell = np.empty(shape, dtype=object)
    for i, item in enumerate(items):
        cell[np.unravel_index(i, shape, order="F")] = item
    return cell


def write_dreamer(path, rng, n_subjects=2):
    subjects, truth = [], []
    for s in range(n_subjects):
        stimuli = [rng.standard_normal((700 + 100 * t + 10 * s, 14)) * 5 + 4200 for t in range(N_TRIALS)]
        baseline = [rng.standard_normal((N_BASE, 14)) * 5 + 4200 for _ in range(N_TRIALS)]
        ecg_stim = [rng.standard_normal((2 * x.shape[0], 2)) for x in stimuli]
        ecg_base = [rng.standard_normal((2 * N_BASE, 2)) for _ in range(N_TRIALS)]
        scores = rng.integers(1, 6, (N_TRIALS, 3)).astype(float)
        scores[:, 0] = [2, 3, 5][: N_TRIALS]
        subjects.append({
            "Age": "22", "Gender": "female" if s else "male",
            "EEG": {"baseline": _cell(baseline, (N_TRIALS, 1)), "stimuli": _cell(stimuli, (N_TRIALS, 1))},
            "ECG": {"baseline": _cell(ecg_base, (N_TRIALS, 1)), "stimuli": _cell(ecg_stim, (N_TRIALS, 1))},
            "ScoreValence": scores[:, [0]], "ScoreArousal": scores[:, [1]],
            "ScoreDominance": scores[:, [2]],
        })
        truth.append({"stimuli": stimuli, "baseline": baseline, "ecg": ecg_stim, "scores": scores})
    dreamer = {
        "Data": _cell(subjects, (1, n_subjects)),
        "EEG_SamplingRate": 128.0, "ECG_SamplingRate": 256.0,
        "EEG_Electrodes": _cell(list(DREAMER_CHANNELS), (1, 14)),
        "noOfSubjects": float(n_subjects), "noOfVideoSequences": float(N_TRIALS),
        "Disclaimer": "test", "Provider": "test", "Version": "1.0.2", "Acknowledgement": "test",
    }
    sio.savemat(path, {"DREAMER": dreamer})
    return truth


@pytest.fixture
def dreamer_file(tmp_path, rng):
    path = tmp_path / "DREAMER.mat"
    return path, write_dreamer(path, rng)


def test_dreamer_nesting_matches_the_distributed_file(dreamer_file):
    path, truth = dreamer_file
    mat = sio.loadmat(path)
    # the access path of the distributed file
    x = mat["DREAMER"][0, 0]["Data"][0, 1]["EEG"][0, 0]["stimuli"][0, 0][2, 0]
    np.testing.assert_array_equal(x, truth[1]["stimuli"][2])
    assert mat["DREAMER"][0, 0]["Data"][0, 1]["ScoreValence"][0, 0][1, 0] == 3


def test_dreamer_values_ratings_and_labels(dreamer_file):
    path, truth = dreamer_file
    ds = load_dreamer(path, ecg=True)
    assert ds["eeg"].dims == ("subject", "trial", "channel", "time")
    assert ds["channel"].values.tolist() == list(DREAMER_CHANNELS)
    assert ds["subject"].values.tolist() == [1, 2]
    assert ds["gender"].values.tolist() == ["male", "female"]
    assert ds.attrs["sfreq"] == 128.0 and ds.attrs["ecg_sfreq"] == 256.0
    for s in range(2):
        for t in range(N_TRIALS):
            n = int(ds["n_times"].values[s, t])
            assert n == truth[s]["stimuli"][t].shape[0]
            np.testing.assert_array_equal(ds["eeg"].values[s, t, :, :n], truth[s]["stimuli"][t].T)
            assert np.isnan(ds["eeg"].values[s, t, :, n:]).all()
            np.testing.assert_array_equal(ds["baseline"].values[s, t], truth[s]["baseline"][t].T)
            m = int(ds["ecg_n_times"].values[s, t])
            np.testing.assert_array_equal(ds["ecg"].values[s, t, :, :m], truth[s]["ecg"][t].T)
        np.testing.assert_array_equal(ds["valence"].values[s], truth[s]["scores"][:, 0])
        np.testing.assert_array_equal(ds["dominance"].values[s], truth[s]["scores"][:, 2])
    assert ds["label"].values[0].tolist() == [1, 2, 4]  # valence 2, 3, 5 -> rating - 1
    binary = load_dreamer(path, subjects=[2], scheme="binary")
    assert binary["label"].values[0].tolist() == [0, 1, 1]  # >= 3
    assert "ecg" not in binary


def test_dreamer_errors_name_the_field(tmp_path, rng):
    path = tmp_path / "DREAMER.mat"
    with pytest.raises(RecordingError, match="no such file"):
        load_dreamer(path)
    sio.savemat(path, {"Other": np.zeros(2)})
    with pytest.raises(RecordingError, match="no variable 'DREAMER'"):
        load_dreamer(path)
    write_dreamer(path, rng, n_subjects=1)
    with pytest.raises(RecordingError, match="holds 1 subjects"):
        read_dreamer_mat(path, subjects=[2])
    mat = sio.loadmat(path)
    del_field = {k: mat["DREAMER"][0, 0][k] for k in mat["DREAMER"].dtype.names if k != "Data"}
    sio.savemat(path, {"DREAMER": del_field})
    with pytest.raises(RecordingError, match="no field 'Data'"):
        load_dreamer(path)


# ------------------------------------------------------------------------------------------------
# HiSTN preparation (METHODS 1.1), checked against a hand computation
# ------------------------------------------------------------------------------------------------

def test_histn_dreamer_matches_hand_computation(dreamer_file):
    path, truth = dreamer_file
    out = histn_dreamer(path, seconds=2.0, baseline_seconds=1.0)
    assert out.dims == ("subject", "trial", "channel", "time")
    assert out.shape == (2, N_TRIALS, 14, 256)
    for s in range(2):
        for t in range(N_TRIALS):
            x = truth[s]["stimuli"][t][-256:].T  # last 2 s
            mid = truth[s]["baseline"][t][N_BASE // 2 - 64: N_BASE // 2 + 64].T  # middle 1 s
            z = (x - mid.mean(axis=1, keepdims=True)) / mid.std(axis=1, ddof=1, keepdims=True)
            np.testing.assert_allclose(out.values[s, t], z / np.abs(z).max(axis=1, keepdims=True),
                                       rtol=0, atol=1e-12)
    assert np.abs(out.values).max() == 1.0
    assert out["label"].values[0].tolist() == [1, 2, 4]
    # the middle-10-s indices of the real 61-s baseline: 1-based 3265 ... 4544
    assert 7808 // 2 - 640 == 3264 and 7808 // 2 + 640 == 4544


def test_histn_dreamer_from_a_dataset_and_too_short_stimuli(dreamer_file):
    path, _ = dreamer_file
    ds = load_dreamer(path)
    from_ds = histn_dreamer(ds, subjects=[2], seconds=2.0, baseline_seconds=1.0, target="arousal")
    from_path = histn_dreamer(path, subjects=[2], seconds=2.0, baseline_seconds=1.0,
                              target="arousal")
    np.testing.assert_array_equal(from_ds.values, from_path.values)
    np.testing.assert_array_equal(from_ds["label"].values, from_ds["arousal"].values - 1)
    with pytest.raises(InvalidSignalError, match="last 60 s need 7680"):
        histn_dreamer(ds, baseline_seconds=1.0)
    with pytest.raises(InvalidParameterError, match="cache_dir"):
        histn_dreamer(ds, seconds=2.0, baseline_seconds=1.0, cache_dir="somewhere")


# ------------------------------------------------------------------------------------------------
# RBTransformer preparation (METHODS 2.1-2.2), checked against scipy (b, a) filters
# ------------------------------------------------------------------------------------------------

BANDS = ((4, 8), (8, 14), (14, 31), (31, 49))


def _bde(x, fs=128.0, sos=False):
    """Hand computation: global z-score, order-5 butter + lfilter from rest, 0.5 log2(2 pi e var).

    The (b, a) form is the published code's; at 200 Hz it loses about 1e-5 bits in theta, so the
    true-rate check uses second-order sections.
    """
    x = (x - x.mean()) / x.std()
    out = []
    for lo, hi in BANDS:
        if sos:
            y = sps.sosfilt(sps.butter(5, [lo, hi], "band", fs=fs, output="sos"), x, axis=-1)
        else:
            b, a = sps.butter(5, [lo / (fs / 2), hi / (fs / 2)], "band")
            y = sps.lfilter(b, a, x, axis=-1)
        out.append(0.5 * np.log2(2 * np.pi * np.e * y.var(axis=-1)))
    return np.stack(out, axis=-1)  # (channel, band)


def test_rbtransformer_dreamer_matches_hand_computation(dreamer_file):
    path, truth = dreamer_file
    out = rbtransformer(path, "dreamer")
    assert out.dims == ("sample", "channel", "band")
    assert out["band"].values.tolist() == ["theta", "alpha", "beta", "gamma"]
    s, t = 1, 2
    stim, base = truth[s]["stimuli"][t].T, truth[s]["baseline"][t].T
    base_1s = base.reshape(14, N_BASE // 128, 128).mean(axis=1)
    n_windows = (stim.shape[1] - 512) // 117 + 1
    rows = np.flatnonzero((out["subject"].values == 2) & (out["trial"].values == 3))
    assert len(rows) == n_windows
    assert out["onset"].values[rows].tolist() == [k * 117 / 128 for k in range(n_windows)]
    for k, row in enumerate(rows):
        expected = _bde(stim[:, 117 * k: 117 * k + 512]) - _bde(base_1s)
        np.testing.assert_allclose(out.values[row], expected, atol=1e-6)
    # binary valence labels: valence 2, 3, 5 against 3
    per_trial = {int(tr): int(lb) for tr, lb, sb in zip(out["trial"].values, out["label"].values,
                                                        out["subject"].values, strict=True) if sb == 1}
    assert per_trial == {1: 0, 2: 1, 3: 1}
    multi = rbtransformer(path, "dreamer", scheme="multiclass", subjects=[1])
    assert sorted(set(multi["label"].values.tolist())) == [1, 2, 4]


def test_rbtransformer_deap_windows_after_the_baseline(tmp_path, rng):
    import pickle

    folder = tmp_path / "deap"
    folder.mkdir()
    data = rng.standard_normal((2, 40, 1013))
    labels = np.array([[4.0, 6.0, 1.0, 2.0], [7.5, 2.0, 1.0, 2.0]])
    (folder / "s01.dat").write_bytes(pickle.dumps({"data": data, "labels": labels}, protocol=2))
    out = rbtransformer(folder, "deap", target="valence")
    assert out.sizes["channel"] == 32 and out.sizes["sample"] == 2 * 2  # (1013-384-512)//117+1
    assert out["onset"].values[:2].tolist() == [0.0, 117 / 128]
    base = data[1, :32, :384].reshape(32, 3, 128).mean(axis=1)
    expected = _bde(data[1, :32, 384 + 117: 384 + 117 + 512]) - _bde(base)
    np.testing.assert_allclose(out.values[3], expected, atol=1e-6)
    assert out["label"].values.tolist() == [0, 0, 1, 1]
    assert out["liking"].values.tolist() == [2.0] * 4
    from_da = rbtransformer(load_deap(folder, channels="eeg"), "deap", scheme="multiclass")
    np.testing.assert_allclose(from_da.values, out.values)
    assert from_da["label"].values.tolist() == [3, 3, 6, 6]  # int(4.0) - 1, int(7.5) - 1


def test_rbtransformer_seed_uses_128_hz_design_and_emotion_labels(seed_dir):
    folder, written = seed_dir
    out = rbtransformer(folder, "seed", subjects=[1])
    trial = written[(1, "20131027")][1]
    rows = np.flatnonzero((out["session"].values == 1) & (out["trial"].values == 2))
    assert len(rows) == (trial.shape[1] - 512) // 117 + 1
    np.testing.assert_allclose(out.values[rows[0]], _bde(trial[:, :512], fs=128.0), atol=1e-6)
    assert set(out["label"].values[rows].tolist()) == {1}  # neutral: 0 + 1
    true_rate = rbtransformer(folder, "seed", subjects=[1], design_sfreq=None)
    np.testing.assert_allclose(true_rate.values[rows[0]], _bde(trial[:, :512], fs=200.0, sos=True),
                               atol=1e-9)
    with pytest.raises(InvalidParameterError, match="scheme"):
        rbtransformer(folder, "seed", scheme="binary")


def test_preset_cache_hit_and_parameter_change(dreamer_file, tmp_path):
    path, _ = dreamer_file
    cache = tmp_path / "cache"
    first = rbtransformer(path, "dreamer", subjects=[1], cache_dir=cache)
    hit = rbtransformer(path, "dreamer", subjects=1, cache_dir=cache)
    assert len(list(cache.glob("rbtransformer_dreamer-*.nc"))) == 1
    np.testing.assert_array_equal(hit.values, first.values)
    np.testing.assert_array_equal(hit["label"].values, first["label"].values)
    np.testing.assert_array_equal(hit["band_low"].values, [4, 8, 14, 31])
    other = rbtransformer(path, "dreamer", subjects=[1], target="arousal", cache_dir=cache)
    assert len(list(cache.glob("rbtransformer_dreamer-*.nc"))) == 2
    np.testing.assert_array_equal(other.values, first.values)
    h1 = histn_dreamer(path, seconds=2.0, baseline_seconds=1.0, cache_dir=cache)
    h2 = histn_dreamer(path, seconds=3.0, baseline_seconds=1.0, cache_dir=cache)
    assert h1.sizes["time"] == 256 and h2.sizes["time"] == 384
    assert len(list(cache.glob("histn_dreamer-*.nc"))) == 2
