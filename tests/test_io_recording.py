import json
import shutil
import warnings

import numpy as np
import pytest

from physioaffect.errors import InvalidParameterError, RecordingError
from physioaffect.io import infer_channel_type, read_annotations, read_recording, recording_info

mne = pytest.importorskip("mne")


@pytest.fixture(scope="module")
def mne_dir(real_data_dir):
    return real_data_dir / "mne-python-edf-testdata"


@pytest.fixture(scope="module")
def edfio_dir(real_data_dir):
    return real_data_dir / "edfio-testdata"


def _loadmat(path):
    scipy_io = pytest.importorskip("scipy.io")
    return scipy_io.loadmat(path)["data"]


# ---- numeric oracles: decoding by EEGLAB ---------------------------------------------------

def test_bdf_matches_eeglab_decoding(mne_dir):
    raw = read_recording(mne_dir / "test.bdf", preload=True)
    expected = _loadmat(mne_dir / "test_bdf_eeglab.mat")  # (72, 2048), microvolts, no Status
    assert raw.ch_names[-1] == "Status" and raw.get_channel_types()[-1] == "stim"
    data = raw.get_data(picks="eeg") * 1e6
    assert data.shape == expected.shape == (72, 2048)
    np.testing.assert_allclose(data, expected, rtol=0, atol=0.01)


def test_edf_matches_eeglab_decoding(mne_dir):
    raw = read_recording(mne_dir / "test.edf", preload=True)
    expected = _loadmat(mne_dir / "test_edf_eeglab.mat")  # (139, 3072): 138 EEG in uV + Status
    assert raw.info["sfreq"] == 512.0 and raw.n_times == 3072
    assert raw.get_channel_types()[-1] == "stim"
    np.testing.assert_allclose(raw.get_data(picks="eeg") * 1e6, expected[:-1], rtol=0, atol=0.01)
    np.testing.assert_array_equal(raw.get_data(picks="stim")[0], expected[-1])


def test_lazy_and_eager_reads_agree(mne_dir):
    lazy = read_recording(mne_dir / "test.edf")
    eager = read_recording(mne_dir / "test.edf", preload=True)
    np.testing.assert_array_equal(lazy.get_data(start=100, stop=700),
                                  eager.get_data(start=100, stop=700))


# ---- headers, types, events ----------------------------------------------------------------

def test_short_psg_header_matches_reference(edfio_dir):
    reference = json.loads((edfio_dir / "short_psg_header_reference.json").read_text())
    info = recording_info(edfio_dir / "short_psg.edf")
    assert len(info["warnings"]) == 1 and "different native sampling rates" in info["warnings"][0]
    assert [c["name"] for c in info["channels"]] == [s["label"] for s in reference]
    assert [c["sfreq"] for c in info["channels"]] == [s["sampling_frequency"] for s in reference]
    assert [c["unit"] for c in info["channels"]] == [s["physical_dimension"] for s in reference]
    assert [c["type"] for c in info["channels"]] == [
        "eeg", "eeg", "eog", "resp", "emg", "temperature", "stim"]
    assert info["format"] == "EDF" and info["duration"] == 300.0
    assert info["start"].isoformat() == "1989-04-24T16:13:00+00:00"


@pytest.mark.parametrize("label, expected", [
    ("EEG Fpz-Cz", None), ("Fp1", None), ("EXG1", None),
    ("EOG horizontal", "eog"), ("HEOG", "eog"), ("EMG submental", "emg"), ("ECG II", "ecg"),
    ("EKG", "ecg"), ("Resp oro-nasal", "resp"), ("Flow Patient", "resp"), ("Thorax", "resp"),
    ("Abdomen", "resp"), ("Effort THO", "resp"), ("PPG", "misc"), ("Pleth", "misc"),
    ("EDA", "gsr"), ("GSR", "gsr"), ("Temp rectal", "temperature"), ("Status", "stim"),
    ("TRIGGER", "stim"), ("Event marker", "stim"),
])
def test_infer_channel_type(label, expected):
    assert infer_channel_type(label) == expected


def test_biosemi_status_channel_decodes_to_40_events(real_data_dir):
    raw = read_recording(real_data_dir / "biosemi-bdf-bdfjl" / "Newtest17-256.bdf")
    assert raw.info["sfreq"] == 256.0 and len(raw.ch_names) == 17
    assert raw.n_times / raw.info["sfreq"] == 60.0
    events = mne.find_events(raw, stim_channel="Status", verbose="error")
    assert len(events) == 40
    assert set(events[:, 2]) == {255}  # every trigger sets the low byte of Status
    assert np.all(np.diff(events[:, 0]) > 0)


# ---- annotations ---------------------------------------------------------------------------

