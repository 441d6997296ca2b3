"""Read EDF, EDF+, BDF, BDF+ and GDF recordings through MNE, explicitly.

MNE's readers do the decoding. This module adds what they leave implicit:

* the header of an EDF or BDF file is checked first, so that a truncated or corrupt file is refused
  with the file name and the reason, instead of being read short;
* EDF+D and BDF+D files (discontinuous: their data records have gaps between them) are refused,
  since MNE would join the records as if they were contiguous;
* annotation-only EDF+/BDF+ files (hypnograms, event lists) are recognised and sent to
  :func:`read_annotations`;
* a file whose signals have different sampling rates gives a warning that names every channel and
  its native rate (MNE upsamples the slower channels to the fastest rate on read);
* channel types are inferred from the labels when the file leaves them as EEG.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from physioaffect.errors import InvalidParameterError, RecordingError

__all__ = ["read_recording", "read_annotations", "recording_info", "infer_channel_type",
           "SUFFIXES"]

#: File suffixes read by :func:`read_recording` (matched case-insensitively) and their format.
SUFFIXES = {".edf": "EDF", ".bdf": "BDF", ".gdf": "GDF"}

_ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")

# Label words -> MNE channel type, first match wins. A word matches a token of the label (the label
# lower-cased and split at every character that is not a letter or a digit) when the token starts
# with it, so that "EOG1", "ECG-II" and "Resp oro-nasal" are recognised.
_TYPE_RULES = (
    ("stim", ("status", "trigger", "trig", "dtrig", "stim", "marker")),
    ("eog", ("eog", "heog", "veog")),
    ("emg", ("emg",)),
    ("ecg", ("ecg", "ekg")),
    ("resp", ("resp", "flow", "airflow", "thorax", "thor", "abdomen", "abdo", "abd", "effort")),
    ("misc", ("ppg", "pleth", "bvp")),
    ("gsr", ("eda", "gsr")),
    ("temperature", ("temp",)),
)


def infer_channel_type(label):
    """The MNE channel type that a channel label names, or None when it names none.

    Parameters
    ----------
    label : str
        Channel label as written in the file, e.g. ``"EOG horizontal"`` or ``"Resp oro-nasal"``.

    Returns
    -------
    str or None
        ``"stim"`` (status, trigger, stim, marker), ``"eog"``, ``"emg"``, ``"ecg"`` (ECG, EKG),
        ``"resp"`` (resp, flow, thorax, abdomen, effort), ``"misc"`` (PPG, pleth, BVP: MNE has no
        photoplethysmography type), ``"gsr"`` (EDA, GSR), ``"temperature"`` (temp), else None.

    Examples
    --------
    >>> infer_channel_type("EOG horizontal"), infer_channel_type("Pleth")
    ('eog', 'misc')
    >>> infer_channel_type("EEG Fpz-Cz") is None
    True
    """
    tokens = [t for t in re.split(r"[^0-9a-z]+", str(label).lower()) if t]
    for ch_type, words in _TYPE_RULES:
        if any(token.startswith(word) for token in tokens for word in words):
            return ch_type
    return None


# --------------------------------------------------------------------------------------------
# EDF/BDF header
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Header:
    """What the EDF/BDF header says, checked against the file size."""

    format: str  # "EDF", "EDF+C", "EDF+D", "BDF", "BDF+C", "BDF+D"
    labels: tuple
    units: tuple
    samples_per_record: tuple
    n_records: int
    record_duration: float
    start: object  # datetime.datetime in UTC, or None where the header's date is unreadable

    @property
    def signal_indices(self):
        """Indices of the data signals (every signal but the annotation ones)."""
        return [i for i, label in enumerate(self.labels) if label not in _ANNOTATION_LABELS]

    @property
    def annotation_only(self):
        return not self.signal_indices

    def rate(self, i):
        if self.record_duration <= 0:
            return float("nan")
        return self.samples_per_record[i] / self.record_duration


def _field(raw, start, size, name, path, kind=str):
    text = raw[start:start + size].decode("ascii", errors="replace").strip()
    if kind is str:
        return text
    try:
        return kind(text)
    except ValueError:
        raise RecordingError(
            f"{path}: corrupt header: field '{name}' is {text!r}, expected "
            f"{'an integer' if kind is int else 'a number'}") from None


def _read_header(path, kind):
    """Parse and check the header of the EDF (``kind="EDF"``) or BDF file ``path``."""
    size = path.stat().st_size
    with open(path, "rb") as fid:
        fixed = fid.read(256)
        if len(fixed) < 256:
            raise RecordingError(
                f"{path}: truncated or not an {kind} file: {len(fixed)} bytes, expected a "
                "256-byte header at least")
        magic = fixed[:8]
        if kind == "BDF" and magic != b"\xffBIOSEMI":
            raise RecordingError(
                f"{path}: not a BDF file: first 8 bytes are {magic!r}, expected b'\\xffBIOSEMI'")
        if kind == "EDF" and magic.strip() != b"0":
            raise RecordingError(
                f"{path}: not an EDF file: version field is {magic!r}, expected b'0       '")
        header_bytes = _field(fixed, 184, 8, "number of bytes in header", path, int)
        reserved = _field(fixed, 192, 44, "reserved", path)
        n_records = _field(fixed, 236, 8, "number of data records", path, int)
        duration = _field(fixed, 244, 8, "duration of a data record", path, float)
        ns = _field(fixed, 252, 4, "number of signals", path, int)
        if ns < 0 or header_bytes != 256 * (ns + 1):
            raise RecordingError(
                f"{path}: corrupt header: {ns} signals and {header_bytes} header bytes, expected "
                f"256 * (number of signals + 1) = {256 * (max(ns, 0) + 1)} bytes")
        signals = fid.read(256 * ns)
    if len(signals) < 256 * ns:
        raise RecordingError(
            f"{path}: truncated header: {256 + len(signals)} bytes, expected {header_bytes}")

    def column(offset, width, name, kind_=str):
        base = offset * ns
        return tuple(_field(signals, base + i * width, width, f"{name} of signal {i + 1}", path,
                            kind_) for i in range(ns))

    labels = column(0, 16, "label")
    units = column(96, 8, "physical dimension")
    samples = column(216, 8, "samples per data record", int)
    if any(n < 0 for n in samples):
        raise RecordingError(f"{path}: corrupt header: negative samples per data record {samples}")

    fmt = kind
    for variant in ("+C", "+D"):
        if reserved.startswith(("EDF" + variant, "BDF" + variant)):
            fmt = kind + variant
    record_bytes = sum(samples) * (3 if kind == "BDF" else 2)
    data_bytes = size - header_bytes
    if n_records >= 0 and record_bytes > 0 and data_bytes < n_records * record_bytes:
        raise RecordingError(
            f"{path}: truncated file: the header declares {n_records} data records of "
            f"{record_bytes} bytes ({n_records * record_bytes} bytes of data), the file holds "
            f"{max(data_bytes, 0)} bytes of data")
    if n_records < 0 and record_bytes > 0:  # -1: unknown, written while recording
        n_records = data_bytes // record_bytes
    return _Header(fmt, labels, units, samples, n_records, duration,
                   _start(_field(fixed, 168, 8, "startdate", path),
                          _field(fixed, 176, 8, "starttime", path)))


def _start(date, time):
    """Start of the recording from the header's dd.mm.yy and hh.mm.ss (years 1985-2084)."""
    from datetime import datetime, timezone

    try:
        day, month, year = (int(v) for v in date.split("."))
        hour, minute, second = (int(v) for v in time.split("."))
        year += 1900 if year >= 85 else 2000
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------

