"""DEAP: ``data_preprocessed_python/sXX.dat``, read with the restricted unpickler.

Each ``sXX.dat`` is a dict pickled by Python 2 NumPy:

``"data"``
    (40 trials, 40 channels, 8064 samples) at 128 Hz: 3 s of pre-trial baseline, then the 60-s
    music video. Trials are in the order of the video (Experiment_id), not of presentation.
``"labels"``
    (40 trials, 4) ratings 1-9 (real): valence, arousal, dominance, liking.

Channels 1-32 are EEG (Geneva order, :func:`physioaffect.montage.get_montage` ``("deap")``),
then hEOG, vEOG, zEMG, tEMG, GSR, respiration belt, plethysmograph and temperature.
"""

from __future__ import annotations

import re

import numpy as np

from physioaffect.errors import InvalidParameterError, RecordingError

from ._common import check_target, existing_folder, subject_numbers, time_coord
from .cache import cached
from .labels import RATINGS, make_labels

__all__ = ["load_deap", "DEAP_CHANNELS", "DEAP_SFREQ", "DEAP_BASELINE_SECONDS"]

DEAP_SFREQ = 128.0
DEAP_BASELINE_SECONDS = 3.0
_PERIPHERAL = ("hEOG", "vEOG", "zEMG", "tEMG", "GSR", "Respiration", "Plethysmograph",
               "Temperature")
_PERIPHERAL_TYPES = ("eog", "eog", "emg", "emg", "gsr", "resp", "ppg", "temperature")


_EEG = ("Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1",
        "Oz", "Pz", "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz", "C4", "T8", "CP6", "CP2",
        "P4", "P8", "PO4", "O2")

#: The 40 channel names of the preprocessed files, in file order (EEG as ``get_montage("deap")``).
DEAP_CHANNELS = _EEG + _PERIPHERAL
_TYPES = ("eeg",) * 32 + _PERIPHERAL_TYPES
_FILE = re.compile(r"^s(\d+)\.dat$")


def _folder(path):
    path = existing_folder(path, "DEAP", "data_preprocessed_python/sXX.dat files")
    inner = path / "data_preprocessed_python"
    return inner if inner.is_dir() else path


def _files(folder, subjects):
    found = {int(m.group(1)): p for p in folder.iterdir()
             if (m := _FILE.match(p.name)) and p.is_file()}
    if subjects is None:
        if not found:
            raise RecordingError(f"{folder}: no sXX.dat files; expected DEAP's "
                                 f"data_preprocessed_python folder (s01.dat ... s32.dat)")
        return sorted(found.items())
    missing = [s for s in subjects if s not in found]
    if missing:
        raise RecordingError(f"{folder}: no file for subject(s) {missing}; expected "
                             + ", ".join(f"s{s:02d}.dat" for s in missing))
    return [(s, found[s]) for s in subjects]


def _read(path):
    from physioaffect.io.safe_pickle import safe_load

    content = safe_load(path)
    if not isinstance(content, dict) or not {"data", "labels"} <= set(content):
        keys = sorted(map(str, content)) if isinstance(content, dict) else type(content).__name__
        raise RecordingError(f"{path}: expected a dict with keys 'data' and 'labels' "
                             f"(DEAP preprocessed Python format), got {keys}")
    data, labels = content["data"], content["labels"]
    if not isinstance(data, np.ndarray) or data.ndim != 3 or data.shape[1] != 40:
        raise RecordingError(f"{path}: 'data' has shape {np.shape(data)}, expected "
                             f"(n_trials, 40 channels, n_times), e.g. (40, 40, 8064)")
    if not isinstance(labels, np.ndarray) or labels.shape != (data.shape[0], 4):
        raise RecordingError(f"{path}: 'labels' has shape {np.shape(labels)}, expected "
                             f"({data.shape[0]}, 4) ratings (valence, arousal, dominance, liking)")
    return data, labels.astype(np.float64)


def _channel_index(channels):
    if channels is None:
        return list(range(40))
    if isinstance(channels, str):
        if channels == "eeg":
            return list(range(32))
        channels = [channels]
    index = []
    for name in channels:
        if name not in DEAP_CHANNELS:
            raise InvalidParameterError(
                f"`channels` holds {name!r}, not a DEAP channel; expected 'eeg', None or names "
                f"among {list(DEAP_CHANNELS)}")
        index.append(DEAP_CHANNELS.index(name))
    return index


