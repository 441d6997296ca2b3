"""Simulated cardio-respiratory polysomnography epochs with sleep stages and apnea events.

The channel set and rate follow the multitask sleep ViT data (METHODS.md 4.1): PPG, respiratory
flow, thoracic and abdominal respiratory effort, in 30-s epochs at 64 Hz (1,920 samples).

Breathing is a phase oscillator whose rate and amplitude wander with stage-dependent variability;
volume drives the effort belts and its derivative the flow. The PPG is a two-peak pulse per beat
on a beat phase oscillator with respiratory sinus arrhythmia. All signals are in arbitrary units
(breathing amplitude about 1, pulse amplitude about 1).

Stage effects (W, N1, N2, N3, REM): breathing rate 16, 15, 14, 13, 16 per minute; rate
variability (coefficient of variation) 0.15, 0.10, 0.06, 0.03, 0.20 and amplitude variability
0.25, 0.15, 0.08, 0.04, 0.25, so N3 is slow and regular and W and REM irregular; heart rate 72,
66, 62, 57, 68 beats per minute.

Apnea events (one per affected epoch, 10 to 30 s long, entirely inside the epoch, 1-s ramps):

* 1, obstructive apnea: flow falls to 5 %; the effort belts continue with rising effort (up to
  x 1.5) and the abdomen drifts out of phase with the thorax (paradoxical breathing);
* 2, central apnea: flow and both effort belts fall to 5 %;
* 3, hypopnea: flow falls to 50 % and effort to 70 %.

After an event: recovery breaths (x 1.3 for 6 s), heart rate up by 10 beats per minute for 10 s,
and, mimicking the vasoconstriction that accompanies desaturation, PPG pulse amplitude down by 40 %
from 3 to 18 s after the event (as far as the epoch reaches).
"""

from __future__ import annotations

import numbers

import numpy as np
import xarray as xr

from .._validation import check_sfreq
from ..errors import InvalidParameterError
from .eeg import check_positive, check_random_state, single_threaded_blas, spectral_noise

__all__ = ["psg_epochs", "STAGE_NAMES", "APNEA_NAMES", "PSG_CHANNELS"]

STAGE_NAMES = ("W", "N1", "N2", "N3", "REM")
APNEA_NAMES = ("none", "obstructive", "central", "hypopnea")
#: Channels that psg_epochs can produce; "effort" is the sum of the thoracic and abdominal belts.
PSG_CHANNELS = ("ppg", "flow", "thorax", "abdomen", "effort")
_DEFAULT_CHANNELS = ("ppg", "flow", "thorax", "abdomen")
EPOCH_DURATION = 30.0

# Per stage: breaths/min, rate c.v., amplitude c.v., heart rate (bpm), heart-rate s.d. (bpm).
_STAGE_PARAMS = np.array([
    [16.0, 0.15, 0.25, 72.0, 4.0],
    [15.0, 0.10, 0.15, 66.0, 3.0],
    [14.0, 0.06, 0.08, 62.0, 2.5],
    [13.0, 0.03, 0.04, 57.0, 2.0],
    [16.0, 0.20, 0.25, 68.0, 4.0],
])

# Stage transition probabilities between consecutive 30-s epochs (rows: from, columns: to).
_TRANSITIONS = np.array([
    [0.80, 0.15, 0.04, 0.00, 0.01],
    [0.08, 0.52, 0.35, 0.00, 0.05],
    [0.03, 0.04, 0.83, 0.08, 0.02],
    [0.02, 0.01, 0.10, 0.87, 0.00],
    [0.04, 0.04, 0.04, 0.00, 0.88],
])

_FLOW_FACTOR = {1: 0.05, 2: 0.05, 3: 0.5}
_EFFORT_FACTOR = {1: 1.0, 2: 0.05, 3: 0.7}


def _markov_stages(rng, n_epochs: int) -> np.ndarray:
    stages = np.empty(n_epochs, dtype=np.int64)
    state = 0
    cumulative = np.cumsum(_TRANSITIONS, axis=1)
    for i, u in enumerate(rng.uniform(size=n_epochs)):
        stages[i] = state
        state = min(int(np.searchsorted(cumulative[state], u, side="right")), 4)
    return stages


def _check_stages(stages, n_epochs):
    arr = np.asarray(stages)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) \
            or arr.min() < 0 or arr.max() > 4:
        raise InvalidParameterError(
            "`stages` must be a non-empty 1-D sequence of ints in 0..4 (W, N1, N2, N3, REM), "
            f"got {stages!r:.80}")
    if n_epochs is not None and n_epochs != arr.size:
        raise InvalidParameterError(
            f"`n_epochs` must equal len(stages) = {arr.size} when both are given, got {n_epochs}")
    return arr.astype(np.int64)


