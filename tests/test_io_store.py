import datetime
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import physioaffect
from physioaffect.errors import InvalidParameterError, RecordingError
from physioaffect.io import store
from physioaffect.io.store import (
    BackgroundIdentity,
    FeatureArrays,
    file_identity,
    flatten_provenance,
    load_features,
    same_parameters,
    save_features,
)

PROVENANCE_KEYS = ("physioaffect_version", "physioaffect_created")


def _features(rng, name="de"):
    data = rng.standard_normal((3, 4, 5)).astype(np.float32)
    return xr.DataArray(
        data,
        dims=("epoch", "channel", "band"),
        coords={
            "epoch": np.arange(3),
            "channel": ["Fp1", "Fp2", "Cz", "Pz"],
            "band": ["delta", "theta", "alpha", "beta", "gamma"],
            "band_low": ("band", [1.0, 4.0, 8.0, 14.0, 31.0]),
            "onset": ("epoch", [0.0, 1.0, 2.0]),
            "subject": "s01",
        },
        name=name,
        attrs={"units": "log(V**2/Hz)", "sfreq": 128.0, "window": np.array([1.0, 0.5])},
    )


def _without_provenance(obj):
    out = obj.copy()
    out.attrs = {k: v for k, v in obj.attrs.items()
                 if not k.startswith(("physioaffect_", "provenance_"))}
    return out


def _listing(directory):
    return sorted(p.name for p in Path(directory).iterdir())


@pytest.mark.parametrize("name", ["de", None])
def test_dataarray_round_trip(tmp_path, rng, name):
    da = _features(rng, name=name)
    before = da.copy(deep=True)
    path = save_features(da, tmp_path / "de.nc", provenance={"subject": "s01"})
    assert path == tmp_path / "de.nc"
    loaded = load_features(path)
    assert isinstance(loaded, xr.DataArray)
    assert loaded.name == name
    xr.testing.assert_identical(_without_provenance(loaded), da)
    assert loaded.dtype == np.float32
    assert loaded.attrs["physioaffect_version"] == physioaffect.__version__
    assert loaded.attrs["provenance_subject"] == "s01"
    created = datetime.datetime.fromisoformat(loaded.attrs["physioaffect_created"])
    assert created.utcoffset() == datetime.timedelta(0)
    assert abs(datetime.datetime.now(datetime.timezone.utc) - created).total_seconds() < 60
    # The caller's object is untouched.
    xr.testing.assert_identical(da, before)
    assert set(da.attrs) == {"units", "sfreq", "window"}
    assert _listing(tmp_path) == ["de.nc"]


def test_dataarray_named_like_a_coordinate_keeps_its_name(tmp_path, rng):
    da = _features(rng, name="channel")
    loaded = load_features(save_features(da, tmp_path / "x.nc"))
    assert loaded.name == "channel"
    xr.testing.assert_identical(_without_provenance(loaded), da)


def test_dataset_round_trip_and_plain_xarray_opens_it(tmp_path, rng):
    da = _features(rng)
    ds = xr.Dataset(
        {"de": da, "psd": da * 2.0, "label": ("epoch", np.array([0, 1, 1], dtype=np.int64))},
        attrs={"montage": "10-20", "n_subjects": 1},
    )
    ds["psd"].attrs = {"units": "V**2/Hz"}
    path = save_features(ds, tmp_path / "features.nc", provenance={"parameters": {"window": 1.0}})
    loaded = load_features(path)
    assert isinstance(loaded, xr.Dataset)
    xr.testing.assert_identical(_without_provenance(loaded), ds)
    assert "physioaffect_object" not in loaded.attrs
    assert set(ds.attrs) == {"montage", "n_subjects"}
    with xr.open_dataset(path) as plain:
        assert plain.attrs["provenance_parameters_json"] == '{"window":1.0}'
        np.testing.assert_array_equal(plain["de"].values, da.values)


def test_resaving_a_loaded_object_replaces_its_provenance(tmp_path, rng):
    first = save_features(_features(rng), tmp_path / "a.nc",
                          provenance={"old": 1, "parameters": {"a": 1}})
    loaded = load_features(first)
    second = load_features(save_features(loaded, tmp_path / "b.nc",
                                         provenance={"parameters": {"a": 2}}))
    assert "provenance_old" not in second.attrs
    assert second.attrs["provenance_parameters_json"] == '{"a":2}'
    assert loaded.attrs["provenance_old"] == 1


def test_existing_file_is_refused_without_overwrite(tmp_path, rng):
    path = tmp_path / "de.nc"
    path.write_bytes(b"previous")
    with pytest.raises(RecordingError, match="de.nc.*exists.*overwrite=True"):
        save_features(_features(rng), path)
    assert path.read_bytes() == b"previous"
    assert _listing(tmp_path) == ["de.nc"]
    save_features(_features(rng), path, overwrite=True)
    assert isinstance(load_features(path), xr.DataArray)
    assert _listing(tmp_path) == ["de.nc"]


