"""Band power from Welch's periodogram, per (window, channel, band)."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError
from ._labelled import unwrap, wrap
from ._windows import resolve_windows
from .entropy import DEFAULT_BANDS, _check_bands

__all__ = ["band_power", "relative_band_power"]


def band_power(data, sfreq=None, *, bands=None, window=None, step=None, nperseg=None,
               relative=False, as_xarray=None):
    """Power in each frequency band from Welch's method.

    The PSD of every window (Hann segments of ``nperseg`` samples, 50 % overlap, mean removed) is
    summed over the frequency bins inside each band, times the bin width (MNE's convention).

    Parameters
    ----------
    data : ndarray or xarray.DataArray, shape (..., n_channels, n_times)
        Signals, e.g. EEG in volts.
    sfreq : float
        Sampling rate in Hz (from ``data.attrs["sfreq"]`` for a DataArray when omitted).
    bands : dict of str to (float, float), optional
        Band edges in Hz; default as :data:`physioaffect.features.DEFAULT_BANDS`.
    window, step : float, optional
        Window length and hop in seconds; None computes one value over the whole signal.
    nperseg : int, optional
        Welch segment length in samples; default ``min(window length, 2 s)``.
    relative : bool, default=False
        Divide by the power between the lowest and highest band edge.
    as_xarray : bool, optional
        Return a DataArray; default: only when ``data`` is one.

    Returns
    -------
    power : ndarray or xarray.DataArray
        Shape (..., n_channels, n_bands), or (..., n_windows, n_channels, n_bands) with ``window``;
        in squared input units (V**2 for EEG in volts), or a fraction with ``relative=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.features import band_power
    >>> t = np.arange(0, 10, 1 / 128)
    >>> x = np.sin(2 * np.pi * 10 * t)[None]          # unit sine at 10 Hz: power 0.5
    >>> p = band_power(x, 128.0)
    >>> round(float(p[0, 2]), 2)                     # alpha band
    0.5
    """
    from scipy import signal as sps

    values, sfreq, info = unwrap(data, sfreq)
    bands = _check_bands(DEFAULT_BANDS if bands is None else bands, sfreq)
    n_times = values.shape[-1]
    starts, length = resolve_windows(n_times, sfreq, window, step)
    if nperseg is None:
        nperseg = min(length, int(round(2 * sfreq)))
    nperseg = int(nperseg)
    if not 2 <= nperseg <= length:
        raise InvalidParameterError(
            f"`nperseg` must be between 2 and the window length {length} samples, got {nperseg}")
    idx = starts[:, None] + np.arange(length)[None, :]
    segs = np.moveaxis(values[..., idx], -2, 0)  # (n_windows, ..., n_channels, length)
    freqs, psd = sps.welch(segs, fs=sfreq, nperseg=nperseg, axis=-1, detrend="constant")
    df = freqs[1] - freqs[0]
    out = np.empty((*psd.shape[:-1], len(bands)))
    for k, (low, high) in enumerate(bands.values()):
        sel = (freqs >= low) & (freqs < high)
        if not sel.any():
            raise InvalidParameterError(
                f"band ({low}, {high}) Hz holds no frequency bin at resolution "
                f"{sfreq / nperseg:g} Hz; increase `nperseg` or `window`")
        out[..., k] = psd[..., sel].sum(axis=-1) * df
    if relative:
        lo = min(b[0] for b in bands.values())
        hi = max(b[1] for b in bands.values())
        sel = (freqs >= lo) & (freqs < hi)
        total = psd[..., sel].sum(axis=-1) * df
        with np.errstate(divide="ignore", invalid="ignore"):
            out = out / total[..., None]
    out = np.moveaxis(out, 0, -3)
    if window is None:
        out = out[..., 0, :, :]
    if as_xarray is None:
        as_xarray = info.is_xarray
    if not as_xarray:
        return out
    names = list(bands)
    attrs = {"feature": "relative_band_power" if relative else "band_power",
             "units": "fraction" if relative else "squared input units (V^2 for volts)",
             "method": f"welch hann nperseg={nperseg}", "window": float(length / sfreq)}
    return wrap(out, info, sfreq=sfreq, feature_dim="band", feature_names=names,
                feature_coords={"band_low": ("band", np.array([b[0] for b in bands.values()])),
                                "band_high": ("band", np.array([b[1] for b in bands.values()]))},
                onsets=starts / sfreq if window is not None else None, attrs=attrs)


def relative_band_power(data, sfreq=None, **kwargs):
    """Band power divided by the power over the span of all bands; see :func:`band_power`."""
    return band_power(data, sfreq, relative=True, **kwargs)
