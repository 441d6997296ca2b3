"""Band differential-entropy tokens: one vector of band DEs per electrode and window.

RBTransformer's input (METHODS.md sections 2.1-2.2): each window (channels x samples) is z-scored
with one mean and one standard deviation over all its channels and samples, its band DE is
computed per channel (order-5 Butterworth band-passes, causal from rest within the window, log2,
bands theta 4-8, alpha 8-14, beta 14-31, gamma 31-49 Hz), and the band DE of the baseline signal
(z-scored the same way, on its own) is subtracted. A token is the band vector of one electrode.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_sfreq, check_signal
from ..errors import InvalidParameterError, InvalidSignalError

__all__ = ["band_de_tokens", "token_windows"]

_UNSET = object()
_BLOCK = 64  # windows filtered per call of differential_entropy, to bound memory


def _preset(preset):
    from .entropy import PRESETS

    if preset not in PRESETS:
        raise InvalidParameterError(f"`preset` must be one of {sorted(PRESETS)}, got {preset!r}")
    return PRESETS[preset]


def _samples(seconds, sfreq, name):
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"`{name}` must be a duration in seconds, got {seconds!r}") \
            from None
    n = int(round(value * sfreq))
    if not np.isfinite(value) or n < 0:
        raise InvalidParameterError(f"`{name}` must be a non-negative duration in seconds, got "
                                    f"{seconds!r}")
    return n


def token_windows(n_times, sfreq, *, preset="rbtransformer", window=None, step=None, start=0.0):
    """Start samples and length of the token windows over a signal.

    Parameters
    ----------
    n_times : int
        Samples in the signal.
    sfreq : float
        Sampling rate in Hz.
    preset : str, default="rbtransformer"
        A preset of :func:`physioaffect.features.differential_entropy`; its window and stride
        (``"rbtransformer"``: 512 and 117 samples) apply unless ``window``/``step`` are given.
    window, step : float, optional
        Window length and hop in seconds.
    start : float, default=0.0
        Seconds skipped before the first window (DEAP: 3, its pre-trial baseline).

    Returns
    -------
    starts : ndarray of int64
        First sample of each window: ``start, start + step, ...`` while the window fits.
    length : int
        Samples per window.

    Raises
    ------
    InvalidSignalError
        The signal is too short for one window.
    """
    sfreq = check_sfreq(sfreq)
    p = _preset(preset)
    if window is None:
        if p.get("window_samples") is None:
            raise InvalidParameterError(f"preset {preset!r} has no window length; pass `window`")
        length = int(p["window_samples"])
        hop = int(p["step_samples"]) if step is None else _samples(step, sfreq, "step")
    else:
        length = _samples(window, sfreq, "window")
        hop = length if step is None else _samples(step, sfreq, "step")
    if length < 2 or hop < 1:
        raise InvalidParameterError(f"window ({length} samples) and step ({hop} samples) are too "
                                    f"short; expected at least 2 and 1 samples")
    first = _samples(start, sfreq, "start")
    if first + length > n_times:
        raise InvalidSignalError(f"the signal has {n_times} samples; one window needs "
                                 f"{first + length} (start {first} + window {length})")
    return np.arange(first, n_times - length + 1, hop, dtype=np.int64), length


def _zscore(x):
    # one mean and one std (population) over the last two axes
    mean = x.mean(axis=(-2, -1), keepdims=True)
    std = x.std(axis=(-2, -1), keepdims=True)
    return (x - mean) / np.where(std > 0, std, 1.0)


def band_de_tokens(data, sfreq, *, baseline=None, preset="rbtransformer", window=None, step=None,
                   start=0.0, normalize=True, design_sfreq=_UNSET, backend="numba", n_jobs=None):
    """Band-DE tokens per (window, channel, band), baseline-corrected.

    Parameters
    ----------
    data : array-like, shape (..., n_channels, n_times)
        Signals of one or more trials.
    sfreq : float
        Sampling rate in Hz.
    baseline : array-like, shape (..., n_channels, n_baseline_times), optional
        Baseline signal of each trial (leading shape of ``data``), e.g. DEAP's three pre-trial
        seconds averaged into one second. Its tokens, computed over the whole baseline as one
        window, are subtracted from every window's.
    preset : str, default="rbtransformer"
        A preset of :func:`physioaffect.features.differential_entropy`: bands, filter order,
        causal per-window filtering, log base and, for ``"rbtransformer"``, the 512-sample window
        with 117-sample stride and filters designed for 128 Hz.
    window, step : float, optional
        Window length and hop in seconds, overriding the preset's.
    start : float, default=0.0
        Seconds skipped before the first window.
    normalize : bool, default=True
        z-score each window (and the baseline) with one mean and standard deviation over all
        its channels and samples before the DE.
    design_sfreq : float or None, optional
        Rate the band edges are designed for; default the preset's (128 Hz for
        ``"rbtransformer"``, as the published code, whatever the data's rate); None uses
        ``sfreq``.
    backend : {"numba", "scipy"}, default="numba"
        As :func:`~physioaffect.features.differential_entropy`.
    n_jobs : int, optional
        Threads of the DE kernel.

    Returns
    -------
    ndarray, shape (..., n_windows, n_channels, n_bands)
        Band DE in the preset's unit (bits for ``"rbtransformer"``), minus the baseline's.
        Window ``k`` starts at sample ``token_windows(...)[0][k]``.

    Raises
    ------
    InvalidSignalError
        NaN or inf samples, a signal shorter than one window, or a baseline whose leading shape
        differs from the data's.
    InvalidParameterError
        Unknown preset, bad window or rate.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((32, 128 * 8))
    >>> band_de_tokens(x, 128.0).shape
    (5, 32, 4)
    """
    from .entropy import differential_entropy

    sfreq = check_sfreq(sfreq)
    p = _preset(preset)
    values = check_signal(data, name="data", min_ndim=2)
    starts, length = token_windows(values.shape[-1], sfreq, preset=preset, window=window,
                                   step=step, start=start)
    dsf = p.get("design_sfreq") if design_sfreq is _UNSET else design_sfreq
    settings = {"bands": p["bands"], "zero_phase": p["zero_phase"], "per_window": True,
                "log_base": p["log_base"], "order": p["order"], "design_sfreq": dsf,
                "backend": backend, "n_jobs": n_jobs}
    if p["zero_phase"]:
        settings["per_window"] = False
    lead = values.shape[:-2]
    n_ch = values.shape[-2]
    flat = values.reshape(-1, n_ch, values.shape[-1])
    out = np.empty((flat.shape[0], len(starts), n_ch, len(p["bands"])))
    offsets = np.arange(length)
    for row in range(flat.shape[0]):
        for b0 in range(0, len(starts), _BLOCK):
            idx = starts[b0:b0 + _BLOCK, None] + offsets[None, :]
            windows = np.moveaxis(flat[row][:, idx], 1, 0)  # (block, channel, length)
            if normalize:
                windows = _zscore(windows)
            out[row, b0:b0 + _BLOCK] = differential_entropy(windows, sfreq, window=None,
                                                            **settings)
    out = out.reshape(*lead, len(starts), n_ch, len(p["bands"]))
    if baseline is not None:
        base = check_signal(baseline, name="baseline", min_ndim=2)
        if base.shape[:-1] != values.shape[:-1]:
            raise InvalidSignalError(
                f"`baseline` has shape {base.shape}; expected the leading shape of `data` "
                f"{values.shape[:-1]} followed by n_baseline_times")
        if normalize:
            base = _zscore(base)
        out = out - differential_entropy(base, sfreq, window=None, **settings)[..., None, :, :]
    return out