def test_missing_directory_is_refused(tmp_path, rng):
    with pytest.raises(RecordingError, match="does not exist"):
        save_features(_features(rng), tmp_path / "missing" / "de.nc")


def test_wrong_object_type_is_refused(tmp_path):
    with pytest.raises(InvalidParameterError, match="DataArray or xarray.Dataset.*ndarray"):
        save_features(np.zeros(3), tmp_path / "x.nc")
    assert _listing(tmp_path) == []


def _failing_writer(ds, path):
    # Writes part of a file, then fails, like a full disk midway.
    Path(path).write_bytes(b"\x89HDF\r\n\x1a\n partial")
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("existing", [False, True])
def test_failed_write_leaves_no_file(tmp_path, rng, monkeypatch, existing):
    path = tmp_path / "de.nc"
    if existing:
        path.write_bytes(b"previous")
    monkeypatch.setattr(store, "_write_netcdf", _failing_writer)
    with pytest.raises(RecordingError, match="de.nc.*No space left"):
        save_features(_features(rng), path, overwrite=True)
    if existing:
        assert path.read_bytes() == b"previous"
        assert _listing(tmp_path) == ["de.nc"]
    else:
        assert _listing(tmp_path) == []


def test_unserialisable_attribute_leaves_no_file(tmp_path, rng):
    da = _features(rng)
    da.attrs["bad"] = {"nested": object()}
    with pytest.raises(RecordingError, match="de.nc"):
        save_features(da, tmp_path / "de.nc")
    assert _listing(tmp_path) == []


def test_interrupt_removes_the_temporary_file(tmp_path, rng, monkeypatch):
    def interrupted(ds, path):
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_write_netcdf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_features(_features(rng), tmp_path / "de.nc")
    assert _listing(tmp_path) == []


def test_provenance_flattening(tmp_path, rng):
    provenance = {
        "source": {"name": "s01.bdf", "size": 10, "sha256": "ab" * 32},
        "zero_phase": True,
        "notch": None,
        "sfreq": np.float64(128.0),
        "n_jobs": np.int64(4),
        "channels": ["Fp1", "Fp2"],
        "bands": ((4.0, 8.0), (8.0, 13.0)),
        "edges": np.array([1.0, 4.0, 8.0]),
        "flags": [True, False],
        "mixed": [1, "a", None],
        "path": Path("data") / "s01.bdf",
        "parameters": {"window": 1.0, "overlap": 0.5, "reference": None, "car": False},
    }
    attrs = flatten_provenance(provenance)
    assert attrs["provenance_source_json"] == json.dumps(
        provenance["source"], sort_keys=True, separators=(",", ":"))
    assert attrs["provenance_zero_phase"] == 1 and type(attrs["provenance_zero_phase"]) is int
    assert attrs["provenance_notch"] == "none"
    assert attrs["provenance_sfreq"] == 128.0 and type(attrs["provenance_sfreq"]) is float
    assert attrs["provenance_n_jobs"] == 4 and type(attrs["provenance_n_jobs"]) is int
    np.testing.assert_array_equal(attrs["provenance_channels"], ["Fp1", "Fp2"])
    assert attrs["provenance_bands_json"] == "[[4.0,8.0],[8.0,13.0]]"
    np.testing.assert_array_equal(attrs["provenance_edges"], [1.0, 4.0, 8.0])
    np.testing.assert_array_equal(attrs["provenance_flags"], [1, 0])
    assert attrs["provenance_mixed_json"] == '[1,"a",null]'
    assert attrs["provenance_path"] == os.path.join("data", "s01.bdf")
    assert json.loads(attrs["provenance_parameters_json"]) == provenance["parameters"]

    loaded = load_features(save_features(_features(rng), tmp_path / "p.nc", provenance=provenance))
    for key, value in attrs.items():
        np.testing.assert_array_equal(loaded.attrs[key], value)


def test_provenance_refuses_unstorable_values(tmp_path, rng):
    with pytest.raises(InvalidParameterError, match=r"provenance\['estimator'\].*object"):
        save_features(_features(rng), tmp_path / "x.nc", provenance={"estimator": object()})
    with pytest.raises(InvalidParameterError, match="keys must be non-empty str"):
        save_features(_features(rng), tmp_path / "x.nc", provenance={1: "a"})
    with pytest.raises(InvalidParameterError, match="mapping"):
        save_features(_features(rng), tmp_path / "x.nc", provenance=["a"])
    assert _listing(tmp_path) == []


