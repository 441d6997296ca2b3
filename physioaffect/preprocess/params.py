"""The parameters of a preprocessing run, checked once and recorded in every output."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ..errors import InvalidParameterError

__all__ = ["PreprocessParams", "FEATURES", "parse_bands", "parse_label_map"]

#: Feature sets :func:`physioaffect.preprocess.preprocess_recording` computes per window.
FEATURES = ("de", "bandpower", "bde", "peripheral")

_LABEL_SOURCES = ("auto", "none", "annotations", "events")


def _positive(value, name, *, allow_none=True):
    if value is None and allow_none:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"`{name}` must be a positive number, got {value!r}") from None
    if not math.isfinite(out) or out <= 0:
        raise InvalidParameterError(f"`{name}` must be a positive number, got {value!r}")
    return out


def parse_bands(text):
    """Bands from ``"delta:1-4,theta:4-8"`` (or a mapping), as a dict name -> (low, high) Hz.

    Raises
    ------
    InvalidParameterError
        A malformed entry, named in the message.
    """
    if isinstance(text, dict):
        items = list(text.items())
    else:
        items = []
        for entry in str(text).split(","):
            entry = entry.strip()
            if not entry:
                continue
            name, sep, edges = entry.partition(":")
            low, dash, high = edges.partition("-")
            if not sep or not dash:
                raise InvalidParameterError(
                    f"`bands`: cannot read {entry!r}; expected name:low-high, e.g. alpha:8-14")
            items.append((name.strip(), (low, high)))
    bands = {}
    for name, edges in items:
        try:
            low, high = (float(v) for v in edges)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"`bands`: band {name!r} has edges {edges!r}; expected two numbers in Hz") from None
        if not name or not (0 < low < high):
            raise InvalidParameterError(
                f"`bands`: band {name!r} has edges {low:g}-{high:g} Hz; expected 0 < low < high")
        bands[name] = (low, high)
    if not bands:
        raise InvalidParameterError(f"`bands` is empty: {text!r}")
    return bands


def parse_label_map(text):
    """Label mapping from ``"Sleep stage W=W,Sleep stage 1=N1"`` (or a mapping) as a dict."""
    if text is None:
        return None
    if isinstance(text, dict):
        return {str(k): str(v) for k, v in text.items()}
    out = {}
    for entry in str(text).split(","):
        if not entry.strip():
            continue
        key, sep, value = entry.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidParameterError(
                f"`label_map`: cannot read {entry!r}; expected description=label, e.g. "
                "'Sleep stage W=W'")
        out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class PreprocessParams:
    """How recordings become feature files (every field is recorded in the output's provenance).

    Parameters
    ----------
    picks : tuple of str, default=("eeg",)
        Channel types (MNE's: ``"eeg"``, ``"eog"``, ``"ecg"``, ...) or channel names to keep.
    reference : "none", "average" or tuple of str, default="none"
        Re-reference the picked EEG to their average or to the mean of the named channels.
    notch : float, optional
        Line frequency in Hz: IIR notches at it and its harmonics below Nyquist.
    l_freq, h_freq : float, optional
        Butterworth high-pass / low-pass (band-pass with both) edges in Hz, applied causally with
        the state carried across chunks.
    filter_order : int, default=4
    resample : float, optional
        Output rate in Hz (polyphase, :func:`scipy.signal.resample_poly`'s filter, streamed).
    window, step : float
        Window length and hop in seconds (``step`` defaults to ``window``).
    features : tuple of str, default=("de",)
        Any of :data:`FEATURES`: differential entropy per band (``"de"``), Welch band power
        (``"bandpower"``), RBTransformer's band-DE tokens per window (``"bde"``), EDA/PPG/
        respiration features of the matching channels (``"peripheral"``).
    bands : dict of str to (float, float), optional
        Band edges in Hz for ``de`` and ``bandpower``; default
        :data:`physioaffect.features.DEFAULT_BANDS`.
    zero_phase : bool, default=True
        Zero-phase band filters for ``de``.
    baseline : (float, float), optional
        Start and stop (s) of a rest segment whose DE (over the whole segment) is subtracted from
        every window's ``de`` and ``bde``.
    labels : {"auto", "none", "annotations", "events"}, default="auto"
        Window labels: the annotation covering the window's centre, the code of the last trigger
        event at or before the window's start, or none. ``"auto"`` takes annotations when the
        recording has annotations with a duration, else none.
    label_map : dict of str to str, optional
        Annotation description (or event code, as text) to label; unmapped ones label nothing.
    drop_unlabelled : bool, default=False
        Drop windows without a label.
    chunk_duration : float, default=60.0
        Seconds read and filtered at a time: peak memory scales with it, not with the recording.
    """

    picks: tuple = ("eeg",)
    reference: object = "none"
    notch: float | None = None
    l_freq: float | None = None
    h_freq: float | None = None
    filter_order: int = 4
    resample: float | None = None
    window: float = 4.0
    step: float | None = None
    features: tuple = ("de",)
    bands: dict | None = None
    zero_phase: bool = True
    baseline: tuple | None = None
    labels: str = "auto"
    label_map: dict | None = field(default=None)
    drop_unlabelled: bool = False
    chunk_duration: float = 60.0

    def __post_init__(self):
        set_ = object.__setattr__
        picks = (self.picks,) if isinstance(self.picks, str) else tuple(self.picks)
        if not picks or not all(isinstance(p, str) and p for p in picks):
            raise InvalidParameterError(
                f"`picks` must be channel types or names, got {self.picks!r}")
        set_(self, "picks", picks)
        ref = self.reference
        if ref is None:
            ref = "none"
        if not isinstance(ref, str):
            ref = tuple(ref)
            if not ref or not all(isinstance(r, str) and r for r in ref):
                raise InvalidParameterError(
                    f"`reference` must be 'none', 'average' or channel names, got {self.reference!r}")
        set_(self, "reference", ref)
        for name in ("notch", "l_freq", "h_freq", "resample", "step"):
            set_(self, name, _positive(getattr(self, name), name))
        set_(self, "window", _positive(self.window, "window", allow_none=False))
        set_(self, "chunk_duration", _positive(self.chunk_duration, "chunk_duration",
                                               allow_none=False))
        if self.l_freq is not None and self.h_freq is not None and self.l_freq >= self.h_freq:
            raise InvalidParameterError(
                f"`l_freq` ({self.l_freq:g} Hz) must be below `h_freq` ({self.h_freq:g} Hz)")
        if isinstance(self.filter_order, bool) or not isinstance(self.filter_order, int) \
                or not 1 <= self.filter_order <= 10:
            raise InvalidParameterError(
                f"`filter_order` must be an integer from 1 to 10, got {self.filter_order!r}")
        features = (self.features,) if isinstance(self.features, str) else tuple(self.features)
        unknown = [f for f in features if f not in FEATURES]
        if not features or unknown:
            raise InvalidParameterError(
                f"`features` must be some of {', '.join(FEATURES)}; got {', '.join(features)}")
        set_(self, "features", tuple(dict.fromkeys(features)))
        if self.bands is not None:
            set_(self, "bands", parse_bands(self.bands))
        if self.baseline is not None:
            try:
                start, stop = (float(v) for v in self.baseline)
            except (TypeError, ValueError):
                raise InvalidParameterError(
                    f"`baseline` must be (start, stop) in seconds, got {self.baseline!r}") from None
            if not (0 <= start < stop):
                raise InvalidParameterError(
                    f"`baseline` must satisfy 0 <= start < stop, got ({start:g}, {stop:g})")
            set_(self, "baseline", (start, stop))
        if self.labels not in _LABEL_SOURCES:
            raise InvalidParameterError(
                f"`labels` must be one of {', '.join(_LABEL_SOURCES)}, got {self.labels!r}")
        set_(self, "label_map", parse_label_map(self.label_map))
        set_(self, "zero_phase", bool(self.zero_phase))
        set_(self, "drop_unlabelled", bool(self.drop_unlabelled))

    def to_dict(self) -> dict:
        """Plain JSON-able mapping of every field (tuples as lists)."""
        out = asdict(self)
        out["bands"] = None if self.bands is None else {k: list(v) for k, v in self.bands.items()}
        for key in ("picks", "features"):
            out[key] = list(out[key])
        if not isinstance(self.reference, str):
            out["reference"] = list(self.reference)
        if self.baseline is not None:
            out["baseline"] = list(self.baseline)
        return out
