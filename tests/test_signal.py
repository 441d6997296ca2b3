import numpy as np
import pytest
from scipy import signal as sps

from physioaffect.errors import InvalidParameterError, InvalidSignalError
from physioaffect.signal import (
    StreamingFilter,
    bandpass_sos,
    butter_sos,
    filter_bank,
    highpass_sos,
    lowpass_sos,
    notch_sos,
    sosfilt,
    sosfiltfilt,
)


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("shape", [(300,), (1, 400), (17, 500), (2, 3, 257), (40, 1000)])
@pytest.mark.parametrize("sos_fn", [lambda: bandpass_sos(1, 4, 128.0),
                                    lambda: bandpass_sos(31, 49, 128.0, order=5),
                                    lambda: highpass_sos(0.5, 128.0),
                                    lambda: lowpass_sos(40, 128.0, order=6),
                                    lambda: notch_sos(50, 128.0)])
def test_sosfilt_and_sosfiltfilt_match_scipy(rng, shape, sos_fn):
    sos = sos_fn()
    x = rng.standard_normal(shape)
    assert _rel(sosfilt(sos, x), sps.sosfilt(sos, x)) < 1e-10
    assert _rel(sosfiltfilt(sos, x), sps.sosfiltfilt(sos, x)) < 1e-10


def test_sosfiltfilt_padlen_and_backend_switch(rng):
    sos = bandpass_sos(8, 14, 128.0)
    x = rng.standard_normal((5, 600))
    for padlen in (0, 10, 100):
        ref = sps.sosfiltfilt(sos, x, padlen=padlen)
        assert _rel(sosfiltfilt(sos, x, padlen=padlen), ref) < 1e-10
        assert _rel(sosfiltfilt(sos, x, padlen=padlen, backend="scipy"), ref) == 0


def test_sosfilt_initial_state_round_trip(rng):
    sos = bandpass_sos(4, 8, 128.0)
    x = rng.standard_normal((3, 1000))
    zi = rng.standard_normal((sos.shape[0], 3, 2))
    y, zf = sosfilt(sos, x, zi=zi)
    y_ref, zf_ref = sps.sosfilt(sos, x, zi=zi)
    assert _rel(y, y_ref) < 1e-10
    assert _rel(zf, zf_ref) < 1e-10
    # continuing from the final state equals filtering the concatenation
    y1, z1 = sosfilt(sos, x[:, :400], zi=zi)
    y2, _ = sosfilt(sos, x[:, 400:], zi=z1)
    np.testing.assert_array_equal(np.concatenate([y1, y2], axis=1), y)


@pytest.mark.parametrize("chunks", [[1000], [1, 999], [333, 333, 334], [7] * 142 + [6]])
def test_streaming_equals_one_shot_exactly(rng, chunks):
    sos = bandpass_sos(1, 4, 128.0)
    x = rng.standard_normal((20, sum(chunks)))
    f = StreamingFilter(sos, n_channels=20)
    edges = np.cumsum([0, *chunks])
    out = np.concatenate([f.process(x[:, a:b]) for a, b in zip(edges[:-1], edges[1:], strict=False)], axis=1)
    np.testing.assert_array_equal(out, sosfilt(sos, x))
    assert f.n_samples_seen == x.shape[1]
    assert "StreamingFilter" in repr(f)


def test_streaming_steady_init_removes_offset_transient():
    sos = highpass_sos(0.5, 100.0)
    x = np.full((2, 500), 1e-3)
    f = StreamingFilter(sos, 2, init="steady")
    out = f.process(x)
    assert np.abs(out).max() < 1e-12
    f.reset()
    assert f.n_samples_seen == 0


def test_streaming_scipy_backend_equal(rng):
    sos = bandpass_sos(8, 14, 128.0)
    x = rng.standard_normal((3, 300))
    a = StreamingFilter(sos, 3, backend="scipy")
    b = StreamingFilter(sos, 3)
    assert _rel(a.process(x), b.process(x)) < 1e-12


def test_filter_bank_shapes():
    bank = filter_bank({"a": (8, 14), "b": (14, 31)}, 128.0, order=5)
    assert bank.shape == (2, 5, 6)
    np.testing.assert_allclose(bank[0], sps.butter(5, [8, 14], "bandpass", fs=128.0, output="sos"))


def test_notch_attenuates_line(rng):
    sfreq = 500.0
    t = np.arange(0, 10, 1 / sfreq)
    x = np.sin(2 * np.pi * 50 * t) + 0.1 * rng.standard_normal(t.size)
    y = sosfiltfilt(notch_sos(50, sfreq, harmonics=3), x)
    f, p_in = sps.welch(x, sfreq, nperseg=1000)
    _, p_out = sps.welch(y, sfreq, nperseg=1000)
    k = np.argmin(np.abs(f - 50))
    assert p_out[k] < 1e-3 * p_in[k]
    assert notch_sos(50, sfreq, harmonics=3).shape == (3, 6)


@pytest.mark.parametrize("call, match", [
    (lambda: bandpass_sos(8, 64, 128.0), "Nyquist"),
    (lambda: bandpass_sos(14, 8, 128.0), "low < high"),
    (lambda: butter_sos(0, 10, 128.0, "lowpass"), "order"),
    (lambda: lowpass_sos(10, None), "sfreq"),
    (lambda: lowpass_sos(10, -5), "sfreq"),
    (lambda: butter_sos(4, 10, 128.0, "comb"), "btype"),
    (lambda: sosfilt(np.ones((2, 5)), np.ones(10)), "n_sections, 6"),
    (lambda: sosfilt(bandpass_sos(8, 14, 128.0), np.ones(10), backend="cuda"), "backend"),
    (lambda: sosfilt(bandpass_sos(8, 14, 128.0), np.ones((2, 10)), zi=np.zeros((4, 2))), "zi"),
])
def test_bad_parameters(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


def test_bad_signals():
    sos = bandpass_sos(8, 14, 128.0)
    x = np.ones((2, 100))
    x[1, 17] = np.nan
    with pytest.raises(InvalidSignalError, match=r"NaN first at index \[1, 17\]"):
        sosfilt(sos, x)
    x[1, 17] = np.inf
    with pytest.raises(InvalidSignalError, match="inf"):
        sosfiltfilt(sos, x)
    with pytest.raises(InvalidSignalError, match="needs more than 27"):
        sosfiltfilt(sos, np.ones((2, 20)))
    with pytest.raises(InvalidSignalError, match="channels"):
        StreamingFilter(sos, 3).process(np.ones((2, 10)))
    with pytest.raises(InvalidParameterError, match="n_channels"):
        StreamingFilter(sos, 0)
