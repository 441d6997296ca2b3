r"""Model inputs of the multitask sleep ViT: 30-s cardio-respiratory epochs, resampled and scaled.

METHODS.md section 4.1 gives two recipes for one epoch of PPG, respiratory flow and respiratory
effort:

- the reference training code (default here): each epoch is FFT-resampled to 2,000 samples, then
  every channel of every epoch is min-max scaled to [0, 1];
- the paper: every channel z-scored, then linearly interpolated to 64 Hz (1,920 samples).

:func:`prepare_psg_epochs` does either (``n_times``, ``resample`` and ``scaling`` choose), from
arrays with an explicit ``sfreq``, from :func:`physioaffect.simulate.psg_epochs` output or from
:func:`physioaffect.datasets.read_sleep_edf` / :func:`read_psg_epochs` output. Channels that are
flat (constant) in an epoch cannot be scaled; the reference code drops such epochs with their
labels. Here a channel that is flat in every epoch is dropped as a channel, then the epochs in
which another channel is flat are dropped, each with a warning naming the channel.

Hypnogram labels map to five classes ``W, N1, N2, N3, REM`` (labels 0..4) from both scoring
manuals: AASM (``Sleep stage W/N1/N2/N3/R``) and Rechtschaffen & Kales (``Sleep stage
W/1/2/3/4/R``, stages 3 and 4 merged into N3). Unscored epochs (``Sleep stage ?``) and movement
time are dropped; annotations that are no sleep stage (lights off, arousals) are ignored.
"""

from __future__ import annotations

import numbers
import re
import warnings
from pathlib import Path

import numpy as np

from .._validation import check_sfreq, check_signal
from ..errors import InvalidParameterError, InvalidSignalError, RecordingError

__all__ = [
    "STAGE_NAMES",
    "AASM_STAGES",
    "RK_STAGES",
    "DROPPED_STAGES",
    "map_stage",
    "stage_codes",
    "hypnogram_epochs",
    "epoch_signals",
    "read_psg_epochs",
    "find_flat_channels",
    "prepare_psg_epochs",
    "FlatChannelWarning",
]

#: The five classes, in label order (label 0 is W, 4 is REM).
STAGE_NAMES = ("W", "N1", "N2", "N3", "REM")
#: AASM hypnogram descriptions (as in EDF+ hypnograms) and their class.
AASM_STAGES = {"Sleep stage W": "W", "Sleep stage N1": "N1", "Sleep stage N2": "N2",
               "Sleep stage N3": "N3", "Sleep stage R": "REM"}
#: Rechtschaffen & Kales descriptions (Sleep-EDF) and their class: stages 3 and 4 are N3.
RK_STAGES = {"Sleep stage W": "W", "Sleep stage 1": "N1", "Sleep stage 2": "N2",
             "Sleep stage 3": "N3", "Sleep stage 4": "N3", "Sleep stage R": "REM"}
#: Descriptions of scored epochs that carry no stage: dropped with their signals.
DROPPED_STAGES = ("Sleep stage ?", "Movement time", "Sleep stage M", "Sleep stage MT",
                  "Sleep stage U", "Unscored")

# Short forms after stripping a "Sleep stage" prefix, compared in upper case.
_SHORT = {"W": "W", "WAKE": "W", "0": "W", "S0": "W",
          "N1": "N1", "1": "N1", "S1": "N1",
          "N2": "N2", "2": "N2", "S2": "N2",
          "N3": "N3", "3": "N3", "S3": "N3", "4": "N3", "S4": "N3", "N4": "N3",
          "R": "REM", "REM": "REM", "S5": "REM", "5": "REM"}
_DROP_SHORT = {"?", "M", "MT", "MOVEMENT", "MOVEMENT TIME", "U", "UNSCORED", "UNKNOWN", "A",
               "ARTIFACT", "ARTEFACT"}
_PREFIX = re.compile(r"^\s*sleep[\s_]*stage[\s_:]*", re.IGNORECASE)


class FlatChannelWarning(UserWarning):
    """A channel is constant in one or more epochs (it cannot be scaled)."""


