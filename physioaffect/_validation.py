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
                 dtype=np.float64, allow_nonfinite: bool = False, real_dtype: bool = False,
                 channel_names=None) -> np.ndarray:
    """Return ``x`` as a float array after checking dimensions and finiteness.

    ``real_dtype=True`` rejects input that is not of an integer or floating dtype (bool, complex,
    strings) instead of converting it. ``channel_names`` labels axis -2 so that a NaN or inf error
    names the channel at fault; channels beyond the labels given are called ch0, ch1, ...
    """
    if real_dtype:
        kind = np.asarray(x).dtype
        if not (np.issubdtype(kind, np.integer) or np.issubdtype(kind, np.floating)):
            raise InvalidSignalError(f"`{name}` must hold real numbers, got dtype {kind}")
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidSignalError(f"`{name}` must be a numeric array, got {type(x).__name__}: {exc}") from exc
    if arr.ndim < min_ndim or (max_ndim is not None and arr.ndim > max_ndim):
        expected = f"{min_ndim}" if max_ndim == min_ndim else (
            f">= {min_ndim}" if max_ndim is None else f"{min_ndim} to {max_ndim}")
        layout = "(n_times,)" if max_ndim == 1 else "(..., n_channels, n_times)"
        raise InvalidSignalError(
            f"`{name}` must have {expected} dimensions {layout}, got shape {arr.shape}")
    # a sum is finite only if every sample is (an overflowing sum falls through to the full check),
    # and it reads the array once without allocating a mask
    if (arr.size and not allow_nonfinite and not np.isfinite(arr.sum())
            and not np.isfinite(arr).all()):
        bad_mask = ~np.isfinite(arr)
        bad = np.argwhere(bad_mask)[0]
        kind = "NaN" if np.isnan(arr[tuple(bad)]) else "inf"
        where = ", ".join(str(int(i)) for i in bad)
        if channel_names is not None and arr.ndim >= 2:
            c = int(bad[-2])
            label = channel_names[c] if c < len(channel_names) else f"ch{c}"
            n_bad = int(bad_mask[tuple(bad[:-1])].sum())
            who = f"channel {c} ({label!r}) of `{name}`"
        else:
            n_bad = int(bad_mask.sum())
            who = f"`{name}`"
        raise InvalidSignalError(
            f"{who} holds {n_bad} NaN or inf sample(s) ({kind} first at index [{where}]); "
            "interpolate or drop bad segments before filtering")
    return arr


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float > 0 (>= 0 with ``allow_zero``), or raise."""
    bound = ">= 0" if allow_zero else "> 0"
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"`{name}` must be a finite number {bound}, got {value!r}") from None
    if not np.isfinite(out) or out < 0 or (out == 0 and not allow_zero):
        raise InvalidParameterError(f"`{name}` must be a finite number {bound}, got {value!r}")
    return out


def check_choice(value, choices, name: str, *, ignore_case: bool = False):
    """Return ``value`` if it is one of ``choices``; with ``ignore_case``, a string is matched and
    returned lower-cased."""
    if ignore_case and isinstance(value, str) and value.lower() in choices:
        return value.lower()
    if value not in choices:
        raise InvalidParameterError(f"`{name}` must be one of {sorted(map(repr, choices))}, got {value!r}")
    return value
