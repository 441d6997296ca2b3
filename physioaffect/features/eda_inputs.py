r"""Inputs of the multitask EDA PINN: windows of cleaned EDA aligned with condition labels.

One recording is processed in four steps:

1. NeuroKit2 cleans the EDA and splits it into tonic and phasic parts, and finds the skin
   conductance responses (:func:`physioaffect.features.eda_decompose`);
2. the cleaned signal, its parts, the per-sample condition labels and the drives are brought to
   ``target_sfreq`` (polyphase resampling of the signals, nearest sample for labels);
3. windows of ``window`` seconds tile every run of one condition (a window never straddles two
   conditions, nor an ignored label such as WESAD's transients);
4. each window gets its SCR features (:func:`physioaffect.features.eda_features`), drives
   :math:`e(t)` (condition one-hot and/or self-report vectors, e.g. PANAS and SAM, broadcast over
   the condition's span) and context.

The result's ``X`` is laid out as :class:`physioaffect.estimators.peripheral.EDAPINN` reads it:
channel 0 the time in seconds from the recording start, then the drives, then the context
(window-level values broadcast over time). ``sfreq`` is required everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .._validation import check_sfreq
from ..errors import InvalidParameterError, InvalidSignalError

__all__ = ["EDAInputs", "eda_inputs", "wesad_eda_inputs", "labels_from_events"]


class EDAInputs(NamedTuple):
    """Windows of one or more recordings, ready for :class:`~physioaffect.estimators.peripheral.EDAPINN`.

    Attributes
    ----------
    X : ndarray, shape (n_windows, 1 + n_drives + n_context, n_times)
        Channel 0 time (s from the recording start), then drives, then context.
    eda : ndarray, shape (n_windows, n_times)
        Cleaned EDA (the regression target), in the input's unit.
    tonic, phasic : ndarray, shape (n_windows, n_times)
        NeuroKit2's tonic and phasic components.
    y : ndarray, shape (n_windows,)
        Condition of each window (the labels as given).
    features : ndarray, shape (n_windows, 8)
        SCR features of each window, in the order of
        :data:`physioaffect.features.peripheral.EDA_FEATURES`.
    onsets : ndarray, shape (n_windows,)
        Window starts, seconds from the recording start.
    groups : ndarray, shape (n_windows,)
        Recording (e.g. subject) of each window.
    channels : tuple of str
        Names of the channels of ``X``.
    n_drives : int
        Number of drive channels.
    sfreq : float
        Sampling rate of the windows, Hz.
    """

    X: np.ndarray
    eda: np.ndarray
    tonic: np.ndarray
    phasic: np.ndarray
    y: np.ndarray
    features: np.ndarray
    onsets: np.ndarray
    groups: np.ndarray
    channels: tuple
    n_drives: int
    sfreq: float


def labels_from_events(n_times: int, sfreq: float, onsets, durations, conditions, *,
                       fill: Any = None) -> np.ndarray:
    """Per-sample condition labels from events.

    Parameters
    ----------
    n_times : int
        Length of the recording in samples.
    sfreq : float
        Sampling rate, Hz.
    onsets, durations : array-like of float, shape (n_events,)
        Event starts and lengths, seconds.
    conditions : sequence, shape (n_events,)
        Condition of each event.
    fill : object, default=None
        Label of the samples outside every event (ignored by :func:`eda_inputs` when passed as
        its ``ignore``).

    Returns
    -------
    labels : ndarray of object, shape (n_times,)

    Examples
    --------
    >>> labels_from_events(6, 1.0, [1.0, 4.0], [2.0, 1.0], ["neg", "neu"]).tolist()
    [None, 'neg', 'neg', None, 'neu', None]
    """
    sfreq = check_sfreq(sfreq)
    onsets = np.atleast_1d(np.asarray(onsets, dtype=np.float64))
    durations = np.broadcast_to(np.asarray(durations, dtype=np.float64), onsets.shape)
    if len(conditions) != onsets.size:
        raise InvalidParameterError(
            f"`conditions` must have one entry per onset ({onsets.size}), got {len(conditions)}")
    out = np.full(int(n_times), fill, dtype=object)
    for on, du, c in zip(onsets, durations, conditions, strict=True):
        a = int(round(on * sfreq))
        out[max(a, 0):min(a + int(round(du * sfreq)), int(n_times))] = c
    return out


def _resample(x: np.ndarray, sfreq: float, target: float) -> np.ndarray:
    if target == sfreq:
        return x
    from fractions import Fraction

    from scipy.signal import resample_poly

    frac = Fraction(target / sfreq).limit_denominator(1000)
    return resample_poly(x, frac.numerator, frac.denominator, padtype="line")


def _runs(labels: np.ndarray, ignore) -> list[tuple[int, int, Any]]:
    """(start, stop, label) of each maximal run of one label not in ``ignore``."""
    runs, n, start = [], labels.size, 0
    for k in range(1, n + 1):
        if k == n or labels[k] != labels[start]:
            lab = labels[start]
            if not (lab is None or any(lab == i for i in ignore)):
                runs.append((start, k, lab))
            start = k
    return runs


def _as_vector(value, name) -> np.ndarray:
    v = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if v.ndim != 1 or not np.all(np.isfinite(v)):
        raise InvalidParameterError(f"`{name}` must be a finite 1-D vector, got {value!r}")
    return v


def eda_inputs(eda, sfreq, labels, *, window, step=None, target_sfreq=None,
               conditions=None, ignore=(), drives="onehot", self_reports=None,
               context=("eda0",), group=0, phasic_method="highpass",
               scr_min_amplitude=0.01) -> EDAInputs:
    r"""Windows of cleaned EDA, its parts, SCR features and drives, aligned with conditions.

    Parameters
    ----------
    eda : array-like, shape (n_times,)
        Skin conductance of one recording (e.g. microsiemens).
    sfreq : float
        Its sampling rate, Hz (required).
    labels : array-like, shape (n_times,)
        Condition of each sample (e.g. WESAD's codes, or :func:`labels_from_events`).
    window : float
        Window length, seconds. Windows start at the start of each run of one condition.
    step : float or None, default=None
        Distance between window starts within a run, seconds; defaults to ``window``.
    target_sfreq : float or None, default=None
        Rate of the windows, Hz (e.g. 4 Hz for WESAD's 700-Hz chest EDA); None keeps ``sfreq``.
    conditions : sequence or None, default=None
        The conditions, in the order of the one-hot drives; None takes the sorted labels of the
        windows found.
    ignore : sequence, default=()
        Labels that form no window (e.g. ``(0, 5, 6, 7)`` for WESAD); None labels never do.
    drives : {"onehot", "self-report", "both", "none"}, default="onehot"
        The drive inputs :math:`e(t)`: the condition one-hot, the self-report vector of the
        condition, both (one-hot first), or none.
    self_reports : dict of {condition: array-like (r,)} or None, default=None
        Self-report vector per condition (e.g. PANAS positive and negative affect, SAM valence
        and arousal); needed for ``"self-report"`` and ``"both"``.
    context : sequence of str, default=("eda0",)
        Window-level context channels: ``"eda0"`` (cleaned EDA at the window start) and any
        name of :data:`physioaffect.features.peripheral.EDA_FEATURES`.
    group : int or str, default=0
        Recording id stored in ``groups``.
    phasic_method : {"highpass", "smoothmedian"}, default="highpass"
        Decomposition of :func:`physioaffect.features.eda_decompose`.
    scr_min_amplitude : float, default=0.01
        SCRs below this amplitude are discarded.

    Returns
    -------
    EDAInputs

    Raises
    ------
    InvalidParameterError
        Missing ``sfreq``, a window longer than every run, unknown context or drive options.
    InvalidSignalError
        EDA that is not 1-D, holds NaN, or that NeuroKit2 cannot process.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0, 60, 0.1)
    >>> x = 2.0 + 0.3 * np.exp(-((t - 35) / 2.0) ** 2)
    >>> lab = np.repeat(["calm", "task"], 300)
    >>> out = eda_inputs(x, 10.0, lab, window=10.0, target_sfreq=4.0)
    >>> out.X.shape, out.channels, out.y.tolist()
    ((6, 4, 40), ('time', 'calm', 'task', 'eda0'), ['calm', 'calm', 'calm', 'task', 'task', 'task'])
    """
    from .peripheral import EDA_FEATURES, eda_decompose, eda_features

    sfreq = check_sfreq(sfreq)
    target = sfreq if target_sfreq is None else check_sfreq(target_sfreq, "target_sfreq")
    x = np.asarray(eda, dtype=np.float64)
    lab = np.asarray(labels, dtype=object)
    if x.ndim != 1 or lab.shape != x.shape:
        raise InvalidSignalError(
            f"`eda` and `labels` must be 1-D of one length, got shapes {x.shape} and {lab.shape}")
    if drives not in ("onehot", "self-report", "both", "none"):
        raise InvalidParameterError(
            f"`drives` must be one of 'onehot', 'self-report', 'both', 'none', got {drives!r}")
    names = list(EDA_FEATURES)
    for c in context:
        if c != "eda0" and c not in names:
            raise InvalidParameterError(
                f"unknown context {c!r}; expected 'eda0' or one of {names}")
    if not (isinstance(window, (int, float)) and window > 0):
        raise InvalidParameterError(f"`window` must be a positive number of seconds, got {window!r}")
    step = window if step is None else step
    if not (isinstance(step, (int, float)) and step > 0):
        raise InvalidParameterError(f"`step` must be a positive number of seconds, got {step!r}")

    dec = eda_decompose(x, sfreq, phasic_method=phasic_method,
                        scr_min_amplitude=scr_min_amplitude)
    clean, tonic, phasic = (_resample(v, sfreq, target) for v in (dec.clean, dec.tonic, dec.phasic))
    n = clean.size
    lab_t = lab[np.minimum(np.round(np.arange(n) * sfreq / target).astype(np.int64), lab.size - 1)]
    n_win = int(round(window * target))
    n_step = max(int(round(step * target)), 1)
    starts, ys = [], []
    for a, b, c in _runs(lab_t, tuple(ignore)):
        for s in range(a, b - n_win + 1, n_step):
            starts.append(s)
            ys.append(c)
    if not starts:
        raise InvalidParameterError(
            f"no window of {window:g} s fits in a run of one condition (runs found: "
            f"{[(round(a / target, 3), round((b - a) / target, 3)) for a, b, _ in _runs(lab_t, tuple(ignore))][:5]} "
            "(start, length) s); expected a shorter `window`")
    starts = np.asarray(starts)
    y = np.asarray(ys, dtype=object)
    try:  # keep numeric labels numeric
        y = y.astype(np.asarray(list(ys)).dtype)
    except (TypeError, ValueError):
        pass
    conds = list(np.unique(y)) if conditions is None else list(conditions)

    idx = starts[:, None] + np.arange(n_win)
    t = idx / target
    drive_rows, drive_names = [], []
    if drives in ("onehot", "both"):
        for c in conds:
            drive_rows.append(np.repeat((y == c).astype(np.float64)[:, None], n_win, axis=1))
            drive_names.append(str(c))
    if drives in ("self-report", "both"):
        if not isinstance(self_reports, Mapping):
            raise InvalidParameterError(
                f"`drives`={drives!r} needs `self_reports`, a dict {{condition: vector}}")
        missing = [c for c in np.unique(y) if c not in self_reports]
        if missing:
            raise InvalidParameterError(
                f"`self_reports` has no vector for condition(s) {missing}; it has "
                f"{list(self_reports)}")
        vecs = {c: _as_vector(v, f"self_reports[{c!r}]") for c, v in self_reports.items()}
        width = {v.size for v in vecs.values()}
        if len(width) != 1:
            raise InvalidParameterError(
                f"`self_reports` vectors must share one length, got lengths {sorted(width)}")
        rep = np.stack([vecs[c] for c in y])  # (n_windows, r)
        for j in range(rep.shape[1]):
            drive_rows.append(np.repeat(rep[:, j, None], n_win, axis=1))
            drive_names.append(f"self_report_{j}")

    feats = eda_features(x[None], sfreq, window=window, onsets=starts / target,
                         phasic_method=phasic_method, scr_min_amplitude=scr_min_amplitude)[:, 0, :]
    ctx_rows = []
    for c in context:
        value = clean[starts] if c == "eda0" else np.nan_to_num(feats[:, names.index(c)])
        ctx_rows.append(np.repeat(value[:, None], n_win, axis=1))
    X = np.stack([t, *drive_rows, *ctx_rows], axis=1)
    return EDAInputs(
        X=X, eda=clean[idx], tonic=tonic[idx], phasic=phasic[idx], y=y, features=feats,
        onsets=starts / target, groups=np.full(len(starts), group),
        channels=("time", *drive_names, *context), n_drives=len(drive_rows), sfreq=float(target))


def _concat(parts: Sequence[EDAInputs]) -> EDAInputs:
    first = parts[0]
    for p in parts[1:]:
        if p.channels != first.channels:
            raise InvalidParameterError(
                f"recordings give different channels {p.channels} and {first.channels}; pass "
                "`conditions` so every recording has the same one-hot drives")
    cat = {f: np.concatenate([getattr(p, f) for p in parts])
           for f in ("X", "eda", "tonic", "phasic", "y", "features", "onsets", "groups")}
    return EDAInputs(**cat, channels=first.channels, n_drives=first.n_drives, sfreq=first.sfreq)


def wesad_eda_inputs(ds, *, location="chest", window=60.0, step=None, target_sfreq=4.0,
                     conditions=(1, 2, 3), self_reports=None, drives="onehot",
                     context=("eda0",), phasic_method="highpass") -> EDAInputs:
    """:func:`eda_inputs` over the subjects of a WESAD Dataset from :func:`~physioaffect.datasets.load_wesad`.

    The EDA's rate is read from the Dataset's attrs (``sfreq_chest``, 700 Hz, or
    ``sfreq_wrist_eda_temp``, 4 Hz) and checked against WESAD's documented rates; each
    subject's padding is cut off (``*_n_times``); the condition labels, given per chest sample,
    are mapped to the wrist samples by time.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`physioaffect.datasets.load_wesad`.
    location : {"chest", "wrist"}, default="chest"
        RespiBAN (700 Hz) or Empatica E4 (4 Hz) EDA.
    window, step, target_sfreq, drives, context, phasic_method
        As in :func:`eda_inputs`.
    conditions : sequence of int, default=(1, 2, 3)
        Conditions kept, in one-hot order (1 baseline, 2 stress, 3 amusement, 4 meditation);
        every other label forms no window.
    self_reports : dict or None, default=None
        ``{condition: vector}`` shared by all subjects, or ``{subject: {condition: vector}}``.

    Returns
    -------
    EDAInputs
        ``groups`` holds the subject numbers.
    """
    from ..datasets.wesad import WESAD_RATES

    if location not in ("chest", "wrist"):
        raise InvalidParameterError(f"`location` must be 'chest' or 'wrist', got {location!r}")
    var = "chest" if location == "chest" else "wrist_eda_temp"
    key = f"sfreq_{var}"
    if key not in ds.attrs:
        raise InvalidParameterError(
            f"the Dataset has no attrs[{key!r}]; expected a Dataset from load_wesad")
    sfreq = check_sfreq(ds.attrs[key])
    expected = WESAD_RATES[(location, "EDA")]
    if sfreq != expected:
        raise InvalidParameterError(
            f"attrs[{key!r}] is {sfreq:g} Hz; WESAD's {location} EDA is recorded at {expected:g} Hz")
    chest_fs = check_sfreq(ds.attrs["sfreq_chest"])
    channel_dim = "chest_channel" if location == "chest" else "wrist_channel"
    n_dim = "chest_n_times" if location == "chest" else "wrist_4hz_n_times"
    parts = []
    keep = set(conditions)
    for k, subject in enumerate(ds["subject"].values.tolist()):
        n = int(ds[n_dim].values[k])
        x = ds[var].isel(subject=k).sel({channel_dim: "EDA"}).values[:n]
        n_chest = int(ds["chest_n_times"].values[k])
        lab = ds["label"].values[k, :n_chest]
        if location == "wrist":
            pos = np.minimum(np.round(np.arange(n) / sfreq * chest_fs).astype(np.int64), n_chest - 1)
            lab = lab[pos]
        lab = np.where(np.isin(lab, list(keep)), lab, -1)
        reports = self_reports
        if isinstance(self_reports, Mapping) and subject in self_reports and isinstance(
                self_reports[subject], Mapping):
            reports = self_reports[subject]
        parts.append(eda_inputs(
            x, sfreq, lab, window=window, step=step, target_sfreq=target_sfreq,
            conditions=list(conditions), ignore=(-1,), drives=drives, self_reports=reports,
            context=context, group=subject, phasic_method=phasic_method))
    return _concat(parts)
