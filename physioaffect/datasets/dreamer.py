"""DREAMER: one MATLAB file, ``DREAMER.mat``.

The file holds a struct ``DREAMER`` with fields ``Data`` (1 x 23 cell, one struct per subject),
``EEG_SamplingRate`` (128), ``ECG_SamplingRate`` (256), ``EEG_Electrodes`` (1 x 14 cell),
``noOfSubjects``, ``noOfVideoSequences`` and text fields. Each subject struct has ``Age``,
``Gender``, ``EEG`` and ``ECG`` (structs with ``baseline`` and ``stimuli``: 18 x 1 cells of
(n_times, n_channels) arrays; 14 EEG channels, 2 ECG leads; every baseline lasts 61 s, stimuli
65-393 s) and ``ScoreValence``, ``ScoreArousal``, ``ScoreDominance`` (18 x 1, ratings 1-5).
"""

from __future__ import annotations

import numpy as np

from physioaffect.errors import RecordingError

from ._common import (
    cell_items,
    check_target,
    existing_file,
    field,
    load_mat,
    matrix,
    pad_stack,
    scalar,
    subject_numbers,
    time_coord,
    unbox,
)
from .cache import cached
from .labels import RATINGS, make_labels

__all__ = ["load_dreamer", "read_dreamer_mat", "DREAMER_CHANNELS"]

#: EEG channel order of DREAMER.mat (METHODS.md section 1.1).
DREAMER_CHANNELS = ("AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4",
                    "F8", "AF4")
_SCORES = {"valence": "ScoreValence", "arousal": "ScoreArousal", "dominance": "ScoreDominance"}


def _text(value):
    value = unbox(value)
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else ""
    return str(value)


def read_dreamer_mat(path, *, subjects=None, ecg=False):
    """Read ``DREAMER.mat`` into plain arrays, without padding.

    Parameters
    ----------
    path : path-like
        The ``DREAMER.mat`` file.
    subjects : int or sequence of int, optional
        Subject numbers 1-23; default all.
    ecg : bool, default=False
        Read the ECG too.

    Returns
    -------
    dict
        ``eeg_sfreq``, ``ecg_sfreq`` (float), ``channels`` (tuple of str), ``subjects`` (list of
        int) and, per subject in that order, lists ``stimuli`` and ``baseline`` (per trial,
        arrays (n_channels, n_times)), ``ecg_stimuli`` and ``ecg_baseline`` (with ``ecg``),
        ``ratings`` (array (n_trials, 3): valence, arousal, dominance), ``age`` and ``gender``.

    Raises
    ------
    RecordingError
        The file is missing or its struct nesting, fields or shapes are not DREAMER's; the
        message names the field at fault.
    """
    path = existing_file(path, "DREAMER", "DREAMER.mat")
    mat = load_mat(path, "DREAMER")
    if "DREAMER" not in mat:
        raise RecordingError(f"{path}: no variable 'DREAMER'; its variables are "
                             f"{[k for k in mat if not k.startswith('__')]}")
    top = mat["DREAMER"]
    eeg_sfreq = scalar(field(top, "EEG_SamplingRate", path, "DREAMER"), path,
                       "DREAMER.EEG_SamplingRate")
    ecg_sfreq = scalar(field(top, "ECG_SamplingRate", path, "DREAMER"), path,
                       "DREAMER.ECG_SamplingRate")
    electrodes = field(top, "EEG_Electrodes", path, "DREAMER")
    channels = tuple(_text(e) for e in cell_items(electrodes, path, "DREAMER.EEG_Electrodes"))
    data = cell_items(field(top, "Data", path, "DREAMER"), path, "DREAMER.Data")
    wanted = subject_numbers(subjects, "DREAMER") or tuple(range(1, len(data) + 1))
    if wanted[-1] > len(data):
        raise RecordingError(f"{path}: DREAMER.Data holds {len(data)} subjects, subject "
                             f"{wanted[-1]} was asked for")
    out = {"eeg_sfreq": eeg_sfreq, "ecg_sfreq": ecg_sfreq, "channels": channels,
           "subjects": list(wanted), "stimuli": [], "baseline": [], "ratings": [], "age": [],
           "gender": []}
    if ecg:
        out["ecg_stimuli"], out["ecg_baseline"] = [], []
    n_trials = None
    for s in wanted:
        where = f"DREAMER.Data{{{s}}}"
        subject = data[s - 1]
        parts = [("", "EEG", len(channels))] + ([("ecg_", "ECG", None)] if ecg else [])
        for prefix, kind, n_ch in parts:
            signals = field(subject, kind, path, where)
            for part in ("stimuli", "baseline"):
                cell = cell_items(field(signals, part, path, f"{where}.{kind}"), path,
                                  f"{where}.{kind}.{part}", n_trials)
                n_trials = len(cell)
                out[prefix + part].append([
                    matrix(x, path, f"{where}.{kind}.{part}{{{t + 1}}}", columns=n_ch).T
                    for t, x in enumerate(cell)])
        scores = []
        for name in RATINGS["dreamer"]:
            value = np.asarray(unbox(field(subject, _SCORES[name], path, where)), dtype=float)
            if value.size != n_trials:
                raise RecordingError(f"{path}: {where}.{_SCORES[name]} holds {value.size} "
                                     f"ratings, expected {n_trials} (one per trial)")
            scores.append(value.reshape(-1))
        out["ratings"].append(np.stack(scores, axis=1))
        out["age"].append(_text(field(subject, "Age", path, where)))
        out["gender"].append(_text(field(subject, "Gender", path, where)))
    return out


