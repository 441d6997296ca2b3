"""Sleep-EDF pairing and epoching, on the real SC4001 files and on tiny written pairs."""

import shutil

import edfio
import numpy as np
import pytest

from physioaffect.datasets import SLEEP_STAGES, load_sleep_edf, pair_sleep_edf, read_sleep_edf
from physioaffect.errors import InvalidParameterError, RecordingError


@pytest.fixture
def real_pair(real_data_dir):
    folder = real_data_dir / "edfio-testdata"
    psg, hyp = folder / "short_psg.edf", folder / "SC4001EC-Hypnogram.edf"
    if not (psg.is_file() and hyp.is_file()):
        pytest.skip(f"{folder} lacks short_psg.edf or SC4001EC-Hypnogram.edf")
    return psg, hyp


def test_real_night_is_ten_wake_epochs_with_the_files_values(real_pair):
    from physioaffect.io import read_recording

    psg, hyp = real_pair
    da = read_sleep_edf(psg, hyp)
    assert da.dims == ("epoch", "channel", "time")
    assert da.shape == (10, 3, 3000)  # 5 min of 30-s epochs at 100 Hz
    assert da["stage"].values.tolist() == ["W"] * 10 and da["label"].values.tolist() == [0] * 10
    assert da["onset"].values.tolist() == [30.0 * k for k in range(10)]
    with pytest.warns(RuntimeWarning, match="native sampling rates"):
        raw = read_recording(psg)
    expected = raw.get_data(picks=["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal"])
    np.testing.assert_array_equal(da.values[4], expected[:, 12000:15000])
    assert da.attrs["units"] == "V" and da.attrs["sfreq"] == 100.0
    with pytest.raises(InvalidParameterError, match="different native rates"):
        read_sleep_edf(psg, hyp, channels=["EEG Fpz-Cz", "Resp oro-nasal"])
    with pytest.raises(InvalidParameterError, match="not found"):
        read_sleep_edf(psg, hyp, channels=["EEG C3"])


def test_real_files_pair_by_their_first_seven_characters(real_pair, tmp_path):
    psg, hyp = real_pair
    shutil.copy(psg, tmp_path / "SC4001E0-PSG.edf")
    shutil.copy(hyp, tmp_path / "SC4001EC-Hypnogram.edf")
    pairs = pair_sleep_edf(tmp_path)
    assert [(p.name, h.name) for p, h in pairs] == [("SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf")]
    da = load_sleep_edf(tmp_path, cache_dir=tmp_path / "cache")
    assert da.sizes["epoch"] == 10
    assert set(da["record"].values.tolist()) == {"SC4001E0"}
    assert set(da["subject"].values.tolist()) == {0} and set(da["night"].values.tolist()) == {1}
    hit = load_sleep_edf(tmp_path, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(hit.values, da.values)
    assert hit["stage"].values.tolist() == da["stage"].values.tolist()
    assert len(list((tmp_path / "cache").glob("sleep_edf-*.nc"))) == 1
    (tmp_path / "SC4001EC-Hypnogram.edf").unlink()
    with pytest.raises(RecordingError, match=r"SC4001E0-PSG\.edf.*no hypnogram"):
        pair_sleep_edf(tmp_path)


def _write_night(folder, name, hyp_letter, annotations, seconds, rng):
    from physioaffect.simulate.edf import write_edf

    data = rng.standard_normal((2, 100 * seconds)) * 1e-5
    write_edf(data, 100.0, ["EEG Fpz-Cz", "EEG Pz-Oz"], folder / f"{name}0-PSG.edf")
    edf = edfio.Edf(signals=[], annotations=[edfio.EdfAnnotation(o, d, t) for o, d, t in annotations])
    edf.write(folder / f"{name}{hyp_letter}-Hypnogram.edf")
    return data


def test_stages_merge_and_drop_and_nights_concatenate(tmp_path, rng):
    hyp = [(0, 60, "Sleep stage W"), (60, 30, "Sleep stage 1"), (90, 30, "Sleep stage 3"),
           (120, 30, "Sleep stage 4"), (150, 30, "Movement time"), (180, 30, "Sleep stage R"),
           (210, 30, "Sleep stage ?"), (240, 60, "Sleep stage 2")]
    first = _write_night(tmp_path, "SC4012E", "C", hyp, 300, rng)
    second = _write_night(tmp_path, "ST7022J", "R", [(30, 90, "Sleep stage 2")], 100, rng)
    da = load_sleep_edf(tmp_path, channels=["EEG Fpz-Cz", "EEG Pz-Oz"])
    night1 = da.sel(epoch=da["record"] == "SC4012E0")
    assert night1["stage"].values.tolist() == ["W", "W", "N1", "N3", "N3", "R", "N2", "N2"]
    assert night1["label"].values.tolist() == [SLEEP_STAGES.index(s) for s in night1["stage"].values]
    assert night1["onset"].values.tolist() == [0, 30, 60, 90, 120, 180, 240, 270]
    assert set(night1["subject"].values.tolist()) == {1} and set(night1["night"].values.tolist()) == {2}
    # the written values come back, to EDF's 16-bit resolution
    step = (first.max(axis=1) - first.min(axis=1)) / 65535
    np.testing.assert_allclose(night1.values[5], first[:, 18000:21000],
                               atol=float(step.max()))
    night2 = da.sel(epoch=da["record"] == "ST7022J0")
    # 90 s scored from 30 s, the recording ends at 100 s: only the epochs inside it (30-60, 60-90)
    assert night2["onset"].values.tolist() == [30.0, 60.0]
    assert set(night2["subject"].values.tolist()) == {2}
    only = load_sleep_edf(tmp_path, records="ST7022", channels=["EEG Pz-Oz"])
    np.testing.assert_allclose(only.values[0, 0], second[1, 3000:6000],
                               atol=float((second[1].max() - second[1].min()) / 65535))
    with pytest.raises(RecordingError, match="no PSG file starting with 'SC4099'"):
        load_sleep_edf(tmp_path, records="SC4099")
