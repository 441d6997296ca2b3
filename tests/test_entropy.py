import numpy as np
import pytest
import xarray as xr
from scipy import signal as sps

from physioaffect.errors import InvalidParameterError, InvalidSignalError
from physioaffect.features import DEFAULT_BANDS, band_power, de_from_variance, differential_entropy

SFREQ = 128.0


def _band_limited_noise(rng, n_ch, n_times, sfreq, low, high, std):
    """Gaussian noise with a flat spectrum between ``low`` and ``high`` Hz (FFT brick wall)."""
    spec = np.fft.rfft(rng.standard_normal((n_ch, n_times)), axis=-1)
    f = np.fft.rfftfreq(n_times, 1 / sfreq)
    spec[:, (f < low) | (f > high)] = 0
    x = np.fft.irfft(spec, n=n_times, axis=-1)
    return x / x.std(axis=-1, keepdims=True) * std


def _windowed_reference(x, sfreq, bands, order, win, step, zero_phase, per_window=False, ba=False):
    """Independent reference: scipy filter, then population variance per window."""
    length = int(round(win * sfreq))
    hop = int(round(step * sfreq))
    starts = np.arange(0, x.shape[-1] - length + 1, hop)
    out = []
    for low, high in bands.values():
        if ba:
            b, a = sps.butter(order, [low / (sfreq / 2), high / (sfreq / 2)], btype="band")
            filt = lambda s, b=b, a=a: sps.lfilter(b, a, s, axis=-1)  # noqa: E731
        else:
            sos = sps.butter(order, [low, high], "bandpass", fs=sfreq, output="sos")
            filt = (lambda s, sos=sos: sps.sosfiltfilt(sos, s, axis=-1)) if zero_phase else (
                lambda s, sos=sos: sps.sosfilt(sos, s, axis=-1))
        if per_window:
            var = np.stack([filt(x[..., s:s + length]).var(axis=-1) for s in starts], axis=-2)
        else:
            y = filt(x)
            var = np.stack([y[..., s:s + length].var(axis=-1) for s in starts], axis=-2)
        out.append(var)
    return np.stack(out, axis=-1)  # (..., n_windows, n_channels, n_bands)


@pytest.mark.parametrize("zero_phase", [True, False])
def test_de_of_band_limited_noise_equals_analytic(rng, zero_phase):
    std = 3e-6  # volts, as EEG
    x = _band_limited_noise(rng, 4, int(120 * SFREQ), SFREQ, 10.0, 12.0, std)
    de = differential_entropy(x, SFREQ, bands={"alpha": (8.0, 14.0)}, zero_phase=zero_phase)
    analytic = 0.5 * np.log(2 * np.pi * np.e * std**2)
    np.testing.assert_allclose(de[:, 0], analytic, rtol=0.01)
    # log2 is the same quantity in bits
    de2 = differential_entropy(x, SFREQ, bands={"alpha": (8.0, 14.0)}, zero_phase=zero_phase,
                               log_base=2)
    np.testing.assert_allclose(de2, de / np.log(2), rtol=1e-12)
    # the band outside the noise sees almost nothing (> 10 nats less)
    far = differential_entropy(x, SFREQ, bands={"beta": (20.0, 30.0)}, zero_phase=zero_phase)
    assert (far < de - 3).all()


def test_de_from_variance_values():
    np.testing.assert_allclose(de_from_variance(1.0), 0.5 * np.log(2 * np.pi * np.e))
    np.testing.assert_allclose(de_from_variance(4.0, log_base=2), 0.5 * np.log2(2 * np.pi * np.e * 4))
    assert de_from_variance(0.0) == -np.inf


@pytest.mark.parametrize("n_ch", [1, 14, 17, 33])
@pytest.mark.parametrize("win, step", [(1.0, 1.0), (2.0, 0.5), (4.0, 117 / 128)])
@pytest.mark.parametrize("zero_phase", [True, False])
def test_fused_kernel_matches_scipy_route(rng, n_ch, win, step, zero_phase):
    x = rng.standard_normal((n_ch, int(23.3 * SFREQ)))
    de = differential_entropy(x, SFREQ, window=win, step=step, zero_phase=zero_phase)
    ref = 0.5 * np.log(2 * np.pi * np.e * _windowed_reference(x, SFREQ, DEFAULT_BANDS, 4, win, step,
                                                              zero_phase))
    assert de.shape == ref.shape
    assert np.abs(de - ref).max() < 1e-10
    sci = differential_entropy(x, SFREQ, window=win, step=step, zero_phase=zero_phase,
                               backend="scipy")
    assert np.abs(sci - ref).max() < 1e-10


