"""Published preparations of the emotion datasets (METHODS.md sections 1.1 and 2.2).

:func:`histn_dreamer`
    HiSTN's DREAMER input: the last 60 s of each stimulus, z-scored per channel with the mean and
    standard deviation of the middle 10 s of the trial's 61-s baseline, then divided per channel
    by its maximum absolute value over those 60 s.
:func:`rbtransformer`
    RBTransformer's band-DE tokens for DEAP, DREAMER and SEED: 512-sample windows with a
    117-sample stride, each z-scored on its own, band DE (log2) minus the band DE of the trial's
    1-s averaged baseline.
"""

from __future__ import annotations

import os

import numpy as np

from physioaffect._validation import check_choice
from physioaffect.errors import InvalidParameterError, InvalidSignalError

from .cache import cached
from .labels import RATINGS, make_labels

__all__ = ["histn_dreamer", "rbtransformer"]

#: DREAMER's baseline: 61 s at 128 Hz.
_HISTN_BASELINE = 7808


def _is_path(source):
    return isinstance(source, (str, os.PathLike))


def _rating_coords(ratings, dims):
    return {name: (dims, values) for name, values in ratings.items()}


def histn_dreamer(source, *, subjects=None, target="valence", scheme="multiclass",
                  seconds=60.0, baseline_seconds=10.0, cache_dir=None):
    """HiSTN's preparation of DREAMER (METHODS.md section 1.1).

    For each trial and channel: keep the last ``seconds`` of the stimulus (7680 samples);
    take the mean ``m`` and standard deviation ``s`` (``ddof=1``, MATLAB's ``std``) of the middle
    ``baseline_seconds`` of the baseline (for 61 s at 128 Hz, 0-based samples 3264-4543); compute
    ``z = (x - m) / s``; divide ``z`` by ``max_t |z|``.

    Parameters
    ----------
    source : path-like or xarray.Dataset
        ``DREAMER.mat``, or what :func:`~physioaffect.datasets.load_dreamer` returned.
    subjects : int or sequence of int, optional
        Subject numbers (with a path); default all.
    target : {"valence", "arousal", "dominance"}, default="valence"
        Rating that ``label`` encodes.
    scheme : {"multiclass", "binary"}, default="multiclass"
        HiSTN's ``rating - 1`` (5 classes), or rating >= 3.
    seconds : float, default=60.0
        Length kept at the end of each stimulus.
    baseline_seconds : float, default=10.0
        Length of the middle part of the baseline giving the mean and standard deviation.
    cache_dir : path-like, optional
        Cache folder (only with a path); None caches nothing.

    Returns
    -------
    xarray.DataArray
        Dims (subject, trial, channel, time), values in [-1, 1]; time in seconds from the start
        of the kept segment. Coords ``valence``, ``arousal``, ``dominance``, ``label`` over
        (subject, trial). (HiSTN feeds the model 1-s crops of this, as (time, channel).)

    Raises
    ------
    InvalidSignalError
        A stimulus shorter than ``seconds`` or a baseline shorter than ``baseline_seconds``.
    """
    from .dreamer import load_dreamer

    if target not in RATINGS["dreamer"]:
        raise InvalidParameterError(f"`target` must be one of {RATINGS['dreamer']}, got {target!r}")
    make_labels([], "dreamer", scheme)
    params = {"subjects": subjects, "target": target, "scheme": scheme,
              "seconds": float(seconds), "baseline_seconds": float(baseline_seconds)}
    if _is_path(source):
        from ._common import existing_file, subject_numbers

        path = existing_file(source, "DREAMER", "DREAMER.mat")
        subjects = subject_numbers(subjects, "DREAMER")
        params["subjects"] = subjects and list(subjects)
        return cached("histn_dreamer", [path], params, cache_dir, lambda: _histn(
            load_dreamer(path, subjects=subjects), target, scheme, seconds, baseline_seconds))
    if cache_dir is not None:
        raise InvalidParameterError("`cache_dir` needs `source` as a path: a loaded Dataset has "
                                    "no file identity to key the cache")
    if subjects is not None:
        source = source.sel(subject=list(np.atleast_1d(subjects)))
    return _histn(source, target, scheme, seconds, baseline_seconds)