def load_dreamer(path, *, subjects=None, ecg=False, target="valence", scheme="multiclass",
                 cache_dir=None):
    """Load ``DREAMER.mat`` as labelled arrays.

    Stimuli differ in length; they are stacked along ``time`` right-padded with NaN up to the
    longest one loaded, and ``n_times`` gives each trial's length (``eeg[..., :n_times]`` is the
    recording as distributed). Baselines all last 61 s (7808 samples) and are not padded.

    Parameters
    ----------
    path : path-like
        The ``DREAMER.mat`` file.
    subjects : int or sequence of int, optional
        Subject numbers 1-23; default all.
    ecg : bool, default=False
        Also load the two ECG leads (256 Hz) as ``ecg`` and ``ecg_baseline``.
    target : {"valence", "arousal", "dominance"}, default="valence"
        Rating that the ``label`` coordinate encodes.
    scheme : {"multiclass", "binary"}, default="multiclass"
        ``rating - 1`` (5 classes) or rating >= 3.
    cache_dir : path-like, optional
        Folder of the cache; None caches nothing.

    Returns
    -------
    xarray.Dataset
        ``eeg`` (subject, trial, channel, time) and ``baseline`` (subject, trial, channel,
        baseline_time), float64 as distributed, channels in DREAMER's order (AF3 ... AF4); with
        ``ecg``, ``ecg`` (..., lead, ecg_time) and ``ecg_baseline`` (..., lead,
        ecg_baseline_time). Coords: ``subject``, ``trial`` (1-based), ``channel``, times in
        seconds, ``n_times`` (and ``ecg_n_times``) over (subject, trial), ``valence``,
        ``arousal``, ``dominance`` and ``label`` over (subject, trial), ``age`` and ``gender``
        over subject. Attrs: ``sfreq``, ``ecg_sfreq``, ``dataset``, ``target``, ``scheme``.

    Raises
    ------
    RecordingError
        See :func:`read_dreamer_mat`; also subjects with different numbers of trials.
    """
    check_target(target, "DREAMER", RATINGS["dreamer"])
    make_labels([], "dreamer", scheme)
    path = existing_file(path, "DREAMER", "DREAMER.mat")
    wanted = subject_numbers(subjects, "DREAMER")
    params = {"subjects": wanted and list(wanted), "ecg": bool(ecg), "target": target,
              "scheme": scheme}
    return cached("dreamer", [path], params, cache_dir,
                  lambda: _build(read_dreamer_mat(path, subjects=wanted, ecg=ecg), ecg, target,
                                 scheme))


def _stack(per_subject, n_subjects):
    flat = [x for trials in per_subject for x in trials]
    data, lengths = pad_stack(flat)
    n_trials = len(per_subject[0])
    return (data.reshape(n_subjects, n_trials, *data.shape[1:]),
            lengths.reshape(n_subjects, n_trials))


def _build(raw, ecg, target, scheme):
    import xarray as xr

    n_subjects = len(raw["subjects"])
    eeg, n_times = _stack(raw["stimuli"], n_subjects)
    baseline, base_times = _stack(raw["baseline"], n_subjects)
    if (base_times != base_times.flat[0]).any():
        raise RecordingError(f"DREAMER baselines differ in length {np.unique(base_times)}; "
                             f"expected one length (61 s)")
    ratings = np.stack(raw["ratings"])
    sfreq = raw["eeg_sfreq"]
    variables = {
        "eeg": (("subject", "trial", "channel", "time"), eeg),
        "baseline": (("subject", "trial", "channel", "baseline_time"), baseline),
    }
    coords = {
        "subject": raw["subjects"],
        "trial": np.arange(1, eeg.shape[1] + 1),
        "channel": list(raw["channels"]),
        "time": time_coord(eeg.shape[-1], sfreq),
        "baseline_time": time_coord(baseline.shape[-1], sfreq),
        "n_times": (("subject", "trial"), n_times),
        "age": ("subject", np.array(raw["age"], dtype=object)),
        "gender": ("subject", np.array(raw["gender"], dtype=object)),
    }
    if ecg:
        ecg_data, ecg_times = _stack(raw["ecg_stimuli"], n_subjects)
        ecg_base, _ = _stack(raw["ecg_baseline"], n_subjects)
        variables["ecg"] = (("subject", "trial", "lead", "ecg_time"), ecg_data)
        variables["ecg_baseline"] = (("subject", "trial", "lead", "ecg_baseline_time"), ecg_base)
        coords.update({
            "lead": [f"ECG{i + 1}" for i in range(ecg_data.shape[2])],
            "ecg_time": time_coord(ecg_data.shape[-1], raw["ecg_sfreq"]),
            "ecg_baseline_time": time_coord(ecg_base.shape[-1], raw["ecg_sfreq"]),
            "ecg_n_times": (("subject", "trial"), ecg_times),
        })
    for k, name in enumerate(RATINGS["dreamer"]):
        coords[name] = (("subject", "trial"), ratings[..., k])
    coords["label"] = (("subject", "trial"), make_labels(
        ratings[..., RATINGS["dreamer"].index(target)], "dreamer", scheme))
    attrs = {"dataset": "dreamer", "sfreq": sfreq, "ecg_sfreq": raw["ecg_sfreq"],
             "units": "as distributed", "padding": "NaN after n_times samples",
             "target": target, "scheme": scheme}
    return xr.Dataset(variables, coords=coords, attrs=attrs)
