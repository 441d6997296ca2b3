"""StreamingResampler equals scipy's resample_poly over the whole signal."""

import numpy as np
import pytest
from scipy.signal import resample_poly

from physioaffect.errors import InvalidParameterError, InvalidSignalError
from physioaffect.signal import StreamingResampler, resample_factors


@pytest.mark.parametrize("up,down", [(1, 2), (2, 3), (3, 2), (1, 4), (5, 1), (25, 64), (1, 1)])
@pytest.mark.parametrize("n", [1, 7, 1001])
@pytest.mark.parametrize("chunk", [1, 13, 4096])
def test_chunks_equal_resample_poly(up, down, n, chunk):
    x = np.random.default_rng(n + up).standard_normal((3, n))
    r = StreamingResampler(up, down, n_channels=3)
    parts = [r.process(x[:, i:i + chunk]) for i in range(0, n, chunk)] + [r.finish()]
    y = np.concatenate(parts, axis=-1)
    ref = resample_poly(x, up, down, axis=-1)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)
    assert r.n_samples_out == ref.shape[-1] and r.n_samples_seen == n


def test_buffer_stays_bounded():
    r = StreamingResampler(1, 4, n_channels=2)
    for _ in range(200):
        r.process(np.ones((2, 1000)))
    assert r._buffer.shape[1] < 200  # the filter's reach, not the input's length


def test_factors_and_errors():
    assert resample_factors(512.0, 128.0) == (1, 4)
    assert resample_factors(256.0, 100.0) == (25, 64)
    with pytest.raises(InvalidParameterError, match="new_sfreq"):
        resample_factors(256.0, -1.0)
    with pytest.raises(InvalidParameterError, match="integer factors"):
        resample_factors(1000.0, 1000.0 / np.pi)
    with pytest.raises(InvalidParameterError, match="up"):
        StreamingResampler(0, 2, 1)
    r = StreamingResampler(1, 2, 2)
    with pytest.raises(InvalidSignalError, match="channels"):
        r.process(np.zeros((3, 10)))
    r.finish()
    with pytest.raises(InvalidSignalError, match="finished"):
        r.process(np.zeros((2, 10)))
