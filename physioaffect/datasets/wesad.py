"""WESAD: ``SX/SX.pkl``, read with the restricted unpickler.

Each ``SX.pkl`` is a dict pickled by Python 2 (hence read with ``encoding="latin1"``):

``"signal"``
    ``{"chest": {...}, "wrist": {...}}``. Chest (RespiBAN), all at 700 Hz: ``ACC`` (n, 3),
    ``ECG``, ``EMG``, ``EDA``, ``Temp``, ``Resp`` (n, 1). Wrist (Empatica E4): ``ACC`` (m, 3) at
    32 Hz, ``BVP`` (k, 1) at 64 Hz, ``EDA`` and ``TEMP`` (j, 1) at 4 Hz.
``"label"``
    (n,) condition per chest sample: 0 not defined / transient, 1 baseline, 2 stress,
    3 amusement, 4 meditation, 5-7 to be ignored.
``"subject"``
    ``"SX"``.

Subjects are numbered S2 to S17 (S1 and S12 are absent from the release).
"""

from __future__ import annotations

import re

import numpy as np

from physioaffect.errors import RecordingError

from ._common import existing_folder, pad_stack, subject_numbers, time_coord
from .cache import cached

__all__ = ["load_wesad", "read_wesad_pickle", "WESAD_CONDITIONS", "WESAD_RATES"]

#: Condition of each label value.
WESAD_CONDITIONS = {0: "transient", 1: "baseline", 2: "stress", 3: "amusement", 4: "meditation",
                    5: "ignore", 6: "ignore", 7: "ignore"}

#: Sampling rate (Hz) of each signal, by device and key.
WESAD_RATES = {
    ("chest", "ACC"): 700.0, ("chest", "ECG"): 700.0, ("chest", "EMG"): 700.0,
    ("chest", "EDA"): 700.0, ("chest", "Temp"): 700.0, ("chest", "Resp"): 700.0,
    ("wrist", "ACC"): 32.0, ("wrist", "BVP"): 64.0, ("wrist", "EDA"): 4.0, ("wrist", "TEMP"): 4.0,
}
_WIDTH = {"ACC": 3}
_FOLDER = re.compile(r"^S(\d+)$")
# variable name -> (device, keys, time dim)
_VARIABLES = {
    "chest": ("chest", ("ACC", "ECG", "EMG", "EDA", "Temp", "Resp"), "chest_time"),
    "wrist_acc": ("wrist", ("ACC",), "wrist_acc_time"),
    "wrist_bvp": ("wrist", ("BVP",), "wrist_bvp_time"),
    "wrist_eda_temp": ("wrist", ("EDA", "TEMP"), "wrist_4hz_time"),
}


def _names(key):
    return [f"{key}_{axis}" for axis in "xyz"] if key == "ACC" else [key]


def read_wesad_pickle(path):
    """Read one ``SX.pkl`` safely and check its layout.

    Parameters
    ----------
    path : path-like
        A WESAD subject pickle.

    Returns
    -------
    dict
        ``{"signal": {"chest": {key: (n, width) float64}, "wrist": {...}}, "label": (n,) int64,
        "subject": str}``.

    Raises
    ------
    RecordingError
        A key missing, a shape not WESAD's, or chest signals and labels of different lengths.
    physioaffect.io.safe_pickle.UnsafePickleError
        The pickle names a function or class beyond arrays and containers; nothing runs.
    """
    from physioaffect.io.safe_pickle import safe_load

    content = safe_load(path)
    if not isinstance(content, dict) or not {"signal", "label"} <= set(content):
        keys = sorted(map(str, content)) if isinstance(content, dict) else type(content).__name__
        raise RecordingError(f"{path}: expected a dict with keys 'signal', 'label' and "
                             f"'subject' (WESAD SX.pkl), got {keys}")
    signal = content["signal"]
    out = {"signal": {}, "subject": str(content.get("subject", ""))}
    for device in ("chest", "wrist"):
        group = signal.get(device) if isinstance(signal, dict) else None
        if not isinstance(group, dict):
            raise RecordingError(f"{path}: signal[{device!r}] is missing; expected a dict of "
                                 f"arrays")
        out["signal"][device] = {}
        for (dev, key), _ in WESAD_RATES.items():
            if dev != device:
                continue
            if key not in group:
                raise RecordingError(f"{path}: signal[{device!r}] has no key {key!r}; its keys "
                                     f"are {sorted(map(str, group))}")
            x = np.asarray(group[key])
            width = _WIDTH.get(key, 1)
            if x.ndim == 1 and width == 1:
                x = x[:, None]
            if x.dtype == object or x.ndim != 2 or x.shape[1] != width:
                raise RecordingError(f"{path}: signal[{device!r}][{key!r}] has shape {x.shape}, "
                                     f"expected (n_times, {width})")
            out["signal"][device][key] = x.astype(np.float64, copy=False)
    label = np.asarray(content["label"]).reshape(-1)
    chest = {x.shape[0] for x in out["signal"]["chest"].values()}
    if len(chest) != 1 or label.shape[0] not in chest:
        raise RecordingError(f"{path}: chest signals have {sorted(chest)} samples and 'label' "
                             f"{label.shape[0]}; expected one length (700 Hz)")
    out["label"] = label.astype(np.int64)
    wrist = out["signal"]["wrist"]
    if wrist["EDA"].shape[0] != wrist["TEMP"].shape[0]:
        raise RecordingError(f"{path}: wrist EDA has {wrist['EDA'].shape[0]} samples and TEMP "
                             f"{wrist['TEMP'].shape[0]}; expected the same (both 4 Hz)")
    return out