def _histn(ds, target, scheme, seconds, baseline_seconds):
    import xarray as xr

    sfreq = float(ds.attrs["sfreq"])
    keep = int(round(seconds * sfreq))
    half = int(round(baseline_seconds * sfreq)) // 2
    eeg = ds["eeg"].transpose("subject", "trial", "channel", "time").values
    base = ds["baseline"].transpose("subject", "trial", "channel", "baseline_time").values
    n_times = ds["n_times"].transpose("subject", "trial").values
    mid = base.shape[-1] // 2
    if mid - half < 0 or keep < 1:
        raise InvalidSignalError(f"the baseline has {base.shape[-1]} samples, fewer than the "
                                 f"{2 * half} of `baseline_seconds`={baseline_seconds}")
    short = np.argwhere(n_times < keep)
    if short.size:
        s, t = short[0]
        raise InvalidSignalError(
            f"DREAMER subject {ds['subject'].values[s]} trial {ds['trial'].values[t]} has "
            f"{n_times[s, t]} samples; the last {seconds:g} s need {keep}")
    out = np.empty((*eeg.shape[:3], keep))
    middle = base[..., mid - half: mid + half]
    mean = middle.mean(axis=-1, keepdims=True)
    std = middle.std(axis=-1, ddof=1, keepdims=True)
    for s in range(eeg.shape[0]):
        for t in range(eeg.shape[1]):
            n = n_times[s, t]
            out[s, t] = eeg[s, t, :, n - keep:n]
    z = (out - mean) / std
    z /= np.abs(z).max(axis=-1, keepdims=True)
    ratings = {name: ds[name].transpose("subject", "trial").values
               for name in RATINGS["dreamer"]}
    coords = {"subject": ds["subject"].values, "trial": ds["trial"].values,
              "channel": ds["channel"].values, "time": np.arange(keep) / sfreq,
              **_rating_coords(ratings, ("subject", "trial")),
              "label": (("subject", "trial"), make_labels(ratings[target], "dreamer", scheme))}
    attrs = {"dataset": "dreamer", "preset": "histn", "sfreq": sfreq, "target": target,
             "scheme": scheme, "seconds": float(seconds), "baseline_seconds": float(baseline_seconds),
             "units": "dimensionless (baseline z-score, max-abs scaled)"}
    return xr.DataArray(z, dims=("subject", "trial", "channel", "time"), coords=coords,
                        name="histn_dreamer", attrs=attrs)


