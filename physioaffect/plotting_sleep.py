"""Sleep figures: a hypnogram of true against predicted stages, and relevance over the signals.

Like :mod:`physioaffect.plotting`, every function draws on a fresh
:class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot, no change to the user's
backend), returns it, and writes a PNG when ``path`` is given. matplotlib is imported by these
functions only.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidParameterError
from .plotting import _figure, save_png

__all__ = ["plot_hypnogram", "plot_relevance", "HYPNOGRAM_ORDER"]

#: Stages from top to bottom of a hypnogram (the clinical layout: REM just under wake).
HYPNOGRAM_ORDER = ("W", "REM", "N1", "N2", "N3")
_STAGE_NAMES = ("W", "N1", "N2", "N3", "REM")


def _codes(stages, name):
    from .features.psg_inputs import stage_codes

    codes = stage_codes(np.asarray(stages, dtype=object).ravel())
    if (codes < 0).any():
        bad = np.asarray(stages, dtype=object).ravel()[codes < 0][0]
        raise InvalidParameterError(f"`{name}` holds {bad!r}, which is no sleep stage; expected "
                                    "labels 0..4 or names W, N1, N2, N3, REM")
    return codes


def plot_hypnogram(y_true, y_pred=None, *, epoch_seconds: float = 30.0, onsets=None,
                   title: str | None = None, path=None, figsize=(10.0, 3.0), dpi: int = 100):
    """Draw a hypnogram: true stages as a step line, predicted stages over them.

    Parameters
    ----------
    y_true : sequence of int or str, shape (n_epochs,)
        Stages as labels 0..4 (W, N1, N2, N3, REM) or names (``"R"``, ``"Sleep stage 3"``...).
    y_pred : sequence of int or str or None, default=None
        Predicted stages, drawn dashed, with the epochs where they differ marked.
    epoch_seconds : float, default=30.0
    onsets : array-like of float or None, default=None
        Onset of each epoch in seconds; default back-to-back epochs from 0.
    title : str or None, default=None
        Default: the agreement (accuracy) when ``y_pred`` is given.
    path : path-like or None, default=None
        Write a PNG there.
    figsize : (float, float), default=(10.0, 3.0)
    dpi : int, default=100

    Returns
    -------
    matplotlib.figure.Figure
        One axes: time in hours on x, stages top to bottom W, REM, N1, N2, N3.
    """
    t_codes = _codes(y_true, "y_true")
    p_codes = None if y_pred is None else _codes(y_pred, "y_pred")
    if p_codes is not None and len(p_codes) != len(t_codes):
        raise InvalidParameterError(f"`y_pred` has {len(p_codes)} epochs, `y_true` "
                                    f"{len(t_codes)}")
    n = len(t_codes)
    start = (np.arange(n) * float(epoch_seconds) if onsets is None
             else np.asarray(onsets, dtype=np.float64).ravel())
    if len(start) != n:
        raise InvalidParameterError(f"`onsets` has {len(start)} values for {n} epochs")
    level = {_STAGE_NAMES.index(s): i for i, s in enumerate(HYPNOGRAM_ORDER)}
    hours = np.append(start, start[-1] + epoch_seconds) / 3600.0 if n else np.zeros(1)
    fig = _figure(figsize, dpi)
    ax = fig.add_subplot()

    def steps(codes):
        y = np.array([level[int(c)] for c in codes], dtype=float)
        return np.append(y, y[-1]) if n else y

    ax.step(hours, steps(t_codes), where="post", color="black", lw=1.5, label="true")
    if p_codes is not None:
        ax.step(hours, steps(p_codes) + 0.12, where="post", color="tab:red", lw=1.0, ls="--",
                label="predicted")
        wrong = np.flatnonzero(p_codes != t_codes)
        for i in wrong:
            ax.axvspan(hours[i], hours[i + 1], color="tab:red", alpha=0.08, lw=0)
        if title is None and n:
            title = f"agreement {np.mean(p_codes == t_codes):.1%} over {n} epochs"
        ax.legend(loc="lower right", fontsize="small")
    ax.set_yticks(range(len(HYPNOGRAM_ORDER)), HYPNOGRAM_ORDER)
    ax.set_ylim(len(HYPNOGRAM_ORDER) - 0.5, -0.5)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("stage")
    if title:
        ax.set_title(title)
    if path is not None:
        save_png(fig, path)
    return fig


def plot_relevance(signals, relevance, *, sfreq, ch_names=None, title: str | None = None,
                   path=None, figsize=(10.0, 6.0), dpi: int = 100, cmap: str = "Reds"):
    """Draw one epoch's signals over its relevance in time.

    The relevance (e.g. :func:`physioaffect.nets.sleep_relevance.relevance_over_time`, one row)
    is shown as a colour band behind every channel (darker: more relevant) and as a line in a
    last panel.

    Parameters
    ----------
    signals : array-like, shape (n_chans, n_times)
        The epoch as the model read it.
    relevance : array-like, shape (n_times,)
        Per-sample relevance.
    sfreq : float
        Sampling rate of ``signals`` in Hz.
    ch_names : sequence of str or None, default=None
    title : str or None, default=None
    path : path-like or None, default=None
        Write a PNG there.
    figsize : (float, float), default=(10.0, 6.0)
    dpi : int, default=100
    cmap : str, default="Reds"

    Returns
    -------
    matplotlib.figure.Figure
        ``n_chans + 1`` axes sharing the time axis (seconds).
    """
    x = np.asarray(signals, dtype=np.float64)
    r = np.asarray(relevance, dtype=np.float64).ravel()
    if x.ndim != 2 or x.shape[1] != r.size:
        raise InvalidParameterError(
            f"`signals` must be (n_chans, n_times) and `relevance` (n_times,); got "
            f"{x.shape} and {np.shape(relevance)}")
    sfreq = float(sfreq)
    if not sfreq > 0:
        raise InvalidParameterError(f"`sfreq` must be positive, got {sfreq!r}")
    names = list(ch_names) if ch_names is not None else [f"ch{i}" for i in range(len(x))]
    if len(names) != len(x):
        raise InvalidParameterError(f"`ch_names` names {len(names)} channels; `signals` has "
                                    f"{len(x)}")
    t = np.arange(x.shape[1]) / sfreq
    extent_t = (0.0, x.shape[1] / sfreq)
    top = r.max() if r.size and r.max() > 0 else 1.0
    fig = _figure(figsize, dpi)
    axes = fig.subplots(len(x) + 1, 1, sharex=True)
    for ax, row, name in zip(axes[:-1], x, names, strict=True):
        lo, hi = float(row.min()), float(row.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        ax.imshow(r[None, :], aspect="auto", cmap=cmap, vmin=0.0, vmax=top, alpha=0.6,
                  extent=(extent_t[0], extent_t[1], lo, hi), origin="lower",
                  interpolation="nearest")
        ax.plot(t, row, color="black", lw=0.8)
        ax.set_ylim(lo, hi)
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
        ax.set_yticks([])
    axes[-1].fill_between(t, r, color="tab:red", alpha=0.5, lw=0)
    axes[-1].plot(t, r, color="tab:red", lw=0.8)
    axes[-1].set_ylabel("relevance", rotation=0, ha="right", va="center")
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(*extent_t)
    if title:
        fig.suptitle(title)
    if path is not None:
        save_png(fig, path)
    return fig
