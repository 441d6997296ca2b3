"""SEED: ``Preprocessed_EEG/{subject}_{date}.mat`` and ``label.mat``.

Each subject file holds 15 trials as variables ``<initials>_eeg1`` ... ``<initials>_eeg15``, each
(62 channels, n_times) at 200 Hz (down-sampled and 0-75 Hz band-passed by the providers); trial
lengths differ (about 3.5 to 4.5 min). ``label.mat`` holds ``label`` (1, 15): the emotion of each
film clip, -1 negative, 0 neutral, 1 positive, the same for every subject. Each of the 15 subjects
took part in three sessions, numbered here 1-3 in the order of the dates in the file names.
"""

from __future__ import annotations

import re

import numpy as np

from physioaffect.errors import RecordingError

from ._common import existing_folder, load_mat, pad_stack, subject_numbers, time_coord
from .cache import cached
from .labels import make_labels

__all__ = ["load_seed", "SEED_SFREQ"]

SEED_SFREQ = 200.0
_FILE = re.compile(r"^(\d+)_(\d+)\.mat$")
_TRIAL = re.compile(r"^.*_eeg(\d+)$")


def _folder(path):
    path = existing_folder(path, "SEED", "Preprocessed_EEG/*.mat and label.mat")
    inner = path / "Preprocessed_EEG"
    return inner if inner.is_dir() else path


def _sessions(folder, subjects, sessions):
    found = {}
    for p in folder.iterdir():
        m = _FILE.match(p.name)
        if m and p.is_file():
            found.setdefault(int(m.group(1)), []).append((m.group(2), p))
    if not found:
        raise RecordingError(f"{folder}: no {{subject}}_{{date}}.mat files; expected SEED's "
                             f"Preprocessed_EEG folder (e.g. 1_20131027.mat)")
    wanted = sorted(found) if subjects is None else subjects
    missing = [s for s in wanted if s not in found]
    if missing:
        raise RecordingError(f"{folder}: no file for subject(s) {missing}; expected files named "
                             f"{missing[0]}_<date>.mat")
    out = []
    for s in wanted:
        dated = sorted(found[s])  # by date: session 1, 2, 3
        chosen = range(1, len(dated) + 1) if sessions is None else sessions
        for k in chosen:
            if k > len(dated):
                raise RecordingError(f"{folder}: subject {s} has {len(dated)} session file(s), "
                                     f"expected session {k}")
            out.append((s, k, dated[k - 1][0], dated[k - 1][1]))
    return out


def _labels(folder):
    path = folder / "label.mat"
    if not path.is_file():
        raise RecordingError(f"{path}: no such file; expected SEED's label.mat beside the "
                             f"subject files")
    mat = load_mat(path, "SEED")
    if "label" not in mat:
        raise RecordingError(f"{path}: no variable 'label'; its variables are "
                             f"{[k for k in mat if not k.startswith('__')]}")
    label = np.asarray(mat["label"])
    if label.dtype == object or label.size == 0 or label.ndim != 2 or min(label.shape) != 1:
        raise RecordingError(f"{path}: 'label' has shape {label.shape}, expected (1, 15)")
    label = label.reshape(-1).astype(np.float64)
    if not np.isin(label, (-1, 0, 1)).all():
        raise RecordingError(f"{path}: 'label' must hold -1, 0 or 1, got {np.unique(label)}")
    return path, label


def _trials(path, n_trials):
    mat = load_mat(path, "SEED")
    trials = {}
    for key, value in mat.items():
        m = _TRIAL.match(key)
        if m:
            trials[int(m.group(1))] = (key, value)
    expected = list(range(1, n_trials + 1))
    if sorted(trials) != expected:
        raise RecordingError(
            f"{path}: trial variables {sorted(k for k, _ in trials.values())} do not match the "
            f"{n_trials} labels of label.mat; expected <initials>_eeg1 ... <initials>_eeg{n_trials}")
    out = []
    for t in expected:
        key, value = trials[t]
        x = np.asarray(value)
        if x.dtype == object or x.ndim != 2 or x.shape[0] != 62:
            raise RecordingError(f"{path}: {key} has shape {x.shape}, expected (62 channels, "
                                 f"n_times)")
        out.append(x.astype(np.float64, copy=False))
    return out