def rbtransformer(source, dataset, *, target=None, scheme=None, subjects=None,
                  design_sfreq=128.0, backend="numba", n_jobs=None, cache_dir=None):
    """RBTransformer's band-DE tokens (METHODS.md section 2.2).

    For each trial: 512-sample windows with a 117-sample stride (DEAP from sample 384, after its
    3-s baseline; DREAMER and SEED from 0, up to each trial's length); each window is z-scored
    with one mean and standard deviation over all channels and samples, and its band DE
    (:func:`physioaffect.features.tokens.band_de_tokens`, bits) is taken per electrode. DEAP and
    DREAMER subtract the band DE of the trial's baseline: the mean of its 1-s chunks (DEAP: the
    3 pre-trial seconds; DREAMER: the 61 s of the baseline recording), z-scored on its own.

    Parameters
    ----------
    source : path-like or xarray.DataArray or xarray.Dataset
        The dataset's path (as its loader takes it) or what its loader returned.
    dataset : {"deap", "dreamer", "seed"}
        Which dataset.
    target : str, optional
        Rating the label encodes: valence (default), arousal, dominance (DEAP also liking); SEED
        has only ``"emotion"``.
    scheme : {"binary", "multiclass"}, optional
        Label scheme (:func:`physioaffect.datasets.labels.make_labels`); default ``"binary"``,
        ``"multiclass"`` for SEED.
    subjects : int or sequence of int, optional
        Subject numbers; default all.
    design_sfreq : float or None, default=128.0
        Rate the band-pass filters are designed for. 128 Hz reproduces the published code for
        every dataset (for SEED, at 200 Hz, the pass-bands then scale by 1.5625); None uses the
        data's rate.
    backend : {"numba", "scipy"}, default="numba"
        DE route.
    n_jobs : int, optional
        Threads of the DE kernel.
    cache_dir : path-like, optional
        Cache folder (only with a path); None caches nothing.

    Returns
    -------
    xarray.DataArray
        Dims (sample, channel, band): one sample per window. Coords over sample: ``subject``,
        ``trial`` (and ``session`` for SEED), ``window`` (index within the trial), ``onset``
        (s from the trial's start; DEAP: from the video's start), the ratings and ``label``;
        ``channel`` (EEG only), ``band`` with ``band_low``/``band_high``.
    """
    dataset = check_choice(dataset, ("deap", "dreamer", "seed"), "dataset", ignore_case=True)
    if target is None:
        target = "emotion" if dataset == "seed" else "valence"
    if scheme is None:
        scheme = "multiclass" if dataset == "seed" else "binary"
    if target not in RATINGS[dataset]:
        raise InvalidParameterError(
            f"`target` for {dataset} must be one of {list(RATINGS[dataset])}, got {target!r}")
    make_labels([], dataset, scheme)
    params = {"dataset": dataset, "target": target, "scheme": scheme,
              "design_sfreq": None if design_sfreq is None else float(design_sfreq)}
    compute = {"deap": _rb_deap, "dreamer": _rb_dreamer, "seed": _rb_seed}[dataset]
    if _is_path(source):
        from . import deap, dreamer, seed

        loaders = {"deap": (deap.load_deap, {"channels": "eeg"}),
                   "dreamer": (dreamer.load_dreamer, {}), "seed": (seed.load_seed, {})}
        loader, extra = loaders[dataset]
        from ._common import subject_numbers

        numbers = subject_numbers(subjects, dataset)
        sources = _sources(dataset, source, numbers)
        params["subjects"] = numbers and list(numbers)
        subjects = numbers
        return cached(f"rbtransformer_{dataset}", sources, params, cache_dir, lambda: compute(
            loader(source, subjects=subjects, **extra), target, scheme, design_sfreq, backend,
            n_jobs))
    if cache_dir is not None:
        raise InvalidParameterError("`cache_dir` needs `source` as a path: loaded data have no "
                                    "file identity to key the cache")
    if subjects is not None:
        source = source.sel(subject=list(np.atleast_1d(subjects)))
    return compute(source, target, scheme, design_sfreq, backend, n_jobs)


def _sources(dataset, source, numbers):
    from . import deap, seed
    from ._common import existing_file

    if dataset == "dreamer":
        return [existing_file(source, "DREAMER", "DREAMER.mat")]
    if dataset == "deap":
        return [p for _, p in deap._files(deap._folder(source), numbers)]
    folder = seed._folder(source)
    return [folder / "label.mat"] + [f[3] for f in seed._sessions(folder, numbers, None)]


def _one_second_mean(base, sfreq):
    # (..., channel, n) -> (..., channel, sfreq): the mean of the whole 1-s chunks
    step = int(round(sfreq))
    n = base.shape[-1] // step
    if n < 1:
        raise InvalidSignalError(f"the baseline has {base.shape[-1]} samples, less than 1 s")
    chunks = base[..., : n * step].reshape(*base.shape[:-1], n, step)
    return chunks.mean(axis=-2)


def _tokens(x, sfreq, baseline, start, design_sfreq, backend, n_jobs):
    from physioaffect.features.tokens import band_de_tokens, token_windows

    starts, _ = token_windows(x.shape[-1], sfreq, start=start / sfreq)
    tokens = band_de_tokens(x, sfreq, baseline=baseline, start=start / sfreq,
                            design_sfreq=design_sfreq, backend=backend, n_jobs=n_jobs)
    return tokens, starts


def _assemble(pieces, channels, attrs):
    """pieces: list of (tokens (w, c, b), meta dict of scalars, starts, time_offset)."""
    import xarray as xr

    from physioaffect.features.entropy import PRESETS

    bands = PRESETS["rbtransformer"]["bands"]
    values = np.concatenate([p[0] for p in pieces], axis=0)
    sfreq = attrs["sfreq"]
    coords = {}
    for key in pieces[0][1]:
        coords[key] = ("sample", np.concatenate(
            [np.full(len(p[2]), p[1][key]) for p in pieces]))
    coords["window"] = ("sample", np.concatenate([np.arange(len(p[2])) for p in pieces]))
    coords["onset"] = ("sample", np.concatenate([p[2] / sfreq + p[3] for p in pieces]))
    coords["channel"] = list(channels)
    coords["band"] = list(bands)
    coords["band_low"] = ("band", [bands[b][0] for b in bands])
    coords["band_high"] = ("band", [bands[b][1] for b in bands])
    return xr.DataArray(values, dims=("sample", "channel", "band"), coords=coords,
                        name=f"rbtransformer_{attrs['dataset']}", attrs=attrs)