def _check_path(path):
    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise InvalidParameterError(
            f"path_or_raw must be a path or an mne.io.BaseRaw, got {type(path).__name__}") from None
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise RecordingError(
            f"{path}: unknown file suffix {path.suffix!r}, expected one of "
            f"{', '.join(SUFFIXES)} (any case)")
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    return path, SUFFIXES[suffix]


def _header_or_none(path, kind):
    return _read_header(path, kind) if kind in ("EDF", "BDF") else None


def _refuse_unreadable_layout(path, header):
    if header is None:
        return
    if header.annotation_only:
        raise RecordingError(
            f"{path}: annotation-only file ({header.format} with no data signal, only "
            f"{len(header.labels)} annotation signal(s)); use read_annotations")
    if header.format.endswith("+D"):
        raise RecordingError(
            f"{path}: {header.format} file is discontinuous (its data records have gaps in "
            "time), and MNE would join them as if they were contiguous; convert it into one "
            f"{header.format[:3]}+C file per continuous segment (e.g. with EDFbrowser's "
            "'EDF+D to EDF+C' tool) and read each segment")


def _warn_mixed_rates(path, header):
    if header is None:
        return
    rates = {}
    for i in header.signal_indices:
        rates.setdefault(header.rate(i), []).append(header.labels[i])
    if len(rates) < 2:
        return
    top = max(rates)
    listing = "; ".join(f"{rate:g} Hz: {', '.join(names)}"
                        for rate, names in sorted(rates.items(), reverse=True))
    warnings.warn(
        f"{path}: channels have different native sampling rates ({listing}); MNE upsamples "
        f"every channel to {top:g} Hz on read (FFT resampling, with edge artifacts unless "
        "preload=True); the native rates are in recording_info(path)",
        RuntimeWarning, stacklevel=3)


