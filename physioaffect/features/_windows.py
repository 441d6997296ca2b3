"""Windows over the time axis, given in seconds and resolved to samples."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError, InvalidSignalError


class WindowLengthError(InvalidParameterError, InvalidSignalError):
    """A window longer than the signal: a bad ``window`` as much as a short signal."""


def _seconds(value, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"`{name}` must be a positive duration in seconds, got {value!r}") from None


def resolve_windows(n_times: int, sfreq: float, window, step, *, onsets=None, min_length: int = 2):
    """Window starts and length in samples.

    Parameters
    ----------
    n_times : int
    sfreq : float
    window : float or None
        Window length in seconds; None means one window over the whole signal.
    step : float or None
        Hop between window starts in seconds; None means ``window`` (no overlap).
    onsets : array-like of float or None
        Window starts in seconds, instead of a regular grid; needs ``window``, excludes ``step``.
        Each start is rounded to the nearest sample and its window must lie inside the signal.
    min_length : int
        Fewest samples a window may hold.

    Returns
    -------
    starts : ndarray of int64, shape (n_windows,)
    length : int

    Raises
    ------
    InvalidParameterError
        A bad ``window``, ``step`` or ``onsets``; a window longer than the signal raises
        :class:`WindowLengthError`, which is also an :class:`InvalidSignalError`.
    """
    if window is None:
        if step is not None:
            raise InvalidParameterError(
                f"`step` was given without `window` (got step = {step!r}); "
                "give a window length in seconds")
        if onsets is not None:
            raise InvalidParameterError(
                "`onsets` was given without `window`; give a window length in seconds")
        return np.zeros(1, dtype=np.int64), int(n_times)
    window = _seconds(window, "window")
    if not np.isfinite(window) or window <= 0:
        raise InvalidParameterError(f"`window` must be a positive duration in seconds, got {window}")
    length = int(round(window * sfreq))
    if length < min_length:
        raise InvalidParameterError(
            f"`window` = {window} s is {length} sample(s) at sfreq = {sfreq} Hz; "
            f"a window needs at least {min_length}")
    duration = n_times / sfreq
    if length > n_times:
        raise WindowLengthError(
            f"`window`={window} s ({length} samples) is longer than the signal "
            f"({duration:g} s, {n_times} samples at sfreq = {sfreq:g} Hz); "
            f"expected a window of at most {duration:g} s")
    if onsets is not None:
        if step is not None:
            raise InvalidParameterError(
                f"`step` = {step!r} and `onsets` were both given; give one of them")
        return _onset_starts(onsets, n_times, sfreq, window, length), length
    if step is None:
        hop = length
    else:
        step = _seconds(step, "step")
        if not np.isfinite(step) or step <= 0:
            raise InvalidParameterError(f"`step` must be a positive duration in seconds, got {step}")
        hop = int(round(step * sfreq))
        if hop < 1:
            raise InvalidParameterError(
                f"`step` = {step} s is less than one sample at sfreq = {sfreq} Hz")
    n_windows = (n_times - length) // hop + 1
    return np.arange(n_windows, dtype=np.int64) * hop, length


def _onset_starts(onsets, n_times: int, sfreq: float, window: float, length: int) -> np.ndarray:
    """Start samples of windows placed at ``onsets`` seconds."""
    try:
        times = np.atleast_1d(np.asarray(onsets, dtype=np.float64))
    except (TypeError, ValueError):
        times = None
    if times is None or times.ndim != 1 or times.size == 0 or not np.isfinite(times).all():
        raise InvalidParameterError(
            f"`onsets` must be a non-empty 1-D sequence of finite times in seconds, got {onsets!r}")
    starts = np.round(times * sfreq).astype(np.int64)
    outside = (starts < 0) | (starts + length > n_times)
    if outside.any():
        duration = n_times / sfreq
        raise InvalidParameterError(
            f"`onsets` holds {times[np.argmax(outside)]:g} s, whose {window:g}-s window falls "
            f"outside the signal (0 to {duration:g} s); expected onsets between 0 and "
            f"{duration - length / sfreq:g} s")
    return starts