@pytest.mark.parametrize("relpath, stages", [
    ("edfio-testdata/SC4001EC-Hypnogram.edf", {"Sleep stage W", "Sleep stage 2", "Sleep stage R"}),
    ("edfio-testdata/SC4001EC-Hypnogram.bdf", {"Sleep stage W", "Sleep stage 2", "Sleep stage R"}),
    ("wfdb-sample-data/test_edfann.edf", {"Sleep stage W", "Sleep stage N2", "Sleep stage R"}),
])
def test_annotation_only_file_is_refused_then_read(real_data_dir, relpath, stages):
    path = real_data_dir / relpath
    with pytest.raises(RecordingError, match="annotation-only file.*use read_annotations") as exc:
        read_recording(path)
    assert path.name in str(exc.value)
    annotations = read_annotations(path)
    assert stages <= set(annotations.description)
    assert len(annotations) > 100
    info = recording_info(path)
    assert info["annotation_only"] and info["channels"] == []
    assert info["n_annotations"] == len(annotations)


def test_annotations_from_a_separate_file(edfio_dir):
    with pytest.warns(RuntimeWarning, match="different native sampling rates"):
        raw = read_recording(edfio_dir / "short_psg.edf",
                             annotations=edfio_dir / "SC4001EC-Hypnogram.edf")
    # the first 5 minutes of SC4001 are all Wake: one stage annotation spans them
    assert list(raw.annotations.description) == ["Sleep stage W"]
    assert raw.annotations.onset[0] == 0.0


def test_raw_is_accepted_as_is(mne_dir):
    raw = read_recording(mne_dir / "test.edf")
    assert read_recording(raw) is raw
    annotated = read_recording(raw, annotations=mne.Annotations([1.0], [0.5], ["x"]))
    assert annotated is not raw and list(annotated.annotations.description) == ["x"]
    assert len(raw.annotations) == 5


# ---- explicit, never silent ------------------------------------------------------------------

def test_mixed_rates_warning_names_channels_and_rates(mne_dir):
    with pytest.warns(RuntimeWarning) as record:
        raw = read_recording(mne_dir / "test_uneven_samp.edf")
    message = " ".join(str(w.message) for w in record)
    assert "100 Hz: 3Hz +5/-5 V" in message
    assert "12.8 Hz: 0.2Hz Blk 1/0uV" in message
    assert "upsamples every channel to 100 Hz" in message
    assert raw.info["sfreq"] == 100.0
    rates = {c["name"]: c["sfreq"] for c in recording_info(mne_dir / "test_uneven_samp.edf")
             ["channels"]}
    assert rates == {"3Hz +5/-5 V": 100.0, "0.2Hz Blk 1/0uV": 12.8}


def test_single_rate_file_does_not_warn(mne_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_recording(mne_dir / "test.edf")


def test_truncated_file_is_refused(mne_dir, tmp_path):
    data = (mne_dir / "test.edf").read_bytes()
    truncated = tmp_path / "cut.edf"
    truncated.write_bytes(data[: len(data) - 5000])
    with pytest.raises(RecordingError, match=r"cut\.edf: truncated file.*6 data records"):
        read_recording(truncated)
    tiny = tmp_path / "tiny.bdf"
    tiny.write_bytes((mne_dir / "test.bdf").read_bytes()[:100])
    with pytest.raises(RecordingError, match=r"tiny\.bdf: truncated.*256-byte header"):
        read_recording(tiny)


def test_corrupt_header_is_refused(mne_dir, tmp_path):
    data = bytearray((mne_dir / "test.edf").read_bytes())
    data[236:244] = b"six     "  # number of data records
    path = tmp_path / "bad.edf"
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match="bad.edf: corrupt header.*'six'.*an integer"):
        read_recording(path)
    wrong = tmp_path / "not_bdf.bdf"
    wrong.write_bytes((mne_dir / "test.edf").read_bytes())
    with pytest.raises(RecordingError, match="not_bdf.bdf: not a BDF file"):
        read_recording(wrong)


def test_discontinuous_file_is_refused(edfio_dir, tmp_path):
    data = bytearray((edfio_dir / "mne_test.edf").read_bytes())
    assert data[192:197] == b"EDF+C"
    data[192:197] = b"EDF+D"
    path = tmp_path / "gaps.edf"
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match="gaps.edf: EDF\\+D file is discontinuous"):
        read_recording(path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(RecordingError, match="nothere.edf: no such file"):
        read_recording(tmp_path / "nothere.edf")
    other = tmp_path / "signals.csv"
    other.write_text("1,2\n")
    with pytest.raises(RecordingError, match=r"signals.csv: unknown file suffix '\.csv'"):
        read_recording(other)
    with pytest.raises(InvalidParameterError, match="path_or_raw"):
        read_recording(42)


def test_suffix_is_case_insensitive(mne_dir, tmp_path):
    path = tmp_path / "TEST.EDF"
    shutil.copy(mne_dir / "test.edf", path)
    assert recording_info(path)["format"] == "EDF+C"
