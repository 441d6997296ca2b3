"""The streaming preprocess engine, the batch runner and the ``physioaffect preprocess`` CLI."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy.signal import resample_poly

from physioaffect.cli.main import main
from physioaffect.errors import InvalidParameterError, RecordingError
from physioaffect.features import band_power, differential_entropy
from physioaffect.io import read_recording
from physioaffect.io.store import save_features
from physioaffect.montage import get_montage
from physioaffect.preprocess import PreprocessParams, compute_features, preprocess_recording
from physioaffect.preprocess.batch import INDEX_NAME, plan_batch, run_batch
from physioaffect.signal import StreamingFilter, bandpass_sos, notch_sos
from physioaffect.simulate import eeg, write_edf

SFREQ = 128.0
NAMES = list(get_montage("dreamer").ch_names)


def _write(path, duration=120.0, seed=0, annotations=None, names=NAMES, fmt=None):
    x = eeg("dreamer", duration=duration, sfreq=SFREQ, random_state=seed)[:len(names)]
    return write_edf(x, SFREQ, names, path, annotations=annotations, format=fmt)


def _read(path, picks="eeg"):
    return read_recording(path).get_data(picks=picks)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    d = tmp_path_factory.mktemp("rec")
    return _write(d / "rec.edf", duration=300.0,
                  annotations=[(10.0, 60.0, "rest"), (100.0, 120.0, "task")])


def _outputs_equal(a, b):
    da, db = xr.open_dataset(a), xr.open_dataset(b)
    try:
        assert set(da.data_vars) == set(db.data_vars)
        for name in da.data_vars:
            np.testing.assert_array_equal(da[name].values, db[name].values)
        for name in da.coords:
            np.testing.assert_array_equal(da[name].values, db[name].values)
    finally:
        da.close()
        db.close()


# ----------------------------------------------------------------------------------------------
# engine: streamed results equal whole-recording ones
# ----------------------------------------------------------------------------------------------

def test_streamed_features_equal_whole_recording(recording):
    params = PreprocessParams(window=2.0, step=1.0, l_freq=0.5, h_freq=45.0, notch=50.0,
                              features=("de", "bandpower", "bde"), chunk_duration=23.0)
    ds = preprocess_recording(recording, params)
    x = _read(recording)
    sos = np.concatenate([notch_sos(50.0, SFREQ, harmonics=1), bandpass_sos(0.5, 45.0, SFREQ)])
    y = StreamingFilter(sos, x.shape[0], init="steady").process(x)  # the whole recording at once
    de = differential_entropy(y, SFREQ, window=2.0, step=1.0)
    np.testing.assert_allclose(ds.de.values, de, rtol=0, atol=1e-9)
    starts = (np.arange(ds.sizes["window"]) * SFREQ).astype(int)
    windows = np.stack([y[:, s:s + 256] for s in starts])
    np.testing.assert_allclose(ds.bandpower.values, band_power(windows, SFREQ), rtol=1e-10)
    bde = differential_entropy(windows, SFREQ, bands={"theta": (4, 8), "alpha": (8, 14),
                                                      "beta": (14, 31), "gamma": (31, 49)},
                               zero_phase=False, log_base=2, order=5)
    np.testing.assert_allclose(ds.bde.values, bde, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(ds.onset.values, np.arange(ds.sizes["window"]) * 1.0)
    assert list(ds.channel.values) == NAMES
    assert ds.attrs["sfreq"] == SFREQ and ds.sizes["window"] == 299


def test_chunk_length_does_not_change_results(recording):
    a = preprocess_recording(recording, PreprocessParams(window=4.0, chunk_duration=7.0))
    b = preprocess_recording(recording, PreprocessParams(window=4.0, chunk_duration=300.0))
    np.testing.assert_allclose(a.de.values, b.de.values, rtol=0, atol=1e-9)


def test_resampling_matches_resample_poly(recording):
    bands = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
    ds = preprocess_recording(recording, PreprocessParams(window=2.0, resample=64.0, bands=bands,
                                                          chunk_duration=31.0))
    y = resample_poly(_read(recording), 1, 2, axis=-1)
    np.testing.assert_allclose(ds.de.values, differential_entropy(y, 64.0, window=2.0,
                                                                  bands=bands),
                               rtol=0, atol=1e-8)
    assert ds.attrs["sfreq"] == 64.0 and ds.attrs["source_sfreq"] == SFREQ


def test_average_reference_and_baseline(recording):
    ds = preprocess_recording(recording, PreprocessParams(window=4.0, reference="average",
                                                          baseline=(10.0, 70.0)))
    x = _read(recording)
    x = x - x.mean(axis=0)
    de = differential_entropy(x, SFREQ, window=4.0)
    base = differential_entropy(x[:, 1280:8960], SFREQ)
    np.testing.assert_allclose(ds.de.values, de - base[None], rtol=0, atol=1e-9)
    assert ds.de.attrs["baseline_subtracted"] == 1


def test_annotation_labels_map_and_drop(recording):
    ds = preprocess_recording(recording, PreprocessParams(window=10.0))
    labels = ds.label.values
    # windows whose centre lies in 10-70 s are "rest", in 100-220 s "task"
    assert list(labels[:8]) == ["", "rest", "rest", "rest", "rest", "rest", "rest", ""]
    assert (labels[10:22] == "task").all() and labels[22] == ""
    ds = preprocess_recording(recording, PreprocessParams(
        window=10.0, label_map={"task": "high"}, drop_unlabelled=True))
    assert set(ds.label.values) == {"high"} and ds.sizes["window"] == 12
    np.testing.assert_array_equal(ds.onset.values, np.arange(100.0, 220.0, 10.0))


def test_event_labels_on_biosemi(real_data_dir):
    path = real_data_dir / "biosemi-bdf-bdfjl" / "Newtest17-256.bdf"
    ds = preprocess_recording(path, PreprocessParams(window=1.0, labels="events"))
    assert ds.sizes["event"] == 40 and set(ds.event_code.values) == {255}
    first = ds.event_onset.values[0]
    labels = ds.label.values
    onsets = ds.onset.values
    assert (labels[onsets < first] == "").all() and (labels[onsets >= first] == "255").all()


def test_bad_parameters_and_recordings(tmp_path, recording):
    with pytest.raises(InvalidParameterError, match="features"):
        PreprocessParams(features=("de", "wavelets"))
    with pytest.raises(InvalidParameterError, match="l_freq"):
        PreprocessParams(l_freq=30.0, h_freq=10.0)
    with pytest.raises(RecordingError, match="too short for the window"):
        preprocess_recording(recording, PreprocessParams(window=400.0))
    with pytest.raises(RecordingError, match=r"no channel matches picks ecg.*AF3 \(eeg\)"):
        preprocess_recording(recording, PreprocessParams(picks="ecg"))
    with pytest.raises(RecordingError, match="peripheral"):
        preprocess_recording(recording, PreprocessParams(features="peripheral"))


def test_memory_does_not_grow_with_length(tmp_path):
    import tracemalloc

    peaks = []
    for minutes in (10, 40):
        path = _write(tmp_path / f"m{minutes}.edf", duration=60.0 * minutes, seed=minutes)
        tracemalloc.start()
        preprocess_recording(path, PreprocessParams(window=4.0, chunk_duration=30.0))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    whole = 14 * 40 * 60 * SFREQ * 8  # the 40-min recording as float64
    assert peaks[1] < 1.5 * peaks[0] and peaks[1] < 0.5 * whole, peaks


# ----------------------------------------------------------------------------------------------
# the feature file written without xarray is the one xarray writes
# ----------------------------------------------------------------------------------------------

def _without_timing(ds):
    ds.attrs.pop("elapsed")
    return ds


@pytest.mark.parametrize("params", [
    PreprocessParams(window=4.0),
    PreprocessParams(window=2.0, step=1.0, l_freq=0.5, h_freq=45.0, notch=50.0,
                     features=("de", "bandpower", "bde"), chunk_duration=50.0),
    PreprocessParams(window=10.0, label_map={"task": "high"}, drop_unlabelled=True),
    PreprocessParams(window=2.0, resample=64.0, bands={"theta": (4.0, 8.0), "alpha": (8.0, 13.0)},
                     reference="average", baseline=(10.0, 70.0),
                     zero_phase=False, labels="none"),
], ids=["default", "filters-bands", "labels-dropped", "resample-reference-baseline"])
def test_feature_file_is_the_one_xarray_writes(recording, tmp_path, params):
    from test_io_store import netcdf_layout

    arrays = compute_features(recording, params)
    xr.testing.assert_identical(_without_timing(arrays.to_xarray()),
                                _without_timing(preprocess_recording(recording, params)))
    provenance = {"source": {"name": recording.name}, "parameters": params.to_dict()}
    direct = save_features(arrays, tmp_path / "direct.nc", provenance=provenance)
    through_xarray = save_features(arrays.to_xarray(), tmp_path / "xr.nc", provenance=provenance)
    assert netcdf_layout(direct) == netcdf_layout(through_xarray)


def test_event_file_is_the_one_xarray_writes(real_data_dir, tmp_path):
    from test_io_store import netcdf_layout

    path = real_data_dir / "biosemi-bdf-bdfjl" / "Newtest17-256.bdf"
    arrays = compute_features(path, PreprocessParams(window=1.0, labels="events"))
    assert {"event_code", "event_onset", "label"} <= set(arrays.data_vars) | set(arrays.coords)
    direct = save_features(arrays, tmp_path / "direct.nc")
    through_xarray = save_features(arrays.to_xarray(), tmp_path / "xr.nc")
    assert netcdf_layout(direct) == netcdf_layout(through_xarray)


def test_cli_run_imports_no_xarray_and_writes_the_engine_result(recording, tmp_path):
    code = ("import sys\n"
            "from physioaffect.cli.main import main\n"
            "rc = main(sys.argv[1:])\n"
            "print('modules:' + ','.join(m for m in ('xarray', 'pandas', 'dask', 'distributed',"
            " 'tqdm') if m in sys.modules))\n"
            "sys.exit(rc)\n")
    out = subprocess.run([sys.executable, "-c", code, "preprocess", str(recording), "-o",
                          str(tmp_path), "--window", "4", "--no-progress"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "modules:"
    expected = _without_timing(preprocess_recording(recording, PreprocessParams(window=4.0)))
    with xr.open_dataset(tmp_path / "rec.nc") as ds:
        source = json.loads(ds.attrs["provenance_source_json"])
        assert source["sha256"] == hashlib.sha256(recording.read_bytes()).hexdigest()
        assert source["size"] == recording.stat().st_size
        ds = _without_timing(ds.load())
        ds.attrs = {k: v for k, v in ds.attrs.items()
                    if not k.startswith(("physioaffect_", "provenance_"))}
        xr.testing.assert_identical(ds, expected)


# ----------------------------------------------------------------------------------------------
# batch and CLI
# ----------------------------------------------------------------------------------------------

@pytest.fixture()
def batch_dir(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _write(src / "good1.edf", duration=60.0, seed=1)
    _write(src / "good2.bdf", duration=60.0, seed=2)
    truncated = _write(src / "truncated.edf", duration=60.0, seed=3)
    data = truncated.read_bytes()
    truncated.write_bytes(data[:len(data) - 5000])
    (src / "corrupt.edf").write_bytes(b"0       " + b"x" * 300)
    _write(src / "ecg_only.edf", duration=60.0, seed=4, names=["ECG"])
    _write(src / "short.edf", duration=2.0, seed=5)
    return src


def test_batch_reports_every_bad_file_and_finishes_the_good(batch_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["preprocess", str(batch_dir), "-o", str(out), "--window", "4", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["good1.nc", "good2.nc", INDEX_NAME]
    errors = [line for line in captured.err.splitlines() if ": error: " in line]
    assert len(errors) == 4 and "Traceback" not in captured.err
    text = "\n".join(errors)
    assert "truncated.edf: truncated file" in text
    assert "corrupt.edf: corrupt header" in text
    assert "ecg_only.edf: no channel matches picks eeg" in text
    assert "short.edf: recording too short for the window" in text
    import csv

    with open(out / INDEX_NAME) as f:
        rows = {Path(r["input"]).name: r for r in csv.DictReader(f)}
    assert {n: r["status"] for n, r in rows.items()} == {
        "corrupt.edf": "failed", "ecg_only.edf": "failed", "good1.edf": "done",
        "good2.bdf": "done", "short.edf": "failed", "truncated.edf": "failed"}
    assert rows["good1.edf"]["n_windows"] == "15" and rows["good1.edf"]["n_channels"] == "14"
    ds = xr.open_dataset(out / "good1.nc")  # plain xarray, no physioaffect needed
    assert ds.de.dims == ("window", "channel", "band")
    assert ds.attrs["provenance_source_json"].count("sha256") == 1
    ds.close()


def test_rerun_skips_identical_and_recomputes_changed(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _write(src / "a.edf", duration=60.0)
    out = tmp_path / "out"
    params = PreprocessParams(window=4.0)
    assert [r["status"] for r in run_batch([src], out, params)] == ["done"]
    assert [r["status"] for r in run_batch([src], out, params)] == ["skipped"]
    assert [r["status"] for r in run_batch([src], out, params, overwrite=True)] == ["done"]
    changed = PreprocessParams(window=2.0)
    assert [r["status"] for r in run_batch([src], out, changed)] == ["done"]
    assert xr.open_dataset(out / "a.nc").sizes["window"] == 30


def test_jobs_give_identical_outputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        _write(src / f"r{i}.edf", duration=60.0, seed=i)
    params = PreprocessParams(window=4.0, features=("de", "bandpower"))
    one = run_batch([src], tmp_path / "one", params)
    two = run_batch([src], tmp_path / "two", params, jobs=2)
    assert [r["status"] for r in one] == [r["status"] for r in two] == ["done"] * 3
    for i in range(3):
        _outputs_equal(tmp_path / "one" / f"r{i}.nc", tmp_path / "two" / f"r{i}.nc")


def test_dask_local_cluster_gives_identical_outputs(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        _write(src / f"r{i}.edf", duration=60.0, seed=i)
    (src / "bad.edf").write_bytes(b"not an edf")
    params = PreprocessParams(window=4.0)
    local = run_batch([src], tmp_path / "local", params)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        remote = run_batch([src], tmp_path / "dask", params, scheduler=cluster.scheduler_address)
    assert [r["status"] for r in remote] == [r["status"] for r in local] \
        == ["failed", "done", "done"]
    for i in range(2):
        _outputs_equal(tmp_path / "local" / f"r{i}.nc", tmp_path / "dask" / f"r{i}.nc")


def test_killed_run_leaves_no_partial_output(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _write(src / "long.edf", duration=1800.0)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "physioaffect.cli.main", "preprocess",
                             str(src), "-o", str(out), "--no-progress", "--chunk", "5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "long.nc").exists() or xr.open_dataset(out / "long.nc").sizes["window"]
    rows = run_batch([src], out, PreprocessParams(window=4.0))
    assert rows[0]["status"] in ("done", "skipped")
    assert sorted(p.name for p in out.iterdir()) == [INDEX_NAME, "long.nc"]


def test_annotation_pairing_by_name(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _write(src / "SC4001E0-PSG.edf", duration=120.0)
    import edfio

    hyp = edfio.Edf([], annotations=[edfio.EdfAnnotation(0.0, 60.0, "Sleep stage W"),
                                     edfio.EdfAnnotation(60.0, 60.0, "Sleep stage 1")])
    hyp.write(src / "SC4001EC-Hypnogram.edf")
    tasks = plan_batch([src], tmp_path / "out")
    by_name = {Path(t.input).name: t for t in tasks}
    assert Path(by_name["SC4001E0-PSG.edf"].annotations).name == "SC4001EC-Hypnogram.edf"
    assert by_name["SC4001EC-Hypnogram.edf"].kind == "annotations"
    rows = run_batch([src], tmp_path / "out", PreprocessParams(
        window=30.0, label_map={"Sleep stage W": "W", "Sleep stage 1": "N1"}))
    assert [r["status"] for r in rows] == ["done", "paired"]
    ds = xr.open_dataset(tmp_path / "out" / "SC4001E0-PSG.nc")
    assert list(ds.label.values) == ["W", "W", "N1", "N1"]


def test_annotations_option_needs_one_recording(tmp_path, recording, capsys):
    other = _write(tmp_path / "other.edf", duration=30.0)
    code = main(["preprocess", str(recording), str(other), "-o", str(tmp_path / "o"),
                 "--annotations", str(recording), "--no-progress"])
    assert code == 2 and "names one file for one recording" in capsys.readouterr().err


def test_every_real_file_gives_a_feature_file_or_a_named_refusal(real_data_dir, tmp_path):
    out = tmp_path / "out"
    real_data = real_data_dir
    code = main(["preprocess", str(real_data), "-o", str(out), "--window", "1", "--no-progress"])
    import csv

    with open(out / INDEX_NAME) as f:
        rows = list(csv.DictReader(f))
    edf_like = sorted(p for p in real_data.rglob("*") if p.suffix.lower() in (".edf", ".bdf"))
    assert sorted(Path(r["input"]).name for r in rows) == sorted(p.name for p in edf_like)
    for row in rows:
        name = Path(row["input"]).name
        if row["status"] == "done":
            ds = xr.open_dataset(row["output"])
            assert ds.sizes["window"] >= 1 and np.isfinite(ds.de.values).all(), name
            ds.close()
        else:
            assert row["status"] == "failed" and row["reason"], name
            if "Hypnogram" in name or name == "test_edfann.edf":
                assert "annotation-only file" in row["reason"]
    done = {Path(r["input"]).name for r in rows if r["status"] == "done"}
    assert {"Newtest17-256.bdf", "short_psg.edf", "test.edf", "mne_test.bdf"} <= done
    assert code == 1  # the unpaired hypnograms are refused
