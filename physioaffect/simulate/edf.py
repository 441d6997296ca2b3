"""Write simulated recordings as EDF+ or BDF+ files, with annotations.

Files are written with edfio (``edfio.Edf`` for EDF, 16-bit samples; ``edfio.Bdf`` for BDF,
24-bit samples). Each channel's physical range is its data range (edfio widens it to fit the
8-character header field), so one digital step is ``(max - min) / 65535`` for EDF and
``(max - min) / 16777215`` for BDF. Signals in volts are stored in microvolts ("uV"), which MNE
reads back as volts.

Every file is written under a temporary name in the target folder and renamed when complete, so
an interrupted write leaves no partial file under the final name.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

from .._validation import check_sfreq, check_signal
from ..errors import InvalidParameterError, RecordingError

__all__ = ["write_edf", "write_study"]

_FORMATS = ("edf", "bdf")


def _check_format(format, path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if format is None:
        if suffix not in _FORMATS:
            raise InvalidParameterError(
                f"`format` is None and the suffix of {str(path)!r} is neither .edf nor .bdf; "
                "pass format='edf' or format='bdf'")
        return suffix
    fmt = str(format).lower()
    if fmt not in _FORMATS:
        raise InvalidParameterError(f"`format` must be 'edf', 'bdf' or None, got {format!r}")
    if suffix in _FORMATS and suffix != fmt:
        raise InvalidParameterError(
            f"`format`={format!r} does not match the suffix of {str(path)!r}; readers choose "
            "the decoder by suffix")
    return fmt


def _record_duration(n_times: int, sfreq: float) -> float:
    """Data-record duration (s): a whole number of samples per record and of records per file,
    as close to 1 s as possible, and writable in the 8-character header field."""
    target = max(1, int(round(sfreq)))
    candidates = [d for d in range(max(1, target // 2), min(n_times, 4 * target) + 1)
                  if n_times % d == 0]
    candidates = sorted(candidates, key=lambda d: abs(d - target)) + [n_times]
    for samples in candidates:
        seconds = samples / sfreq
        text = f"{seconds:.8g}"
        if len(text) <= 8 and float(text) * sfreq == samples:
            return float(text)
    raise InvalidParameterError(
        f"cannot split {n_times} samples at sfreq={sfreq:g} Hz into EDF data records whose "
        "duration fits the 8-character header field; trim the data to a whole number of seconds")


def _check_annotations(annotations, duration: float):
    out = []
    for i, item in enumerate(annotations or ()):
        try:
            onset, length, text = item
            onset = float(onset)
            length = None if length is None else float(length)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"`annotations[{i}]` must be (onset_s, duration_s or None, text), got {item!r}"
            ) from exc
        if not 0 <= onset <= duration or (length is not None and length < 0):
            raise InvalidParameterError(
                f"`annotations[{i}]` must start within [0, {duration:g}] s with a duration >= 0, "
                f"got onset {onset:g} s, duration {length}")
        out.append((onset, length, str(text)))
    return out


def write_edf(data, sfreq, ch_names, path, *, annotations=None, format=None, unit="V",
              overwrite=False) -> Path:
    """Write one multichannel recording as an EDF+ or BDF+ file.

    Parameters
    ----------
    data : array-like of shape (n_channels, n_times)
        Samples in ``unit``.
    sfreq : float
        Sampling rate in Hz.
    ch_names : sequence of str, length n_channels
        Channel labels (at most 16 characters each).
    path : str or path-like
        Target file; its folder must exist.
    annotations : iterable of (float, float or None, str), optional
        (onset in s, duration in s or None, text), written as EDF+ annotations.
    format : {"edf", "bdf"} or None, default=None
        File format; None takes it from the suffix of ``path``.
    unit : str, default="V"
        Unit of ``data``. Volts are stored as microvolts ("uV"); any other unit is stored as is
        (at most 8 characters).
    overwrite : bool, default=False
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    InvalidParameterError
        On bad data, names, annotations or format.
    RecordingError
        If the file exists and ``overwrite`` is False, or cannot be written.
    """
    import edfio

    path = Path(path)
    fmt = _check_format(format, path)
    sfreq = check_sfreq(sfreq)
    data = check_signal(data, name="data", min_ndim=2, max_ndim=2)
    ch_names = [str(ch) for ch in ch_names]
    if len(ch_names) != data.shape[0]:
        raise InvalidParameterError(
            f"`ch_names` must name the {data.shape[0]} channels of `data`, got {len(ch_names)}")
    if any(len(ch) > 16 for ch in ch_names):
        raise InvalidParameterError(
            f"`ch_names` must be at most 16 characters (EDF labels), got {ch_names}")
    if data.shape[1] == 0:
        raise InvalidParameterError("`data` must hold at least one sample, got shape "
                                    f"{data.shape}")
    if unit == "V":
        data, dimension = data * 1e6, "uV"
    else:
        dimension = str(unit)
        if len(dimension) > 8:
            raise InvalidParameterError(f"`unit` must be at most 8 characters, got {unit!r}")
    duration = data.shape[1] / sfreq
    notes = _check_annotations(annotations, duration)
    if path.exists() and not overwrite:
        raise RecordingError(f"{str(path)!r} exists; pass overwrite=True to replace it")

    signal_class, file_class = ((edfio.EdfSignal, edfio.Edf) if fmt == "edf"
                                else (edfio.BdfSignal, edfio.Bdf))
    signals = []
    for ch, row in zip(ch_names, data, strict=True):
        low, high = float(row.min()), float(row.max())
        if low == high:
            low, high = low - 1.0, high + 1.0
        signals.append(signal_class(row, sfreq, label=ch, physical_dimension=dimension,
                                    physical_range=(low, high)))
    recording = file_class(
        signals, data_record_duration=_record_duration(data.shape[1], sfreq),
        annotations=[edfio.EdfAnnotation(onset, length, text) for onset, length, text in notes])

    tmp_name = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        with open(tmp_name, "xb") as handle:
            recording.write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as exc:
        raise RecordingError(f"cannot write {str(path)!r}: {exc}") from exc
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return path


def write_study(ds, directory, *, format="edf", overwrite=False) -> list[Path]:
    """Write a simulated study as one EDF+/BDF+ file per subject and trial.

    Each file holds the trial's baseline followed by its stimulus EEG, with two annotations:
    ``"baseline"`` (onset 0, over the baseline) and ``"stimulus valence=V arousal=A"`` (at the
    end of the baseline, over the stimulus), V and A being the trial's ratings.

    Parameters
    ----------
    ds : xarray.Dataset
        Output of :func:`physioaffect.simulate.study`.
    directory : str or path-like
        Output folder, created if missing.
    format : {"edf", "bdf"}, default="edf"
    overwrite : bool, default=False
        Replace existing files.

    Returns
    -------
    list of pathlib.Path
        One file per (subject, trial), named ``{subject}_trial{trial:02d}.{format}``, in
        subject-major order.
    """
    if format not in _FORMATS:
        raise InvalidParameterError(f"`format` must be 'edf' or 'bdf', got {format!r}")
    missing = [name for name in ("eeg", "baseline", "valence", "arousal") if name not in ds]
    if missing or "sfreq" not in ds.attrs:
        raise InvalidParameterError(
            "`ds` must be a study Dataset with eeg, baseline, valence, arousal and an sfreq attr; "
            f"missing {missing + ([] if 'sfreq' in ds.attrs else ['sfreq'])}")
    sfreq = float(ds.attrs["sfreq"])
    unit = ds["eeg"].attrs.get("units", ds.attrs.get("units", "V"))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ch_names = [str(ch) for ch in ds["channel"].values]
    eeg = ds["eeg"].transpose("subject", "trial", "channel", "time").values
    base = ds["baseline"].transpose("subject", "trial", "channel", "baseline_time").values
    n_base = base.shape[-1]
    ratings = {name: ds[name].transpose("subject", "trial").values
               for name in ("valence", "arousal")}
    paths = []
    for s, subject in enumerate(ds["subject"].values):
        for t, trial in enumerate(ds["trial"].values):
            valence = int(ratings["valence"][s, t])
            arousal = int(ratings["arousal"][s, t])
            notes = []
            if n_base:
                notes.append((0.0, n_base / sfreq, "baseline"))
            notes.append((n_base / sfreq, eeg.shape[-1] / sfreq,
                          f"stimulus valence={valence} arousal={arousal}"))
            path = directory / f"{subject}_trial{int(trial):02d}.{format}"
            paths.append(write_edf(np.concatenate([base[s, t], eeg[s, t]], axis=-1), sfreq,
                                   ch_names, path, annotations=notes, format=format, unit=unit,
                                   overwrite=overwrite))
    return paths