def _stim_labels(header):
    """Labels of the signals named as trigger/status channels (read unscaled by MNE)."""
    labels = [header.labels[i] for i in header.signal_indices]
    if len(set(labels)) != len(labels):  # MNE renames duplicates; leave the choice to MNE
        return []
    return [label for label in labels if infer_channel_type(label) == "stim"]


def _mne_read(path, kind, preload, stim_channel):
    import mne

    readers = {"EDF": mne.io.read_raw_edf, "BDF": mne.io.read_raw_bdf, "GDF": mne.io.read_raw_gdf}
    try:
        with warnings.catch_warnings():
            # Mixed rates are reported by _warn_mixed_rates; this one is MNE's version of it.
            warnings.filterwarnings("ignore", message=".*mixed sampling frequencies.*")
            return readers[kind](path, preload=preload, stim_channel=stim_channel,
                                 verbose="error")
    except Exception as exc:  # MNE raises ValueError, OSError, RuntimeError, ...
        raise RecordingError(f"{path}: MNE cannot read this {kind} file: "
                             f"{type(exc).__name__}: {exc}") from exc


def _set_inferred_types(raw):
    mapping = {}
    for name, ch_type in zip(raw.ch_names, raw.get_channel_types(), strict=True):
        if ch_type == "eeg":
            inferred = infer_channel_type(name)
            if inferred is not None:
                mapping[name] = inferred
    if mapping:
        raw.set_channel_types(mapping, on_unit_change="ignore", verbose="error")


