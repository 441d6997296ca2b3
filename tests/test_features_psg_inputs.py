"""Sleep ViT inputs (METHODS.md 4.1): stage labels, hypnograms, real PSG alignment, resampling,
scaling and flat channels."""

import warnings

import mne
import numpy as np
import pytest

from physioaffect.errors import InvalidParameterError, InvalidSignalError
from physioaffect.features.psg_inputs import (
    AASM_STAGES,
    RK_STAGES,
    STAGE_NAMES,
    FlatChannelWarning,
    epoch_signals,
    find_flat_channels,
    hypnogram_epochs,
    map_stage,
    prepare_psg_epochs,
    read_psg_epochs,
    stage_codes,
)
from physioaffect.simulate import psg_epochs

# --------------------------------------------------------------------------- label mapping


def test_stage_tables():
    assert STAGE_NAMES == ("W", "N1", "N2", "N3", "REM")
    assert AASM_STAGES == {"Sleep stage W": "W", "Sleep stage N1": "N1",
                           "Sleep stage N2": "N2", "Sleep stage N3": "N3",
                           "Sleep stage R": "REM"}
    assert RK_STAGES == {"Sleep stage W": "W", "Sleep stage 1": "N1", "Sleep stage 2": "N2",
                         "Sleep stage 3": "N3", "Sleep stage 4": "N3", "Sleep stage R": "REM"}
    for table in (AASM_STAGES, RK_STAGES):
        for description, name in table.items():
            assert map_stage(description) == name


@pytest.mark.parametrize("description, expected", [
    ("Sleep stage 3", "N3"), ("Sleep stage 4", "N3"), ("Sleep stage N3", "N3"),
    ("sleep stage n1", "N1"), ("Sleep_stage_2", "N2"), ("R", "REM"), ("REM", "REM"),
    ("S4", "N3"), ("W", "W"), ("Wake", "W"), (4, "REM"), (0, "W"),
    ("Sleep stage ?", None), ("Movement time", None), ("Sleep stage M", None),
    ("Lights off@@EEG F4-A1", None), ("Arousal", None), ("3", None),
])
def test_map_stage(description, expected):
    assert map_stage(description) == expected


def test_unknown_stage_warns_and_codes():
    with pytest.warns(RuntimeWarning, match="no known AASM or R&K stage"):
        assert map_stage("Sleep stage 9") is None
    assert stage_codes(["W", "Sleep stage 1", "N2", "Sleep stage 4", "R", "Sleep stage ?", 3]
                       ).tolist() == [0, 1, 2, 3, 4, -1, 3]


def test_hypnogram_epochs_split_runs_and_drop_unscored():
    ann = mne.Annotations([0, 90, 120, 150, 180, 185], [90, 30, 60, 30, 0, 45],
                          ["Sleep stage W", "Movement time", "Sleep stage 3", "Sleep stage ?",
                           "Lights on", "Sleep stage R"])
    hyp = hypnogram_epochs(ann, start=10.0)
    assert hyp["stage"].values.tolist() == ["W", "W", "W", "N3", "N3", "REM"]
    assert hyp.values.tolist() == [0, 0, 0, 3, 3, 4]
    assert hyp["onset"].values.tolist() == [10, 40, 70, 130, 160, 195]


def test_aasm_hypnogram_file(real_data_dir):
    path = real_data_dir / "wfdb-sample-data" / "test_edfann.edf"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    hyp = hypnogram_epochs(path)
    assert hyp.sizes["epoch"] == 854                            # about 7.1 h of 30-s epochs
    counts = dict(zip(*np.unique(hyp["stage"].values, return_counts=True), strict=True))
    assert counts == {"W": 151, "N1": 109, "N2": 430, "N3": 23, "REM": 141}
    np.testing.assert_array_equal(np.diff(hyp["onset"].values), 30.0)
    assert hyp["onset"].values[0] == 0.0
    assert np.bincount(hyp.values).tolist() == [151, 109, 430, 23, 141]


# --------------------------------------------------------------------------- real PSG + hypnogram

@pytest.fixture
def real_pair(real_data_dir):
    folder = real_data_dir / "edfio-testdata"
    psg, hyp = folder / "short_psg.edf", folder / "SC4001EC-Hypnogram.edf"
    if not (psg.is_file() and hyp.is_file()):
        pytest.skip(f"{folder} lacks short_psg.edf or SC4001EC-Hypnogram.edf")
    return psg, hyp


