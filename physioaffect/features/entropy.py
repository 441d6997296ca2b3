"""Differential entropy (DE) of band-filtered signals, per window, channel and band.

For a Gaussian signal of variance :math:`\\sigma^2` the differential entropy is

.. math:: h = \\tfrac{1}{2} \\log(2 \\pi e \\sigma^2),

so DE per band is a log band power with a constant offset. The fast path is one fused Numba kernel
(:mod:`physioaffect.features._de_kernels`) that reads each sample once, runs every band's biquad
cascade and accumulates float64 window sums without writing any filtered signal to memory.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import numpy as np

from .._validation import check_choice, check_signal
from ..errors import InvalidParameterError, InvalidSignalError
from ._labelled import unwrap, wrap
from ._windows import resolve_windows

__all__ = ["DEFAULT_BANDS", "PRESETS", "differential_entropy", "de_from_variance"]

DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 14.0),
    "beta": (14.0, 31.0),
    "gamma": (31.0, 49.0),
}

_FOUR_BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 14.0), "beta": (14.0, 31.0), "gamma": (31.0, 49.0)}

#: Published DE variants. Each names its filter semantics; see the docstring of
#: :func:`differential_entropy` for what each reproduces.
PRESETS: dict[str, dict] = {
    "torcheeg": {
        "bands": _FOUR_BANDS,
        "order": 5,
        "zero_phase": False,
        "per_window": True,
        "log_base": 2,
        "window": None,
        "step": None,
    },
    "rbtransformer": {
        "bands": _FOUR_BANDS,
        "order": 5,
        "zero_phase": False,
        "per_window": True,
        "log_base": 2,
        "window_samples": 512,
        "step_samples": 117,
        "design_sfreq": 128.0,
    },
}

_UNSET = object()


def de_from_variance(var, log_base="e", *, out=None):
    """Differential entropy of a Gaussian of variance ``var``: ``0.5 * log(2 pi e var)``.

    ``log_base`` is ``"e"`` (nats) or ``2`` (bits). Zero variance gives ``-inf``. ``out``: a
    float64 array of ``var``'s shape to write the result into (``var`` itself is allowed).
    """
    var = np.asarray(var, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.log(np.maximum(var, 0.0, out=out), out=out)
    h *= 0.5
    h += 0.5 * math.log(2.0 * np.pi * np.e)
    if _log2(log_base):
        h /= math.log(2.0)
    return h


def _log2(log_base) -> bool:
    if log_base in ("e", math.e):
        return False
    if log_base in (2, "2", 2.0):
        return True
    raise InvalidParameterError(f"`log_base` must be 'e' or 2, got {log_base!r}")


def _band_groups(n_rows: int, n_bands: int, n_jobs: int) -> int:
    """Split the bands into groups so that (row blocks x band groups) tasks fill ``n_jobs`` threads."""
    from ..signal._cascade import LANES

    n_blocks = -(-n_rows // LANES)
    if n_jobs <= 1:
        return 1
    best, best_eff = 1, 0.0
    for g in range(1, n_bands + 1):
        tasks = n_blocks * g
        eff = tasks / (-(-tasks // n_jobs) * n_jobs)
        if eff > best_eff + 1e-9:
            best, best_eff = g, eff
        if eff >= 0.9:
            break
    return best


def _check_bands(bands, sfreq):
    if bands is None:
        bands = DEFAULT_BANDS
    if not isinstance(bands, Mapping) or not bands:
        raise InvalidParameterError(
            f"`bands` must map band names to (low, high) in Hz, got {bands!r}")
    nyq = sfreq / 2.0
    out = {}
    for name, edges in bands.items():
        try:
            low, high = (float(e) for e in edges)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"band {name!r} must be (low, high) in Hz, got {edges!r}") from None
        if not 0 < low < high:
            raise InvalidParameterError(
                f"band {name!r} = ({low}, {high}) Hz: edges must satisfy 0 < low < high")
        if high >= nyq:
            raise InvalidParameterError(
                f"band {name!r} upper edge {high} Hz is at or above the Nyquist frequency {nyq} Hz "
                f"(sfreq = {sfreq} Hz); lower it or use a higher sampling rate")
        out[str(name)] = (low, high)
    return out


@functools.lru_cache(maxsize=64)
def _design_cached(band_items, design_sfreq, order):
    from ..signal.filters import filter_bank

    sos = filter_bank(dict(band_items), design_sfreq, order)
    sos.flags.writeable = False
    return sos


def _design(bands, design_sfreq, order):
    """Band-pass SOS of every band, (n_bands, order, 6); cached, read-only."""
    return _design_cached(tuple(bands.items()), float(design_sfreq), int(order))


@functools.lru_cache(maxsize=64)
def _kernel_plan_cached(band_items, design_sfreq, order):
    from scipy import signal as sps

    from ..signal._cascade import (
        LANES,
        advance_first,
        advance_tables,
        bandpass_zi,
        is_bandpass,
        plan_gain,
        plan_groups,
        state_to_rows,
    )
    from ..signal.filters import default_padlen
    from ._de_kernels import SPAN

    sos = _design_cached(band_items, design_sfreq, order)
    bandpass = [is_bandpass(s) for s in sos]
    groups = np.stack([plan_groups(s, bandpass=True) for s in sos])
    n_grp, group = groups.shape[1:3]
    # the kernels filter in the band-pass form where it applies: their output is the band's
    # divided by its gain, and their delays are that form's
    gains = np.array([plan_gain(s, bandpass=True) for s in sos])
    zi = [bandpass_zi(s) if bp else sps.sosfilt_zi(s) for s, bp in zip(sos, bandpass, strict=True)]
    zi_rows = np.stack([state_to_rows(np.repeat(z[:, :, None], LANES, axis=2), group, n_grp)
                        for z in zi])
    # the zero-phase forward pass moves one-group band-pass delays span to span by tables, each
    # band from the first sample of the span that still reaches the delays
    if groups.shape[1] == 1 and all(bandpass):
        tables = [advance_tables(g, SPAN) for g in groups]
        adv_K = np.stack([k for k, _ in tables])
        adv_T = np.stack([t for _, t in tables])
        adv_first = np.array([advance_first(k) for k, _ in tables], dtype=np.int64)
    else:
        adv_K = np.zeros((len(sos), 1, 2 * group))
        adv_T = np.zeros((len(sos), 2 * group, 2 * group))
        adv_first = np.zeros(len(sos), dtype=np.int64)
    for a in (groups, zi_rows, gains, adv_K, adv_T, adv_first):
        a.flags.writeable = False
    return groups, zi_rows, default_padlen(sos[0]), gains, (adv_K, adv_T, adv_first)


def _window_variances_fused(x2d, plan, starts, length, zero_phase, per_window, n_jobs=1):
    """Window variances (n_windows, n_rows, n_bands) through the fused Numba kernels, and whether
    they are all finite."""
    from .._parallel import run_tasks
    from ..signal._cascade import LANES
    from . import _de_kernels as k

    n_rows, n_times = x2d.shape
    groups, zi_rows, pad, gains, adv = plan
    n_bands = groups.shape[0]
    n_split = _band_groups(n_rows, n_bands, n_jobs)
    blocks = [(c0, min(LANES, n_rows - c0)) for c0 in range(0, n_rows, LANES)]
    splits = [((g * n_bands) // n_split, ((g + 1) * n_bands) // n_split) for g in range(n_split)]
    ends = starts + length
    if per_window:
        n_acc = len(starts)
        acc = np.zeros((n_bands, n_acc, 2, n_rows))
        args = (starts, ends, np.ones(n_acc, dtype=np.bool_), np.arange(n_acc, dtype=np.int64), acc)
        run_tasks(k.de_causal_task,
                  [(x2d, c0, nl, groups, lo, hi, *args) for c0, nl in blocks for lo, hi in splits],
                  n_jobs)
        i0, n_in = args[3], np.ones(n_acc, dtype=np.int64)
    else:
        # accumulate per segment between consecutive window edges, then add the segments of
        # each window (no running sum over the whole recording, so no drift with its length)
        edges = np.concatenate([[0, n_times], starts, ends]).astype(np.int64)
        edges.sort()
        edges = edges[np.concatenate([[True], edges[1:] != edges[:-1]])]  # np.unique, faster
        n_seg = len(edges) - 1
        acc = np.zeros((n_bands, n_seg, 2, n_rows))
        if zero_phase:
            run_tasks(k.de_zero_phase_task,
                      [(x2d, c0, nl, groups, zi_rows, *adv, pad, lo, hi, edges, acc)
                       for c0, nl in blocks for lo, hi in splits], n_jobs)
        else:
            stop = int(ends.max())
            e = edges[edges <= stop]
            reset = np.zeros(len(e) - 1, dtype=np.bool_)
            reset[0] = True
            args = (e[:-1], e[1:], reset, np.arange(len(e) - 1, dtype=np.int64), acc)
            run_tasks(k.de_causal_task,
                      [(x2d, c0, nl, groups, lo, hi, *args) for c0, nl in blocks for lo, hi in splits],
                      n_jobs)
        i0 = np.searchsorted(edges, starts)
        n_in = np.searchsorted(edges, ends) - i0
    # forward-backward filtering passes each band's gain twice
    factor = gains ** (4 if zero_phase and not per_window else 2)
    var = np.empty((len(starts), n_rows, n_bands))
    finite = k.window_variances(acc, i0, n_in, length, factor, var)
    return var, finite


def _window_variances_scipy(x2d, sos, starts, length, zero_phase, per_window):
    """Reference route through scipy: filter, then windowed population variance.

    Returns (n_windows, n_rows, n_bands), as the fused route.
    """
    from scipy import signal as sps

    sos = np.array(sos)  # scipy's sosfilt needs a writable array; the cached design is read-only

    idx = starts[:, None] + np.arange(length)[None, :]
    out = np.empty((len(starts), sos.shape[0], x2d.shape[0]))  # (n_windows, n_bands, n_rows)
    for b, s in enumerate(sos):
        if per_window:
            seg = np.moveaxis(x2d[:, idx], 0, 1)  # (n_windows, n_rows, length)
            y = sps.sosfiltfilt(s, seg, axis=-1) if zero_phase else sps.sosfilt(s, seg, axis=-1)
            out[:, b] = y.var(axis=-1)
        else:
            y = sps.sosfiltfilt(s, x2d, axis=-1) if zero_phase else sps.sosfilt(s, x2d, axis=-1)
            out[:, b] = np.moveaxis(y[:, idx].var(axis=-1), 1, 0)
    return np.moveaxis(out, 1, 2)  # (n_windows, n_rows, n_bands)


def differential_entropy(data, sfreq=None, *, bands=None, window=None, step=None,
                         zero_phase=_UNSET, log_base=_UNSET, preset=None, baseline=None,
                         order=_UNSET, per_window=_UNSET, design_sfreq=_UNSET,
                         backend="numba", n_jobs=None, as_xarray=None, onsets=None):
    """Differential entropy per (window, channel, band) of band-filtered signals.

    Each band's Butterworth band-pass (second-order sections) is applied to the continuous signal,
    zero-phase (forward-backward, exactly :func:`scipy.signal.sosfiltfilt` with its default
    padding) or causal (:func:`scipy.signal.sosfilt` from rest); the population variance of the
    filtered signal in each window gives ``DE = 0.5 * log(2 pi e var)``.

    Parameters
    ----------
    data : ndarray or xarray.DataArray, shape (..., n_channels, n_times)
        Signals, e.g. EEG in volts. A DataArray keeps its leading dims and coords.
    sfreq : float
        Sampling rate in Hz (taken from ``data.attrs["sfreq"]`` for a DataArray when omitted).
    bands : dict of str to (float, float), optional
        Band name to (low, high) edges in Hz; default delta 1-4, theta 4-8, alpha 8-14,
        beta 14-31, gamma 31-49 Hz.
    window : float, optional
        Window length in seconds; None computes one value over the whole signal.
    step : float, optional
        Hop between window starts in seconds; default ``window`` (no overlap).
    zero_phase : bool, default=True
        Forward-backward filtering (no phase shift, squared magnitude response) or causal.
    log_base : {"e", 2}, default="e"
        Nats or bits.
    preset : {"torcheeg", "rbtransformer"}, optional
        Published variants, filters in SOS form (stable at any rate):

        - ``"torcheeg"``: TorchEEG's ``BandDifferentialEntropy`` -- order-5 Butterworth, bands
          theta/alpha/beta/gamma, causal, every window filtered on its own from rest, log2. With
          ``window=None`` the whole input is one chunk, as TorchEEG applies it. TorchEEG designs the
          filter in (b, a) form, which loses precision at high rates (off by 8e-3 bits in delta at
          200 Hz, unstable near 1 kHz); this preset matches its exact arithmetic where that form is
          sound and stays exact where it is not.
        - ``"rbtransformer"``: RBTransformer's band-DE tokens (METHODS section 2.1): the same filter
          semantics, 512-sample windows with a 117-sample stride, filters designed for 128 Hz
          whatever the data's rate (``design_sfreq=128``, as the published code; pass
          ``design_sfreq=sfreq`` to use the true rate).

        Explicit arguments override a preset's values.
    baseline : ndarray, shape (..., n_channels, n_baseline_times), optional
        A baseline recording (same leading shape as ``data``): its DE over the whole baseline,
        with the same filter semantics, is subtracted from every window.
    order : int, default=4
        Butterworth order (each band-pass has ``order`` sections).
    per_window : bool, default=False
        Filter each window on its own from rest (causal only) instead of the continuous signal.
    design_sfreq : float, optional
        Rate the band edges are designed for; default ``sfreq``.
    backend : {"numba", "scipy"}, default="numba"
        The fused kernel or the scipy reference route (filter, then windowed variance).
    n_jobs : int, optional
        Threads for the fused kernel (blocks of 16 channels x groups of bands); default: every CPU
        this process may use (or ``PHYSIOAFFECT_NUM_THREADS``).
    as_xarray : bool, optional
        Return a DataArray; default: only when ``data`` is one.
    onsets : array-like of float, optional
        Window starts in seconds from the first sample, instead of a regular grid (needs
        ``window``, excludes ``step``); each window must lie inside the signal. Filtering still
        runs over the whole signal, so these windows take their values from the same filtered
        signal as a grid would.

    Returns
    -------
    de : ndarray or xarray.DataArray
        Shape (..., n_channels, n_bands), or (..., n_windows, n_channels, n_bands) with ``window``.
        A DataArray has dims (..., "window", "channel", "band") with coords channel names, band
        names and edges (``band_low``, ``band_high``), window ``onset`` in seconds, and attrs
        naming the semantics.

    Raises
    ------
    InvalidParameterError
        ``sfreq`` missing or not positive, a band edge at or above Nyquist, an unknown preset.
    InvalidSignalError
        NaN or inf samples, fewer than two dimensions, a window longer than the signal, or fewer
        samples than zero-phase padding needs.

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.features import differential_entropy
    >>> x = np.random.default_rng(0).standard_normal((14, 128 * 10))
    >>> differential_entropy(x, sfreq=128.0, window=1.0).shape
    (10, 14, 5)
    """
    check_choice(backend, ("numba", "scipy"), "backend")
    # The fused kernels of continuous filtering carry a NaN or inf sample into every later result
    # of its row (zero-phase: every result): the samples they read are checked only when a result
    # is non-finite, which saves a pass over the data; samples after the last window, which causal
    # filtering does not read, are checked apart.
    deferred = backend == "numba" and preset is None and per_window in (False, _UNSET)
    values, sfreq, info = unwrap(data, sfreq, allow_nonfinite=deferred)
    settings = {"zero_phase": True, "log_base": "e", "order": 4, "per_window": False,
                "design_sfreq": None}
    window_samples = step_samples = None
    if preset is not None:
        if preset not in PRESETS:
            raise InvalidParameterError(f"`preset` must be one of {sorted(PRESETS)}, got {preset!r}")
        p = PRESETS[preset]
        settings.update({k: p[k] for k in ("zero_phase", "log_base", "order", "per_window")})
        settings["design_sfreq"] = p.get("design_sfreq")
        if bands is None:
            bands = p["bands"]
        window_samples, step_samples = p.get("window_samples"), p.get("step_samples")
    for name, val in (("zero_phase", zero_phase), ("log_base", log_base), ("order", order),
                      ("per_window", per_window), ("design_sfreq", design_sfreq)):
        if val is not _UNSET:
            settings[name] = val
    if window is None and window_samples is not None:
        window = window_samples / sfreq
        if step is None:
            step = step_samples / sfreq
    zero_phase = bool(settings["zero_phase"])
    per_window = bool(settings["per_window"])
    use_log2 = _log2(settings["log_base"])
    dsf = sfreq if settings["design_sfreq"] is None else float(settings["design_sfreq"])
    if per_window and zero_phase:
        raise InvalidParameterError(
            "`per_window=True` filters each window causally from rest; set zero_phase=False")
    bands = _check_bands(bands, dsf)
    sos = _design(bands, dsf, int(settings["order"]))

    n_times = values.shape[-1]
    starts, length = resolve_windows(n_times, sfreq, window, step, onsets=onsets)
    plan = None
    if backend == "numba":
        plan = _kernel_plan_cached(tuple(bands.items()), float(dsf), int(settings["order"]))
    if zero_phase and not per_window:
        from ..signal.filters import default_padlen

        pad = plan[2] if plan is not None else default_padlen(sos[0])
        if n_times <= pad:
            raise InvalidSignalError(
                f"`data` has {n_times} samples; zero-phase filtering pads {pad} samples at each "
                f"end and needs more than {pad} (use a longer signal or zero_phase=False)")
    lead = values.shape[:-1]
    x2d = np.ascontiguousarray(values.reshape(-1, n_times))
    from .._parallel import resolve_n_jobs

    if backend == "numba":
        var, finite = _window_variances_fused(x2d, plan, starts, length, zero_phase, per_window,
                                              resolve_n_jobs(n_jobs))
        if deferred and not finite:
            check_signal(values, name="data")  # raises, naming the first bad sample
        if deferred and not zero_phase and int((starts + length).max()) < n_times:
            check_signal(values, name="data")  # the tail no kernel read (whole array: true indices)
    else:
        var = _window_variances_scipy(x2d, sos, starts, length, zero_phase, per_window)
    de = de_from_variance(var, out=var)  # var is this call's own
    de = de.reshape(len(starts), *lead, len(bands))  # (n_win, ..., ch, band)
    if de.ndim > 3:
        de = np.moveaxis(de, 0, -3)  # (..., n_win, ch, band)
    if baseline is not None:
        base_vals = np.asarray(baseline.values if hasattr(baseline, "dims") else baseline, dtype=float)
        if base_vals.shape[:-1] != lead:
            raise InvalidSignalError(
                f"`baseline` must have the leading shape of `data` {lead} (..., n_channels, n_times), "
                f"got {base_vals.shape}")
        base = differential_entropy(base_vals, sfreq, bands=bands, zero_phase=zero_phase,
                                    log_base="e", order=settings["order"], per_window=per_window,
                                    design_sfreq=dsf, backend=backend, n_jobs=n_jobs)
        de = de - base[..., None, :, :]
    if use_log2:
        de = de / math.log(2.0)
    if window is None:
        de = de[..., 0, :, :]
    if as_xarray is None:
        as_xarray = info.is_xarray
    if not as_xarray:
        return de
    names = list(bands)
    lows = np.array([bands[b][0] for b in names])
    highs = np.array([bands[b][1] for b in names])
    attrs = {
        "feature": "differential_entropy",
        "units": "bits" if use_log2 else "nats",
        "filter": f"butterworth order {settings['order']} band-pass, second-order sections",
        "semantics": ("per-window causal from rest" if per_window
                      else "zero-phase forward-backward (sosfiltfilt, odd padding)" if zero_phase
                      else "causal continuous (sosfilt from rest)"),
        "design_sfreq": dsf,
        "window": float(length / sfreq),
        "step": float((starts[1] - starts[0]) / sfreq) if len(starts) > 1 else float(length / sfreq),
        "preset": preset or "none",
        "baseline_subtracted": int(baseline is not None),
    }
    return wrap(de, info, sfreq=sfreq, feature_dim="band", feature_names=names,
                feature_coords={"band_low": ("band", lows), "band_high": ("band", highs)},
                onsets=starts / sfreq if window is not None else None, attrs=attrs)
