"""The dataset cache: keys follow the source files, the parameters and the package version."""

import os

import numpy as np
import pytest

import physioaffect
from physioaffect.datasets import make_labels, n_classes
from physioaffect.datasets.cache import HEADER_BYTES, cache_key, cache_path, cached, source_identity
from physioaffect.errors import InvalidParameterError


def test_identity_holds_size_mtime_and_header_hash(tmp_path):
    path = tmp_path / "s01.dat"
    path.write_bytes(b"a" * (HEADER_BYTES + 10))
    first = source_identity(path)
    assert first["name"] == "s01.dat" and first["size"] == HEADER_BYTES + 10
    stat = os.stat(path)
    # same size and mtime, a changed header: another identity
    path.write_bytes(b"b" + b"a" * (HEADER_BYTES + 9))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert source_identity(path)["header_sha256"] != first["header_sha256"]
    assert source_identity(path)["mtime_ns"] == first["mtime_ns"]
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert source_identity(path)["mtime_ns"] != first["mtime_ns"]


def test_key_changes_with_parameters_sources_and_version(tmp_path, monkeypatch):
    path = tmp_path / "DREAMER.mat"
    path.write_bytes(b"x" * 100)
    key = cache_key("dreamer", [path], {"target": "valence", "subjects": None})
    assert key == cache_key("dreamer", [path], {"subjects": None, "target": "valence"})
    assert key != cache_key("dreamer", [path], {"target": "arousal", "subjects": None})
    assert key != cache_key("seed", [path], {"target": "valence", "subjects": None})
    monkeypatch.setattr(physioaffect, "__version__", "99.0")
    assert key != cache_key("dreamer", [path], {"target": "valence", "subjects": None})


def test_cached_builds_once_and_none_means_no_cache(tmp_path):
    import xarray as xr

    source = tmp_path / "src.bin"
    source.write_bytes(b"123")
    calls = []

    def build():
        calls.append(1)
        return xr.DataArray(np.arange(3.0), dims="time", name="x",
                            coords={"label": ("time", ["a", "b", "c"])})

    assert cached("toy", [source], {"p": 1}, None, build).values.tolist() == [0, 1, 2]
    assert not any(tmp_path.glob("*.nc"))
    a = cached("toy", [source], {"p": 1}, tmp_path / "c", build)
    b = cached("toy", [source], {"p": 1}, tmp_path / "c", build)
    assert len(calls) == 2 and b["label"].values.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(a.values, b.values)
    cached("toy", [source], {"p": 2}, tmp_path / "c", build)
    assert len(calls) == 3 and len(list((tmp_path / "c").glob("toy-*.nc"))) == 2
    # an unreadable entry is rebuilt
    entry = cache_path(tmp_path / "c", "toy", cache_key("toy", [source], {"p": 1}))
    assert entry.is_file()
    entry.write_bytes(b"not netcdf")
    with pytest.warns(RuntimeWarning, match="unreadable cache entry"):
        rebuilt = cached("toy", [source], {"p": 1}, tmp_path / "c", build)
    assert len(calls) == 4 and rebuilt.values.tolist() == [0, 1, 2]
    with pytest.raises(InvalidParameterError, match="cache_dir"):
        cached("toy", [source], {}, 3, build)


def test_label_schemes_of_methods_2_2():
    assert make_labels([2.0, 3.0, 4.5, np.nan], "dreamer", "binary").tolist() == [0, 1, 1, -1]
    assert make_labels([1, 5], "dreamer", "multiclass").tolist() == [0, 4]
    assert make_labels([1.0, 4.99, 5.0, 8.7, 9.0], "deap", "multiclass").tolist() == [0, 3, 4, 7, 8]
    assert make_labels([-1, 0, 1], "seed", "multiclass").tolist() == [0, 1, 2]
    assert (n_classes("deap", "multiclass"), n_classes("dreamer", "multiclass"),
            n_classes("seed", "multiclass"), n_classes("deap", "binary")) == (9, 5, 3, 2)
    with pytest.raises(InvalidParameterError, match="scheme"):
        make_labels([0], "seed", "binary")
    with pytest.raises(InvalidParameterError, match=r"\[1, 5\]"):
        make_labels([6], "dreamer", "multiclass")


def test_deap_channel_names_agree_with_the_montage():
    from physioaffect.datasets import DEAP_CHANNELS, DREAMER_CHANNELS
    from physioaffect.montage import get_montage

    assert list(DEAP_CHANNELS[:32]) == list(get_montage("deap").ch_names)
    assert list(DREAMER_CHANNELS) == list(get_montage("dreamer").ch_names)


def test_importing_the_datasets_pulls_no_heavy_module():
    import subprocess
    import sys

    code = ("import sys, physioaffect.datasets; "
            "print([m for m in ('xarray', 'scipy', 'mne', 'torch', 'numba') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
