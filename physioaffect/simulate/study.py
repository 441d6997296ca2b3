"""A simulated affective EEG study: subjects x trials, each with a baseline and rated stimulus."""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
import xarray as xr

from .._validation import check_sfreq
from ..errors import InvalidParameterError
from ..montage import get_montage
from .eeg import (
    _K_AROUSAL_ALPHA,
    _K_AROUSAL_BETA,
    _K_AROUSAL_GAMMA,
    _K_VALENCE,
    _Profile,
    check_positive,
    check_random_state,
    layout,
    n_samples,
    simulate,
    single_threaded_blas,
)

__all__ = ["study", "RATING_SCALES"]

#: Rating scales by name: (lowest, highest) integer rating.
RATING_SCALES = {"dreamer": (1, 5), "deap": (1, 9)}

_LINE_FREQ = 50.0
_LINE_NOISE = 2e-6

# Per-subject draws (uniform on the range unless said otherwise); see the Notes of `study`.
_ALPHA_FREQ = (8.5, 12.0)          # Hz, individual alpha frequency
_ALPHA_WIDTH = (0.6, 1.2)          # Hz, s.d. of the alpha peak
_THETA_FREQ = (5.0, 7.0)           # Hz, frontal-midline theta peak
_THETA_RMS = (3e-6, 6e-6)          # V RMS of frontal-midline theta at full weight
_VALENCE_STRENGTH = (0.2, 0.8)     # root-sum-square of the three valence routes, over sqrt(3)
_ROUTE_CONCENTRATION = 1.0         # Dirichlet concentration of the split between the routes
_PAIR_CONCENTRATION = 0.7          # Dirichlet concentration of the frontal-pair weights
_K_VALENCE_FAST = 0.5              # log beta/gamma amplitude per unit valence, full temporal weight
_K_VALENCE_THETA = 0.5             # log frontal-midline theta amplitude per unit valence
_AROUSAL_STRENGTH = (0.5, 1.5)     # multiplier of all arousal effects
_BACKGROUND_SPREAD = 0.3           # s.d. of the log background scale
_SENSOR_NOISE = (0.5e-6, 3e-6)     # V RMS of white sensor noise per electrode
# Viewing state (stimulus periods only), natural-log amplitude offsets.
_VIEW_ALPHA = (0.0, 0.5)           # alpha desynchronisation, all electrodes
_VIEW_ASYMMETRY = 0.4              # s.d. of a frontal alpha asymmetry while viewing
_VIEW_JITTER = 0.25                # s.d. per electrode, alpha and beta/gamma separately
_VIEW_EMG = (0.0, 1.2)             # temporal-muscle beta/gamma, full temporal weight
_VIEW_THETA = 0.2                  # s.d. of the frontal-midline theta offset


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidParameterError(f"`{name}` must be an int >= {minimum}, got {value!r}")
    return int(value)


def _ratings(rng, n_trials: int, low: int, high: int) -> np.ndarray:
    """Integer ratings, half below and half above mid-scale (never the mid-scale value)."""
    mid = (low + high) / 2
    below = np.arange(low, int(np.ceil(mid)))
    above = np.arange(int(np.floor(mid)) + 1, high + 1)
    is_high = rng.permutation(np.arange(n_trials) % 2 == 1)
    return np.where(is_high, rng.choice(above, n_trials), rng.choice(below, n_trials))


def _pair_weights(rng, mont, lay) -> np.ndarray:
    """Per-channel weight of the frontal pairs carrying a subject's valence asymmetry.

    Each homologous frontal pair gets a Dirichlet share (concentration ``_PAIR_CONCENTRATION``)
    times the number of pairs, so the weights average 1 and usually a few pairs dominate; both
    channels of a pair share its weight. Channels outside the pairs get the mean weight, 1.
    """
    weight = np.ones(mont.n_channels)
    pairs = mont.frontal_pairs
    if pairs:
        share = rng.dirichlet(np.full(len(pairs), _PAIR_CONCENTRATION)) * len(pairs)
        for (left, right), w in zip(pairs, share, strict=True):
            weight[mont.indices([left, right])] = w
    return weight


