"""Electrodermal, photoplethysmographic and respiratory features through NeuroKit2.

Each channel's full signal is processed once by NeuroKit2 (cleaning, decomposition, peak detection);
the detected events and the derived components are then summarised per window with cumulative
sums, so that the cost of windowing does not grow with the number of windows.

All three feature functions share one calling convention:

- ``data`` is a numpy array of shape ``(..., n_channels, n_times)`` or an
  :class:`xarray.DataArray` with dims ``(..., "channel", "time")``;
- ``sfreq`` is the sampling rate in Hz (required; a DataArray may carry it in ``attrs["sfreq"]``);
- ``window`` and ``step`` are in seconds; ``window=None`` summarises the whole signal;
  ``onsets`` (seconds) places windows at given times instead of on a regular grid;
- the output has shape ``(..., n_windows, n_channels, n_features)`` when ``window`` is given,
  else ``(..., n_channels, n_features)``; a feature that is undefined in a window is NaN.

NeuroKit2 is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from physioaffect._validation import check_choice, check_positive, check_sfreq, check_signal
from physioaffect.errors import InvalidParameterError, InvalidSignalError

from ._labelled import unwrap, wrap
from ._windows import resolve_windows

__all__ = [
    "EDA_FEATURES",
    "PPG_FEATURES",
    "RSP_FEATURES",
    "EDADecomposition",
    "eda_decompose",
    "eda_features",
    "ppg_features",
    "respiration_features",
]

#: Names and units of the features returned by :func:`eda_features`, in output order.
EDA_FEATURES: dict[str, str] = {
    "scl_mean": "uS",
    "scl_slope": "uS/s",
    "scr_count": "count",
    "scr_rate": "1/min",
    "scr_amplitude_mean": "uS",
    "scr_amplitude_sum": "uS",
    "phasic_auc": "uS*s",
    "phasic_std": "uS",
}

#: Names and units of the features returned by :func:`ppg_features`, in output order.
PPG_FEATURES: dict[str, str] = {
    "hr_mean": "bpm",
    "hr_std": "bpm",
    "hrv_rmssd": "ms",
    "hrv_sdnn": "ms",
}

#: Names and units of the features returned by :func:`respiration_features`, in output order.
#: The amplitude keeps the unit of the input signal, written ``"input"``.
RSP_FEATURES: dict[str, str] = {
    "rsp_rate_mean": "1/min",
    "rsp_rate_std": "1/min",
    "rsp_amplitude_mean": "input",
    "rsp_rrv": "s",
}

_EDA_PEAK_METHODS = ("neurokit", "gamboa2008", "kim2004", "vanhalem2020", "nabian2018")
_EDA_PHASIC_METHODS = ("highpass", "smoothmedian")
_PPG_METHODS = ("elgendi", "bishop", "charlton")
_RSP_METHODS = ("khodadad2018", "biosppy")

# Exceptions NeuroKit2 raises on a signal it cannot process (too short, degenerate).
_NK_ERRORS = (ValueError, TypeError, IndexError, ZeroDivisionError)


# --------------------------------------------------------------------------------------------
# NeuroKit2 calls and windowing
# --------------------------------------------------------------------------------------------


def _nk_message(err: BaseException) -> str:
    """NeuroKit2's error message, without its prefix and final full stop."""
    return str(err).replace("NeuroKit error: ", "").rstrip(". ")


def _nk_rate(sfreq: float) -> float | int:
    """Sampling rate as NeuroKit2 expects it: an int where the rate is integral."""
    return int(sfreq) if float(sfreq).is_integer() else sfreq


