"""DEAP and WESAD loaders on tiny pickles written in the owners' layout (Python 2 protocol 2)."""

import os
import pickle
import struct

import numpy as np
import pytest

from physioaffect.datasets import load_deap, load_wesad, read_wesad_pickle
from physioaffect.datasets.deap import DEAP_CHANNELS
from physioaffect.errors import InvalidParameterError, RecordingError
from physioaffect.io.safe_pickle import UnsafePickleError

# ------------------------------------------------------------------------------------------------
# A writer of pickles as Python 2 NumPy wrote them: protocol 2, numpy.core names, str as bytes
# ------------------------------------------------------------------------------------------------

def _py2_string(data: bytes) -> bytes:
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data
    return b"T" + struct.pack("<i", len(data)) + data


def _py2_int(n: int) -> bytes:
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    return b"J" + struct.pack("<i", n)


def _py2_tuple(items) -> bytes:
    items = list(items)
    if 1 <= len(items) <= 3:
        return b"".join(items) + {1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(items)]
    return b"(" + b"".join(items) + b"t"


def _py2_array(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a)
    code = a.dtype.str  # e.g. '<f8', '|u1'
    order, kind = code[0], code[1:]
    return (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        + _py2_tuple([_py2_int(0)]) + _py2_string(b"b") + b"\x87R"
        + b"(" + _py2_int(1) + _py2_tuple([_py2_int(n) for n in a.shape])
        + b"cnumpy\ndtype\n" + _py2_tuple([_py2_string(kind.encode()), _py2_int(0), _py2_int(1)])
        + b"R(" + _py2_int(3) + _py2_string(order.encode())
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff" + _py2_int(0) + b"tb"
        + b"\x89" + _py2_string(a.tobytes()) + b"tb"
    )


def _py2_value(obj) -> bytes:
    if isinstance(obj, dict):
        body = b"".join(_py2_value(k) + _py2_value(v) for k, v in obj.items())
        return b"}(" + body + b"u"
    if isinstance(obj, str):
        return _py2_string(obj.encode("latin1"))
    if isinstance(obj, np.ndarray):
        return _py2_array(obj)
    raise TypeError(type(obj))


def py2_pickle(obj) -> bytes:
    return b"\x80\x02" + _py2_value(obj) + b"."


def test_py2_writer_round_trips_through_latin1():
    obj = {"a": np.arange(300, dtype="<f8").reshape(3, 100), "b": {"c": np.arange(4, dtype="<i4")}}
    loaded = pickle.loads(py2_pickle(obj), encoding="latin1")
    np.testing.assert_array_equal(loaded["a"], obj["a"])
    np.testing.assert_array_equal(loaded["b"]["c"], obj["b"]["c"])


# ------------------------------------------------------------------------------------------------
# DEAP
# ------------------------------------------------------------------------------------------------

N_TRIALS, N_TIMES = 3, 1013  # 3 s of baseline + a little more than two 512-sample windows


def _deap_subject(rng):
    data = rng.standard_normal((N_TRIALS, 40, N_TIMES))
    labels = np.round(rng.uniform(1, 9, (N_TRIALS, 4)), 2)
    labels[0, 0], labels[1, 0], labels[2, 0] = 4.99, 5.0, 9.0
    return {"labels": labels, "data": data}


@pytest.fixture
def deap_dir(tmp_path, rng):
    folder = tmp_path / "data_preprocessed_python"
    folder.mkdir()
    written = {}
    for s in (1, 3):
        content = _deap_subject(rng)
        (folder / f"s{s:02d}.dat").write_bytes(py2_pickle(content))
        written[s] = content
    return folder, written


def test_deap_values_coords_and_labels(deap_dir):
    folder, written = deap_dir
    da = load_deap(folder)
    assert da.dims == ("subject", "trial", "channel", "time")
    assert da["subject"].values.tolist() == [1, 3]
    assert da["trial"].values.tolist() == [1, 2, 3]
    assert da["channel"].values.tolist() == list(DEAP_CHANNELS)
    assert da["channel_type"].values.tolist()[31:33] == ["eeg", "eog"]
    for k, s in enumerate((1, 3)):
        np.testing.assert_array_equal(da.values[k], written[s]["data"])
        np.testing.assert_array_equal(da["valence"].values[k], written[s]["labels"][:, 0])
        np.testing.assert_array_equal(da["liking"].values[k], written[s]["labels"][:, 3])
    assert da["label"].values[0].tolist() == [0, 1, 1]  # 4.99, 5.0, 9.0 against 5
    assert da["time"].values[0] == -3.0 and da["time"].values[384] == 0.0
    assert da.attrs["sfreq"] == 128.0