def _ramp(t, start, stop, edge=1.0):
    """1 inside [start, stop] with linear ramps of ``edge`` s, 0 outside; shape of ``t``."""
    return np.clip(np.minimum(t - start, stop - t) / edge + 0.5, 0.0, 1.0)


def _smooth(rng, shape, n_times, sfreq, cutoff):
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    h = np.exp(-0.5 * (freqs / cutoff) ** 2)
    h[0] = 0.0
    return np.fft.irfft(spectral_noise(rng, shape, n_times, sfreq, h), n=n_times)


def psg_epochs(n_epochs=None, *, sfreq=64.0, stages=None, apnea_fraction=0.2,
               channels=_DEFAULT_CHANNELS, random_state=None) -> xr.Dataset:
    """Simulate 30-s cardio-respiratory epochs labelled with sleep stage and apnea type.

    Parameters
    ----------
    n_epochs : int or None, default=None
        Number of epochs; None gives 100, or ``len(stages)`` when ``stages`` is given.
    sfreq : float, default=64.0
        Sampling rate in Hz: 64 Hz is the published rate after down-sampling (METHODS.md 4.1).
    stages : sequence of int in 0..4 or None, default=None
        Stage of each epoch (0 W, 1 N1, 2 N2, 3 N3, 4 REM). None draws a sequence from a Markov
        chain over 30-s epochs starting awake.
    apnea_fraction : float in [0, 1], default=0.2
        Fraction of epochs holding one apnea event, rounded to a whole number of epochs; sleep
        epochs are chosen first, wake epochs only when there are too few. Event types are
        balanced (obstructive, central, hypopnea in turn, in random order).
    channels : sequence of {"ppg", "flow", "thorax", "abdomen", "effort"}, default=("ppg", "flow", "thorax", "abdomen")
        Channels to return, in this order; "effort" is the sum of the two belts.
    random_state : int, numpy.random.Generator or None, default=None

    Returns
    -------
    xarray.Dataset
        ``signals`` : (epoch, channel, time) float64, arbitrary units; time has
        round(30 * sfreq) samples.
        Coords: ``epoch`` (0, 1, ...), ``channel``, ``time`` (s within the epoch), ``stage``
        (epoch) int 0..4, ``apnea`` (epoch) int 0 none, 1 obstructive, 2 central, 3 hypopnea,
        ``apnea_onset`` and ``apnea_duration`` (epoch) in seconds (NaN without an event).
        Attrs: ``sfreq``, ``epoch_duration`` (30.0), ``stage_names``, ``apnea_names``,
        ``units`` ("a.u.").

    Notes
    -----
    See the module documentation for the breathing, heart and event models.

    Examples
    --------
    >>> ds = psg_epochs(10, random_state=0)
    >>> ds["signals"].shape
    (10, 4, 1920)
    """
    sfreq = check_sfreq(sfreq)
    if stages is not None:
        stages = _check_stages(stages, n_epochs)
        n_epochs = stages.size
    elif n_epochs is None:
        n_epochs = 100
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, numbers.Integral) or n_epochs < 1:
        raise InvalidParameterError(f"`n_epochs` must be an int >= 1, got {n_epochs!r}")
    n_epochs = int(n_epochs)
    apnea_fraction = check_positive(apnea_fraction, "apnea_fraction", allow_zero=True)
    if apnea_fraction > 1:
        raise InvalidParameterError(f"`apnea_fraction` must be in [0, 1], got {apnea_fraction}")
    channels = tuple(channels)
    unknown = [ch for ch in channels if ch not in PSG_CHANNELS]
    if not channels or unknown:
        raise InvalidParameterError(
            f"`channels` must be a non-empty sequence of {list(PSG_CHANNELS)}, got {channels!r}")
    if sfreq < 10:
        raise InvalidParameterError(f"`sfreq` must be at least 10 Hz for PPG, got {sfreq:g}")
    rng = check_random_state(random_state)
    if stages is None:
        stages = _markov_stages(rng, n_epochs)

    # Apnea events.
    apnea = np.zeros(n_epochs, dtype=np.int64)
    onset = np.full(n_epochs, np.nan)
    duration = np.full(n_epochs, np.nan)
    n_events = int(round(apnea_fraction * n_epochs))
    if n_events:
        order = np.concatenate([rng.permutation(np.flatnonzero(stages != 0)),
                                rng.permutation(np.flatnonzero(stages == 0))])
        chosen = order[:n_events]
        apnea[chosen] = rng.permutation(np.arange(n_events) % 3 + 1)
        duration[chosen] = rng.uniform(10.0, 30.0, n_events)
        onset[chosen] = rng.uniform(0.0, 1.0, n_events) * (EPOCH_DURATION - duration[chosen])

    n_times = int(round(EPOCH_DURATION * sfreq))
    t = np.arange(n_times) / sfreq
    params = _STAGE_PARAMS[stages]
    has_event = apnea > 0
    ev_on = np.where(has_event, onset, np.inf)[:, None]
    ev_off = np.where(has_event, onset + duration, np.inf)[:, None]
    inside = np.where(has_event[:, None], _ramp(t[None, :], ev_on, ev_off), 0.0)
    after = t[None, :] - ev_off  # seconds since the event ended (negative before)

    with single_threaded_blas():
        noise = _smooth(rng, (4, n_epochs), n_times, sfreq, 0.1)
        white = rng.standard_normal((4, n_epochs, n_times))

    # Breathing.
    rate = params[:, 0:1] / 60.0 * np.exp(rng.normal(0.0, 0.05, (n_epochs, 1)))
    inst_rate = rate * np.maximum(1.0 + params[:, 1:2] * noise[0], 0.3)
    phase = 2 * np.pi * np.cumsum(inst_rate, axis=1) / sfreq + rng.uniform(0, 2 * np.pi,
                                                                           (n_epochs, 1))
    amplitude = np.exp(params[:, 2:3] * noise[1])
    recovery = 1.0 + 0.3 * ((after >= 0) & (after < 6.0))
    flow_factor = np.ones(n_epochs)
    effort_factor = np.ones(n_epochs)
    for kind in (1, 2, 3):
        flow_factor[apnea == kind] = _FLOW_FACTOR[kind]
        effort_factor[apnea == kind] = _EFFORT_FACTOR[kind]
    flow_gain = (1 - inside) + inside * flow_factor[:, None]
    effort_gain = (1 - inside) + inside * effort_factor[:, None]
    obstructive = (apnea == 1)[:, None]
    ramp_up = np.clip((t[None, :] - ev_on) / np.where(has_event, duration, 1.0)[:, None], 0, 1)
    effort_gain = np.where(obstructive, effort_gain * (1.0 + 0.5 * inside * ramp_up),
                           effort_gain)
    abdomen_lag = 0.15 + np.where(obstructive, (np.pi - 0.15) * inside, 0.0)

    signals = {}
    signals["flow"] = amplitude * recovery * flow_gain * np.sin(phase) + 0.03 * white[0]
    thorax = amplitude * recovery * effort_gain * -np.cos(phase)
    abdomen = 0.8 * amplitude * recovery * effort_gain * -np.cos(phase - abdomen_lag)
    signals["thorax"] = thorax + 0.03 * white[1]
    signals["abdomen"] = abdomen + 0.03 * white[2]
    signals["effort"] = signals["thorax"] + signals["abdomen"]

    # Pulse.
    heart = params[:, 3:4] + params[:, 4:5] * rng.standard_normal((n_epochs, 1))
    heart = heart + 2.0 * params[:, 4:5] * noise[2] + 3.0 * np.sin(phase)
    heart = heart + 10.0 * ((after >= 0) & (after < 10.0))
    beat_phase = np.cumsum(heart / 60.0, axis=1) / sfreq + rng.uniform(0, 1, (n_epochs, 1))
    frac = beat_phase % 1.0
    pulse = np.exp(-0.5 * ((frac - 0.25) / 0.07) ** 2) + 0.4 * np.exp(
        -0.5 * ((frac - 0.55) / 0.1) ** 2)
    ppg_gain = 1.0 - 0.4 * ((after >= 3.0) & (after < 18.0))
    signals["ppg"] = (ppg_gain * pulse * (1.0 + 0.05 * np.sin(phase)) + 0.1 * noise[3]
                      + 0.02 * white[3])

    data = np.stack([signals[ch] for ch in channels], axis=1)
    return xr.Dataset(
        data_vars={"signals": (("epoch", "channel", "time"), data, {"units": "a.u."})},
        coords={
            "epoch": np.arange(n_epochs),
            "channel": list(channels),
            "time": t,
            "stage": ("epoch", stages, {"stage_names": list(STAGE_NAMES)}),
            "apnea": ("epoch", apnea, {"apnea_names": list(APNEA_NAMES)}),
            "apnea_onset": ("epoch", onset, {"units": "s"}),
            "apnea_duration": ("epoch", duration, {"units": "s"}),
        },
        attrs={
            "sfreq": sfreq,
            "epoch_duration": EPOCH_DURATION,
            "stage_names": list(STAGE_NAMES),
            "apnea_names": list(APNEA_NAMES),
            "units": "a.u.",
        },
    )