def _files(folder, subjects):
    found = {}
    for p in folder.iterdir():
        m = _FOLDER.match(p.name)
        if m and (p / f"{p.name}.pkl").is_file():
            found[int(m.group(1))] = p / f"{p.name}.pkl"
    wanted = sorted(found) if subjects is None else subjects
    if not found:
        raise RecordingError(f"{folder}: no SX/SX.pkl files; expected WESAD's folder "
                             f"(S2/S2.pkl ... S17/S17.pkl)")
    missing = [s for s in wanted if s not in found]
    if missing:
        raise RecordingError(f"{folder}: no file for subject(s) {missing}; expected "
                             + ", ".join(f"S{s}/S{s}.pkl" for s in missing))
    return [(s, found[s]) for s in wanted]


def load_wesad(path, *, subjects=None, cache_dir=None):
    """Load WESAD's chest and wrist signals with their condition labels.

    Every signal keeps its own rate and time axis. Subjects' recordings differ in length; they
    are right-padded with NaN (labels with 0, "transient") to the longest one loaded, and the
    ``*_n_times`` coordinates give each subject's true lengths.

    Parameters
    ----------
    path : path-like
        The WESAD folder holding ``S2/``, ``S3/``, ...
    subjects : int, str or sequence, optional
        Subject numbers (2-17) or names (``"S2"``); default all found.
    cache_dir : path-like, optional
        Folder of the cache; None caches nothing.

    Returns
    -------
    xarray.Dataset
        ``chest`` (subject, chest_channel, chest_time) at 700 Hz with channels ACC_x, ACC_y,
        ACC_z, ECG, EMG, EDA, Temp, Resp; ``wrist_acc`` (subject, acc_axis, wrist_acc_time) at
        32 Hz; ``wrist_bvp`` (subject, wrist_bvp_time) at 64 Hz; ``wrist_eda_temp`` (subject,
        wrist_channel, wrist_4hz_time) at 4 Hz with channels EDA, TEMP. Coords: ``subject``
        (numbers), times in seconds, ``label`` (subject, chest_time) conditions
        (:data:`WESAD_CONDITIONS`), ``chest_n_times``, ``wrist_acc_n_times``,
        ``wrist_bvp_n_times`` and ``wrist_4hz_n_times`` over subject. Attrs: ``dataset``,
        ``sfreq_<variable>`` per variable, ``condition_names``.

    Raises
    ------
    RecordingError
        Missing folder or file, or a pickle not in WESAD's layout.
    physioaffect.io.safe_pickle.UnsafePickleError
        A pickle that would run code.
    """
    folder = existing_folder(path, "WESAD", "SX/SX.pkl subject folders")
    files = _files(folder, subject_numbers(subjects, "WESAD"))
    params = {"subjects": [s for s, _ in files]}
    return cached("wesad", [p for _, p in files], params, cache_dir, lambda: _build(files))


def _build(files):
    import xarray as xr

    records = [read_wesad_pickle(p) for _, p in files]
    variables, coords, attrs = {}, {"subject": [s for s, _ in files]}, {"dataset": "wesad"}
    for var, (device, keys, time_dim) in _VARIABLES.items():
        per_subject = [np.concatenate([r["signal"][device][k] for k in keys], axis=1).T
                       for r in records]
        data, lengths = pad_stack(per_subject)
        sfreq = WESAD_RATES[(device, keys[0])]
        names = [n for k in keys for n in _names(k)]
        if var == "wrist_bvp":
            variables[var] = (("subject", time_dim), data[:, 0])
        else:
            channel_dim = {"chest": "chest_channel", "wrist_acc": "acc_axis"}.get(
                var, "wrist_channel")
            variables[var] = (("subject", channel_dim, time_dim), data)
            coords[channel_dim] = names if var != "wrist_acc" else ["x", "y", "z"]
        coords[time_dim] = time_coord(data.shape[-1], sfreq)
        coords[time_dim.replace("_time", "_n_times")] = ("subject", lengths)
        attrs[f"sfreq_{var}"] = sfreq
    labels, _ = pad_stack([r["label"] for r in records], fill=0, dtype=np.int64)
    coords["label"] = (("subject", "chest_time"), labels)
    attrs["condition_names"] = [WESAD_CONDITIONS[k] for k in sorted(WESAD_CONDITIONS)]
    attrs["units"] = "as distributed"
    attrs["padding"] = "NaN (label 0) after each subject's *_n_times samples"
    return xr.Dataset(variables, coords=coords, attrs=attrs)
