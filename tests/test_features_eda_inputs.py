"""EDA PINN inputs: real event-related EDA, a tiny WESAD-layout Dataset, drives and self-reports."""

import pickle

import numpy as np
import pytest

from physioaffect.datasets import load_wesad
from physioaffect.errors import InvalidParameterError
from physioaffect.features.eda_inputs import eda_inputs, labels_from_events, wesad_eda_inputs
from physioaffect.features.peripheral import EDA_FEATURES
from physioaffect.simulate.eda_ode import eda_ode

ONSETS = np.array([1024, 4957, 9224, 12984])  # samples at 100 Hz
CONDITIONS = ["Negative", "Neutral", "Neutral", "Negative"]


def test_real_event_related_eda_windows_align_and_scrs_follow_negative_images(real_data_dir):
    import pandas as pd

    path = real_data_dir / "neurokit2-data" / "bio_eventrelated_100hz.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    eda = pd.read_csv(path)["EDA"].to_numpy()
    # the 3-s images plus the usual SCR latency: 5-s response windows from each onset
    labels = labels_from_events(eda.size, 100.0, ONSETS / 100.0, 5.0, CONDITIONS)
    out = eda_inputs(eda, 100.0, labels, window=5.0, target_sfreq=10.0,
                     context=("eda0", "scr_count"))
    assert out.y.tolist() == CONDITIONS
    np.testing.assert_allclose(out.onsets, ONSETS / 100.0, atol=0.1)  # 10-Hz grid
    assert out.X.shape == (4, 1 + 2 + 2, 50) and out.sfreq == 10.0
    assert out.channels == ("time", "Negative", "Neutral", "eda0", "scr_count")
    np.testing.assert_allclose(out.X[:, 0, 0], out.onsets)
    np.testing.assert_allclose(np.diff(out.X[0, 0]), 0.1)
    np.testing.assert_array_equal(out.X[:, 1, 0], [1, 0, 0, 1])  # one-hot drives
    scr = out.features[:, list(EDA_FEATURES).index("scr_count")]
    assert (scr[[0, 3]] >= 1).all() and (scr[[1, 2]] == 0).all()
    np.testing.assert_array_equal(out.X[:, 4, 0], scr)
    # the target is the cleaned EDA in microsiemens, close to the raw signal (~13 uS)
    idx = np.round(out.X[:, 0] * 100).astype(int)
    assert np.abs(out.eda - eda[idx]).max() < 0.1
    np.testing.assert_allclose(out.X[:, 3, 0], out.eda[:, 0])
    np.testing.assert_allclose(out.tonic + out.phasic, out.eda, atol=0.05)


def test_self_reports_become_drives_and_runs_are_tiled():
    fs = 20.0
    lab = np.repeat(np.array([0, 1, 0, 2]), 400)  # 0 is ignored (transient)
    drive = np.where(lab == 2, 1.0, 0.1)[None]
    x = eda_ode(drive, fs, alpha0=0.1, beta=[1.0], gamma=0.0, noise=0.005, random_state=0)
    reports = {1: [5.0, 1.0], 2: [2.0, 7.0]}  # e.g. SAM valence, arousal
    out = eda_inputs(x + 2.0, fs, lab, window=8.0, step=4.0, target_sfreq=4.0, ignore=(0,),
                     drives="both", self_reports=reports, context=())
    # runs of 20 s: windows at 0, 4, 8, 12 s of each run
    assert out.y.tolist() == [1] * 4 + [2] * 4
    np.testing.assert_allclose(out.onsets, [20, 24, 28, 32, 60, 64, 68, 72])
    assert out.channels == ("time", "1", "2", "self_report_0", "self_report_1")
    assert out.n_drives == 4
    np.testing.assert_array_equal(out.X[:4, 3:, :].mean(axis=2), [[5.0, 1.0]] * 4)
    np.testing.assert_array_equal(out.X[4:, 3:, 5], [[2.0, 7.0]] * 4)
    with pytest.raises(InvalidParameterError, match="self_reports"):
        eda_inputs(x, fs, lab, window=8.0, ignore=(0,), drives="self-report")
    with pytest.raises(InvalidParameterError, match="window"):
        eda_inputs(x, fs, lab, window=30.0, ignore=(0,))
    with pytest.raises(InvalidParameterError, match="context"):
        eda_inputs(x, fs, lab, window=8.0, context=("heart_rate",))
    with pytest.raises(InvalidParameterError, match="sfreq"):
        eda_inputs(x, None, lab, window=8.0)


def _tiny_wesad(folder, rng, subject, seconds=40):
    n = 700 * seconds
    label = np.repeat(np.array([0, 1, 0, 2]), n // 4)
    drive = np.where(label[::175] == 2, 1.0, 0.2)  # 4 Hz drive
    wrist_eda = eda_ode(drive[None], 4.0, alpha0=0.2, beta=[0.5], gamma=0.0, noise=0.002,
                        random_state=subject)
    chest_eda = np.interp(np.arange(n) / 700, np.arange(drive.size) / 4.0, wrist_eda) + 1.0
    chest = {"ACC": rng.standard_normal((n, 3)), "ECG": rng.standard_normal((n, 1)),
             "EMG": rng.standard_normal((n, 1)), "EDA": chest_eda[:, None],
             "Temp": np.full((n, 1), 33.0), "Resp": rng.standard_normal((n, 1))}
    wrist = {"ACC": rng.standard_normal((32 * seconds, 3)), "BVP": rng.standard_normal((64 * seconds, 1)),
             "EDA": wrist_eda[:, None], "TEMP": np.full((4 * seconds, 1), 32.0)}
    path = folder / f"S{subject}"
    path.mkdir(parents=True)
    content = {"signal": {"chest": chest, "wrist": wrist}, "label": label, "subject": f"S{subject}"}
    (path / f"S{subject}.pkl").write_bytes(pickle.dumps(content, protocol=2))


@pytest.mark.filterwarnings("ignore:EDA signal is sampled at very low frequency")
def test_tiny_wesad_chest_and_wrist_with_explicit_rates(tmp_path, rng):
    folder = tmp_path / "WESAD"
    for s in (2, 3):
        _tiny_wesad(folder, rng, s)
    ds = load_wesad(folder)
    chest = wesad_eda_inputs(ds, location="chest", window=5.0, target_sfreq=4.0,
                             conditions=(1, 2, 3))
    wrist = wesad_eda_inputs(ds, location="wrist", window=5.0, target_sfreq=4.0,
                             conditions=(1, 2, 3))
    for out in (chest, wrist):
        assert out.sfreq == 4.0 and out.X.shape[1:] == (1 + 3 + 1, 20)
        assert out.channels == ("time", "1", "2", "3", "eda0")
        # runs of 10 s of baseline (10-20 s) and stress (30-40 s): two 5-s windows each
        assert out.y.tolist() == [1, 1, 2, 2] * 2 and out.groups.tolist() == [2] * 4 + [3] * 4
        np.testing.assert_allclose(out.onsets, [10, 15, 30, 35] * 2, atol=0.3)
        assert (out.X[:, 3] == 0).all()  # amusement never occurs
    # the chest signal is the wrist one plus 1 uS, sampled 175 times faster
    np.testing.assert_allclose(chest.eda, wrist.eda + 1.0, atol=0.05)
    ds.attrs["sfreq_wrist_eda_temp"] = 32.0
    with pytest.raises(InvalidParameterError, match="4 Hz"):
        wesad_eda_inputs(ds, location="wrist", window=5.0)