def read_annotations(path):
    """Read the annotations of a file, e.g. an annotation-only EDF+/BDF+ hypnogram.

    Parameters
    ----------
    path : path-like
        An EDF+, BDF+ or GDF file (annotation-only or not), or any file
        :func:`mne.read_annotations` reads (``.txt``, ``.csv``, ``.fif``, ...).

    Returns
    -------
    mne.Annotations
        Onsets in seconds (relative to ``orig_time``, the start of the recording the annotations
        belong to), durations in seconds and descriptions (e.g. ``"Sleep stage W"``).

    Raises
    ------
    physioaffect.errors.RecordingError
        The file is missing, or MNE cannot read annotations from it.
    """
    import mne

    path = Path(os.fspath(path))
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind in ("EDF", "BDF"):
        _read_header(path, kind)
    try:
        with mne.utils.use_log_level("error"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return mne.read_annotations(path)
    except Exception as exc:
        raise RecordingError(f"{path}: cannot read annotations: "
                             f"{type(exc).__name__}: {exc}") from exc


def read_recording(path_or_raw, *, preload=False, annotations=None, stim_channel="auto"):
    """Read an EDF, EDF+, BDF, BDF+ or GDF recording into an MNE Raw object.

    The reader is chosen by the file suffix (``.edf``, ``.bdf``, ``.gdf``, any case). The header
    of EDF and BDF files is checked before MNE reads them (see Raises). Channels that the file
    leaves as EEG take the type their label names (:func:`infer_channel_type`): EOG, EMG,
    ECG/EKG, respiration (``"resp"``), PPG/pleth (``"misc"``: MNE has no photoplethysmography
    type), EDA/GSR (``"gsr"``), temperature and status/trigger/marker (``"stim"``).

    Parameters
    ----------
    path_or_raw : path-like or mne.io.BaseRaw
        The recording file, or a Raw object, which is returned as is (a copy when
        ``annotations`` is given; its channel types are left unchanged).
    preload : bool, default=False
        Load the data into memory now; with False, MNE reads from the file on demand.
    annotations : path-like or mne.Annotations, optional
        Annotations to attach to the recording (replacing the file's own), e.g. the hypnogram of
        a polysomnography; those outside the recording's time span are dropped by MNE.
    stim_channel : "auto" or str or int or list, default="auto"
        Passed to MNE's reader: the trigger channel(s), read as integers without unit scaling;
        ``"auto"`` takes the channels whose label names a trigger (:func:`infer_channel_type`
        gives ``"stim"``: Status, Trigger, DTRIG, Marker, ...), else, as MNE does, channels named
        ``Status`` or ``Trigger`` (any case).

    Returns
    -------
    mne.io.BaseRaw
        The MNE Raw object itself (``RawEDF`` for EDF and BDF, ``RawGDF``): data in volts for
        electrophysiological channels, as MNE gives it. With mixed sampling rates every channel is
        upsampled to the fastest rate (see Warns).

    Raises
    ------
    physioaffect.errors.RecordingError
        The file is missing, has an unknown suffix, is truncated or corrupt, is an
        annotation-only EDF+/BDF+ file (use :func:`read_annotations`), is discontinuous
        (EDF+D/BDF+D), or MNE cannot read it.
    physioaffect.errors.InvalidParameterError
        ``path_or_raw`` is neither a path nor a Raw object.

    Warns
    -----
    RuntimeWarning
        The channels have different native sampling rates: the message lists each rate and its
        channels, since MNE upsamples them to the fastest rate on read.

    See Also
    --------
    read_annotations, recording_info

    Examples
    --------
    >>> raw = read_recording("night.edf", annotations="night-hypnogram.edf")  # doctest: +SKIP
    """
    import mne

    if isinstance(path_or_raw, mne.io.BaseRaw):
        raw = path_or_raw
        if annotations is not None:
            raw = raw.copy()
    else:
        path, kind = _check_path(path_or_raw)
        header = _header_or_none(path, kind)
        _refuse_unreadable_layout(path, header)
        _warn_mixed_rates(path, header)
        if isinstance(stim_channel, str) and stim_channel == "auto" and header is not None:
            stim_channel = _stim_labels(header) or "auto"
        raw = _mne_read(path, kind, preload, stim_channel)
        _set_inferred_types(raw)
    if annotations is not None:
        if not isinstance(annotations, mne.Annotations):
            annotations = read_annotations(annotations)
        raw.set_annotations(annotations, verbose="error")
    return raw


def recording_info(path):
    """Describe a recording file: channels, rates, duration, start, annotations, format.

    Parameters
    ----------
    path : path-like
        An EDF, EDF+, BDF, BDF+ or GDF file. Annotation-only EDF+/BDF+ files are described too
        (no channels, their annotations counted).

    Returns
    -------
    dict
        ``path`` (str), ``format`` (e.g. ``"EDF+C"``, ``"BDF"``, ``"GDF"``), ``annotation_only``
        (bool), ``channels`` (list of dicts with ``name``, ``type`` (MNE channel type after
        label inference), ``sfreq`` (native rate in Hz, from the header for EDF/BDF) and
        ``unit`` (as written in the file)), ``sfreq`` (rate of the data MNE returns, Hz),
        ``duration`` (s), ``start`` (:class:`datetime.datetime` in UTC, or None),
        ``n_annotations`` (int) and ``warnings`` (list of str: what reading the file warned).

    Raises
    ------
    physioaffect.errors.RecordingError
        As :func:`read_recording`, except for annotation-only files.
    """
    path, kind = _check_path(path)
    header = _header_or_none(path, kind)
    if header is not None and header.annotation_only:
        annotations = read_annotations(path)
        start = annotations.orig_time or header.start
        return {"path": str(path), "format": header.format, "annotation_only": True,
                "channels": [], "sfreq": None,
                "duration": float(max((o + d for o, d in zip(annotations.onset,
                                                              annotations.duration,
                                                              strict=True)), default=0.0)),
                "start": start, "n_annotations": len(annotations), "warnings": []}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = read_recording(path)
    sfreq = float(raw.info["sfreq"])
    native = {}
    units = dict(getattr(raw, "_orig_units", {}) or {})
    if header is not None and len(header.signal_indices) == len(raw.ch_names):
        for name, i in zip(raw.ch_names, header.signal_indices, strict=True):
            native[name] = header.rate(i)
            units[name] = header.units[i]
    channels = [{"name": name, "type": ch_type, "sfreq": float(native.get(name, sfreq)),
                 "unit": units.get(name, "")}
                for name, ch_type in zip(raw.ch_names, raw.get_channel_types(), strict=True)]
    return {"path": str(path), "format": header.format if header is not None else kind,
            "annotation_only": False, "channels": channels, "sfreq": sfreq,
            "duration": raw.n_times / sfreq, "start": raw.info["meas_date"],
            "n_annotations": len(raw.annotations),
            "warnings": [" ".join(str(w.message).split()) for w in caught]}