def _window_starts(
    n_times: int,
    sfreq: float,
    window: float | None,
    step: float | None,
    onsets: Sequence[float] | np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Window start samples and length in samples; a window may be a single sample."""
    return resolve_windows(n_times, sfreq, window, step, onsets=onsets, min_length=1)


def _window_sums(x: np.ndarray, starts: np.ndarray, n_win: int) -> np.ndarray:
    """Sum of ``x[s:s + n_win]`` for each start ``s``; shape (n_windows,)."""
    c = np.concatenate(([0.0], np.cumsum(x, dtype=np.float64)))
    return c[starts + n_win] - c[starts]


def _window_mean_std(
    x: np.ndarray, starts: np.ndarray, n_win: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation of a continuous signal per window."""
    offset = float(np.mean(x))
    xc = x - offset  # centring keeps the running sums small, so variances do not cancel
    s1 = _window_sums(xc, starts, n_win)
    s2 = _window_sums(xc * xc, starts, n_win)
    mean = s1 / n_win
    var = np.maximum(s2 / n_win - mean * mean, 0.0)
    return mean + offset, np.sqrt(var)


def _window_slope(x: np.ndarray, starts: np.ndarray, n_win: int, sfreq: float) -> np.ndarray:
    """Least-squares slope of ``x`` against time per window, in units of ``x`` per second."""
    if n_win < 2:
        return np.full(starts.shape, np.nan)
    xc = x - float(np.mean(x))
    k = np.arange(x.size, dtype=np.float64)
    s_x = _window_sums(xc, starts, n_win)
    s_kx = _window_sums(k * xc, starts, n_win)
    # sum over the window of (i - mean(i)) * x_i, with i = k - start the index inside the window
    cov = s_kx - starts * s_x - 0.5 * (n_win - 1) * s_x
    var_i = n_win * (n_win * n_win - 1) / 12.0
    return cov / var_i * sfreq


def _event_ranges(
    events: np.ndarray, starts: np.ndarray, n_win: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index range ``[a, b)`` of the sorted event samples falling in each window."""
    a = np.searchsorted(events, starts, side="left")
    b = np.searchsorted(events, starts + n_win, side="left")
    return a, b


def _range_stats(
    values: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count, sum, mean and sample standard deviation (ddof=1) of ``values[a:b]`` per window.

    The mean is NaN below one value, the standard deviation NaN below two.
    """
    b = np.maximum(a, b)
    n = (b - a).astype(np.float64)
    if values.size == 0:
        nan = np.full(a.shape, np.nan)
        return n, np.zeros(a.shape), nan, nan.copy()
    offset = float(np.median(values))
    vc = values - offset
    c1 = np.concatenate(([0.0], np.cumsum(vc)))
    c2 = np.concatenate(([0.0], np.cumsum(vc * vc)))
    s1 = c1[b] - c1[a]
    s2 = c2[b] - c2[a]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_c = np.where(n >= 1, s1 / n, np.nan)
        var = np.where(n >= 2, (s2 - n * mean_c * mean_c) / (n - 1), np.nan)
    return n, s1 + n * offset, mean_c + offset, np.sqrt(np.maximum(var, 0.0))


# --------------------------------------------------------------------------------------------
# Input handling and output assembly shared by the feature functions
# --------------------------------------------------------------------------------------------


def _compute(
    data: Any,
    sfreq: Any,
    window: float | None,
    step: float | None,
    onsets: Sequence[float] | np.ndarray | None,
    as_xarray: bool | None,
    features: dict[str, str],
    per_channel: Callable[[np.ndarray, float, np.ndarray, int], np.ndarray],
    attrs: dict[str, Any],
) -> Any:
    """Validate, run ``per_channel`` on every channel, and shape the output."""
    check_choice(as_xarray, (None, True, False), "as_xarray")
    values, sfreq, info = unwrap(
        data, sfreq, dims=("channel", "time"), sfreq_must_match=True, keep_coords=True,
        name_channels=True, real_dtype=True,
    )
    *lead_shape, n_channels, n_times = values.shape
    if n_times < 2 or n_channels < 1:
        raise InvalidSignalError(
            f"`data` has shape {values.shape}; expected at least one channel and two samples."
        )
    channel_names = info.channel_names or [f"ch{i}" for i in range(n_channels)]
    starts, n_win = _window_starts(n_times, sfreq, window, step, onsets)
    series = values.reshape(-1, n_channels, n_times)
    out = np.empty((series.shape[0], starts.size, n_channels, len(features)), dtype=np.float64)
    for s in range(series.shape[0]):
        for c in range(n_channels):
            try:
                out[s, :, c, :] = per_channel(series[s, c], sfreq, starts, n_win)
            except _NK_ERRORS as err:
                at = ", ".join(str(int(i)) for i in np.unravel_index(s, lead_shape))
                where = f" of series ({at})" if lead_shape else ""
                raise InvalidSignalError(
                    f"channel {c} ({channel_names[c]!r}){where} of `data` could not be processed "
                    f"({n_times} samples, {n_times / sfreq:g} s at {sfreq:g} Hz): "
                    f"{_nk_message(err)}; expected a longer or non-degenerate recording."
                ) from err
    windowed = window is not None
    out = out.reshape(*lead_shape, starts.size, n_channels, len(features))
    if not windowed:
        out = out[..., 0, :, :]
    if not (info.is_xarray if as_xarray is None else as_xarray):
        return out
    timing = {
        "window": float(window) if windowed else n_times / sfreq,
        "step": (
            float(step if step is not None else window)
            if windowed and onsets is None
            else float("nan")
        ),
    }
    return wrap(
        out,
        dataclasses.replace(info, attrs={}),  # input attrs (e.g. units) do not describe features
        sfreq=sfreq,
        feature_dim="feature",
        feature_names=list(features),
        feature_coords={"unit": ("feature", list(features.values()))},
        onsets=starts / sfreq if windowed else None,
        attrs={**timing, **attrs},
    )


# --------------------------------------------------------------------------------------------
# EDA
# --------------------------------------------------------------------------------------------


class EDADecomposition(NamedTuple):
    """Tonic/phasic decomposition of one EDA signal and its skin conductance responses.

    Attributes
    ----------
    clean : ndarray, shape (n_times,)
        Low-pass filtered signal (NeuroKit2 ``eda_clean``), microsiemens.
    tonic : ndarray, shape (n_times,)
        Tonic component, the skin conductance level (SCL), microsiemens.
    phasic : ndarray, shape (n_times,)
        Phasic component, ``clean - tonic`` up to filtering error, microsiemens.
    scr_onsets : ndarray of int64, shape (n_scr,)
        Sample index of each SCR onset.
    scr_peaks : ndarray of int64, shape (n_scr,)
        Sample index of each SCR peak, increasing.
    scr_amplitudes : ndarray, shape (n_scr,)
        Phasic rise from onset to peak of each SCR, microsiemens.
    """

    clean: np.ndarray
    tonic: np.ndarray
    phasic: np.ndarray
    scr_onsets: np.ndarray
    scr_peaks: np.ndarray
    scr_amplitudes: np.ndarray


def _eda_decompose(
    signal: np.ndarray,
    sfreq: float,
    method: str,
    phasic_method: str,
    amplitude_min: float,
    scr_min_amplitude: float,
) -> EDADecomposition:
    import neurokit2 as nk
    import scipy.signal

    rate = _nk_rate(sfreq)
    clean = np.asarray(
        nk.eda_clean(signal, sampling_rate=rate, method="neurokit"), dtype=np.float64
    )
    parts = nk.eda_phasic(clean, sampling_rate=rate, method=phasic_method)
    tonic = parts["EDA_Tonic"].to_numpy(dtype=np.float64)
    phasic = parts["EDA_Phasic"].to_numpy(dtype=np.float64)
    empty_i = np.zeros(0, dtype=np.int64)
    # NeuroKit2's peak search fails on a signal without any local maximum (a flat or monotonic
    # recording); no response is a valid result here.
    if scipy.signal.find_peaks(phasic)[0].size == 0:
        return EDADecomposition(clean, tonic, phasic, empty_i, empty_i.copy(), np.zeros(0))
    found = nk.eda_findpeaks(phasic, sampling_rate=rate, method=method, amplitude_min=amplitude_min)
    if len(found["SCR_Peaks"]) == 0:
        return EDADecomposition(clean, tonic, phasic, empty_i, empty_i.copy(), np.zeros(0))
    _, info = nk.eda_peaks(phasic, sampling_rate=rate, method=method, amplitude_min=amplitude_min)
    onsets = np.asarray(info["SCR_Onsets"], dtype=np.float64)
    peaks = np.asarray(info["SCR_Peaks"], dtype=np.float64)
    amplitudes = np.asarray(info["SCR_Amplitude"], dtype=np.float64)
    valid = np.isfinite(onsets) & np.isfinite(peaks) & np.isfinite(amplitudes)
    valid &= amplitudes >= scr_min_amplitude
    order = np.argsort(peaks[valid], kind="stable")
    return EDADecomposition(
        clean,
        tonic,
        phasic,
        onsets[valid][order].astype(np.int64),
        peaks[valid][order].astype(np.int64),
        amplitudes[valid][order],
    )


def eda_decompose(
    signal: Any,
    sfreq: float,
    *,
    method: str = "neurokit",
    phasic_method: str = "highpass",
    amplitude_min: float = 0.1,
    scr_min_amplitude: float = 0.01,
) -> EDADecomposition:
    """Split one EDA signal into tonic and phasic parts and find its skin conductance responses.

    A thin wrapper over NeuroKit2: ``eda_clean`` (4th-order Butterworth low-pass at 3 Hz),
    ``eda_phasic`` and ``eda_peaks``. Only SCRs with a detected onset and an amplitude of at
    least ``scr_min_amplitude`` are kept.

    Parameters
    ----------
    signal : array-like, shape (n_times,)
        Skin conductance in microsiemens.
    sfreq : float
        Sampling rate in Hz.
    method : {"neurokit", "gamboa2008", "kim2004", "vanhalem2020", "nabian2018"}, default="neurokit"
        SCR peak detection method of ``neurokit2.eda_peaks``.
    phasic_method : {"highpass", "smoothmedian"}, default="highpass"
        Decomposition of ``neurokit2.eda_phasic``: a 0.05 Hz Butterworth split, or a 4-s
        moving median as tonic.
    amplitude_min : float, default=0.1
        Relative threshold of NeuroKit2's peak detection (fraction of the largest SCR).
    scr_min_amplitude : float, default=0.01
        Absolute amplitude below which an SCR is discarded, in microsiemens (0.01 uS is a usual
        floor; NeuroKit2's own threshold is relative and turns noise into SCRs).

    Returns
    -------
    EDADecomposition
        Named tuple ``(clean, tonic, phasic, scr_onsets, scr_peaks, scr_amplitudes)``; the
        signals have shape (n_times,), the SCR arrays shape (n_scr,).

    Raises
    ------
    InvalidParameterError
        If ``sfreq`` or a method is invalid.
    InvalidSignalError
        If ``signal`` is not 1-D, holds NaN or inf, or cannot be processed.

    See Also
    --------
    eda_features : windowed EDA features from the same decomposition.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0, 60, 0.01)
    >>> scr = np.where(t > 20, np.exp(-(t - 20) / 2.0) - np.exp(-(t - 20) / 0.75), 0.0)
    >>> dec = eda_decompose(5.0 + scr, sfreq=100.0)
    >>> len(dec.scr_peaks), dec.tonic.shape
    (1, (6000,))
    """
    sfreq = check_sfreq(sfreq)
    method = check_choice(method, _EDA_PEAK_METHODS, "method", ignore_case=True)
    phasic_method = check_choice(
        phasic_method, _EDA_PHASIC_METHODS, "phasic_method", ignore_case=True
    )
    amplitude_min = check_positive(amplitude_min, "amplitude_min", allow_zero=True)
    scr_min_amplitude = check_positive(scr_min_amplitude, "scr_min_amplitude", allow_zero=True)
    x = check_signal(signal, name="signal", max_ndim=1)
    if x.size < 2:
        raise InvalidSignalError(
            f"`signal` has shape {x.shape}; expected a 1-D array (n_times,) of at least 2 samples."
        )
    try:
        return _eda_decompose(x, sfreq, method, phasic_method, amplitude_min, scr_min_amplitude)
    except _NK_ERRORS as err:
        raise InvalidSignalError(
            f"`signal` could not be processed ({x.size} samples, {x.size / sfreq:g} s at {sfreq:g} Hz): "
            f"{_nk_message(err)}; expected a longer or non-degenerate recording."
        ) from err


def eda_features(
    data: Any,
    sfreq: float | None = None,
    *,
    window: float | None = None,
    step: float | None = None,
    onsets: Sequence[float] | np.ndarray | None = None,
    method: str = "neurokit",
    phasic_method: str = "highpass",
    amplitude_min: float = 0.1,
    scr_min_amplitude: float = 0.01,
    as_xarray: bool | None = None,
) -> Any:
    """Skin conductance level and response features per channel and window.

    Each channel is decomposed once over its full length (see :func:`eda_decompose`); the
    tonic and phasic parts and the SCRs whose peak falls in ``[onset, onset + window)`` are
    then summarised per window.

    Features, in output order (see :data:`EDA_FEATURES` for units):

    - ``scl_mean``: mean of the tonic component (uS);
    - ``scl_slope``: least-squares slope of the tonic component (uS/s);
    - ``scr_count``: number of SCR peaks in the window (0 when none);
    - ``scr_rate``: ``scr_count`` per minute of window (1/min);
    - ``scr_amplitude_mean``, ``scr_amplitude_sum``: mean (NaN when no SCR) and sum (0 when
      none) of the SCR amplitudes (uS);
    - ``phasic_auc``: integral of the positive part of the phasic component (uS*s);
    - ``phasic_std``: population standard deviation of the phasic component (uS).

    Parameters
    ----------
    data : ndarray, shape (..., n_channels, n_times), or xarray.DataArray
        Skin conductance in microsiemens. A DataArray needs dims ``"channel"`` and ``"time"``.
    sfreq : float
        Sampling rate in Hz. Required, unless ``data`` is a DataArray carrying
        ``attrs["sfreq"]``.
    window : float, optional
        Window length in seconds. None (default) summarises the whole signal, with no window axis.
    step : float, optional
        Distance between window starts in seconds; defaults to ``window``.
    onsets : array-like of float, shape (n_windows,), optional
        Window starts in seconds (e.g. stimulus onsets) instead of a regular grid; needs
        ``window`` and excludes ``step``.
    method : {"neurokit", "gamboa2008", "kim2004", "vanhalem2020", "nabian2018"}, default="neurokit"
        SCR peak detection method.
    phasic_method : {"highpass", "smoothmedian"}, default="highpass"
        Tonic/phasic decomposition method.
    amplitude_min : float, default=0.1
        Relative threshold of NeuroKit2's SCR detection (fraction of the largest SCR).
    scr_min_amplitude : float, default=0.01
        SCRs smaller than this, in microsiemens, are discarded.
    as_xarray : bool, optional
        None returns a DataArray for DataArray input and an ndarray for ndarray input;
        True always returns a DataArray, False always an ndarray.

    Returns
    -------
    features : ndarray or xarray.DataArray
        Shape ``(..., n_windows, n_channels, 8)`` when ``window`` is given, else
        ``(..., n_channels, 8)``. As a DataArray: dims ``(..., "window", "channel", "feature")``;
        coords ``feature``, ``unit`` (on ``feature``), ``channel`` and ``onset`` (window start,
        seconds from the first sample, on ``window``); attrs ``sfreq``, ``window``, ``step``
        (seconds; NaN with ``onsets``).

    Raises
    ------
    InvalidParameterError
        If ``sfreq`` is missing or not positive, ``window`` exceeds the signal, or a
        parameter is out of range.
    InvalidSignalError
        If ``data`` holds NaN or inf (the message names the channel), has the wrong shape, or a
        channel cannot be processed.

    See Also
    --------
    eda_decompose : the decomposition of one signal.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0, 60, 0.01)
    >>> scr = np.where(t > 20, np.exp(-(t - 20) / 2.0) - np.exp(-(t - 20) / 0.75), 0.0)
    >>> x = np.stack([5.0 + scr, 3.0 + 0.0 * t])
    >>> feats = eda_features(x, sfreq=100.0, window=30.0)
    >>> feats.shape
    (2, 2, 8)
    >>> feats[:, 0, 2].tolist()  # scr_count of channel 0 in each 30-s window
    [1.0, 0.0]
    """
    method = check_choice(method, _EDA_PEAK_METHODS, "method", ignore_case=True)
    phasic_method = check_choice(
        phasic_method, _EDA_PHASIC_METHODS, "phasic_method", ignore_case=True
    )
    amplitude_min = check_positive(amplitude_min, "amplitude_min", allow_zero=True)
    scr_min_amplitude = check_positive(scr_min_amplitude, "scr_min_amplitude", allow_zero=True)

    def per_channel(x: np.ndarray, fs: float, starts: np.ndarray, n_win: int) -> np.ndarray:
        dec = _eda_decompose(x, fs, method, phasic_method, amplitude_min, scr_min_amplitude)
        scl_mean, _ = _window_mean_std(dec.tonic, starts, n_win)
        scl_slope = _window_slope(dec.tonic, starts, n_win, fs)
        a, b = _event_ranges(dec.scr_peaks, starts, n_win)
        count, amp_sum, amp_mean, _ = _range_stats(dec.scr_amplitudes, a, b)
        rate = count / (n_win / fs) * 60.0
        auc = _window_sums(np.maximum(dec.phasic, 0.0), starts, n_win) / fs
        _, phasic_std = _window_mean_std(dec.phasic, starts, n_win)
        return np.stack(
            [scl_mean, scl_slope, count, rate, amp_mean, amp_sum, auc, phasic_std], axis=-1
        )

    attrs = {
        "signal": "eda",
        "method": method,
        "phasic_method": phasic_method,
        "amplitude_min": amplitude_min,
        "scr_min_amplitude": scr_min_amplitude,
    }
    return _compute(data, sfreq, window, step, onsets, as_xarray, EDA_FEATURES, per_channel, attrs)


# --------------------------------------------------------------------------------------------
# PPG
# --------------------------------------------------------------------------------------------


def _interval_features(
    events: np.ndarray, fs: float, starts: np.ndarray, n_win: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Interval statistics of sorted event samples, per window.

    An interval counts in a window when both of its events fall in the window; a successive
    difference counts when its three events do.

    Returns
    -------
    intervals : ndarray, shape (n_events - 1,)
        Event-to-event intervals in seconds.
    a, b : ndarray of int, shape (n_windows,)
        Range ``[a, b)`` of the events in each window.
    rate_mean, rate_std : ndarray, shape (n_windows,)
        Mean and sample standard deviation of ``60 / interval`` (events per minute).
    """
    events = np.asarray(events, dtype=np.int64)
    intervals = np.diff(events) / fs
    a, b = _event_ranges(events, starts, n_win)
    _, _, rate_mean, rate_std = _range_stats(60.0 / intervals, a, b - 1)
    return intervals, a, b, rate_mean, rate_std


def ppg_features(
    data: Any,
    sfreq: float | None = None,
    *,
    window: float | None = None,
    step: float | None = None,
    onsets: Sequence[float] | np.ndarray | None = None,
    method: str = "elgendi",
    correct_artifacts: bool = False,
    as_xarray: bool | None = None,
) -> Any:
    """Heart rate and heart rate variability from PPG pulse peaks, per channel and window.

    Each channel is cleaned (``neurokit2.ppg_clean``, Elgendi band-pass 0.5-8 Hz) and its
    systolic peaks found (``neurokit2.ppg_peaks``) once over its full length. A beat interval
    belongs to a window when both its peaks fall in ``[onset, onset + window)``.

    Features, in output order (see :data:`PPG_FEATURES`):

    - ``hr_mean``: mean of the beat-to-beat heart rate ``60 / IBI`` (bpm; NaN below 1 interval);
    - ``hr_std``: its sample standard deviation (bpm; NaN below 2 intervals);
    - ``hrv_rmssd``: root mean square of successive IBI differences (ms; NaN below 2 intervals);
    - ``hrv_sdnn``: sample standard deviation of the IBIs (ms; NaN below 2 intervals).

    Parameters
    ----------
    data : ndarray, shape (..., n_channels, n_times), or xarray.DataArray
        PPG signals (any unit). A DataArray needs dims ``"channel"`` and ``"time"``.
    sfreq : float
        Sampling rate in Hz. Required, unless ``data`` is a DataArray carrying
        ``attrs["sfreq"]``.
    window : float, optional
        Window length in seconds. None (default) summarises the whole signal.
        HRV needs windows of tens of seconds at least to mean much.
    step : float, optional
        Distance between window starts in seconds; defaults to ``window``.
    onsets : array-like of float, shape (n_windows,), optional
        Window starts in seconds instead of a regular grid; excludes ``step``.
    method : {"elgendi", "bishop", "charlton"}, default="elgendi"
        Peak detection method of ``neurokit2.ppg_peaks``.
    correct_artifacts : bool, default=False
        Correct missed and extra beats (Lipponen & Tarvainen, 2019) before computing intervals.
    as_xarray : bool, optional
        None mirrors the input type; True forces a DataArray, False an ndarray.

    Returns
    -------
    features : ndarray or xarray.DataArray
        Shape ``(..., n_windows, n_channels, 4)`` when ``window`` is given, else
        ``(..., n_channels, 4)``; labelled as in :func:`eda_features`.

    Raises
    ------
    InvalidParameterError
        If ``sfreq`` is missing or not positive, ``window`` exceeds the signal, or a
        parameter is out of range.
    InvalidSignalError
        If ``data`` holds NaN or inf (the message names the channel), has the wrong shape, or a
        channel cannot be processed.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0, 30, 0.01)
    >>> phase = (t * 72 / 60) % 1.0
    >>> ppg = np.exp(-0.5 * ((phase - 0.2) / 0.08) ** 2)  # one pulse per beat, 72 bpm
    >>> round(float(ppg_features(ppg[np.newaxis], sfreq=100.0)[0, 0]))
    72
    """
    method = check_choice(method, _PPG_METHODS, "method", ignore_case=True)
    if not isinstance(correct_artifacts, (bool, np.bool_)):
        raise InvalidParameterError(
            f"`correct_artifacts`={correct_artifacts!r} is invalid; expected True or False."
        )

    def per_channel(x: np.ndarray, fs: float, starts: np.ndarray, n_win: int) -> np.ndarray:
        import neurokit2 as nk

        rate = _nk_rate(fs)
        clean = nk.ppg_clean(x, sampling_rate=rate, method="elgendi")
        _, info = nk.ppg_peaks(
            clean, sampling_rate=rate, method=method, correct_artifacts=bool(correct_artifacts)
        )
        peaks = np.unique(np.asarray(info["PPG_Peaks"], dtype=np.int64))
        ibi, a, b, hr_mean, hr_std = _interval_features(peaks, fs, starts, n_win)
        _, _, _, sdnn = _range_stats(ibi * 1000.0, a, b - 1)
        sq_diff = np.diff(ibi * 1000.0) ** 2
        n_diff, sum_sq, _, _ = _range_stats(sq_diff, a, b - 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            rmssd = np.where(n_diff >= 1, np.sqrt(np.maximum(sum_sq, 0.0) / n_diff), np.nan)
        return np.stack([hr_mean, hr_std, rmssd, sdnn], axis=-1)

    attrs = {"signal": "ppg", "method": method, "correct_artifacts": int(bool(correct_artifacts))}
    return _compute(data, sfreq, window, step, onsets, as_xarray, PPG_FEATURES, per_channel, attrs)


# --------------------------------------------------------------------------------------------
# Respiration
# --------------------------------------------------------------------------------------------


def respiration_features(
    data: Any,
    sfreq: float | None = None,
    *,
    window: float | None = None,
    step: float | None = None,
    onsets: Sequence[float] | np.ndarray | None = None,
    method: str = "khodadad2018",
    as_xarray: bool | None = None,
) -> Any:
    """Breathing rate, amplitude and variability per channel and window.

    Each channel is cleaned (``neurokit2.rsp_clean``) and its inhalation peaks and exhalation
    troughs found (``neurokit2.rsp_peaks``) once over its full length. Breaths are counted
    from peak to peak; a breath-to-breath interval belongs to a window when both its peaks fall
    in ``[onset, onset + window)``.

    Features, in output order (see :data:`RSP_FEATURES`):

    - ``rsp_rate_mean``: mean of the breath-by-breath rate ``60 / interval``
      (breaths/min; NaN below 1 interval);
    - ``rsp_rate_std``: its sample standard deviation (breaths/min; NaN below 2 intervals);
    - ``rsp_amplitude_mean``: mean peak-minus-preceding-trough excursion of the cleaned signal
      for the peaks in the window (unit of the input; NaN when none);
    - ``rsp_rrv``: respiratory rate variability, sample standard deviation of the
      breath-to-breath intervals (s; NaN below 2 intervals).

    Parameters
    ----------
    data : ndarray, shape (..., n_channels, n_times), or xarray.DataArray
        Respiration signals (belt, thermistor; any unit, inhalation upwards). A DataArray needs
        dims ``"channel"`` and ``"time"``.
    sfreq : float
        Sampling rate in Hz. Required, unless ``data`` is a DataArray carrying
        ``attrs["sfreq"]``.
    window : float, optional
        Window length in seconds. None (default) summarises the whole signal. Windows shorter
        than a few breaths give NaN often.
    step : float, optional
        Distance between window starts in seconds; defaults to ``window``.
    onsets : array-like of float, shape (n_windows,), optional
        Window starts in seconds instead of a regular grid; excludes ``step``.
    method : {"khodadad2018", "biosppy"}, default="khodadad2018"
        Cleaning and peak detection method of NeuroKit2.
    as_xarray : bool, optional
        None mirrors the input type; True forces a DataArray, False an ndarray.

    Returns
    -------
    features : ndarray or xarray.DataArray
        Shape ``(..., n_windows, n_channels, 4)`` when ``window`` is given, else
        ``(..., n_channels, 4)``; labelled as in :func:`eda_features`.

    Raises
    ------
    InvalidParameterError
        If ``sfreq`` is missing or not positive, ``window`` exceeds the signal, or a
        parameter is out of range.
    InvalidSignalError
        If ``data`` holds NaN or inf (the message names the channel), has the wrong shape, or a
        channel cannot be processed.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0, 60, 0.1)
    >>> rsp = np.sin(2 * np.pi * 0.25 * t)  # 15 breaths per minute
    >>> round(float(respiration_features(rsp[np.newaxis], sfreq=10.0)[0, 0]), 1)
    15.0
    """
    method = check_choice(method, _RSP_METHODS, "method", ignore_case=True)

    def per_channel(x: np.ndarray, fs: float, starts: np.ndarray, n_win: int) -> np.ndarray:
        import neurokit2 as nk

        rate = _nk_rate(fs)
        clean = np.asarray(nk.rsp_clean(x, sampling_rate=rate, method=method), dtype=np.float64)
        if np.ptp(clean) <= 1e-9 * max(float(np.max(np.abs(x))), 1e-12):
            # a flat channel: NeuroKit2 would turn rounding noise into hundreds of breaths
            peaks = troughs = np.zeros(0, dtype=np.int64)
        else:
            _, info = nk.rsp_peaks(clean, sampling_rate=rate, method=method)
            peaks = np.unique(np.asarray(info["RSP_Peaks"], dtype=np.int64))
            troughs = np.unique(np.asarray(info["RSP_Troughs"], dtype=np.int64))
        bbi, a, b, rate_mean, rate_std = _interval_features(peaks, fs, starts, n_win)
        _, _, _, rrv = _range_stats(bbi, a, b - 1)
        # excursion of each peak above the trough before it; NaN for a peak with no trough before
        before = np.searchsorted(troughs, peaks, side="left") - 1
        amplitude = np.full(peaks.shape, np.nan)
        has = before >= 0
        amplitude[has] = clean[peaks[has]] - clean[troughs[before[has]]]
        # keep only peaks with an amplitude, so the per-window ranges index the right values
        amp_peaks = peaks[has]
        a_amp, b_amp = _event_ranges(amp_peaks, starts, n_win)
        _, _, amp_mean, _ = _range_stats(amplitude[has], a_amp, b_amp)
        return np.stack([rate_mean, rate_std, amp_mean, rrv], axis=-1)

    attrs = {"signal": "respiration", "method": method}
    return _compute(data, sfreq, window, step, onsets, as_xarray, RSP_FEATURES, per_channel, attrs)
