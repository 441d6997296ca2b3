"""Band-DE tokens (RBTransformer, METHODS 2.1-2.2) against a hand computation with scipy."""

import numpy as np
import pytest
from scipy import signal as sps

from physioaffect.errors import InvalidParameterError, InvalidSignalError
from physioaffect.features.tokens import band_de_tokens, token_windows

BANDS = ((4, 8), (8, 14), (14, 31), (31, 49))


def _bde(x, fs=128.0, normalize=True):
    if normalize:
        x = (x - x.mean()) / x.std()
    out = []
    for lo, hi in BANDS:
        b, a = sps.butter(5, [lo / (fs / 2), hi / (fs / 2)], "band")
        out.append(0.5 * np.log2(2 * np.pi * np.e * sps.lfilter(b, a, x, axis=-1).var(axis=-1)))
    return np.stack(out, axis=-1)


def test_windows_follow_the_preset_stride():
    starts, length = token_windows(1013, 128.0, start=3.0)
    assert length == 512 and starts.tolist() == [384, 501]
    starts, length = token_windows(300, 100.0, window=1.0, step=0.5)
    assert length == 100 and starts.tolist() == [0, 50, 100, 150, 200]
    with pytest.raises(InvalidSignalError, match="one window needs 896"):
        token_windows(800, 128.0, start=3.0)
    with pytest.raises(InvalidParameterError, match="pass `window`"):
        token_windows(800, 128.0, preset="torcheeg")


def test_tokens_match_hand_computation_with_baseline(rng):
    x = rng.standard_normal((2, 5, 900)) * 3 + 1
    base = rng.standard_normal((2, 5, 128))
    out = band_de_tokens(x, 128.0, baseline=base)
    assert out.shape == (2, 4, 5, 4)  # (trial, window, channel, band): (900-512)//117+1 = 4
    for t in range(2):
        for k in range(4):
            expected = _bde(x[t, :, 117 * k:117 * k + 512]) - _bde(base[t])
            np.testing.assert_allclose(out[t, k], expected, atol=1e-6)
    scipy_route = band_de_tokens(x, 128.0, baseline=base, backend="scipy")
    np.testing.assert_allclose(scipy_route, out, atol=1e-9)


def test_normalisation_is_one_global_zscore_per_window(rng):
    x = rng.standard_normal((4, 512)) + 5.0
    raw = band_de_tokens(x, 128.0, normalize=False)
    np.testing.assert_allclose(raw[0], _bde(x, normalize=False), atol=1e-6)
    row = rng.standard_normal(512)
    row -= row.mean()
    scaled = np.outer([1.0, 2.0, 3.0, 4.0], row) * 7.0
    # a global gain disappears with the z-score; per-channel gains stay (one std for all)
    a = band_de_tokens(scaled, 128.0)
    b = band_de_tokens(scaled * 10.0, 128.0)
    np.testing.assert_allclose(a, b, atol=1e-9)
    np.testing.assert_allclose(a[0, 3] - a[0, 0], np.log2(4.0), atol=1e-9)


def test_baseline_shape_and_signal_checks(rng):
    x = rng.standard_normal((2, 3, 600))
    with pytest.raises(InvalidSignalError, match="baseline"):
        band_de_tokens(x, 128.0, baseline=rng.standard_normal((3, 128)))
    x[0, 1, 10] = np.nan
    with pytest.raises(InvalidSignalError, match="NaN"):
        band_de_tokens(x, 128.0)
    with pytest.raises(InvalidParameterError, match="sfreq"):
        band_de_tokens(x, None)