def test_file_identity(tmp_path):
    path = tmp_path / "s01.bdf"
    content = os.urandom(3 * (1 << 20) + 17)
    path.write_bytes(content)
    identity = file_identity(path)
    assert identity["name"] == "s01.bdf"
    assert identity["size"] == len(content)
    assert identity["sha256"] == hashlib.sha256(content).hexdigest()
    mtime = datetime.datetime.fromisoformat(identity["mtime"])
    assert mtime.timestamp() == pytest.approx(path.stat().st_mtime, abs=1e-5)

    changed = bytearray(content)
    changed[-1] ^= 1
    path.write_bytes(bytes(changed))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    other = file_identity(path)
    assert other["size"] == identity["size"]
    assert other["sha256"] != identity["sha256"]

    with pytest.raises(RecordingError, match="missing.bdf"):
        file_identity(tmp_path / "missing.bdf")


def test_same_parameters(tmp_path, rng):
    params = {"window": 1.0, "bands": [(4.0, 8.0), (8.0, 13.0)], "zero_phase": True,
              "sfreq": np.float64(128.0), "reference": None}
    path = tmp_path / "de.nc"
    assert not same_parameters(path, params)
    save_features(_features(rng), path, provenance={"parameters": params})
    assert same_parameters(path, params)
    # Key order and tuple-or-list do not matter.
    assert same_parameters(path, dict(reversed(list(params.items()))) | {
        "bands": [[4.0, 8.0], [8.0, 13.0]]})
    assert not same_parameters(path, params | {"window": 2.0})
    assert not same_parameters(path, params | {"zero_phase": False})
    assert not same_parameters(path, {k: v for k, v in params.items() if k != "reference"})

    no_params = tmp_path / "plain.nc"
    save_features(_features(rng), no_params)
    assert not same_parameters(no_params, params)

    garbage = tmp_path / "garbage.nc"
    garbage.write_bytes(b"not netcdf")
    with pytest.raises(RecordingError, match="garbage.nc"):
        same_parameters(garbage, params)
    with pytest.raises(InvalidParameterError, match="mapping"):
        same_parameters(path, [1, 2])


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(RecordingError, match="absent.nc"):
        load_features(tmp_path / "absent.nc")
    garbage = tmp_path / "garbage.nc"
    garbage.write_bytes(b"not netcdf")
    with pytest.raises(RecordingError, match="garbage.nc"):
        load_features(garbage)


def test_loaded_file_is_closed(tmp_path, rng):
    import h5py

    da = _features(rng)
    path = save_features(da, tmp_path / "de.nc")
    loaded = load_features(path)
    # HDF5 refuses to truncate a file that this process still holds open.
    with h5py.File(path, "w"):
        pass
    np.testing.assert_array_equal(loaded.values, da.values)


# ----------------------------------------------------------------------------------------------
# FeatureArrays: the file xarray writes, without xarray
# ----------------------------------------------------------------------------------------------

def netcdf_layout(path, skip_attrs=("physioaffect_created",)):
    """Everything HDF5 holds in a file, object references as names, in creation order."""
    import h5py

    def norm(f, value):
        if isinstance(value, h5py.Reference):
            return ("ref", f[value].name if value else None)
        if isinstance(value, np.void):
            return tuple(norm(f, v) for v in value)
        if isinstance(value, np.ndarray):
            if value.dtype.names or value.dtype.kind == "O":
                return (value.dtype.names, value.shape, [norm(f, v) for v in value.ravel()])
            return (value.dtype.str, value.shape, repr(value.tolist()))
        return (type(value).__name__, repr(value))

    def attrs(f, obj):
        return [(k, None if k in skip_attrs else norm(f, obj.attrs[k]),
                 obj.attrs.get_id(k).dtype.str) for k in obj.attrs.keys()]

    layout = []
    with h5py.File(path, "r") as f:
        layout.append(("/", list(f.keys()), attrs(f, f)))
        for name in f.keys():
            obj = f[name]
            layout.append((name, obj.shape, obj.dtype.str, h5py.check_string_dtype(obj.dtype),
                           norm(f, np.asarray(obj.fillvalue)), obj.chunks, obj.maxshape,
                           obj.compression, norm(f, obj[()]), attrs(f, obj)))
    return layout


def _arrays(rng):
    return FeatureArrays(
        {"de": (("window", "channel", "band"), rng.standard_normal((6, 3, 2)),
                {"units": "nats", "baseline_subtracted": 0}),
         "count": (("window",), np.arange(6, dtype=np.int64)),
         "event_code": ("event", np.array([3, 7], dtype=np.int32)),
         "annotation_description": (("annotation",), np.array(["rest", "tâche"]))},
        coords={"onset": ("window", np.arange(6) * 4.0),
                "channel": ["Fp1", "Fp2", "Cz"],
                "channel_type": ("channel", ["eeg", "eeg", "eeg"]),
                "band": ["alpha", "beta"],
                "band_low": ("band", [8.0, 14.0]),
                "label": ("window", np.array(["", "a", "b", "", "a", "a"])),
                "event_onset": ("event", [1.5, 9.0]),
                "annotation_onset": ("annotation", [0.0, 10.0]),
                "lonely": ("extra", np.array([1.0, np.nan, 3.0]))},
        attrs={"sfreq": 128.0, "n_times": 3072, "source": "rec.edf", "empty": "",
               "scales": np.array([1.0, 2.0]), "names": np.array(["a", "b"], dtype=object)})


