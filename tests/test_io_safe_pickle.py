import collections
import functools
import io
import os
import pickle
import subprocess

import numpy as np
import pytest

from physioaffect.errors import InvalidParameterError, RecordingError
from physioaffect.io.safe_pickle import DEFAULT_ALLOWED, UnsafePickleError, safe_load


def _deap_like(rng):
    return {
        "data": rng.standard_normal((2, 40, 128)).astype(np.float32),
        "labels": rng.uniform(1.0, 9.0, (2, 4)),
    }


def _wesad_like(rng):
    return {
        "signal": {
            "chest": {
                "ACC": rng.standard_normal((50, 3)),
                "ECG": rng.standard_normal((50, 1)),
                "EDA": rng.standard_normal((50, 1)).astype(np.float32),
            },
            "wrist": {"BVP": rng.standard_normal((8, 1)), "TEMP": rng.standard_normal((2, 1))},
        },
        "label": rng.integers(0, 8, 50).astype(np.int32),
        "subject": "S2",
        "sfreq": np.float64(700.0),
        "n": np.int64(50),
        "tags": ("baseline", "stress"),
        "conditions": {"baseline", "stress"},
        "frozen": frozenset({1, 2}),
        "z": 1 + 2j,
        "raw": b"\x00\xff",
        "buffer": bytearray(b"ab"),
        "flags": [True, None, 1.5],
    }


def _assert_equal_nested(actual, expected):
    assert type(actual) is type(expected)
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys()
        for key in expected:
            _assert_equal_nested(actual[key], expected[key])
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)
    else:
        assert actual == expected


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_deap_like_from_path(tmp_path, rng, protocol):
    expected = _deap_like(rng)
    path = tmp_path / "s01.dat"
    path.write_bytes(pickle.dumps(expected, protocol=protocol))
    loaded = safe_load(path)
    _assert_equal_nested(loaded, expected)
    assert loaded["data"].shape == (2, 40, 128)
    loaded["data"][0, 0, 0] = 1.0  # writable, not a view of the file's bytes


@pytest.mark.parametrize("protocol", [2, 5])
def test_wesad_like_from_file_object(rng, protocol):
    expected = _wesad_like(rng)
    loaded = safe_load(io.BytesIO(pickle.dumps(expected, protocol=protocol)))
    _assert_equal_nested(loaded, expected)


def test_python2_numpy_pickle(tmp_path):
    # Protocol 2 as Python 2 NumPy wrote DEAP's files: numpy.core names, __builtin__ names, and
    # the array's bytes as a Python 2 str, which only encoding="latin1" turns back into bytes.
    data = np.arange(6, dtype="<f8").reshape(2, 3)
    raw = data.tobytes()
    stream = (
        b"\x80\x02}("
        b"U\x04data"
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
        b"(K\x01K\x02K\x03\x86"
        b"cnumpy\ndtype\nU\x02f8K\x00K\x01\x87R"
        b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        b"\x89U" + bytes([len(raw)]) + raw + b"tb"
        b"U\x06labelsc__builtin__\nset\n]K\x01a\x85R"
        b"u."
    )
    path = tmp_path / "s01.dat"
    path.write_bytes(stream)
    loaded = safe_load(path)
    assert set(loaded) == {"data", "labels"}
    assert loaded["data"].dtype == np.float64
    np.testing.assert_array_equal(loaded["data"], data)
    assert loaded["labels"] == {1}


class _Shell:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Popen:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (subprocess.Popen, (self.command,))


class _Eval:
    def __reduce__(self):
        return (eval, ("1 + 1",))


class Plain:
    pass


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_refuses_os_system_and_runs_nothing(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    payload = {"data": np.zeros(3), "x": _Shell(f"touch {marker}")}
    path.write_bytes(pickle.dumps(payload, protocol=protocol))
    with pytest.raises(UnsafePickleError) as info:
        safe_load(path)
    message = str(info.value)
    assert "evil.pkl" in message
    assert ("posix.system" in message) or ("nt.system" in message)
    assert isinstance(info.value, RecordingError)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("obj", "refused"),
    [
        (_Popen(["true"]), "subprocess.Popen"),
        (_Eval(), "builtins.eval"),
        (functools.partial(int, "3"), "functools.partial"),
        (Plain(), f"{__name__}.Plain"),
        (collections.OrderedDict(a=1), "collections.OrderedDict"),
        (getattr, "builtins.getattr"),
        (np.ones, "numpy.ones"),
    ],
)
def test_refuses_names_outside_the_allowlist(obj, refused):
    with pytest.raises(UnsafePickleError, match=rf"<file object>.*'{refused}'"):
        safe_load(io.BytesIO(pickle.dumps(obj, protocol=2)))


def test_refuses_exec_from_a_handcrafted_stream():
    stream = b"cbuiltins\nexec\n(Vimport os\ntR."
    with pytest.raises(UnsafePickleError, match="builtins.exec"):
        safe_load(io.BytesIO(stream))


def test_codecs_encode_admits_only_latin1():
    stream = b"c_codecs\nencode\n(Vabc\nVzlib_codec\ntR."
    with pytest.raises(RecordingError, match="latin1"):
        safe_load(io.BytesIO(stream))


def test_allowed_extends_the_default():
    obj = collections.OrderedDict(a=np.arange(3))
    data = pickle.dumps(obj, protocol=4)
    loaded = safe_load(io.BytesIO(data), allowed=DEFAULT_ALLOWED | {"collections.OrderedDict"})
    assert isinstance(loaded, collections.OrderedDict)
    np.testing.assert_array_equal(loaded["a"], np.arange(3))
    with pytest.raises(InvalidParameterError, match="collection"):
        safe_load(io.BytesIO(data), allowed="collections.OrderedDict")


def test_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(RecordingError, match="absent.dat"):
        safe_load(tmp_path / "absent.dat")
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(pickle.dumps({"data": np.zeros(100)}, protocol=2)[:-40])
    with pytest.raises(RecordingError, match="truncated.dat"):
        safe_load(truncated)
    garbage = tmp_path / "garbage.dat"
    garbage.write_bytes(b"this is not a pickle")
    with pytest.raises(RecordingError, match="garbage.dat"):
        safe_load(garbage)
    with pytest.raises(InvalidParameterError, match="path or a binary file object"):
        safe_load(42)


def test_no_plain_pickle_load_in_the_package():
    import pathlib

    import physioaffect

    root = pathlib.Path(physioaffect.__file__).parent
    offenders = [
        str(p.relative_to(root)) for p in root.rglob("*.py")
        if "pickle.load(" in p.read_text() or "pickle.loads(" in p.read_text()
    ]
    assert offenders == []