def test_deap_parent_folder_subjects_channels_and_multiclass(deap_dir):
    folder, written = deap_dir
    da = load_deap(folder.parent, subjects=[3], channels="eeg", scheme="multiclass")
    assert da.shape == (1, N_TRIALS, 32, N_TIMES)
    np.testing.assert_array_equal(da.values[0], written[3]["data"][:, :32])
    assert da["label"].values[0].tolist() == [3, 4, 8]  # int(4.99)-1, int(5.0)-1, int(9.0)-1
    picked = load_deap(folder, subjects="s01", channels=["GSR", "Fp1"], target="arousal")
    np.testing.assert_array_equal(picked.values[0], written[1]["data"][:, [36, 0]])
    np.testing.assert_array_equal(picked["label"].values[0],
                                  (written[1]["labels"][:, 1] >= 5).astype(int))


def test_deap_errors_name_the_file_and_what_was_expected(deap_dir, tmp_path):
    folder, _ = deap_dir
    with pytest.raises(RecordingError, match=r"s02\.dat"):
        load_deap(folder, subjects=[2])
    with pytest.raises(RecordingError, match="no such folder"):
        load_deap(tmp_path / "absent")
    with pytest.raises(InvalidParameterError, match="not a DEAP channel"):
        load_deap(folder, channels=["Cz", "nope"])
    with pytest.raises(InvalidParameterError, match="target"):
        load_deap(folder, target="joy")
    with pytest.raises(InvalidParameterError, match="scheme"):
        load_deap(folder, scheme="ternary")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "s01.dat").write_bytes(py2_pickle({"data": np.zeros((2, 40, 10))}))
    with pytest.raises(RecordingError, match=r"s01\.dat.*'data' and 'labels'"):
        load_deap(bad)
    (bad / "s01.dat").write_bytes(py2_pickle({"data": np.zeros((2, 32, 10)),
                                              "labels": np.zeros((2, 4))}))
    with pytest.raises(RecordingError, match=r"s01\.dat.*\(2, 32, 10\).*40 channels"):
        load_deap(bad)
    (bad / "s01.dat").write_bytes(py2_pickle({"data": np.zeros((2, 40, 10)),
                                              "labels": np.zeros((3, 4))}))
    with pytest.raises(RecordingError, match=r"'labels' has shape \(3, 4\)"):
        load_deap(bad)


class _RunsCode:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "ran"
    folder = tmp_path / "deap"
    folder.mkdir()
    payload = {"data": _RunsCode(f"touch {marker}"), "labels": np.zeros((1, 4))}
    (folder / "s01.dat").write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(UnsafePickleError, match=r"s01\.dat.*(posix|os)\.system"):
        load_deap(folder)
    assert not marker.exists()

    wesad = tmp_path / "wesad" / "S2"
    wesad.mkdir(parents=True)
    (wesad / "S2.pkl").write_bytes(pickle.dumps({"signal": _RunsCode(f"touch {marker}")},
                                                protocol=2))
    with pytest.raises(UnsafePickleError, match=r"S2\.pkl"):
        load_wesad(wesad.parent)
    assert not marker.exists()


def test_deap_cache_hit_and_no_stale_entry(deap_dir, tmp_path, monkeypatch):
    import physioaffect.datasets.deap as deap_module

    folder, written = deap_dir
    cache = tmp_path / "cache"
    first = load_deap(folder, cache_dir=cache)
    entries = sorted(cache.glob("deap-*.nc"))
    assert len(entries) == 1 and first.attrs["cache_file"] == str(entries[0])

    def refuse(path):
        raise AssertionError("the source was read although the cache holds the result")

    monkeypatch.setattr(deap_module, "_read", refuse)
    hit = load_deap(folder, cache_dir=cache)
    np.testing.assert_array_equal(hit.values, first.values)
    assert hit["channel"].values.tolist() == list(DEAP_CHANNELS)
    np.testing.assert_array_equal(hit["valence"].values, first["valence"].values)
    assert hit["label"].values.tolist() == first["label"].values.tolist()
    assert hit.attrs["provenance_loader"] == "deap"
    monkeypatch.undo()

    # a changed parameter never reuses the entry
    multi = load_deap(folder, scheme="multiclass", cache_dir=cache)
    assert len(list(cache.glob("deap-*.nc"))) == 2
    assert multi["label"].values[0].tolist() == [3, 4, 8]

    # a changed source file gives a new key too
    changed = _deap_subject(np.random.default_rng(7))
    (folder / "s01.dat").write_bytes(py2_pickle(changed))
    fresh = load_deap(folder, cache_dir=cache)
    np.testing.assert_array_equal(fresh.values[0], changed["data"])
    assert len(list(cache.glob("deap-*.nc"))) == 3


# ------------------------------------------------------------------------------------------------
# WESAD
# ------------------------------------------------------------------------------------------------