def load_seed(path, *, subjects=None, sessions=None, cache_dir=None):
    """Load SEED's preprocessed EEG.

    Trials differ in length; they are stacked along ``time`` right-padded with NaN up to the
    longest trial loaded, and the ``n_times`` coordinate gives each trial's true length, so
    ``eeg[..., :n_times]`` is the trial as distributed.

    Parameters
    ----------
    path : path-like
        The ``Preprocessed_EEG`` folder, or the folder holding it.
    subjects : int or sequence of int, optional
        Subject numbers (1-15, the number before the underscore); default all found.
    sessions : int or sequence of int, optional
        Sessions (1-3, in date order); default all of each subject. Every subject must have
        the same number.
    cache_dir : path-like, optional
        Folder of the cache; None caches nothing.

    Returns
    -------
    xarray.DataArray
        Dims (subject, session, trial, channel, time), float64 as distributed. Coords:
        ``subject``, ``session``, ``trial`` (1-15), ``channel`` (SEED's 62 names),
        ``time`` (s), ``date`` over (subject, session) (the date in the file name),
        ``n_times`` over (subject, session, trial), ``emotion`` over trial (-1, 0, 1) and
        ``label`` over trial (emotion + 1: 0 negative, 1 neutral, 2 positive).
        Attrs: ``sfreq`` (200), ``dataset``.

    Raises
    ------
    RecordingError
        Missing folder, subject or ``label.mat``; trial variables or shapes not SEED's;
        subjects with different numbers of sessions.
    """
    folder = _folder(path)
    if sessions is not None:
        sessions = subject_numbers(sessions, "SEED sessions")
    files = _sessions(folder, subject_numbers(subjects, "SEED"), sessions)
    per_subject = {}
    for s, k, _, _ in files:
        per_subject.setdefault(s, []).append(k)
    counts = {len(v) for v in per_subject.values()}
    if len(counts) != 1:
        raise RecordingError(f"{folder}: subjects have different numbers of sessions "
                             f"{ {s: len(v) for s, v in per_subject.items()} }; pass sessions=...")
    label_path, _ = _labels(folder)
    params = {"subjects": sorted(per_subject), "sessions": sessions and list(sessions)}
    return cached("seed", [label_path] + [f[3] for f in files], params, cache_dir,
                  lambda: _build(folder, files, per_subject))


def _build(folder, files, per_subject):
    import xarray as xr

    from physioaffect.montage import get_montage

    _, emotion = _labels(folder)
    n_trials = len(emotion)
    trials, dates = [], []
    for _, _, date, path in files:
        trials.extend(_trials(path, n_trials))
        dates.append(date)
    data, lengths = pad_stack(trials)
    subjects = sorted(per_subject)
    n_sessions = len(per_subject[subjects[0]])
    shape = (len(subjects), n_sessions, n_trials)
    data = data.reshape(*shape, *data.shape[1:])
    coords = {
        "subject": subjects,
        "session": list(per_subject[subjects[0]]),
        "trial": np.arange(1, n_trials + 1),
        "channel": list(get_montage("seed").ch_names),
        "time": time_coord(data.shape[-1], SEED_SFREQ),
        "date": (("subject", "session"), np.array(dates, dtype=object).reshape(shape[:2])),
        "n_times": (("subject", "session", "trial"), lengths.reshape(shape)),
        "emotion": ("trial", emotion.astype(np.int64)),
        "label": ("trial", make_labels(emotion, "seed", "multiclass")),
    }
    attrs = {"dataset": "seed", "sfreq": SEED_SFREQ, "units": "as distributed",
             "padding": "NaN after n_times samples"}
    return xr.DataArray(data, dims=("subject", "session", "trial", "channel", "time"),
                        coords=coords, name="seed", attrs=attrs)
