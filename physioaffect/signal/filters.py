"""Filter design in second-order sections and their application along the last axis.

Design goes through :mod:`scipy.signal` and always yields second-order sections (SOS): the
transfer-function form (b, a) loses precision above order 4 and at low relative cut-offs.
Application runs in Numba kernels (``backend="numba"``, the default) with channels side by side in
SIMD lanes, or in scipy (``backend="scipy"``) for parity checks.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validation import check_choice, check_sfreq, check_signal
from ..errors import InvalidParameterError, InvalidSignalError

__all__ = [
    "butter_sos",
    "bandpass_sos",
    "highpass_sos",
    "lowpass_sos",
    "notch_sos",
    "filter_bank",
    "sosfilt",
    "sosfiltfilt",
    "sosfilt_zi",
    "check_sos",
    "default_padlen",
]

_BACKENDS = ("numba", "scipy")


def _check_edge(freq, sfreq, name):
    nyq = sfreq / 2.0
    freq = float(freq)
    if not np.isfinite(freq) or freq <= 0 or freq >= nyq:
        raise InvalidParameterError(
            f"`{name}` = {freq} Hz must lie strictly between 0 and the Nyquist frequency "
            f"{nyq} Hz (sfreq = {sfreq} Hz)")
    return freq


def butter_sos(order: int, freq, sfreq: float, btype: str = "bandpass") -> np.ndarray:
    """Butterworth filter as second-order sections.

    Parameters
    ----------
    order : int
        Filter order; a band-pass or band-stop of order N has 2N poles (N sections).
    freq : float or (float, float)
        Cut-off frequency in Hz, or (low, high) edges for ``"bandpass"`` / ``"bandstop"``.
    sfreq : float
        Sampling rate in Hz.
    btype : {"bandpass", "highpass", "lowpass", "bandstop"}, default="bandpass"

    Returns
    -------
    sos : ndarray, shape (n_sections, 6)
    """
    from scipy import signal as sps

    sfreq = check_sfreq(sfreq)
    check_choice(btype, ("bandpass", "highpass", "lowpass", "bandstop"), "btype")
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise InvalidParameterError(f"`order` must be a positive integer, got {order!r}")
    if btype in ("bandpass", "bandstop"):
        edges = np.atleast_1d(np.asarray(freq, dtype=float))
        if edges.shape != (2,):
            raise InvalidParameterError(
                f"`freq` for a {btype} filter must be (low, high) in Hz, got {freq!r}")
        low = _check_edge(edges[0], sfreq, "low band edge")
        high = _check_edge(edges[1], sfreq, "high band edge")
        if not low < high:
            raise InvalidParameterError(f"band edges must satisfy low < high, got ({low}, {high}) Hz")
        wn = [low, high]
    else:
        wn = _check_edge(freq, sfreq, "cut-off frequency")
    return np.ascontiguousarray(sps.butter(int(order), wn, btype=btype, fs=sfreq, output="sos"))


def bandpass_sos(low: float, high: float, sfreq: float, order: int = 4) -> np.ndarray:
    """Butterworth band-pass between ``low`` and ``high`` Hz as SOS, shape (order, 6)."""
    return butter_sos(order, (low, high), sfreq, "bandpass")


def highpass_sos(freq: float, sfreq: float, order: int = 4) -> np.ndarray:
    """Butterworth high-pass at ``freq`` Hz as SOS."""
    return butter_sos(order, freq, sfreq, "highpass")


def lowpass_sos(freq: float, sfreq: float, order: int = 4) -> np.ndarray:
    """Butterworth low-pass at ``freq`` Hz as SOS."""
    return butter_sos(order, freq, sfreq, "lowpass")


def notch_sos(freq: float, sfreq: float, quality: float = 30.0, harmonics: int = 1) -> np.ndarray:
    """IIR notch at ``freq`` Hz (and optionally its harmonics below Nyquist) as SOS.

    Parameters
    ----------
    freq : float
        Line frequency in Hz (50 or 60).
    sfreq : float
        Sampling rate in Hz.
    quality : float, default=30.0
        Quality factor: the -3 dB width of each notch is ``freq / quality``.
    harmonics : int, default=1
        Number of notches at ``freq, 2 freq, ...``; those at or above Nyquist are skipped.
    """
    from scipy import signal as sps

    sfreq = check_sfreq(sfreq)
    _check_edge(freq, sfreq, "notch frequency")
    sections = []
    for k in range(1, int(harmonics) + 1):
        f = k * float(freq)
        if f >= sfreq / 2:
            break
        b, a = sps.iirnotch(f, quality, fs=sfreq)
        sections.append(np.concatenate([b, a]))
    return np.ascontiguousarray(np.vstack(sections))


def filter_bank(bands: Mapping[str, tuple[float, float]], sfreq: float, order: int = 4) -> np.ndarray:
    """Band-pass SOS for every band, stacked: shape (n_bands, order, 6)."""
    if not bands:
        raise InvalidParameterError("`bands` must name at least one (low, high) band in Hz")
    out = []
    for name, edges in bands.items():
        try:
            low, high = edges
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"band {name!r} must be (low, high) in Hz, got {edges!r}") from None
        nyq = check_sfreq(sfreq) / 2
        for edge in (low, high):
            if not 0 < float(edge) < nyq:
                raise InvalidParameterError(
                    f"band {name!r} edge {edge} Hz must lie strictly between 0 and Nyquist "
                    f"{nyq} Hz (sfreq = {sfreq} Hz)")
        out.append(bandpass_sos(low, high, sfreq, order))
    return np.ascontiguousarray(np.stack(out))


def check_sos(sos) -> np.ndarray:
    """Validate an SOS array: shape (n_sections, 6), a0 == 1 for every section."""
    sos = np.array(sos, dtype=np.float64)  # a private, writable copy
    if sos.ndim != 2 or sos.shape[1] != 6 or sos.shape[0] < 1:
        raise InvalidParameterError(f"`sos` must have shape (n_sections, 6), got {sos.shape}")
    if not np.isfinite(sos).all():
        raise InvalidParameterError("`sos` holds non-finite coefficients")
    if not np.allclose(sos[:, 3], 1.0):
        sos = sos / sos[:, 3:4]
    return np.ascontiguousarray(sos)


def sosfilt_zi(sos) -> np.ndarray:
    """Steady-state initial conditions for a unit step, shape (n_sections, 2) (scipy's)."""
    from scipy import signal as sps

    return sps.sosfilt_zi(check_sos(sos))


def default_padlen(sos) -> int:
    """scipy's default ``sosfiltfilt`` pad length: ``3 * (2 n_sections + 1 - trailing zeros)``."""
    sos = check_sos(sos)
    ntaps = 2 * sos.shape[0] + 1
    ntaps -= min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * ntaps


def _rows(x):
    return np.ascontiguousarray(x.reshape(-1, x.shape[-1]))


def _numba_sosfilt(sos, x2d, zi2d, n_jobs=None):
    from .._parallel import resolve_n_jobs
    from ._kernels import sosfilt_rows

    return sosfilt_rows(x2d, sos, zi2d, resolve_n_jobs(n_jobs))


def sosfilt(sos, x, zi=None, *, backend: str = "numba"):
    """Causal filtering with second-order sections along the last axis.

    Same semantics as :func:`scipy.signal.sosfilt` with ``axis=-1``.

    Parameters
    ----------
    sos : array_like, shape (n_sections, 6)
    x : array_like, shape (..., n_times)
    zi : array_like, shape (n_sections, ..., 2), optional
        Initial delays (scipy's layout). When given, the final delays are returned too.
    backend : {"numba", "scipy"}, default="numba"

    Returns
    -------
    y : ndarray, shape (..., n_times), float64
    zf : ndarray, shape (n_sections, ..., 2)
        Only when ``zi`` is given.
    """
    check_choice(backend, _BACKENDS, "backend")
    sos = check_sos(sos)
    x = check_signal(x, name="x")
    n_sections = sos.shape[0]
    lead = x.shape[:-1]
    if zi is not None:
        zi = np.asarray(zi, dtype=np.float64)
        if zi.shape != (n_sections, *lead, 2):
            raise InvalidParameterError(
                f"`zi` must have shape {(n_sections, *lead, 2)} (n_sections, ..., 2), got {zi.shape}")
    if backend == "scipy":
        from scipy import signal as sps

        return sps.sosfilt(sos, x, axis=-1, zi=zi) if zi is not None else sps.sosfilt(sos, x, axis=-1)
    x2d = _rows(x)
    if zi is None:
        zi2d = np.zeros((x2d.shape[0], n_sections, 2))
    else:
        zi2d = np.ascontiguousarray(np.moveaxis(zi, 0, -2).reshape(-1, n_sections, 2))
    y, zf = _numba_sosfilt(sos, x2d, zi2d)
    y = y.reshape(x.shape)
    if zi is None:
        return y
    return y, np.moveaxis(zf.reshape(*lead, n_sections, 2), -2, 0)


def _odd_ext(x, n):
    if n == 0:
        return x
    left = 2 * x[..., :1] - x[..., n:0:-1]
    right = 2 * x[..., -1:] - x[..., -2:-(n + 2):-1]
    return np.concatenate([left, x, right], axis=-1)


def sosfiltfilt(sos, x, padlen=None, *, backend: str = "numba"):
    """Zero-phase forward-backward filtering with second-order sections along the last axis.

    Same semantics as :func:`scipy.signal.sosfiltfilt` with ``axis=-1`` and ``padtype="odd"``:
    odd extension by ``padlen`` samples, steady-state initial delays (``sosfilt_zi``) scaled by the
    first sample of each pass.

    Parameters
    ----------
    sos : array_like, shape (n_sections, 6)
    x : array_like, shape (..., n_times)
    padlen : int, optional
        Samples of odd extension at each end; default ``3 * (2 * n_sections + 1)`` (scipy's).
    backend : {"numba", "scipy"}, default="numba"

    Returns
    -------
    y : ndarray, shape (..., n_times), float64
    """
    check_choice(backend, _BACKENDS, "backend")
    sos = check_sos(sos)
    x = check_signal(x, name="x")
    if padlen is None:
        padlen = default_padlen(sos)
    padlen = int(padlen)
    if padlen < 0:
        raise InvalidParameterError(f"`padlen` must be >= 0, got {padlen}")
    if x.shape[-1] <= padlen:
        raise InvalidSignalError(
            f"`x` has {x.shape[-1]} samples along its last axis; sosfiltfilt with padlen={padlen} "
            f"needs more than {padlen}")
    if backend == "scipy":
        from scipy import signal as sps

        return sps.sosfiltfilt(sos, x, axis=-1, padlen=padlen)
    zi = sosfilt_zi(sos)
    ext = _rows(_odd_ext(x, padlen))
    zi_rows = zi[None, :, :] * ext[:, :1, None]
    y, _ = _numba_sosfilt(sos, ext, np.ascontiguousarray(zi_rows))
    zi_rows = zi[None, :, :] * y[:, -1:, None]
    y, _ = _numba_sosfilt(sos, np.ascontiguousarray(y[:, ::-1]), np.ascontiguousarray(zi_rows))
    y = y[:, ::-1]
    if padlen:
        y = y[:, padlen:-padlen]
    return np.ascontiguousarray(y).reshape(x.shape)