def test_leading_dimensions_and_whole_signal(rng):
    x = rng.standard_normal((3, 2, 5, 700))
    de = differential_entropy(x, SFREQ)
    assert de.shape == (3, 2, 5, 5)
    one = differential_entropy(x[1, 0], SFREQ)
    np.testing.assert_allclose(de[1, 0], one, rtol=0, atol=1e-12)
    w = differential_entropy(x, SFREQ, window=2.0, step=1.0)
    assert w.shape == (3, 2, 4, 5, 5)


def test_torcheeg_preset_equals_butter_lfilter_per_window(rng):
    x = rng.standard_normal((14, int(10 * SFREQ)))
    de = differential_entropy(x, SFREQ, preset="torcheeg", window=1.0)
    bands = {"theta": (4, 8), "alpha": (8, 14), "beta": (14, 31), "gamma": (31, 49)}
    var = _windowed_reference(x, SFREQ, bands, 5, 1.0, 1.0, False, per_window=True, ba=True)
    ref = 0.5 * np.log2(2 * np.pi * np.e * var)
    assert de.shape == (10, 14, 4)
    # (b, a) order 5 loses ~1e-7 bits in theta at 128 Hz; the SOS form is exact
    assert np.abs(de - ref).max() < 1e-6
    var_sos = _windowed_reference(x, SFREQ, bands, 5, 1.0, 1.0, False, per_window=True)
    assert np.abs(de - 0.5 * np.log2(2 * np.pi * np.e * var_sos)).max() < 1e-10
    # whole input as one chunk, as TorchEEG applies the transform to what it is given
    whole = differential_entropy(x[:, :128], SFREQ, preset="torcheeg")
    np.testing.assert_allclose(whole, de[0], atol=1e-12)


def test_torcheeg_preset_matches_torcheeg_itself(rng):
    scipy_signal = pytest.importorskip("scipy.signal")
    if not hasattr(scipy_signal, "hann"):  # removed in SciPy 1.13; TorchEEG 1.1.2 imports it
        scipy_signal.hann = scipy_signal.windows.hann
    transforms = pytest.importorskip("torcheeg.transforms")
    x = rng.standard_normal((6, 128))
    ref = transforms.BandDifferentialEntropy(sampling_rate=128)(eeg=x)["eeg"]
    de = differential_entropy(x, SFREQ, preset="torcheeg")
    assert np.abs(de - ref).max() < 1e-6