def map_stage(description):
    """Class of one hypnogram description, AASM or R&K, or None when it carries no stage.

    Parameters
    ----------
    description : str or int
        ``"Sleep stage N2"`` (AASM), ``"Sleep stage 4"`` (R&K), a short form (``"W"``,
        ``"N1"``, ``"S3"``, ``"R"``, ``"REM"``, any case), or a label 0..4.

    Returns
    -------
    {"W", "N1", "N2", "N3", "REM"} or None
        None for unscored epochs and movement time (:data:`DROPPED_STAGES`) and for
        annotations that are no sleep stage (e.g. ``"Lights off"``).

    Examples
    --------
    >>> [map_stage(d) for d in ("Sleep stage 4", "Sleep stage N3", "Sleep stage R",
    ...                         "Sleep stage ?", "Lights off")]
    ['N3', 'N3', 'REM', None, None]
    """
    if isinstance(description, numbers.Integral) and not isinstance(description, bool):
        return STAGE_NAMES[int(description)] if 0 <= int(description) < 5 else None
    text = str(description).strip()
    prefixed = _PREFIX.match(text) is not None
    key = _PREFIX.sub("", text).strip().upper()
    if key in _DROP_SHORT or text in DROPPED_STAGES:
        return None
    if key in _SHORT and (prefixed or not key.isdigit()):
        return _SHORT[key]
    if prefixed:
        warnings.warn(f"hypnogram description {text!r} is no known AASM or R&K stage; its "
                      f"epochs are dropped", RuntimeWarning, stacklevel=2)
    return None


def stage_codes(stages) -> np.ndarray:
    """Labels 0..4 (W, N1, N2, N3, REM) of stage names, descriptions or labels; -1 if none.

    Parameters
    ----------
    stages : sequence of str or int

    Returns
    -------
    ndarray of int64
        One label per item; -1 where :func:`map_stage` gives None.

    Examples
    --------
    >>> stage_codes(["W", "R", "Sleep stage 3", "Sleep stage ?", 2]).tolist()
    [0, 4, 3, -1, 2]
    """
    out = []
    for s in np.asarray(stages, dtype=object).ravel():
        if isinstance(s, (np.integer, np.bool_)):
            s = int(s)
        name = map_stage(s)
        out.append(-1 if name is None else STAGE_NAMES.index(name))
    return np.asarray(out, dtype=np.int64)


def hypnogram_epochs(annotations, *, epoch_seconds: float = 30.0, start: float = 0.0):
    """Scored epochs of a hypnogram: one entry per whole epoch with a stage.

    A stage annotation of duration D gives ``floor(D / epoch_seconds)`` consecutive epochs (R&K
    hypnograms of Sleep-EDF hold one annotation per run of equal stages); unscored and
    movement epochs are dropped; other annotations are ignored.

    Parameters
    ----------
    annotations : mne.Annotations or path-like
        The hypnogram, or its file (an annotation-only EDF+ is read with
        :func:`physioaffect.io.read_annotations`).
    epoch_seconds : float, default=30.0
        Length of a scored epoch.
    start : float, default=0.0
        Seconds added to every onset (e.g. the hypnogram's start relative to its recording).

    Returns
    -------
    xarray.DataArray
        Dim ``epoch``: the label 0..4 of each epoch, in onset order. Coords ``onset`` (s) and
        ``stage`` (class name). Attrs ``epoch_seconds``, ``stage_names``.

    Examples
    --------
    >>> import mne
    >>> ann = mne.Annotations([0, 60, 90, 120], [60, 30, 30, 30],
    ...                       ["Sleep stage W", "Sleep stage ?", "Sleep stage 4", "Lights on"])
    >>> hypnogram_epochs(ann)["stage"].values.tolist()
    ['W', 'W', 'N3']
    """
    import xarray as xr

    if isinstance(annotations, (str, Path)):
        from ..io import read_annotations

        annotations = read_annotations(annotations)
    epoch_seconds = check_sfreq(epoch_seconds, "epoch_seconds")
    onsets, names = [], []
    for onset, duration, description in zip(annotations.onset, annotations.duration,
                                            annotations.description, strict=True):
        name = map_stage(str(description))
        if name is None:
            continue
        for k in range(int(float(duration) / epoch_seconds + 1e-9)):
            onsets.append(float(onset) + start + k * epoch_seconds)
            names.append(name)
    order = np.argsort(np.asarray(onsets, dtype=np.float64), kind="stable")
    onsets = np.asarray(onsets, dtype=np.float64)[order]
    names = np.asarray(names, dtype=object)[order]
    labels = np.array([STAGE_NAMES.index(n) for n in names], dtype=np.int64)
    return xr.DataArray(labels, dims=("epoch",), name="label",
                        coords={"onset": ("epoch", onsets), "stage": ("epoch", names)},
                        attrs={"epoch_seconds": epoch_seconds, "stage_names": list(STAGE_NAMES)})


