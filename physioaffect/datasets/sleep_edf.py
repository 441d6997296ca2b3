"""Sleep-EDF (Expanded): PSG recordings paired with their hypnograms, cut into 30-s epochs.

Each night is two EDF files: ``SC4ssNE0-PSG.edf`` (EEG Fpz-Cz and Pz-Oz, horizontal EOG at
100 Hz; respiration, submental EMG, rectal temperature and an event marker at 1 Hz) and an
annotation-only EDF+ hypnogram ``SC4ssNEx-Hypnogram.edf`` whose last letter names the scorer
(``ST7ssNJ0-PSG.edf`` / ``ST7ssNJx-Hypnogram.edf`` for the telemetry study). A PSG file and its
hypnogram share their first seven characters (``SC4001E``). Stages are scored by R&K in 30-s
epochs; here they are mapped to AASM classes: W, N1, N2, N3 (R&K stages 3 and 4 merged) and R.
Epochs scored ``Sleep stage ?`` or ``Movement time`` are dropped.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from physioaffect.errors import InvalidParameterError, RecordingError

from ._common import existing_file, existing_folder
from .cache import cached

__all__ = ["load_sleep_edf", "read_sleep_edf", "pair_sleep_edf", "SLEEP_STAGES",
           "DEFAULT_CHANNELS"]

#: AASM class of each hypnogram description; descriptions absent here are dropped.
STAGE_OF = {"Sleep stage W": "W", "Sleep stage 1": "N1", "Sleep stage 2": "N2",
            "Sleep stage 3": "N3", "Sleep stage 4": "N3", "Sleep stage R": "R"}
#: Class names in label order (label 0 is W).
SLEEP_STAGES = ("W", "N1", "N2", "N3", "R")
#: The 100-Hz channels of the Sleep-EDF PSG files.
DEFAULT_CHANNELS = ("EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal")
_NAME = re.compile(r"^(S[CT]\d)(\d\d)(\d)")


def _subject_night(name):
    m = _NAME.match(name)
    return (int(m.group(2)), int(m.group(3))) if m else (-1, -1)


def pair_sleep_edf(path):
    """Pair every ``*-PSG.edf`` of a folder with its ``*-Hypnogram.edf``.

    Parameters
    ----------
    path : path-like
        A folder of Sleep-EDF files (``sleep-cassette`` or ``sleep-telemetry``).

    Returns
    -------
    list of (pathlib.Path, pathlib.Path)
        (PSG, hypnogram) pairs sorted by PSG name; the files of a pair share their first seven
        characters.

    Raises
    ------
    RecordingError
        No PSG file, a PSG without a hypnogram, or one with several.
    """
    folder = existing_folder(path, "Sleep-EDF", "*-PSG.edf and *-Hypnogram.edf files")
    names = sorted(p for p in folder.iterdir() if p.is_file())
    psgs = [p for p in names if p.name.lower().endswith("-psg.edf")]
    hyps = [p for p in names if p.name.lower().endswith("-hypnogram.edf")]
    if not psgs:
        raise RecordingError(f"{folder}: no *-PSG.edf file; expected Sleep-EDF pairs such as "
                             f"SC4001E0-PSG.edf and SC4001EC-Hypnogram.edf")
    pairs = []
    for psg in psgs:
        match = [h for h in hyps if h.name[:7] == psg.name[:7]]
        if len(match) != 1:
            raise RecordingError(
                f"{psg}: {'no' if not match else len(match)} hypnogram(s) starting with "
                f"{psg.name[:7]!r} in {folder} ({[h.name for h in match]}); expected exactly one "
                f"{psg.name[:7]}?-Hypnogram.edf")
        pairs.append((psg, match[0]))
    return pairs


def _epochs(annotations, start_offset, sfreq, n_times, epoch_seconds):
    """(sample start, stage) of every whole scored epoch inside the recording."""
    per_epoch = int(round(epoch_seconds * sfreq))
    out = []
    for onset, duration, description in zip(annotations.onset, annotations.duration,
                                            annotations.description, strict=True):
        stage = STAGE_OF.get(str(description))
        if stage is None:
            continue
        for k in range(int(duration // epoch_seconds + 1e-9)):
            first = int(round((onset + start_offset + k * epoch_seconds) * sfreq))
            if first >= 0 and first + per_epoch <= n_times:
                out.append((first, stage))
    return out, per_epoch


def read_sleep_edf(psg, hypnogram, *, channels=DEFAULT_CHANNELS, epoch_seconds=30.0):
    """Read one Sleep-EDF night as scored 30-s epochs.

    Parameters
    ----------
    psg : path-like
        The ``*-PSG.edf`` file.
    hypnogram : path-like
        Its ``*-Hypnogram.edf`` (annotation-only EDF+).
    channels : sequence of str, default=DEFAULT_CHANNELS
        Channels to read; they must share one native sampling rate (the 1-Hz channels are not
        upsampled silently).
    epoch_seconds : float, default=30.0
        Length of a scored epoch.

    Returns
    -------
    xarray.DataArray
        Dims (epoch, channel, time): EEG and EOG in volts as MNE reads them. Coords: ``onset``
        (s from the start of the PSG), ``stage`` (``"W"``, ``"N1"``, ``"N2"``, ``"N3"``, ``"R"``)
        and ``label`` (its index in :data:`SLEEP_STAGES`), ``record`` (the PSG name up to
        ``-PSG``), ``subject`` and ``night`` (from the name, -1 when it is not Sleep-EDF's) over
        epoch; ``channel``; ``time`` in seconds within the epoch. Attrs: ``sfreq``,
        ``dataset``, ``units`` ("V"), ``stage_names``.

    Raises
    ------
    RecordingError
        A file missing or unreadable, or no scored epoch inside the recording.
    InvalidParameterError
        A channel absent from the PSG, or channels with different native rates.
    """
    import xarray as xr

    from physioaffect.io import read_annotations, read_recording, recording_info

    psg = existing_file(psg, "Sleep-EDF", "a *-PSG.edf recording")
    hypnogram = existing_file(hypnogram, "Sleep-EDF", "a *-Hypnogram.edf file")
    channels = [channels] if isinstance(channels, str) else list(channels)
    info = recording_info(psg)
    rates = {c["name"]: c["sfreq"] for c in info["channels"]}
    missing = [c for c in channels if c not in rates]
    if missing or not channels:
        raise InvalidParameterError(f"{psg}: channels {missing or channels} not found; the file "
                                    f"holds {list(rates)}")
    native = {rates[c] for c in channels}
    if len(native) != 1:
        raise InvalidParameterError(
            f"{psg}: channels {channels} have different native rates "
            f"{ {c: rates[c] for c in channels} } Hz; pick channels of one rate")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different native sampling rates.*")
        raw = read_recording(psg, preload=False)
    annotations = read_annotations(hypnogram)
    offset = 0.0
    meas_date = raw.info["meas_date"]
    if annotations.orig_time is not None and meas_date is not None:
        offset = (annotations.orig_time - meas_date).total_seconds()
    sfreq = float(raw.info["sfreq"])
    if not np.isclose(sfreq, native.pop()):
        raise RecordingError(f"{psg}: MNE reads it at {sfreq} Hz, not the channels' native rate")
    epochs, per_epoch = _epochs(annotations, offset, sfreq, raw.n_times, epoch_seconds)
    if not epochs:
        raise RecordingError(f"{psg}: no scored {epoch_seconds:g}-s epoch of {hypnogram.name} "
                             f"lies inside the recording ({raw.n_times / sfreq:g} s)")
    data = raw.get_data(picks=channels)
    starts = np.array([s for s, _ in epochs], dtype=np.int64)
    stages = [stage for _, stage in epochs]
    order = np.argsort(starts, kind="stable")
    starts, stages = starts[order], [stages[i] for i in order]
    x = data[:, starts[:, None] + np.arange(per_epoch)[None, :]]  # (channel, epoch, time)
    record = Path(psg).name
    record = record[: -len("-PSG.edf")] if record.lower().endswith("-psg.edf") else Path(psg).stem
    subject, night = _subject_night(record)
    n = len(starts)
    coords = {
        "onset": ("epoch", starts / sfreq),
        "stage": ("epoch", np.array(stages, dtype=object)),
        "label": ("epoch", np.array([SLEEP_STAGES.index(s) for s in stages], dtype=np.int64)),
        "record": ("epoch", np.array([record] * n, dtype=object)),
        "subject": ("epoch", np.full(n, subject, dtype=np.int64)),
        "night": ("epoch", np.full(n, night, dtype=np.int64)),
        "channel": channels,
        "time": np.arange(per_epoch) / sfreq,
    }
    attrs = {"dataset": "sleep_edf", "sfreq": sfreq, "units": "V",
             "epoch_seconds": float(epoch_seconds), "stage_names": list(SLEEP_STAGES)}
    return xr.DataArray(np.moveaxis(x, 1, 0), dims=("epoch", "channel", "time"), coords=coords,
                        name="sleep_edf", attrs=attrs)


def load_sleep_edf(path, *, records=None, channels=DEFAULT_CHANNELS, epoch_seconds=30.0,
                   cache_dir=None):
    """Load a folder of Sleep-EDF nights as scored epochs, concatenated along ``epoch``.

    Parameters
    ----------
    path : path-like
        A folder of ``*-PSG.edf`` and ``*-Hypnogram.edf`` files.
    records : str or sequence of str, optional
        Nights to load, by the start of their PSG name (``"SC4001"``, ``"SC4001E0"``); default all.
    channels : sequence of str, default=DEFAULT_CHANNELS
        As :func:`read_sleep_edf`.
    epoch_seconds : float, default=30.0
        Length of a scored epoch.
    cache_dir : path-like, optional
        Folder of the cache; None caches nothing.

    Returns
    -------
    xarray.DataArray
        As :func:`read_sleep_edf`, the nights one after the other (``record``, ``subject`` and
        ``night`` tell them apart).

    Raises
    ------
    RecordingError
        See :func:`pair_sleep_edf` and :func:`read_sleep_edf`; also a record asked for but absent.
    """
    pairs = pair_sleep_edf(path)
    if records is not None:
        records = [records] if isinstance(records, str) else list(records)
        chosen = []
        for r in records:
            match = [pair for pair in pairs if pair[0].name.startswith(str(r))]
            if not match:
                raise RecordingError(f"{path}: no PSG file starting with {r!r}; found "
                                     f"{[p.name for p, _ in pairs]}")
            chosen.extend(m for m in match if m not in chosen)
        pairs = chosen
    channels = [channels] if isinstance(channels, str) else list(channels)
    params = {"records": [p.name for p, _ in pairs], "channels": channels,
              "epoch_seconds": float(epoch_seconds)}
    sources = [f for pair in pairs for f in pair]

    def build():
        import xarray as xr

        parts = [read_sleep_edf(p, h, channels=channels, epoch_seconds=epoch_seconds)
                 for p, h in pairs]
        if len({float(part.attrs["sfreq"]) for part in parts}) != 1:
            raise RecordingError(f"{path}: the nights have different sampling rates")
        return xr.concat(parts, dim="epoch", combine_attrs="override")

    return cached("sleep_edf", sources, params, cache_dir, build)
