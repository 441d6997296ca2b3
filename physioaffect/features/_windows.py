"""Windows over the time axis, given in seconds and resolved to samples."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError, InvalidSignalError


def resolve_windows(n_times: int, sfreq: float, window, step):
    """Window starts and length in samples.

    Parameters
    ----------
    n_times : int
    sfreq : float
    window : float or None
        Window length in seconds; None means one window over the whole signal.
    step : float or None
        Hop between window starts in seconds; None means ``window`` (no overlap).

    Returns
    -------
    starts : ndarray of int64, shape (n_windows,)
    length : int
    """
    if window is None:
        if step is not None:
            raise InvalidParameterError("`step` was given without `window`; give a window length in seconds")
        return np.zeros(1, dtype=np.int64), int(n_times)
    window = float(window)
    if not np.isfinite(window) or window <= 0:
        raise InvalidParameterError(f"`window` must be a positive duration in seconds, got {window}")
    length = int(round(window * sfreq))
    if length < 2:
        raise InvalidParameterError(
            f"`window` = {window} s is {length} sample(s) at sfreq = {sfreq} Hz; a window needs at least 2")
    if length > n_times:
        raise InvalidSignalError(
            f"`window` = {window} s ({length} samples) is longer than the signal "
            f"({n_times} samples = {n_times / sfreq:g} s at sfreq = {sfreq} Hz)")
    if step is None:
        hop = length
    else:
        step = float(step)
        if not np.isfinite(step) or step <= 0:
            raise InvalidParameterError(f"`step` must be a positive duration in seconds, got {step}")
        hop = int(round(step * sfreq))
        if hop < 1:
            raise InvalidParameterError(
                f"`step` = {step} s is less than one sample at sfreq = {sfreq} Hz")
    n_windows = (n_times - length) // hop + 1
    return np.arange(n_windows, dtype=np.int64) * hop, length