def epoch_signals(data, sfreq, *, epoch_seconds: float = 30.0, onsets=None) -> np.ndarray:
    """Cut a continuous recording into epochs.

    Parameters
    ----------
    data : array-like, shape (n_chans, n_samples)
    sfreq : float
        Sampling rate in Hz (required).
    epoch_seconds : float, default=30.0
    onsets : array-like of float or None, default=None
        Epoch starts in seconds; default back-to-back from 0. Epochs not wholly inside the
        recording raise.

    Returns
    -------
    ndarray, shape (n_epochs, n_chans, round(epoch_seconds * sfreq))

    Shapes:
        - input: (C, S)
        - output: (n_epochs, C, T)
    """
    sfreq = check_sfreq(sfreq)
    x = check_signal(data, min_ndim=2, max_ndim=2)
    per = int(round(check_sfreq(epoch_seconds, "epoch_seconds") * sfreq))
    if onsets is None:
        starts = np.arange(x.shape[1] // per) * per
    else:
        starts = np.round(np.asarray(onsets, dtype=np.float64).ravel() * sfreq).astype(np.int64)
        bad = (starts < 0) | (starts + per > x.shape[1])
        if bad.any():
            raise InvalidParameterError(
                f"epoch onset {float(np.asarray(onsets).ravel()[bad][0]):g} s lies outside the "
                f"recording (0 to {x.shape[1] / sfreq:g} s, epochs of {epoch_seconds:g} s)")
    return x[:, starts[:, None] + np.arange(per)[None, :]].transpose(1, 0, 2)


def read_psg_epochs(psg, hypnogram, *, channels, epoch_seconds: float = 30.0):
    """Read a PSG recording and its hypnogram as scored epochs (Sleep-EDF layout or any EDF).

    The hypnogram (annotation-only EDF+, AASM or R&K) is aligned to the recording by its start
    time, as in Sleep-EDF; epochs not wholly inside the recording are left out.

    Parameters
    ----------
    psg : path-like or mne.io.BaseRaw
        The recording (EDF, EDF+, BDF, GDF).
    hypnogram : path-like or mne.Annotations
        Its hypnogram.
    channels : sequence of str
        Channels to read (e.g. ``["Resp oro-nasal"]`` of Sleep-EDF, or PPG, flow and effort
        channels); MNE upsamples channels of lower native rate to the fastest rate of the file.
    epoch_seconds : float, default=30.0

    Returns
    -------
    xarray.DataArray
        Dims (epoch, channel, time), in the file's units as MNE reads them. Coords ``onset``
        (s from the recording's start), ``stage`` (class name) and ``label`` (0..4) over epoch;
        ``channel``; ``time`` (s in the epoch). Attrs ``sfreq``, ``epoch_seconds``,
        ``stage_names``, ``record``.

    Raises
    ------
    RecordingError
        A file unreadable, or no scored epoch inside the recording.
    InvalidParameterError
        A channel absent from the recording.
    """
    import mne
    import xarray as xr

    from ..io import read_annotations, read_recording

    channels = [channels] if isinstance(channels, str) else list(channels)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different native sampling rates.*")
        raw = read_recording(psg, preload=False)
    missing = [c for c in channels if c not in raw.ch_names]
    if missing or not channels:
        raise InvalidParameterError(f"{psg}: channels {missing or channels} not found; the "
                                    f"recording holds {raw.ch_names}")
    ann = hypnogram if isinstance(hypnogram, mne.Annotations) else read_annotations(hypnogram)
    offset = 0.0
    if ann.orig_time is not None and raw.info["meas_date"] is not None:
        offset = (ann.orig_time - raw.info["meas_date"]).total_seconds()
    hyp = hypnogram_epochs(ann, epoch_seconds=epoch_seconds, start=offset)
    sfreq = float(raw.info["sfreq"])
    per = int(round(epoch_seconds * sfreq))
    starts = np.round(hyp["onset"].values * sfreq).astype(np.int64)
    inside = (starts >= 0) & (starts + per <= raw.n_times)
    if not inside.any():
        raise RecordingError(f"{psg}: no scored {epoch_seconds:g}-s epoch of the hypnogram lies "
                             f"inside the recording ({raw.n_times / sfreq:g} s)")
    hyp = hyp.isel(epoch=np.flatnonzero(inside))
    data = raw.get_data(picks=channels)
    x = data[:, starts[inside][:, None] + np.arange(per)[None, :]].transpose(1, 0, 2)
    record = Path(str(psg)).name if not isinstance(psg, mne.io.BaseRaw) else "raw"
    return xr.DataArray(
        x, dims=("epoch", "channel", "time"), name="psg",
        coords={"onset": ("epoch", starts[inside] / sfreq),
                "stage": ("epoch", hyp["stage"].values), "label": ("epoch", hyp.values),
                "channel": channels, "time": np.arange(per) / sfreq},
        attrs={"sfreq": sfreq, "epoch_seconds": float(epoch_seconds),
               "stage_names": list(STAGE_NAMES), "record": record})


def find_flat_channels(x, *, rtol: float = 1e-6) -> np.ndarray:
    r"""Which channels are flat (constant) in which epochs.

    Channel c of epoch e is flat when its peak-to-peak range is at most ``rtol`` times the
    channel's median range over all epochs (so a channel flat everywhere, median 0, is flat in
    every epoch):

    .. math:: \mathrm{flat}_{e,c} = \mathrm{ptp}(x_{e,c}) \le r\,
        \mathrm{median}_{e'}\,\mathrm{ptp}(x_{e',c}).

    Parameters
    ----------
    x : array-like, shape (n_epochs, n_chans, n_times)
    rtol : float, default=1e-6

    Returns
    -------
    ndarray of bool, shape (n_epochs, n_chans)
    """
    x = np.asarray(x, dtype=np.float64)
    ptp = np.ptp(x, axis=-1)
    return ptp <= rtol * np.median(ptp, axis=0, keepdims=True)


def _resample(x, n_times, method, duration):
    if x.shape[-1] == n_times:
        return x
    if method == "fft":
        from scipy.signal import resample

        return resample(x, n_times, axis=-1)
    n = x.shape[-1]
    t_old = np.arange(n) * duration / n
    t_new = np.arange(n_times) * duration / n_times
    flat = x.reshape(-1, n)
    out = np.empty((flat.shape[0], n_times))
    for i, row in enumerate(flat):
        out[i] = np.interp(t_new, t_old, row)
    return out.reshape(x.shape[:-1] + (n_times,))


def _scale(x, method):
    if method == "minmax":
        lo = x.min(axis=-1, keepdims=True)
        span = x.max(axis=-1, keepdims=True) - lo
        return np.where(span > 0, (x - lo) / np.where(span > 0, span, 1.0), 0.0)
    mean = x.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    return np.where(std > 0, (x - mean) / np.where(std > 0, std, 1.0), 0.0)


def _source(data, sfreq, channels):
    """(array (E, C, S), sfreq, channel names, epoch coords dict, attrs) of any accepted input."""
    import xarray as xr

    coords, attrs = {}, {}
    if isinstance(data, xr.Dataset):
        if "signals" not in data:
            raise InvalidParameterError("a Dataset input needs a 'signals' variable (as "
                                        "physioaffect.simulate.psg_epochs gives)")
        attrs = dict(data.attrs)
        data = data["signals"]
    if isinstance(data, xr.DataArray):
        if data.dims != ("epoch", "channel", "time"):
            raise InvalidParameterError(
                f"a DataArray input must have dims ('epoch', 'channel', 'time'), got {data.dims}")
        attrs = {**attrs, **data.attrs}
        if sfreq is None:
            sfreq = attrs.get("sfreq")
            if sfreq is None:
                raise InvalidParameterError("`sfreq` is required: the DataArray has no 'sfreq' "
                                            "attribute")
        names = [str(c) for c in data["channel"].values]
        if channels is not None:
            channels = [channels] if isinstance(channels, str) else list(channels)
            missing = [c for c in channels if c not in names]
            if missing:
                raise InvalidParameterError(f"channels {missing} not found; the input holds "
                                            f"{names}")
            data = data.sel(channel=channels)
            names = channels
        for name, coord in data.coords.items():
            if coord.dims == ("epoch",) and name != "epoch":
                coords[name] = coord.values
        return np.asarray(data.values, dtype=np.float64), check_sfreq(sfreq), names, coords, attrs
    x = check_signal(data, min_ndim=3, max_ndim=3, real_dtype=True)
    sfreq = check_sfreq(sfreq)
    if channels is None:
        names = [f"ch{i}" for i in range(x.shape[1])]
    else:
        names = [channels] if isinstance(channels, str) else [str(c) for c in channels]
        if len(names) != x.shape[1]:
            raise InvalidParameterError(f"`channels` names {len(names)} channels; the array has "
                                        f"{x.shape[1]} (axis 1)")
    return x, sfreq, names, coords, attrs


def prepare_psg_epochs(data, sfreq=None, *, channels=None, n_times: int = 2000,
                       resample: str = "fft", scaling: str = "minmax", flat: str = "drop",
                       flat_rtol: float = 1e-6):
    r"""Resample and scale 30-s epochs for the sleep ViT (METHODS.md 4.1).

    ``scaling="minmax"`` (reference code) resamples first, then maps each channel of each epoch
    to [0, 1]; ``scaling="zscore"`` (paper) standardises first, then resamples:

    .. math::
        \text{minmax: } \tilde x = \frac{u - \min u}{\max u - \min u},\ u = \mathcal R(x)
        \qquad
        \text{zscore: } \tilde x = \mathcal R\Big(\frac{x - \bar x}{s_x}\Big),

    with :math:`\mathcal R` the resampling to ``n_times`` samples (``"fft"``:
    :func:`scipy.signal.resample` over the epoch; ``"linear"``: linear interpolation) and
    statistics per epoch and channel.

    Parameters
    ----------
    data : array-like, xarray.DataArray or xarray.Dataset
        Epochs (n_epochs, n_chans, n_samples) with ``sfreq``; or a DataArray with dims
        (epoch, channel, time) and an ``sfreq`` attribute (:func:`read_psg_epochs`,
        :func:`physioaffect.datasets.read_sleep_edf`); or the Dataset of
        :func:`physioaffect.simulate.psg_epochs`. Epoch coords (stage, label, apnea, onset...)
        are carried to the output.
    sfreq : float, optional
        Sampling rate of ``data`` in Hz; required for arrays.
    channels : sequence of str, optional
        For labelled input: the channels to use, in this order (configurable channel set);
        for arrays: the names of the channels.
    n_times : int, default=2000
        Samples per output epoch: 2000 (reference code) or 1920 (64 Hz, paper).
    resample : {"fft", "linear"}, default="fft"
    scaling : {"minmax", "zscore"}, default="minmax"
    flat : {"drop", "keep", "raise"}, default="drop"
        Channels constant within an epoch (:func:`find_flat_channels`). ``"drop"``: a channel
        flat in every epoch is removed, then epochs with any flat channel are removed (the
        reference's rule), each with a :class:`FlatChannelWarning` naming the channel.
        ``"keep"``: warn and keep them (scaled to 0), e.g. at prediction time where every
        epoch needs an answer. ``"raise"``: raise :class:`InvalidSignalError`.
    flat_rtol : float, default=1e-6
        Relative range under which a channel counts as flat.

    Returns
    -------
    xarray.DataArray
        float32, dims (epoch, channel, time), shape (n_kept, n_chans_kept, n_times). Coords:
        ``channel``, ``time`` (s), the input's epoch coords and ``source_epoch`` (index of each
        kept epoch in the input). Attrs ``sfreq`` (n_times / epoch duration), ``source_sfreq``,
        ``epoch_seconds``, ``resample``, ``scaling``, ``dropped_channels``,
        ``n_dropped_epochs``.

    Warns
    -----
    FlatChannelWarning
        A flat channel, named, with the number of epochs concerned.

    Shapes:
        - input: (E, C, S)
        - output: (E', C', n_times)

    Examples
    --------
    >>> from physioaffect.simulate import psg_epochs
    >>> x = prepare_psg_epochs(psg_epochs(3, random_state=0))
    >>> x.shape, float(x.min()), float(x.max()), round(x.attrs["sfreq"], 3)
    ((3, 4, 2000), 0.0, 1.0, 66.667)
    """
    import xarray as xr

    n_times = int(n_times) if isinstance(n_times, numbers.Integral) and n_times >= 2 else None
    if n_times is None:
        raise InvalidParameterError("`n_times` must be an integer >= 2 (2000 in the reference "
                                    "code, 1920 at 64 Hz)")
    for name, value, allowed in (("resample", resample, ("fft", "linear")),
                                 ("scaling", scaling, ("minmax", "zscore")),
                                 ("flat", flat, ("drop", "keep", "raise"))):
        if value not in allowed:
            raise InvalidParameterError(f"`{name}` must be one of {list(allowed)}, got {value!r}")
    x, sfreq, names, coords, attrs = _source(data, sfreq, channels)
    if x.shape[0] == 0:
        raise InvalidSignalError("no epoch to prepare (got 0 epochs)")
    duration = x.shape[-1] / sfreq
    n_in = x.shape[0]
    index = np.arange(n_in)

    is_flat = find_flat_channels(x, rtol=flat_rtol)
    dropped = []
    if is_flat.any():
        counts = is_flat.sum(axis=0)
        detail = ", ".join(f"{names[c]!r} in {counts[c]} of {x.shape[0]} epochs"
                           for c in np.flatnonzero(counts))
        if flat == "raise":
            raise InvalidSignalError(f"flat (constant) channels: {detail}")
        if flat == "keep":
            warnings.warn(f"flat (constant) channels kept, scaled to 0: {detail}",
                          FlatChannelWarning, stacklevel=2)
        else:
            everywhere = np.flatnonzero(counts == x.shape[0])
            if len(everywhere) == x.shape[1]:
                raise InvalidSignalError(f"every channel is flat in every epoch: {detail}")
            if len(everywhere):
                dropped = [names[c] for c in everywhere]
                warnings.warn(f"channels {dropped} are flat (constant) in every epoch and are "
                              "dropped", FlatChannelWarning, stacklevel=2)
                keep_c = np.setdiff1d(np.arange(x.shape[1]), everywhere)
                x, is_flat = x[:, keep_c], is_flat[:, keep_c]
                names = [names[c] for c in keep_c]
            bad = is_flat.any(axis=1)
            if bad.any():
                counts = is_flat.sum(axis=0)
                detail = ", ".join(f"{names[c]!r} in {counts[c]}"
                                   for c in np.flatnonzero(counts))
                warnings.warn(f"{int(bad.sum())} of {len(bad)} epochs dropped (with their "
                              f"labels) for flat (constant) channels: {detail}",
                              FlatChannelWarning, stacklevel=2)
                if bad.all():
                    raise InvalidSignalError("every epoch has a flat channel; nothing is left")
                x, index = x[~bad], index[~bad]

    if scaling == "zscore":
        x = _resample(_scale(x, "zscore"), n_times, resample, duration)
    else:
        x = _scale(_resample(x, n_times, resample, duration), "minmax")
    new_sfreq = n_times / duration
    out_coords = {name: ("epoch", np.asarray(values)[index]) for name, values in coords.items()}
    out_coords.update({"source_epoch": ("epoch", index), "channel": list(names),
                       "time": np.arange(n_times) / new_sfreq})
    keep_attrs = {k: v for k, v in attrs.items()
                  if k in ("stage_names", "apnea_names", "record", "dataset", "units")}
    keep_attrs.update({"stage_names": list(STAGE_NAMES), "sfreq": float(new_sfreq),
                       "source_sfreq": float(sfreq),
                       "epoch_seconds": float(duration), "resample": resample,
                       "scaling": scaling, "dropped_channels": list(dropped),
                       "n_dropped_epochs": int(n_in - len(index))})
    return xr.DataArray(x.astype(np.float32), dims=("epoch", "channel", "time"),
                        coords=out_coords, attrs=keep_attrs, name="psg_inputs")
