import subprocess
import sys

import physioaffect


def test_import_is_light():
    code = ("import sys, physioaffect, physioaffect.errors; "
            "print(','.join(m for m in ('torch', 'mne', 'numba', 'torch_geometric', 'neurokit2', "
            "'sklearn', 'xarray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lazy_subpackages_resolve():
    assert physioaffect.signal.sosfilt is not None
    assert callable(physioaffect.features.differential_entropy)
    assert "features" in dir(physioaffect)
    assert physioaffect.__version__


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError, match="no attribute"):
        physioaffect.does_not_exist  # noqa: B018


def test_errors_share_a_base():
    from physioaffect import errors

    for cls in (errors.InvalidParameterError, errors.InvalidSignalError, errors.RecordingError):
        assert issubclass(cls, errors.PhysioAffectError)
