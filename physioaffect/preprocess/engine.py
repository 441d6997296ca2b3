"""One recording in, one labelled feature Dataset out, read and filtered chunk by chunk.

The flow per chunk (``chunk_duration`` seconds of the input):

1. read the picked channels (and any reference channels) from the file (MNE, lazily);
2. re-reference;
3. notch and band-pass with :class:`~physioaffect.signal.StreamingFilter` (causal, delays carried
   from chunk to chunk: the same output as filtering the whole recording at once);
4. resample with :class:`~physioaffect.signal.StreamingResampler` (the output of
   :func:`scipy.signal.resample_poly` over the whole recording);
5. compute the features of every window the processed signal now covers, and drop the samples no
   later window needs.

Differential entropy with zero-phase band filters needs signal on both sides of a window. Each
block of windows is filtered together with ``context`` seconds of the processed signal on either
side (the settling time of the slowest band filter, to 1e-20 of its impulse response's energy),
so block results equal the whole-recording ones to within 1e-9 nats (tested), while
memory stays bounded by the chunk and block lengths, whatever the recording's length.

:func:`compute_features` returns the features as NumPy arrays
(:class:`~physioaffect.io.store.FeatureArrays`), which the batch runner writes without importing
xarray; :func:`preprocess_recording` returns the same as an :class:`xarray.Dataset`.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from pathlib import Path

import numpy as np

from ..errors import InvalidParameterError, RecordingError
from .params import PreprocessParams

__all__ = ["compute_features", "preprocess_recording", "settling_time"]

_BLOCK_SECONDS = 300.0  # processed signal per feature block (besides its context)
_CONTEXT_TOL = 1e-20  # impulse-response energy left beyond the context (amplitude 1e-10)
_PERIPHERAL = {"eda": ("gsr",), "ppg": ("misc",), "respiration": ("resp",)}
_PPG_WORDS = ("ppg", "pleth", "bvp")


@functools.lru_cache(maxsize=32)
def _settling_cached(sos_bytes, n_sections, sfreq, tol):
    from scipy.signal import sosfilt

    sos = np.frombuffer(sos_bytes).reshape(n_sections, 6).copy()
    n = int(max(sfreq * 4, 64))
    while True:
        impulse = np.zeros(n)
        impulse[0] = 1.0
        h = sosfilt(sos, impulse)
        energy = np.cumsum(h[::-1] ** 2)[::-1]  # tail energy from each sample on
        total = energy[0]
        below = np.flatnonzero(energy <= tol * total)
        if below.size and below[0] < n // 2:
            return int(below[0])
        n *= 2
        if n > sfreq * 3600:
            return int(n)


def settling_time(sos, sfreq, *, tol=1e-12):
    """Seconds after which a filter's impulse response holds less than ``tol`` of its energy.

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
    sfreq : float
        Hz.
    tol : float, default=1e-12

    Returns
    -------
    float
        Seconds.
    """
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    return _settling_cached(sos.tobytes(), sos.shape[0], float(sfreq), float(tol)) / sfreq


def _source_name(source):
    filenames = getattr(source, "filenames", None)
    if filenames:
        return str(filenames[0])
    return str(source)


def _native_rates(raw, source):
    """Channel name -> native rate in Hz for EDF/BDF files (empty where unknown)."""
    from ..io.recording import SUFFIXES, _read_header

    filenames = getattr(raw, "filenames", None) or ()
    if not filenames or filenames[0] is None:
        return {}
    path = Path(filenames[0])
    kind = SUFFIXES.get(path.suffix.lower())
    if kind not in ("EDF", "BDF"):
        return {}
    header = _read_header(path, kind)
    return {header.labels[i]: header.rate(i) for i in header.signal_indices}


def _resolve_picks(raw, picks, source):
    types = raw.get_channel_types()
    names = raw.ch_names
    lowered = {n.lower(): n for n in names}
    chosen = []
    for pick in picks:
        if pick in names or pick.lower() in lowered:
            chosen.append(pick if pick in names else lowered[pick.lower()])
            continue
        matches = [n for n, t in zip(names, types, strict=True) if t == pick.lower()]
        chosen.extend(matches)
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        listing = ", ".join(f"{n} ({t})" for n, t in zip(names, types, strict=True))
        raise RecordingError(
            f"{source}: no channel matches picks {', '.join(picks)}; expected channels of that "
            f"type or name; the file has: {listing}")
    return chosen


def _filter_sos(params, sfreq, source):
    from ..signal.filters import bandpass_sos, highpass_sos, lowpass_sos, notch_sos

    parts = []
    nyquist = sfreq / 2
    if params.notch is not None:
        if params.notch >= nyquist:
            raise RecordingError(
                f"{source}: notch at {params.notch:g} Hz is not below Nyquist ({nyquist:g} Hz) "
                f"of this {sfreq:g}-Hz recording")
        parts.append(notch_sos(params.notch, sfreq, harmonics=int(nyquist // params.notch)))
    lo, hi = params.l_freq, params.h_freq
    if hi is not None and hi >= nyquist:
        raise RecordingError(
            f"{source}: h_freq {hi:g} Hz is not below Nyquist ({nyquist:g} Hz) of this "
            f"{sfreq:g}-Hz recording")
    if lo is not None and hi is not None:
        parts.append(bandpass_sos(lo, hi, sfreq, order=params.filter_order))
    elif lo is not None:
        parts.append(highpass_sos(lo, sfreq, order=params.filter_order))
    elif hi is not None:
        parts.append(lowpass_sos(hi, sfreq, order=params.filter_order))
    return np.concatenate(parts, axis=0) if parts else None


def _annotations(raw):
    ann = raw.annotations
    if ann is None or len(ann) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=object)
    onset = np.asarray(ann.onset, dtype=float)
    if ann.orig_time is not None:
        onset = onset - raw.first_time
    return onset, np.asarray(ann.duration, dtype=float), np.asarray(ann.description, dtype=object)


def _window_labels(params, onsets, window, ann, events, sfreq_in):
    """Label per window (empty string: none) and the source used."""
    a_onset, a_duration, a_desc = ann
    source = params.labels
    if source == "auto":
        source = "annotations" if np.any(a_duration > 0) else "none"
    labels = np.full(len(onsets), "", dtype=object)
    if source == "none":
        return None, source
    mapping = params.label_map
    if source == "annotations":
        centre = onsets + window / 2
        keep = a_duration > 0
        a_onset, a_duration, a_desc = a_onset[keep], a_duration[keep], a_desc[keep]
        order = np.argsort(a_onset, kind="stable")
        a_onset, a_duration, a_desc = a_onset[order], a_duration[order], a_desc[order]
        idx = np.searchsorted(a_onset, centre, side="right") - 1
        for w, i in enumerate(idx):
            if i >= 0 and centre[w] < a_onset[i] + a_duration[i]:
                desc = str(a_desc[i])
                labels[w] = mapping.get(desc, "") if mapping is not None else desc
    else:
        if events is None or len(events) == 0:
            return labels, source
        times = events[:, 0] / sfreq_in
        codes = events[:, 2]
        idx = np.searchsorted(times, onsets + 1e-9, side="right") - 1
        for w, i in enumerate(idx):
            if i >= 0:
                code = str(int(codes[i]))
                labels[w] = mapping.get(code, "") if mapping is not None else code
    return labels, source


class _Blocks:
    """Window features of blocks of windows from a bounded buffer of the processed signal."""

    def __init__(self, params, sfreq, n_out, n_channels, n_jobs):
        from ..features.entropy import DEFAULT_BANDS, PRESETS, _check_bands, _design

        self.params = params
        self.sfreq = sfreq
        self.n_jobs = n_jobs
        self.length = int(round(params.window * sfreq))
        self.hop = int(round((params.step or params.window) * sfreq))
        if self.length < 2 or self.hop < 1:
            raise InvalidParameterError(
                f"`window` = {params.window:g} s or `step` is shorter than one sample at "
                f"{sfreq:g} Hz")
        self.n_windows = (n_out - self.length) // self.hop + 1 if n_out >= self.length else 0
        self.starts = np.arange(max(self.n_windows, 0), dtype=np.int64) * self.hop
        self.bands = _check_bands(DEFAULT_BANDS if params.bands is None else params.bands, sfreq)
        rbt = PRESETS["rbtransformer"]
        self.bde_bands = _check_bands(rbt["bands"], sfreq) if "bde" in params.features else None
        self.bde_order = rbt["order"]
        self.context = 0
        if "de" in params.features and params.zero_phase:
            sos = _design(self.bands, sfreq, params.filter_order)
            self.context = max(int(math.ceil(settling_time(s, sfreq, tol=_CONTEXT_TOL) * sfreq))
                               for s in sos)
        per_block = max(1, int(_BLOCK_SECONDS * sfreq) // self.hop)
        self.per_block = per_block
        self.n_out = n_out
        self.next_window = 0
        self.results = {name: [] for name in ("de", "bandpower", "bde")}

    def needed_from(self):
        """First output sample any remaining window (with its context) needs."""
        if self.next_window >= self.n_windows:
            return None
        return max(0, int(self.starts[self.next_window]) - self.context)

    def run(self, buffer, buffer_start, available, final):
        """Compute every block whose windows and right context lie in ``[.., available)``."""
        while self.next_window < self.n_windows:
            stop = min(self.next_window + self.per_block, self.n_windows)
            last_end = int(self.starts[stop - 1]) + self.length
            if not final and min(last_end + self.context, self.n_out) > available:
                return  # wait for a whole block: each block pays its context twice
            self._block(buffer, buffer_start, self.next_window, stop, last_end)
            self.next_window = stop

    def _block(self, buffer, buffer_start, w0, w1, last_end):
        from ..features.entropy import differential_entropy
        from ..features.spectral import band_power

        p = self.params
        starts = self.starts[w0:w1]
        if "de" in p.features:
            seg0 = max(0, int(starts[0]) - self.context)
            seg1 = min(self.n_out, last_end + self.context)
            segment = buffer[:, seg0 - buffer_start:seg1 - buffer_start]
            de = differential_entropy(segment, self.sfreq, bands=self.bands,
                                      window=self.length / self.sfreq,
                                      onsets=(starts - seg0) / self.sfreq,
                                      zero_phase=p.zero_phase, order=p.filter_order,
                                      n_jobs=self.n_jobs)
            self.results["de"].append(de)
        if "bandpower" in p.features or "bde" in p.features:
            offsets = starts - buffer_start
            idx = offsets[:, None] + np.arange(self.length)[None, :]
            windows = np.moveaxis(buffer[:, idx], 1, 0)  # (n_win, n_ch, length)
            if "bandpower" in p.features:
                self.results["bandpower"].append(band_power(windows, self.sfreq, bands=self.bands))
            if "bde" in p.features:
                self.results["bde"].append(differential_entropy(
                    windows, self.sfreq, bands=self.bde_bands, zero_phase=False,
                    per_window=False, log_base=2, order=self.bde_order, n_jobs=self.n_jobs))


class _Buffer:
    """The processed signal from the first sample still needed to the last one produced.

    Samples are appended in place into preallocated storage; released samples are dropped by
    moving the kept ones to the front when room runs out, so each sample is copied about once.
    """

    def __init__(self, n_rows):
        self._data = np.empty((n_rows, 0))
        self.start = 0  # absolute index of column 0
        self._size = 0
        self._keep = 0  # absolute index of the first sample still needed

    @property
    def stop(self):
        return self.start + self._size

    def view(self):
        return self._data[:, :self._size]

    def window(self, lo, hi):
        return self._data[:, lo - self.start:hi - self.start]

    def release(self, keep_from):
        self._keep = max(self._keep, int(keep_from))

    def append(self, block):
        n = block.shape[1]
        if self._size + n > self._data.shape[1]:
            drop = min(self._keep - self.start, self._size)
            kept = self._size - drop
            capacity = self._data.shape[1]
            if kept + n > capacity:
                grown = np.empty((self._data.shape[0], max(2 * capacity, kept + n)))
                grown[:, :kept] = self._data[:, drop:self._size]
                self._data = grown
            elif drop:
                self._data[:, :kept] = self._data[:, drop:self._size].copy()
            self.start += drop
            self._size = kept
        self._data[:, self._size:self._size + n] = block
        self._size += n


def preprocess_recording(source, params=None, *, annotations=None, n_jobs=None, progress=False):
    """Features per window of one recording, streamed through bounded memory.

    Parameters
    ----------
    source : path-like or mne.io.BaseRaw
        An EDF/EDF+/BDF/BDF+/GDF file (see :func:`physioaffect.io.read_recording`) or a Raw.
    params : PreprocessParams or dict, optional
        What to compute; default ``PreprocessParams()`` (EEG, DE of the default bands in 4-s
        windows).
    annotations : path-like or mne.Annotations, optional
        Annotations to attach (e.g. a hypnogram), replacing the file's own.
    n_jobs : int, optional
        Threads for the DE kernel.
    progress : bool, default=False
        Show a progress bar over the chunks of the recording.

    Returns
    -------
    xarray.Dataset
        Data variables among ``de`` (window, channel, band; nats of volts), ``bandpower``
        (window, channel, band; V**2), ``bde`` (window, channel, bde_band; bits), ``eda``,
        ``ppg``, ``respiration`` (window, <kind>_channel, <kind>_feature), ``event_code``
        (event) and ``annotation_description`` (annotation). Coords: ``onset`` (window; s from
        the first sample), ``channel``, ``channel_type``, ``band``, ``band_low``, ``band_high``,
        ``label`` (window; when labelled), ``event_onset``, ``annotation_onset`` and
        ``annotation_duration``. Attrs: ``sfreq`` (of the processed signal), ``source_sfreq``,
        ``source``, ``duration``, ``units``, ``label_source``, ``context``.

    Raises
    ------
    physioaffect.errors.RecordingError
        The file cannot be read, no channel matches the picks, or the recording is shorter
        than one window.
    physioaffect.errors.InvalidParameterError
        Parameters that contradict each other or the recording.
    """
    return compute_features(source, params, annotations=annotations, n_jobs=n_jobs,
                            progress=progress).to_xarray()


def compute_features(source, params=None, *, annotations=None, n_jobs=None, progress=False):
    """:func:`preprocess_recording`'s result as NumPy arrays, without importing xarray.

    ``physioaffect preprocess`` writes this with :func:`physioaffect.io.store.save_features`,
    which gives the file of the equal Dataset; xarray (and the pandas and dask it imports) would
    add about a second to each run.

    Parameters
    ----------
    source, params, annotations, n_jobs, progress
        As for :func:`preprocess_recording`.

    Returns
    -------
    physioaffect.io.store.FeatureArrays
        The variables, coords and attrs of :func:`preprocess_recording`'s Dataset;
        ``.to_xarray()`` gives that Dataset.

    Raises
    ------
    physioaffect.errors.RecordingError, physioaffect.errors.InvalidParameterError
        As :func:`preprocess_recording`.
    """
    from ..io.events import find_events
    from ..io.recording import read_recording
    from ..io.store import FeatureArrays
    from ..signal.resample import StreamingResampler, resample_factors
    from ..signal.streaming import StreamingFilter

    if params is None:
        params = PreprocessParams()
    elif isinstance(params, dict):
        params = PreprocessParams(**params)
    t_start = time.perf_counter()
    raw = read_recording(source, annotations=annotations)
    name = _source_name(source)
    native = _native_rates(raw, source)
    sfreq_in = float(raw.info["sfreq"])
    n_in = int(raw.n_times)
    picks = _resolve_picks(raw, params.picks, name)
    types = dict(zip(raw.ch_names, raw.get_channel_types(), strict=True))
    ref_names = []
    if params.reference != "none":
        eeg = [c for c in picks if types[c] == "eeg"]
        if not eeg:
            raise RecordingError(f"{name}: re-referencing needs EEG channels among the picks")
        if params.reference == "average":
            ref_names = eeg
        else:
            missing = [c for c in params.reference if c not in raw.ch_names]
            if missing:
                raise RecordingError(
                    f"{name}: reference channel(s) {', '.join(missing)} not in the file; "
                    f"channels are {', '.join(raw.ch_names)}")
            ref_names = list(params.reference)
    periph = {}
    if "peripheral" in params.features:
        for kind, mne_types in _PERIPHERAL.items():
            chans = [c for c, t in types.items() if t in mne_types]
            if kind == "ppg":
                chans = [c for c in chans if any(w in c.lower() for w in _PPG_WORDS)]
            if chans:
                periph[kind] = (chans, [])
        if not periph:
            raise RecordingError(
                f"{name}: 'peripheral' features asked for, but no EDA (gsr), PPG or respiration "
                f"channel is in the file; channels are {', '.join(raw.ch_names)}")

    periph_names = [c for chans, _ in periph.values() for c in chans]
    read_names = list(dict.fromkeys(picks + ref_names + periph_names))  # one read per chunk
    slow = sorted(c for c in read_names if native.get(c, sfreq_in) < sfreq_in)
    if slow:
        # MNE upsamples slower channels on read; read in chunks this leaves artefacts at every
        # chunk edge, so such a recording is read whole (memory grows with its length).
        raw.load_data(verbose="error")
    read_idx = [raw.ch_names.index(c) for c in read_names]  # by index: no name lookups per chunk
    pick_rows = [read_names.index(c) for c in picks]
    ref_rows = [read_names.index(c) for c in ref_names]
    eeg_rows = [i for i, c in enumerate(picks) if types[c] == "eeg"]

    sfreq = sfreq_in if params.resample is None else params.resample
    up, down = (1, 1) if params.resample is None else resample_factors(sfreq_in, sfreq)
    n_out = -(-n_in * up // down)
    duration = n_in / sfreq_in
    if n_out < int(round(params.window * sfreq)):
        raise RecordingError(
            f"{name}: recording too short for the window: {duration:g} s, expected at least "
            f"window = {params.window:g} s")
    sos = _filter_sos(params, sfreq_in, name)
    filt = None if sos is None else StreamingFilter(sos, len(picks), init="steady")
    resampler = None if (up, down) == (1, 1) else StreamingResampler(up, down, len(picks))
    blocks = _Blocks(params, sfreq, n_out, len(picks), n_jobs)

    events = None
    if any(t == "stim" for t in types.values()):
        events = find_events(raw)
    ann = _annotations(raw)

    baseline = None
    if params.baseline is not None:
        b0, b1 = (int(round(t * sfreq)) for t in params.baseline)
        if b1 > n_out:
            raise RecordingError(
                f"{name}: baseline {params.baseline[0]:g}-{params.baseline[1]:g} s lies beyond "
                f"the recording's end ({duration:g} s)")
        baseline = (b0, b1, [])

    chunk = max(int(params.chunk_duration * sfreq_in), 1)
    buffer = _Buffer(len(picks))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_in, unit="sample", unit_scale=True, leave=False,
                   desc=Path(name).name)
    try:
        for start in range(0, n_in, chunk):
            stop = min(start + chunk, n_in)
            with warnings.catch_warnings():  # mixed rates: handled above by reading whole
                warnings.filterwarnings("ignore", message=".*mixed sampling frequencies.*")
                x = raw.get_data(picks=read_idx, start=start, stop=stop)
            data = x if pick_rows == list(range(len(x))) else x[pick_rows]
            if ref_rows:
                ref = x[ref_rows].mean(axis=0)
                data[eeg_rows] -= ref
            if not np.isfinite(data.sum(axis=-1)).all():  # NaN and inf survive a sum
                bad = [picks[i] for i in np.flatnonzero(~np.isfinite(data).all(axis=1))]
                raise RecordingError(
                    f"{name}: non-finite samples in channel(s) {', '.join(bad)} between "
                    f"{start / sfreq_in:g} and {stop / sfreq_in:g} s")
            for chans, parts in periph.values():
                parts.append(x[[read_names.index(c) for c in chans]])
            if filt is not None:
                data = filt.process(data)
            final = stop == n_in
            if resampler is not None:
                data = resampler.process(data)
                if final:
                    data = np.concatenate([data, resampler.finish()], axis=-1)
            new_from = buffer.stop
            buffer.append(data)
            available = buffer.stop
            if baseline is not None:
                b0, b1, parts = baseline
                lo, hi = max(b0, new_from), min(b1, available)
                if hi > lo:
                    parts.append(buffer.window(lo, hi).copy())
            blocks.run(buffer.view(), buffer.start, available, final)
            keep_from = blocks.needed_from()
            buffer.release(available if keep_from is None else keep_from)
            if bar is not None:
                bar.update(stop - start)
    finally:
        if bar is not None:
            bar.close()
        close = getattr(raw, "close", None)
        if close is not None and not hasattr(source, "filenames"):
            close()

    onsets = blocks.starts / sfreq
    coords = {"onset": ("window", onsets), "channel": picks,
              "channel_type": ("channel", [types[c] for c in picks])}
    data_vars = {}
    band_names = list(blocks.bands)
    base_de = base_bde = None
    if baseline is not None:
        from ..features.entropy import differential_entropy

        seg = np.concatenate(baseline[2], axis=-1)
        if "de" in params.features:
            base_de = differential_entropy(seg, sfreq, bands=blocks.bands,
                                           zero_phase=params.zero_phase,
                                           order=params.filter_order)
        if "bde" in params.features:
            base_bde = differential_entropy(seg, sfreq, bands=blocks.bde_bands, zero_phase=False,
                                            log_base=2, order=blocks.bde_order)
    if "de" in params.features or "bandpower" in params.features:
        coords.update({"band": band_names,
                       "band_low": ("band", [blocks.bands[b][0] for b in band_names]),
                       "band_high": ("band", [blocks.bands[b][1] for b in band_names])})
    if "de" in params.features:
        de = np.concatenate(blocks.results["de"], axis=0)
        if base_de is not None:
            de = de - base_de[None]
        data_vars["de"] = (("window", "channel", "band"), de,
                           {"units": "nats", "signal_units": "V",
                            "semantics": "zero-phase forward-backward" if params.zero_phase
                            else "causal", "baseline_subtracted": int(base_de is not None)})
    if "bandpower" in params.features:
        data_vars["bandpower"] = (("window", "channel", "band"),
                                  np.concatenate(blocks.results["bandpower"], axis=0),
                                  {"units": "V**2", "method": "welch"})
    if "bde" in params.features:
        bde_names = list(blocks.bde_bands)
        coords.update({"bde_band": bde_names,
                       "bde_band_low": ("bde_band", [blocks.bde_bands[b][0] for b in bde_names]),
                       "bde_band_high": ("bde_band", [blocks.bde_bands[b][1] for b in bde_names])})
        bde = np.concatenate(blocks.results["bde"], axis=0)
        if base_bde is not None:
            bde = bde - base_bde[None]
        data_vars["bde"] = (("window", "channel", "bde_band"), bde,
                            {"units": "bits", "semantics": "per-window causal from rest",
                             "baseline_subtracted": int(base_bde is not None)})
    for kind, (chans, parts) in periph.items():
        more_vars, more_coords = _peripheral(kind, chans, np.concatenate(parts, axis=-1),
                                             sfreq_in, onsets, params.window, raw, name)
        data_vars.update(more_vars)
        coords.update(more_coords)
    if events is not None and len(events):
        coords["event_onset"] = ("event", events[:, 0] / sfreq_in)
        data_vars["event_code"] = (("event",), events[:, 2].astype(np.int64))
    if len(ann[0]):
        coords["annotation_onset"] = ("annotation", ann[0])
        coords["annotation_duration"] = ("annotation", ann[1])
        data_vars["annotation_description"] = (("annotation",), ann[2].astype(str))
    labels, label_source = _window_labels(params, onsets, params.window, ann, events, sfreq_in)
    if labels is not None:
        coords["label"] = ("window", labels.astype(str))
    ds = FeatureArrays(data_vars, coords=coords)
    if labels is not None and params.drop_unlabelled:
        ds = ds.isel("window", np.flatnonzero(labels != ""))
    ds.attrs.update({
        "sfreq": float(sfreq), "source_sfreq": sfreq_in, "source": Path(name).name,
        "duration": float(duration), "n_times": int(n_out), "window": float(params.window),
        "step": float(params.step or params.window), "label_source": label_source,
        "context": float(blocks.context / sfreq),
        "read_whole": int(bool(slow)), "upsampled_channels": ", ".join(slow), "elapsed": float(time.perf_counter() - t_start),
    })
    return ds


def _peripheral(kind, chans, data, sfreq, onsets, window, raw, name):
    """Variables and coords of one peripheral modality's window features."""
    from ..errors import PhysioAffectError
    from ..features import peripheral as pf

    func = {"eda": pf.eda_features, "ppg": pf.ppg_features,
            "respiration": pf.respiration_features}[kind]
    if kind == "eda":
        orig = getattr(raw, "_orig_units", {}) or {}
        scale = np.array([1e6 if str(orig.get(c, "uS")).lower() in ("us", "µs", "μs") else 1.0
                          for c in chans])
        data = data * scale[:, None]  # MNE gives siemens; neurokit2 expects microsiemens
    try:
        out = func(data, sfreq, window=window, onsets=onsets, as_xarray=True)
    except PhysioAffectError as exc:
        raise RecordingError(f"{name}: {kind} features of {', '.join(chans)}: {exc}") from exc
    chan_dim, feat_dim = f"{kind}_channel", f"{kind}_feature"
    coords = {chan_dim: list(chans), feat_dim: [str(f) for f in out["feature"].values]}
    if "unit" in out.coords:
        coords[f"{kind}_unit"] = (feat_dim, [str(u) for u in out["unit"].values])
    values = out.transpose("window", "channel", "feature").values
    return {kind: (("window", chan_dim, feat_dim), values)}, coords