def test_real_psg_and_hypnogram_align_epoch_by_epoch(real_pair):
    from physioaffect.datasets import read_sleep_edf
    from physioaffect.io import read_recording

    psg, hyp = real_pair
    chans = ["EEG Fpz-Cz", "Resp oro-nasal", "Event marker"]
    da = read_psg_epochs(psg, hyp, channels=chans)
    assert da.dims == ("epoch", "channel", "time") and da.shape == (10, 3, 3000)
    assert da["stage"].values.tolist() == ["W"] * 10 and da["label"].values.tolist() == [0] * 10
    assert da["onset"].values.tolist() == [30.0 * k for k in range(10)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = read_recording(psg)
    full = raw.get_data(picks=chans)
    for k in range(10):
        np.testing.assert_array_equal(da.values[k], full[:, 3000 * k:3000 * (k + 1)])
    ref = read_sleep_edf(psg, hyp, channels=["EEG Fpz-Cz"])
    np.testing.assert_array_equal(da.sel(channel=["EEG Fpz-Cz"]).values, ref.values)
    assert ref["label"].values.tolist() == da["label"].values.tolist()

    # to model inputs: no channel of the extract is flat, every epoch is kept
    with warnings.catch_warnings():
        warnings.simplefilter("error", FlatChannelWarning)
        x = prepare_psg_epochs(da, channels=chans[:2])
    assert x.shape == (10, 2, 2000) and x["channel"].values.tolist() == chans[:2]
    assert x.attrs["dropped_channels"] == [] and x.attrs["n_dropped_epochs"] == 0
    assert x["label"].values.tolist() == [0] * 10
    assert x["source_epoch"].values.tolist() == list(range(10))
    # the Sleep-EDF reader's output feeds the same preparation (R&K labels, 'R' for REM)
    y = prepare_psg_epochs(ref, n_times=1920, resample="linear", scaling="zscore")
    assert y.shape == (10, 1, 1920) and y.attrs["sfreq"] == 64.0
    assert y.attrs["stage_names"] == list(STAGE_NAMES)
    with pytest.raises(InvalidParameterError, match="not found"):
        read_psg_epochs(psg, hyp, channels=["PPG"])


# --------------------------------------------------------------------------- preparation

def test_minmax_reference_recipe_on_simulated_epochs():
    ds = psg_epochs(6, random_state=0, apnea_fraction=0.5)
    x = prepare_psg_epochs(ds)
    assert x.shape == (6, 4, 2000) and x.dtype == np.float32
    assert x.attrs["sfreq"] == pytest.approx(2000 / 30) and x.attrs["source_sfreq"] == 64.0
    np.testing.assert_allclose(x.min("time"), 0.0, atol=1e-6)
    np.testing.assert_allclose(x.max("time"), 1.0, atol=1e-6)
    assert x["stage"].values.tolist() == ds["stage"].values.tolist()
    assert x["apnea"].values.tolist() == ds["apnea"].values.tolist()
    assert x["channel"].values.tolist() == ["ppg", "flow", "thorax", "abdomen"]
    sub = prepare_psg_epochs(ds, channels=["flow", "ppg"], n_times=1920)
    assert sub["channel"].values.tolist() == ["flow", "ppg"] and sub.shape == (6, 2, 1920)


def test_resampling_and_zscore_known_answers():
    sfreq = 100.0
    t = np.arange(3000) / sfreq
    x = np.stack([np.sin(2 * np.pi * t / 3), 3 + 2 * np.cos(2 * np.pi * 1.0 * t)])[None]
    out = prepare_psg_epochs(x, sfreq, n_times=1920, scaling="zscore")
    t_new = np.arange(1920) / 64.0
    np.testing.assert_allclose(out.values[0, 0], np.sqrt(2) * np.sin(2 * np.pi * t_new / 3),
                               atol=1e-4)
    np.testing.assert_allclose(out.values[0, 1], np.sqrt(2) * np.cos(2 * np.pi * t_new),
                               atol=1e-4)
    lin = prepare_psg_epochs(x, sfreq, n_times=1920, resample="linear", scaling="minmax")
    np.testing.assert_allclose(lin.values[0, 0], (np.sin(2 * np.pi * t_new / 3) + 1) / 2,
                               atol=2e-3)
    with pytest.raises(InvalidParameterError, match="sfreq"):
        prepare_psg_epochs(x)
    with pytest.raises(InvalidParameterError, match="scaling"):
        prepare_psg_epochs(x, sfreq, scaling="robust")


def test_flat_channels_dropped_with_a_warning_naming_them():
    ds = psg_epochs(8, random_state=1)
    sig = ds["signals"].values
    sig[:, 2] = 0.25                                           # thorax belt off all night
    sig[[1, 5], 1] = -1.0                                      # flow flat in epochs 1 and 5
    ds["signals"].values[:] = sig
    flat = find_flat_channels(sig)
    assert flat[:, 2].all() and flat[:, 1].tolist() == [i in (1, 5) for i in range(8)]
    with pytest.warns(FlatChannelWarning) as record:
        x = prepare_psg_epochs(ds)
    messages = [str(w.message) for w in record]
    assert any("'thorax'" in m and "every epoch" in m for m in messages)
    assert any("'flow' in 2" in m and "2 of 8 epochs dropped" in m for m in messages)
    assert x["channel"].values.tolist() == ["ppg", "flow", "abdomen"]
    assert x["source_epoch"].values.tolist() == [0, 2, 3, 4, 6, 7]
    assert x["stage"].values.tolist() == ds["stage"].values[[0, 2, 3, 4, 6, 7]].tolist()
    assert x.attrs["n_dropped_epochs"] == 2 and x.attrs["dropped_channels"] == ["thorax"]
    with pytest.warns(FlatChannelWarning, match="kept"):
        kept = prepare_psg_epochs(ds, flat="keep")
    assert kept.shape == (8, 4, 2000) and (kept.values[:, 2] == 0).all()
    with pytest.raises(InvalidSignalError, match="thorax"):
        prepare_psg_epochs(ds, flat="raise")


def test_epoch_signals():
    x = np.arange(2 * 700, dtype=float).reshape(2, 700)
    ep = epoch_signals(x, 10.0)
    assert ep.shape == (2, 2, 300)
    np.testing.assert_array_equal(ep[1], x[:, 300:600])
    ep = epoch_signals(x, 10.0, onsets=[10.0])
    np.testing.assert_array_equal(ep[0], x[:, 100:400])
    with pytest.raises(InvalidParameterError, match="outside"):
        epoch_signals(x, 10.0, onsets=[50.0])
