"""Simulated peripheral signals: electrodermal activity, photoplethysmogram and respiration.

``sfreq`` is a required argument of every function here: a peripheral signal simulated at a rate
the caller did not choose would be silently wrong downstream.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_sfreq
from ..errors import InvalidParameterError
from .eeg import check_positive, check_random_state, n_samples, spectral_noise

__all__ = ["eda", "ppg", "respiration"]

# Skin conductance response model (Bateman function; Benedek & Kaernbach, 2010).
_SCR_RISE = 0.75        # s
_SCR_DECAY = 2.0        # s
_SCR_AMPLITUDE = 0.3    # µS, median amplitude at arousal 0
_SCR_REFRACTORY = 1.0   # s, minimum time between SCR onsets
_K_RATE = 1.2           # log SCR rate per unit arousal
_K_AMPLITUDE = 0.5      # log SCR amplitude per unit arousal
_K_TONIC = 0.2          # log tonic level per unit arousal
_TONIC_DRIFT = 0.15     # µS, s.d. of the slow tonic drift
_EDA_NOISE = 0.005      # µS, s.d. of white measurement noise


def _as_xarray(signal, sfreq, units, name, attrs=None):
    import xarray as xr

    return xr.DataArray(signal, dims=("time",), name=name,
                        coords={"time": np.arange(signal.size) / sfreq},
                        attrs={"sfreq": sfreq, "units": units, **(attrs or {})})


def _arousal_course(arousal, n_times: int) -> np.ndarray:
    if arousal is None:
        return np.zeros(n_times)
    values = np.asarray(arousal, dtype=np.float64)
    if values.ndim == 0:
        values = np.full(n_times, float(values))
    if values.shape != (n_times,):
        raise InvalidParameterError(
            f"`arousal` must be a scalar or an array of shape ({n_times},), one value per sample "
            f"at sfreq, got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(np.abs(values) > 1):
        raise InvalidParameterError(
            f"`arousal` must lie in [-1, 1], got values from {np.nanmin(values):g} to "
            f"{np.nanmax(values):g}")
    return values


def _smooth_noise(rng, n_times: int, sfreq: float, cutoff: float) -> np.ndarray:
    """Gaussian noise low-passed at ``cutoff`` Hz, unit variance in expectation."""
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    shape = np.exp(-0.5 * (freqs / cutoff) ** 2)
    shape[0] = 0.0
    if not shape.any():
        return np.zeros(n_times)
    return np.fft.irfft(spectral_noise(rng, (), n_times, sfreq, shape), n=n_times)


def eda(duration, sfreq, *, arousal=None, scr_rate=4.0, tonic_level=2.0, random_state=None,
        return_events=False, as_xarray=False):
    """Simulate skin conductance whose phasic responses follow an arousal time course.

    Skin conductance responses (SCRs) start at the times of an inhomogeneous Poisson process of
    rate ``scr_rate * exp(1.2 a(t))`` per minute (at least 1 s apart), with amplitudes log-normal
    around ``0.3 * exp(0.5 a(t))`` µS; each has the Bateman shape
    ``exp(-t / 2 s) - exp(-t / 0.75 s)`` scaled to its amplitude at the peak (1.2 s after onset).
    The tonic level ``tonic_level * exp(0.2 a(t))`` drifts slowly (s.d. 0.15 µS, below 0.02 Hz);
    white noise of 0.005 µS is added.

    Parameters
    ----------
    duration : float
        Seconds.
    sfreq : float
        Sampling rate in Hz (required).
    arousal : float, array-like of shape (n_times,) or None, default=None
        Arousal in [-1, 1], constant or one value per sample; None is 0.
    scr_rate : float >= 0, default=4.0
        SCRs per minute at arousal 0.
    tonic_level : float > 0, default=2.0
        Skin conductance level at arousal 0, µS.
    random_state : int, numpy.random.Generator or None, default=None
    return_events : bool, default=False
        Also return the SCR onsets and amplitudes.
    as_xarray : bool, default=False
        Return an :class:`xarray.DataArray` with dim "time" instead of an array.

    Returns
    -------
    signal : ndarray of shape (n_times,) or xarray.DataArray
        Skin conductance in µS (microsiemens), n_times = round(duration * sfreq).
    events : dict
        Only with ``return_events``: ``"onset"`` (n_scr,) in seconds and ``"amplitude"``
        (n_scr,) in µS.

    Examples
    --------
    >>> x = eda(10.0, 32.0, arousal=0.5, random_state=0)
    >>> x.shape
    (320,)
    """
    sfreq = check_sfreq(sfreq)
    n_times = n_samples(duration, sfreq)
    scr_rate = check_positive(scr_rate, "scr_rate", allow_zero=True)
    tonic_level = check_positive(tonic_level, "tonic_level")
    course = _arousal_course(arousal, n_times)
    rng = check_random_state(random_state)
    seconds = n_times / sfreq

    # Onsets by thinning a homogeneous Poisson process at the largest rate.
    rate = scr_rate / 60.0 * np.exp(_K_RATE * course)
    peak_rate = float(rate.max())
    onsets = np.empty(0)
    if peak_rate > 0:
        n_candidates = rng.poisson(peak_rate * seconds)
        candidates = np.sort(rng.uniform(0.0, seconds, n_candidates))
        keep = rng.uniform(0.0, peak_rate, n_candidates) < rate[(candidates * sfreq).astype(int)]
        kept = []
        for onset in candidates[keep]:
            if not kept or onset - kept[-1] >= _SCR_REFRACTORY:
                kept.append(onset)
        onsets = np.asarray(kept)
    at_onset = course[(onsets * sfreq).astype(int)]
    amplitudes = _SCR_AMPLITUDE * np.exp(_K_AMPLITUDE * at_onset) * rng.lognormal(
        0.0, 0.4, onsets.size)

    impulses = np.zeros(n_times)
    np.add.at(impulses, (onsets * sfreq).astype(int), amplitudes)
    t = np.arange(int(math.ceil(10 * _SCR_DECAY * sfreq))) / sfreq
    kernel = np.exp(-t / _SCR_DECAY) - np.exp(-t / _SCR_RISE)
    kernel /= kernel.max()
    phasic = np.convolve(impulses, kernel)[:n_times]

    tonic = tonic_level * np.exp(_K_TONIC * course)
    tonic = tonic + _TONIC_DRIFT * _smooth_noise(rng, n_times, sfreq, 0.02)
    signal = np.maximum(tonic, 0.05) + phasic + _EDA_NOISE * rng.standard_normal(n_times)
    if as_xarray:
        signal = _as_xarray(signal, sfreq, "uS", "eda")
    if return_events:
        return signal, {"onset": onsets, "amplitude": amplitudes}
    return signal


def _neurokit_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**32 - 1))


def ppg(duration, sfreq, *, heart_rate=70.0, random_state=None, as_xarray=False):
    """Simulate a photoplethysmogram (PPG) with :func:`neurokit2.ppg_simulate`.

    Parameters
    ----------
    duration : float
        Seconds.
    sfreq : float
        Sampling rate in Hz (required); at least 20 Hz.
    heart_rate : float, default=70.0
        Mean heart rate in beats per minute, in [30, 220].
    random_state : int, numpy.random.Generator or None, default=None
    as_xarray : bool, default=False
        Return an :class:`xarray.DataArray` with dim "time".

    Returns
    -------
    ndarray of shape (n_times,) or xarray.DataArray
        PPG in arbitrary units (one systolic peak per beat, amplitude about 1).

    Notes
    -----
    neurokit2 draws beat intervals with 10 % randomness and a frequency modulation of 0.2 of
    the heart rate, adds drift, motion and line noise (its defaults). Its duration is rounded
    up to whole seconds and the output truncated to n_times = round(duration * sfreq).
    """
    import neurokit2 as nk

    sfreq = check_sfreq(sfreq)
    n_times = n_samples(duration, sfreq)
    heart_rate = check_positive(heart_rate, "heart_rate")
    if not 30 <= heart_rate <= 220:
        raise InvalidParameterError(
            f"`heart_rate` must be in [30, 220] beats per minute, got {heart_rate:g}")
    if sfreq < 20:
        raise InvalidParameterError(f"`sfreq` must be at least 20 Hz for a PPG, got {sfreq:g}")
    rng = check_random_state(random_state)
    signal = nk.ppg_simulate(
        duration=int(math.ceil(n_times / sfreq)), sampling_rate=sfreq, heart_rate=heart_rate,
        powerline_amplitude=0.01 if sfreq > 100 else 0.0, random_state=_neurokit_seed(rng))
    signal = np.asarray(signal, dtype=np.float64)[:n_times]
    if as_xarray:
        return _as_xarray(signal, sfreq, "a.u.", "ppg", {"heart_rate": heart_rate})
    return signal


def respiration(duration, sfreq, *, respiratory_rate=15.0, random_state=None, as_xarray=False):
    """Simulate a respiration (breathing belt) signal with :func:`neurokit2.rsp_simulate`.

    Parameters
    ----------
    duration : float
        Seconds.
    sfreq : float
        Sampling rate in Hz (required); at least 5 Hz.
    respiratory_rate : float, default=15.0
        Breaths per minute, in [4, 60].
    random_state : int, numpy.random.Generator or None, default=None
    as_xarray : bool, default=False
        Return an :class:`xarray.DataArray` with dim "time".

    Returns
    -------
    ndarray of shape (n_times,) or xarray.DataArray
        Respiration in arbitrary units (amplitude about 0.5), inhalation upward.

    Notes
    -----
    Uses neurokit2's "breathmetrics" model with its default noise. Its duration is rounded up
    to whole seconds and the output truncated to n_times = round(duration * sfreq).
    """
    import neurokit2 as nk

    sfreq = check_sfreq(sfreq)
    n_times = n_samples(duration, sfreq)
    respiratory_rate = check_positive(respiratory_rate, "respiratory_rate")
    if not 4 <= respiratory_rate <= 60:
        raise InvalidParameterError(
            f"`respiratory_rate` must be in [4, 60] breaths per minute, got {respiratory_rate:g}")
    if sfreq < 5:
        raise InvalidParameterError(
            f"`sfreq` must be at least 5 Hz for respiration, got {sfreq:g}")
    rng = check_random_state(random_state)
    whole_seconds = int(math.ceil(n_times / sfreq))
    signal = nk.rsp_simulate(
        duration=whole_seconds, length=int(round(whole_seconds * sfreq)), sampling_rate=sfreq,
        respiratory_rate=respiratory_rate, method="breathmetrics",
        random_state=_neurokit_seed(rng))
    signal = np.asarray(signal, dtype=np.float64)[:n_times]
    if as_xarray:
        return _as_xarray(signal, sfreq, "a.u.", "respiration",
                          {"respiratory_rate": respiratory_rate})
    return signal