def _wesad_subject(rng, seconds, name):
    n = 700 * seconds
    chest = {"ACC": rng.standard_normal((n, 3)), "ECG": rng.standard_normal((n, 1)),
             "EMG": rng.standard_normal((n, 1)), "EDA": rng.uniform(0, 5, (n, 1)),
             "Temp": rng.uniform(30, 35, (n, 1)).astype("<f4"), "Resp": rng.standard_normal((n, 1))}
    wrist = {"ACC": rng.integers(-64, 64, (32 * seconds, 3)).astype("<f8"),
             "BVP": rng.standard_normal((64 * seconds, 1)),
             "EDA": rng.uniform(0, 2, (4 * seconds, 1)), "TEMP": rng.uniform(30, 34, (4 * seconds, 1))}
    label = np.repeat(np.array([0, 1, 2, 3, 4, 6], dtype="<i4"), -(-n // 6))[:n]
    return {"signal": {"chest": chest, "wrist": wrist}, "label": label, "subject": name}


@pytest.fixture
def wesad_dir(tmp_path, rng):
    written = {}
    for s, seconds in ((2, 3), (5, 2)):
        folder = tmp_path / "WESAD" / f"S{s}"
        folder.mkdir(parents=True)
        content = _wesad_subject(rng, seconds, f"S{s}")
        (folder / f"S{s}.pkl").write_bytes(py2_pickle(content))
        written[s] = content
    return tmp_path / "WESAD", written


def test_wesad_signals_rates_and_condition_labels(wesad_dir):
    folder, written = wesad_dir
    ds = load_wesad(folder)
    assert ds["subject"].values.tolist() == [2, 5]
    assert ds["chest_channel"].values.tolist() == ["ACC_x", "ACC_y", "ACC_z", "ECG", "EMG",
                                                   "EDA", "Temp", "Resp"]
    assert ds.attrs["sfreq_chest"] == 700.0 and ds.attrs["sfreq_wrist_bvp"] == 64.0
    assert ds.attrs["sfreq_wrist_acc"] == 32.0 and ds.attrs["sfreq_wrist_eda_temp"] == 4.0
    assert ds["chest_n_times"].values.tolist() == [2100, 1400]
    assert ds["wrist_bvp_n_times"].values.tolist() == [192, 128]
    for k, s in enumerate((2, 5)):
        w = written[s]
        n = w["label"].shape[0]
        np.testing.assert_array_equal(ds["chest"].values[k, 0:3, :n], w["signal"]["chest"]["ACC"].T)
        np.testing.assert_array_equal(ds["chest"].values[k, 6, :n],
                                      w["signal"]["chest"]["Temp"][:, 0].astype(float))
        np.testing.assert_array_equal(ds["wrist_acc"].values[k, :, :32 * (n // 700)],
                                      w["signal"]["wrist"]["ACC"].T)
        np.testing.assert_array_equal(ds["wrist_bvp"].values[k, :64 * (n // 700)],
                                      w["signal"]["wrist"]["BVP"][:, 0])
        np.testing.assert_array_equal(ds["wrist_eda_temp"].values[k, 1, :4 * (n // 700)],
                                      w["signal"]["wrist"]["TEMP"][:, 0])
        np.testing.assert_array_equal(ds["label"].values[k, :n], w["label"])
    # the shorter subject is padded: NaN signals, label 0
    assert np.isnan(ds["chest"].values[1, :, 1400:]).all()
    assert (ds["label"].values[1, 1400:] == 0).all()
    assert ds["chest_time"].values[700] == 1.0 and ds["wrist_acc_time"].values[32] == 1.0
    assert ds.attrs["condition_names"][:5] == ["transient", "baseline", "stress", "amusement",
                                               "meditation"]


def test_wesad_subject_selection_cache_and_errors(wesad_dir, tmp_path):
    folder, written = wesad_dir
    one = load_wesad(folder, subjects="S5", cache_dir=tmp_path / "c")
    again = load_wesad(folder, subjects=[5], cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("wesad-*.nc"))) == 1
    np.testing.assert_array_equal(again["chest"].values, one["chest"].values)
    np.testing.assert_array_equal(again["label"].values, one["label"].values)
    assert "cache_file" in again.attrs
    with pytest.raises(RecordingError, match=r"S3/S3\.pkl"):
        load_wesad(folder, subjects=[3])
    broken = dict(written[2])
    broken["signal"] = {"chest": dict(written[2]["signal"]["chest"]),
                        "wrist": written[2]["signal"]["wrist"]}
    del broken["signal"]["chest"]["ECG"]
    path = tmp_path / "S9.pkl"
    path.write_bytes(py2_pickle(broken))
    with pytest.raises(RecordingError, match=r"S9\.pkl.*no key 'ECG'"):
        read_wesad_pickle(path)
    broken["signal"]["chest"]["ECG"] = np.zeros((10, 1))
    path.write_bytes(py2_pickle(broken))
    with pytest.raises(RecordingError, match="expected one length"):
        read_wesad_pickle(path)