def _attrs(dataset, sfreq, target, scheme, design_sfreq):
    return {"dataset": dataset, "preset": "rbtransformer", "sfreq": float(sfreq),
            "target": target, "scheme": scheme, "units": "bits",
            "design_sfreq": "data rate" if design_sfreq is None else float(design_sfreq),
            "window_samples": 512, "step_samples": 117}


def _rb_deap(da, target, scheme, design_sfreq, backend, n_jobs):
    eeg = da.sel(channel=da["channel"][da["channel_type"] == "eeg"])
    if eeg.sizes["channel"] == 0:
        raise InvalidSignalError("the DEAP data hold no EEG channel")
    sfreq = float(da.attrs["sfreq"])
    n_base = int(round(float(da.attrs["baseline_seconds"]) * sfreq))
    x = eeg.transpose("subject", "trial", "channel", "time").values
    pieces = []
    for s, subject in enumerate(eeg["subject"].values):
        base = _one_second_mean(x[s, ..., :n_base], sfreq)
        tokens, starts = _tokens(x[s], sfreq, base, n_base, design_sfreq, backend, n_jobs)
        for t, trial in enumerate(eeg["trial"].values):
            meta = {"subject": subject, "trial": trial}
            for name in RATINGS["deap"]:
                meta[name] = float(eeg[name].values[s, t])
            meta["label"] = int(make_labels(meta[target], "deap", scheme))
            pieces.append((tokens[t], meta, starts, -n_base / sfreq))
    return _assemble(pieces, eeg["channel"].values,
                     _attrs("deap", sfreq, target, scheme, design_sfreq))


def _rb_dreamer(ds, target, scheme, design_sfreq, backend, n_jobs):
    sfreq = float(ds.attrs["sfreq"])
    x = ds["eeg"].transpose("subject", "trial", "channel", "time").values
    base = ds["baseline"].transpose("subject", "trial", "channel", "baseline_time").values
    n_times = ds["n_times"].transpose("subject", "trial").values
    pieces = []
    for s, subject in enumerate(ds["subject"].values):
        for t, trial in enumerate(ds["trial"].values):
            b = _one_second_mean(base[s, t], sfreq)
            tokens, starts = _tokens(x[s, t, :, :n_times[s, t]], sfreq, b, 0, design_sfreq,
                                     backend, n_jobs)
            meta = {"subject": subject, "trial": trial}
            for name in RATINGS["dreamer"]:
                meta[name] = float(ds[name].values[s, t])
            meta["label"] = int(make_labels(meta[target], "dreamer", scheme))
            pieces.append((tokens, meta, starts, 0.0))
    return _assemble(pieces, ds["channel"].values,
                     _attrs("dreamer", sfreq, target, scheme, design_sfreq))


def _rb_seed(da, target, scheme, design_sfreq, backend, n_jobs):
    sfreq = float(da.attrs["sfreq"])
    x = da.transpose("subject", "session", "trial", "channel", "time").values
    n_times = da["n_times"].transpose("subject", "session", "trial").values
    emotion = da["emotion"].values
    pieces = []
    for s, subject in enumerate(da["subject"].values):
        for k, session in enumerate(da["session"].values):
            for t, trial in enumerate(da["trial"].values):
                tokens, starts = _tokens(x[s, k, t, :, :n_times[s, k, t]], sfreq, None, 0,
                                         design_sfreq, backend, n_jobs)
                meta = {"subject": subject, "session": session, "trial": trial,
                        "emotion": int(emotion[t]),
                        "label": int(make_labels(emotion[t], "seed", scheme))}
                pieces.append((tokens, meta, starts, 0.0))
    return _assemble(pieces, da["channel"].values,
                     _attrs("seed", sfreq, target, scheme, design_sfreq))