def _subject_profile(rng, mont, lay) -> tuple[_Profile, np.ndarray]:
    """Random per-subject constants of the generator and the strengths of the three valence
    routes (asymmetry, temporal, theta); see :func:`study`."""
    n_ch = mont.n_channels
    strength = rng.uniform(0.1, 0.35)
    neighbours = np.exp(-lay.distance / 0.04) * rng.uniform(0.5, 1.5, (n_ch, n_ch))
    np.fill_diagonal(neighbours, 0.0)
    neighbours /= neighbours.sum(axis=1, keepdims=True)
    mixing = (1.0 - strength) * np.eye(n_ch) + strength * neighbours
    # Valence routes: frontal alpha asymmetry, temporal beta/gamma, frontal-midline theta. Their
    # squared strengths split a subject's total by a Dirichlet draw.
    asymmetry, fast, theta = rng.uniform(*_VALENCE_STRENGTH) * np.sqrt(
        3.0 * rng.dirichlet(np.full(3, _ROUTE_CONCENTRATION)))
    arousal_strength = rng.uniform(*_AROUSAL_STRENGTH)
    beta_share = rng.uniform(0.0, 1.0)
    profile = _Profile(
        gain=rng.lognormal(0.0, 0.25, n_ch),
        mixing=mixing,
        alpha_trait=0.3 * rng.standard_normal() * lay.lateral * lay.frontal
        + 0.1 * rng.standard_normal(n_ch),
        alpha_freq=float(rng.uniform(*_ALPHA_FREQ)),
        alpha_width=float(rng.uniform(*_ALPHA_WIDTH)),
        valence_alpha=(asymmetry * _K_VALENCE * _pair_weights(rng, mont, lay)
                       * lay.lateral * lay.frontal),
        valence_fast=fast * _K_VALENCE_FAST * lay.temporal,
        theta_rms=float(rng.uniform(*_THETA_RMS)),
        theta_freq=float(rng.uniform(*_THETA_FREQ)),
        valence_theta=theta * _K_VALENCE_THETA,
        arousal_alpha=arousal_strength * _K_AROUSAL_ALPHA,
        arousal_beta=arousal_strength * 2.0 * beta_share * _K_AROUSAL_BETA,
        arousal_gamma=arousal_strength * 2.0 * (1.0 - beta_share) * _K_AROUSAL_GAMMA,
        alpha_scale=float(rng.lognormal(0.0, 0.3)),
        background_scale=float(rng.lognormal(0.0, _BACKGROUND_SPREAD)),
        sensor_noise=float(rng.uniform(*_SENSOR_NOISE)),
        blink_rate=float(rng.uniform(8.0, 20.0)),
    )
    return profile, np.array([asymmetry, fast, theta])


def _viewing_profile(rng, lay, profile: _Profile) -> _Profile:
    """The subject's profile while watching stimuli: offsets that rest baselines do not share."""
    n_ch = lay.lateral.shape[0]
    alpha = (-rng.uniform(*_VIEW_ALPHA) + _VIEW_ASYMMETRY * rng.standard_normal() * lay.lateral
             * lay.frontal + _VIEW_JITTER * rng.standard_normal(n_ch))
    fast = (rng.uniform(*_VIEW_EMG) * lay.temporal
            + _VIEW_JITTER * rng.standard_normal(n_ch))
    return dataclasses.replace(profile, alpha_trait=profile.alpha_trait + alpha, fast_trait=fast,
                               theta_rms=profile.theta_rms * float(rng.lognormal(0.0, _VIEW_THETA)))