def test_rbtransformer_preset_windows_and_reference(rng):
    x = rng.standard_normal((14, 7680))  # DREAMER: 60 s at 128 Hz
    de = differential_entropy(x, SFREQ, preset="rbtransformer")
    n_win = (7680 - 512) // 117 + 1
    assert de.shape == (n_win, 14, 4)
    bands = {"theta": (4, 8), "alpha": (8, 14), "beta": (14, 31), "gamma": (31, 49)}
    var = _windowed_reference(x, SFREQ, bands, 5, 4.0, 117 / 128, False, per_window=True, ba=True)
    assert np.abs(de - 0.5 * np.log2(2 * np.pi * np.e * var)).max() < 1e-6
    # at SEED's 200 Hz the published code still designs for 128 Hz: 512-sample windows, stride 117
    y = rng.standard_normal((3, 2000))
    seed = differential_entropy(y, 200.0, preset="rbtransformer")
    assert seed.shape == ((2000 - 512) // 117 + 1, 3, 4)
    true_rate = differential_entropy(y, 200.0, preset="rbtransformer", design_sfreq=200.0)
    assert np.abs(seed - true_rate).max() > 0.05


def test_baseline_subtraction(rng):
    x = rng.standard_normal((4, 1280))
    base = 2 * rng.standard_normal((4, 640))
    de = differential_entropy(x, SFREQ, window=1.0, baseline=base)
    raw = differential_entropy(x, SFREQ, window=1.0)
    b = differential_entropy(base, SFREQ)
    np.testing.assert_allclose(de, raw - b[None], atol=1e-12)
    # doubling the amplitude shifts DE by log 2 in every band
    np.testing.assert_allclose(b - differential_entropy(base / 2, SFREQ), np.log(2), atol=1e-9)


def test_xarray_in_xarray_out(rng):
    x = xr.DataArray(rng.standard_normal((3, 4, 640)), dims=("epoch", "channel", "time"),
                     coords={"channel": ["AF3", "F7", "F3", "FC5"], "subject": ("epoch", ["a", "a", "b"]),
                             "label": ("epoch", [0, 1, 1])},
                     attrs={"sfreq": SFREQ, "units": "V"})
    de = differential_entropy(x, window=1.0)
    assert isinstance(de, xr.DataArray)
    assert de.dims == ("epoch", "window", "channel", "band")
    assert list(de.channel.values) == ["AF3", "F7", "F3", "FC5"]
    assert list(de.band.values) == list(DEFAULT_BANDS)
    np.testing.assert_allclose(de.band_low, [1, 4, 8, 14, 31])
    np.testing.assert_allclose(de.onset, [0, 1, 2, 3, 4])
    assert list(de.subject.values) == ["a", "a", "b"]
    assert de.attrs["units"] == "nats" and "zero-phase" in de.attrs["semantics"]
    np.testing.assert_allclose(de.values, differential_entropy(x.values, SFREQ, window=1.0))
    arr = differential_entropy(x.values, SFREQ, as_xarray=True)
    assert arr.dims == ("epoch", "channel", "band")


def test_band_power_matches_sine_power_and_de(rng):
    t = np.arange(0, 20, 1 / SFREQ)
    x = np.stack([2.0 * np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 20 * t)])
    p = band_power(x, SFREQ)
    np.testing.assert_allclose(p[0, 2], 2.0, rtol=1e-3)  # A^2 / 2 in alpha
    np.testing.assert_allclose(p[1, 3], 0.5, rtol=1e-3)  # beta
    assert p[0, [0, 1, 3, 4]].max() < 1e-6
    rel = band_power(x, SFREQ, relative=True)
    np.testing.assert_allclose(rel.sum(axis=-1), 1.0, rtol=1e-6)
    w = band_power(rng.standard_normal((2, 3, 1280)), SFREQ, window=2.0, step=1.0)
    assert w.shape == (2, 9, 3, 5)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"sfreq": None}, InvalidParameterError, "sfreq"),
    ({"sfreq": 0.0}, InvalidParameterError, "sfreq"),
    ({"sfreq": -128.0}, InvalidParameterError, "sfreq"),
    ({"sfreq": 128.0, "bands": {"hi": (40.0, 64.0)}}, InvalidParameterError, "Nyquist"),
    ({"sfreq": 128.0, "bands": {"bad": (8.0, 4.0)}}, InvalidParameterError, "low < high"),
    ({"sfreq": 128.0, "window": 100.0}, InvalidSignalError, "longer than the signal"),
    ({"sfreq": 128.0, "window": -1.0}, InvalidParameterError, "window"),
    ({"sfreq": 128.0, "preset": "deap"}, InvalidParameterError, "preset"),
    ({"sfreq": 128.0, "log_base": 10}, InvalidParameterError, "log_base"),
    ({"sfreq": 128.0, "backend": "cuda"}, InvalidParameterError, "backend"),
    ({"sfreq": 128.0, "per_window": True}, InvalidParameterError, "zero_phase=False"),
])
def test_bad_parameters(rng, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        differential_entropy(rng.standard_normal((2, 640)), **kwargs)


def test_bad_signals(rng):
    x = rng.standard_normal((3, 640))
    x[2, 100] = np.nan
    with pytest.raises(InvalidSignalError, match=r"NaN first at index \[2, 100\]"):
        differential_entropy(x, SFREQ)
    x[2, 100] = -np.inf
    with pytest.raises(InvalidSignalError, match="inf"):
        differential_entropy(x, SFREQ, window=1.0)
    with pytest.raises(InvalidSignalError, match="dimensions"):
        differential_entropy(np.ones(640), SFREQ)


@pytest.mark.parametrize("where", [0, 300, 639])
@pytest.mark.parametrize("kwargs", [
    {}, {"window": 1.0}, {"zero_phase": False}, {"zero_phase": False, "window": 2.0, "step": 1.5},
    {"preset": "torcheeg", "window": 1.0}, {"backend": "scipy", "window": 1.0},
])
def test_any_bad_sample_is_named_whichever_route(rng, where, kwargs):
    # the fused routes check samples after filtering; a bad sample anywhere, including after the
    # last window (640 samples, windows of 2 s every 1.5 s end at 512), is still named
    x = rng.standard_normal((3, 640))
    x[1, where] = np.inf if where == 300 else np.nan
    with pytest.raises(InvalidSignalError, match=rf"first at index \[1, {where}\]"):
        differential_entropy(x, SFREQ, **kwargs)
    with pytest.raises(InvalidSignalError, match="needs more than 27"):
        differential_entropy(np.ones((2, 20)), SFREQ)
    with pytest.raises(InvalidSignalError, match="baseline"):
        differential_entropy(np.ones((2, 640)), SFREQ, baseline=np.ones((3, 640)))


def test_labelled_output_round_trips_through_netcdf(rng, tmp_path):
    x = xr.DataArray(rng.standard_normal((2, 3, 640)), dims=("epoch", "channel", "time"),
                     coords={"channel": ["Fz", "Cz", "Pz"]}, attrs={"sfreq": SFREQ})
    de = differential_entropy(x, window=1.0, preset="torcheeg")
    path = tmp_path / "de.nc"
    de.to_netcdf(path, engine="h5netcdf")
    back = xr.open_dataarray(path, engine="h5netcdf")
    xr.testing.assert_identical(back.load(), de)
    assert back.attrs["preset"] == "torcheeg" and back.attrs["units"] == "bits"


@pytest.mark.parametrize("n_times", [28, 200, 458, 459, 1000, 1024, 1994, 1995, 4300])
def test_short_epochs_match_scipy(rng, n_times):
    # around the kernel's chunk of 512 and span of 2048 extended samples (27 samples of padding at
    # each end)
    x = rng.standard_normal((5, 3, n_times))
    de = differential_entropy(x, SFREQ)
    for zero_phase in (True, False):
        got = differential_entropy(x, SFREQ, zero_phase=zero_phase)
        ref = differential_entropy(x, SFREQ, zero_phase=zero_phase, backend="scipy")
        assert np.abs(got - ref).max() < 1e-10
    assert de.shape == (5, 3, 5)


@pytest.mark.parametrize("n_channels", [1, 5, 14, 21])
@pytest.mark.parametrize("zero_phase", [True, False])
def test_fused_matches_scipy_for_partial_channel_blocks(rng, n_channels, zero_phase):
    # blocks of 16 channels, loaded 4 rows at a time: partial blocks and sample counts that are
    # not multiples of 4 take the remainder paths
    x = rng.standard_normal((n_channels, 643))
    kw = dict(window=1.0, step=0.37, zero_phase=zero_phase)
    fused = differential_entropy(x, SFREQ, **kw)
    ref = differential_entropy(x, SFREQ, backend="scipy", **kw)
    np.testing.assert_allclose(fused, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("order", [3, 5, 6])
@pytest.mark.parametrize("zero_phase", [True, False])
def test_fused_matches_scipy_for_other_orders(rng, order, zero_phase):
    # order 5 runs the band-pass form in one group of 5 sections; orders 3 and 6 need identity
    # padding, which only the raw form has (and a forward pass without advance tables); three
    # spans of the zero-phase forward pass
    x = rng.standard_normal((5, 5000))
    kw = dict(window=2.0, zero_phase=zero_phase, order=order)
    np.testing.assert_allclose(differential_entropy(x, SFREQ, **kw),
                               differential_entropy(x, SFREQ, backend="scipy", **kw),
                               rtol=0, atol=1e-9)
