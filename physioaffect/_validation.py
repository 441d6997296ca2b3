"""Shared checks for user input; each error names the parameter, the value seen and what was expected."""

from __future__ import annotations

import numbers

import numpy as np

from .errors import InvalidParameterError, InvalidSignalError


def check_sfreq(sfreq, name: str = "sfreq") -> float:
    """Return ``sfreq`` as a positive finite float, or raise."""
    if sfreq is None:
        raise InvalidParameterError(
            f"`{name}` is required: pass the sampling rate in Hz (got None); "
            "physioaffect never assumes a default rate"
        )
    if isinstance(sfreq, bool) or not isinstance(sfreq, numbers.Real):
        raise InvalidParameterError(f"`{name}` must be a positive number in Hz, got {sfreq!r}")
    sfreq = float(sfreq)
    if not np.isfinite(sfreq) or sfreq <= 0:
        raise InvalidParameterError(f"`{name}` must be a positive finite number in Hz, got {sfreq}")
    return sfreq


def check_signal(x, *, name: str = "data", min_ndim: int = 1, max_ndim: int | None = None,
                 dtype=np.float64, allow_nonfinite: bool = False) -> np.ndarray:
    """Return ``x`` as a float array after checking dimensions and finiteness."""
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidSignalError(f"`{name}` must be a numeric array, got {type(x).__name__}: {exc}") from exc
    if arr.ndim < min_ndim or (max_ndim is not None and arr.ndim > max_ndim):
        expected = f"{min_ndim}" if max_ndim == min_ndim else (
            f">= {min_ndim}" if max_ndim is None else f"{min_ndim} to {max_ndim}")
        raise InvalidSignalError(
            f"`{name}` must have {expected} dimensions (..., n_channels, n_times), got shape {arr.shape}")
    if arr.size and not allow_nonfinite and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        kind = "NaN" if np.isnan(arr[tuple(bad)]) else "inf"
        where = ", ".join(str(int(i)) for i in bad)
        raise InvalidSignalError(
            f"`{name}` holds non-finite samples ({kind} first at index [{where}]); "
            "interpolate or drop bad segments before filtering")
    return arr


def check_choice(value, choices, name: str):
    if value not in choices:
        raise InvalidParameterError(f"`{name}` must be one of {sorted(map(repr, choices))}, got {value!r}")
    return value