def load_deap(path, *, subjects=None, channels=None, target="valence", scheme="binary",
              cache_dir=None):
    """Load DEAP's preprocessed Python files.

    Parameters
    ----------
    path : path-like
        The ``data_preprocessed_python`` folder, or the folder holding it.
    subjects : int or sequence of int, optional
        Subject numbers (1-32, the XX of ``sXX.dat``); default every file found.
    channels : None, "eeg" or sequence of str, default=None
        All 40 channels, the 32 EEG channels, or these names (:data:`DEAP_CHANNELS`).
    target : {"valence", "arousal", "dominance", "liking"}, default="valence"
        Rating that the ``label`` coordinate encodes.
    scheme : {"binary", "multiclass"}, default="binary"
        Label scheme (:func:`physioaffect.datasets.labels.make_labels`): rating >= 5, or
        ``int(rating) - 1`` (9 classes).
    cache_dir : path-like, optional
        Folder of the cache (see :mod:`physioaffect.datasets.cache`); None caches nothing.

    Returns
    -------
    xarray.DataArray
        Dims (subject, trial, channel, time), float64 as distributed (EEG in microvolts).
        Coords: ``subject`` and ``trial`` (1-based numbers), ``channel`` names and
        ``channel_type``, ``time`` in seconds from the video onset (the baseline runs from -3 s),
        the four ratings over (subject, trial) and ``label`` (int, -1 for a missing rating).
        Attrs: ``sfreq``, ``baseline_seconds``, ``dataset``, ``target``, ``scheme``.

    Raises
    ------
    RecordingError
        Missing folder or subject file, a pickle that is not DEAP's layout, or files whose trial
        counts or lengths differ.
    physioaffect.io.safe_pickle.UnsafePickleError
        A file names a function or class beyond NumPy arrays and builtin containers; nothing
        from it runs.
    InvalidParameterError
        Unknown channel, target or scheme.
    """
    check_target(target, "DEAP", RATINGS["deap"])
    make_labels([], "deap", scheme)
    folder = _folder(path)
    files = _files(folder, subject_numbers(subjects, "DEAP"))
    index = _channel_index(channels)
    params = {"subjects": [s for s, _ in files], "channels": [DEAP_CHANNELS[i] for i in index],
              "target": target, "scheme": scheme}
    return cached("deap", [p for _, p in files], params, cache_dir,
                  lambda: _build(files, index, target, scheme))


def _build(files, index, target, scheme):
    import xarray as xr

    data, ratings = [], []
    for _, path in files:
        x, r = _read(path)
        if data and x.shape != data[0].shape:
            raise RecordingError(f"{path}: 'data' has shape {x.shape}, but {files[0][1].name} has "
                                 f"{data[0].shape}; expected every subject alike")
        data.append(x[:, index])
        ratings.append(r)
    data = np.stack(data).astype(np.float64, copy=False)
    ratings = np.stack(ratings)
    n_trials, n_times = data.shape[1], data.shape[-1]
    coords = {
        "subject": [s for s, _ in files],
        "trial": np.arange(1, n_trials + 1),
        "channel": [DEAP_CHANNELS[i] for i in index],
        "channel_type": ("channel", [_TYPES[i] for i in index]),
        "time": time_coord(n_times, DEAP_SFREQ, -DEAP_BASELINE_SECONDS),
    }
    for k, name in enumerate(RATINGS["deap"]):
        coords[name] = (("subject", "trial"), ratings[..., k])
    coords["label"] = (("subject", "trial"),
                       make_labels(ratings[..., RATINGS["deap"].index(target)], "deap", scheme))
    attrs = {"dataset": "deap", "sfreq": DEAP_SFREQ, "baseline_seconds": DEAP_BASELINE_SECONDS,
             "units": "as distributed (EEG in microvolts)", "target": target, "scheme": scheme}
    return xr.DataArray(data, dims=("subject", "trial", "channel", "time"), coords=coords,
                        name="deap", attrs=attrs)