@pytest.mark.parametrize("select", [False, True])
def test_feature_arrays_write_the_file_xarray_writes(tmp_path, rng, select):
    arrays = _arrays(rng)
    if select:
        arrays = arrays.isel("window", [1, 2, 4])
    provenance = {"source": {"name": "rec.edf", "size": 10}, "parameters": {"window": 4.0},
                  "bands": ["alpha", "beta"]}
    direct = save_features(arrays, tmp_path / "direct.nc", provenance=provenance)
    through_xarray = save_features(arrays.to_xarray(), tmp_path / "xr.nc", provenance=provenance)
    assert store._direct_writable(store._to_dataset(arrays))
    assert netcdf_layout(direct) == netcdf_layout(through_xarray)
    with xr.open_dataset(direct) as a, xr.open_dataset(through_xarray) as b:
        del a.attrs["physioaffect_created"], b.attrs["physioaffect_created"]
        xr.testing.assert_identical(a, b)
        assert a["de"].encoding["coordinates"] == "band_low channel_type label onset"
        assert "lonely" in a.coords and "coordinates" not in a.attrs
    loaded = load_features(direct)
    xr.testing.assert_identical(_without_provenance(loaded), arrays.to_xarray())


def test_feature_arrays_isel_matches_dataset_isel(rng):
    arrays = _arrays(rng)
    keep = [0, 3, 5]
    xr.testing.assert_identical(arrays.isel("window", keep).to_xarray(),
                                arrays.to_xarray().isel(window=keep))
    assert arrays.isel("window", []).sizes["window"] == 0
    assert arrays.sizes == {"window": 6, "channel": 3, "band": 2, "event": 2, "annotation": 2,
                            "extra": 3}


def test_feature_arrays_outside_the_direct_writer_go_through_xarray(tmp_path, rng):
    arrays = FeatureArrays({"flag": ("window", np.array([True, False]))},
                           coords={"onset": ("window", [0.0, 1.0])})
    assert not store._direct_writable(arrays)
    direct = save_features(arrays, tmp_path / "direct.nc")
    through_xarray = save_features(arrays.to_xarray(), tmp_path / "xr.nc")
    assert netcdf_layout(direct) == netcdf_layout(through_xarray)
    odd = FeatureArrays({"x": ("window", [1.0, 2.0], {"_FillValue": -1.0})})
    assert not store._direct_writable(odd)


def test_feature_arrays_refuse_mismatched_dims():
    with pytest.raises(InvalidParameterError, match="shape"):
        FeatureArrays({"x": (("a", "b"), np.zeros(3))})
    with pytest.raises(InvalidParameterError, match="length"):
        FeatureArrays({"x": ("a", np.zeros(3)), "y": ("a", np.zeros(4))})
    with pytest.raises(InvalidParameterError, match="dims"):
        FeatureArrays({"x": np.zeros(3)})


def test_saving_feature_arrays_imports_no_xarray(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from physioaffect.io.store import FeatureArrays, save_features\n"
        "fa = FeatureArrays({'de': (('window', 'band'), np.ones((2, 2)))},\n"
        "                   coords={'band': ['a', 'b'], 'onset': ('window', [0.0, 1.0])})\n"
        f"save_features(fa, {str(tmp_path / 'x.nc')!r}, provenance={{'parameters': {{}}}})\n"
        "print(','.join(m for m in ('xarray', 'pandas', 'dask') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    with xr.open_dataset(tmp_path / "x.nc") as ds:
        assert list(ds["band"].values) == ["a", "b"]


def test_background_identity_equals_file_identity(tmp_path):
    path = tmp_path / "rec.edf"
    path.write_bytes(os.urandom(5 * (1 << 20) + 3))
    with BackgroundIdentity(path) as identity:
        assert identity.result() == file_identity(path)
    with pytest.raises(RecordingError, match="missing.edf"):
        with BackgroundIdentity(tmp_path / "missing.edf") as missing:
            missing.result()
    cancelled = BackgroundIdentity(path)
    cancelled.cancel()
    try:
        value = cancelled.result()
    except RuntimeError as exc:
        assert "cancelled" in str(exc)
    else:  # it finished before the cancel
        assert value == file_identity(path)