def study(montage="dreamer", *, n_subjects=4, n_trials=8, sfreq=None, trial_duration=20.0,
          baseline_duration=30.0, scale=None, effect_size=1.0, random_state=None) -> xr.Dataset:
    """Simulate an affective EEG study: per subject and trial, a baseline and a rated stimulus.

    Subjects differ, as people do, in ways that a per-trial baseline cannot remove (see Notes):
    individual alpha frequency, which routes carry their valence response and where, how
    arousal splits between beta and gamma, noise levels, and how their EEG changes between rest
    and watching a stimulus. Within a subject all of these are fixed, so a classifier trained on
    a subject's own trials transfers to its other trials better than one trained on other
    subjects.

    Parameters
    ----------
    montage : {"dreamer", "deap", "seed"} or Montage, default="dreamer"
    n_subjects : int, default=4
    n_trials : int >= 2, default=8
        Trials per subject.
    sfreq : float or None, default=None
        Hz; None takes the montage's ``sfreq_default``.
    trial_duration : float, default=20.0
        Seconds of stimulus EEG per trial.
    baseline_duration : float >= 0, default=30.0
        Seconds of resting EEG before each stimulus (no affect effect, no viewing state). Its
        default is long because a baseline's error reaches every window corrected by it: the
        trial-to-trial s.d. of a baseline's alpha-band differential entropy is about 0.12 nats
        over 5 s and 0.05 over 30 s (DREAMER's neutral baselines last 61 s).
    scale : {"dreamer", "deap"} or None, default=None
        Rating scale: "dreamer" is 1..5, "deap" 1..9. None takes "deap" for the DEAP montage and
        "dreamer" otherwise.
    effect_size : float >= 0, default=1.0
        Strength of the affect effects, as in :func:`physioaffect.simulate.eeg`.
    random_state : int, numpy.random.Generator or None, default=None

    Returns
    -------
    xarray.Dataset
        ``eeg`` : (subject, trial, channel, time) float64, volts.
        ``baseline`` : (subject, trial, channel, baseline_time) float64, volts.
        Coords: ``subject`` ("S01", ...), ``trial`` (1, 2, ...), ``channel``, ``time`` (s from
        stimulus onset), ``baseline_time`` (s, negative: before stimulus onset), ``valence`` and
        ``arousal`` (subject, trial) integer ratings, ``alpha_freq`` (subject) in Hz, and the
        strengths of each subject's three valence routes (subject): ``valence_asymmetry``,
        ``valence_temporal``, ``valence_theta`` (multipliers of the gains below).
        Attrs: ``sfreq``, ``montage``, ``units`` ("V"), ``scale``, ``scale_min``, ``scale_max``,
        ``effect_size``.

    Notes
    -----
    For each subject, valence and arousal ratings are drawn independently: half of the trials
    below mid-scale and half above (one more below when ``n_trials`` is odd), uniformly among
    the ratings on that side; the mid-scale rating itself is never drawn, so the classes are the
    same whether a rating at mid-scale would count as high or low. The latent affect of a trial
    is the rating mapped linearly to [-1, 1] (1 -> -1, top of scale -> +1). Baselines are
    simulated at neutral affect. Every recording carries 50 Hz line noise of 2 µV when 50 Hz is
    below Nyquist.

    Each subject draws, uniformly on the range given unless said otherwise:

    * recording: channel gains (log-normal, s.d. 0.25), extra volume conduction (each electrode
      mixes in 10-35 % of its neighbours), white sensor noise of 0.5-3 µV RMS, a background
      scale (log-normal, s.d. 0.3) and blink rate (8-20 per minute). Gains cancel in a
      baseline-corrected log power; the others change how much of a band an effect moves.
    * rhythms: an individual alpha frequency of 8.5-12 Hz with a peak s.d. of 0.6-1.2 Hz, so
      that alpha power, and its affect effects, spread over the theta (4-8 Hz), alpha and beta
      (from 14 Hz) bands by different amounts; an alpha scale (log-normal, s.d. 0.3); a trait
      frontal alpha asymmetry; a frontal-midline theta rhythm of 3-6 µV at 5-7 Hz.
    * valence, through three routes reported in the literature, with strengths ``r`` whose
      squares split a total ``3 t**2`` (``t`` in 0.2-0.8) by a flat Dirichlet draw, so most
      subjects lean on one or two routes and some show little at all:

      - frontal alpha asymmetry (Davidson's approach/withdrawal model): the gain of
        :func:`physioaffect.simulate.eeg` times ``r``, spread over the montage's homologous
        frontal pairs with Dirichlet weights (concentration 0.7, mean 1), so a few pairs carry
        most of it;
      - lateral temporal beta and gamma, higher for positive valence (as in SEED): log amplitude
        ``0.5 r v`` at full temporal weight (T7/T8);
      - frontal-midline theta, higher for pleasant stimuli: log amplitude ``0.5 r v``.
    * arousal: the gains of :func:`physioaffect.simulate.eeg` times 0.5-1.5, with the beta and
      gamma gains reweighted by ``2 q`` and ``2 (1 - q)``, ``q`` in 0-1.
    * viewing state, present during stimuli and absent from rest baselines, so that baseline
      correction leaves it in place as a subject-specific offset: alpha desynchronisation (log
      amplitude -0.5 to 0), a frontal alpha asymmetry (s.d. 0.4 times the valence pattern
      ``x f``), temporal-muscle activity in beta and gamma (log amplitude 0-1.2 at T7/T8),
      frontal-midline theta changed by a log-normal factor (s.d. 0.2), and per-electrode
      offsets (s.d. 0.25) in alpha and in beta/gamma.

    ``effect_size`` scales the valence and arousal gains only; the viewing state stays.

    With 6 subjects of 24 ten-second trials, baseline-corrected differential entropy in 2-s
    windows and a logistic regression, binary valence is decoded with 0.70-0.87 accuracy within
    subjects (trial-grouped folds) and 0.52-0.77 leaving one subject out (seeds 0-11; the
    within-subject figure higher for every seed).

    Examples
    --------
    >>> ds = study(n_subjects=2, n_trials=4, trial_duration=2.0, baseline_duration=1.0,
    ...            random_state=0)
    >>> ds["eeg"].shape
    (2, 4, 14, 256)
    """
    mont = get_montage(montage)
    sfreq = mont.sfreq_default if sfreq is None else check_sfreq(sfreq)
    n_subjects = _check_count(n_subjects, "n_subjects", 1)
    n_trials = _check_count(n_trials, "n_trials", 2)
    n_times = n_samples(trial_duration, sfreq, "trial_duration")
    baseline_duration = check_positive(baseline_duration, "baseline_duration", allow_zero=True)
    n_base = int(round(baseline_duration * sfreq))
    effect_size = check_positive(effect_size, "effect_size", allow_zero=True)
    if scale is None:
        scale = "deap" if mont.name == "deap" else "dreamer"
    if scale not in RATING_SCALES:
        raise InvalidParameterError(
            f"`scale` must be one of {list(RATING_SCALES)} or None, got {scale!r}")
    low, high = RATING_SCALES[scale]
    rng = check_random_state(random_state)
    lay = layout(mont)
    line_freq = _LINE_FREQ if _LINE_FREQ < sfreq / 2 else None

    n_ch = mont.n_channels
    data = np.empty((n_subjects, n_trials, n_ch, n_times))
    base = np.empty((n_subjects, n_trials, n_ch, n_base))
    valence = np.empty((n_subjects, n_trials), dtype=np.int64)
    arousal = np.empty((n_subjects, n_trials), dtype=np.int64)
    alpha_freq = np.empty(n_subjects)
    routes = np.empty((n_subjects, 3))
    half_range = (high - low) / 2
    mid = (high + low) / 2
    with single_threaded_blas():
        for s in range(n_subjects):
            sub_rng = np.random.default_rng(rng.integers(2**63))
            profile, routes[s] = _subject_profile(sub_rng, mont, lay)
            viewing = _viewing_profile(sub_rng, lay, profile)
            alpha_freq[s] = profile.alpha_freq
            valence[s] = _ratings(sub_rng, n_trials, low, high)
            arousal[s] = _ratings(sub_rng, n_trials, low, high)
            common = dict(sfreq=sfreq, effect_size=effect_size, line_freq=line_freq,
                          line_noise=_LINE_NOISE, rng=sub_rng)
            for t in range(n_trials):
                if n_base:
                    base[s, t] = simulate(mont, lay, profile, n_times=n_base, valence=0.0,
                                          arousal=0.0, **common)
                data[s, t] = simulate(mont, lay, viewing, n_times=n_times,
                                      valence=(valence[s, t] - mid) / half_range,
                                      arousal=(arousal[s, t] - mid) / half_range, **common)

    subjects = [f"S{s + 1:02d}" for s in range(n_subjects)]
    trials = np.arange(1, n_trials + 1)
    return xr.Dataset(
        data_vars={
            "eeg": (("subject", "trial", "channel", "time"), data, {"units": "V"}),
            "baseline": (("subject", "trial", "channel", "baseline_time"), base, {"units": "V"}),
        },
        coords={
            "subject": subjects,
            "trial": trials,
            "channel": list(mont.ch_names),
            "time": np.arange(n_times) / sfreq,
            "baseline_time": (np.arange(n_base) - n_base) / sfreq,
            "valence": (("subject", "trial"), valence),
            "arousal": (("subject", "trial"), arousal),
            "alpha_freq": ("subject", alpha_freq, {"units": "Hz"}),
            "valence_asymmetry": ("subject", routes[:, 0]),
            "valence_temporal": ("subject", routes[:, 1]),
            "valence_theta": ("subject", routes[:, 2]),
        },
        attrs={
            "sfreq": sfreq,
            "montage": mont.name,
            "units": "V",
            "scale": scale,
            "scale_min": low,
            "scale_max": high,
            "effect_size": effect_size,
        },
    )
