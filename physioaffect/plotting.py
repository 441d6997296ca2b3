"""Figures of an evaluation: confusion matrix, learning curves and RBTransformer attention maps.

Every function draws on a fresh :class:`matplotlib.figure.Figure` rendered by the Agg canvas (no
pyplot, no change to the user's backend), returns it, and writes it as a PNG when ``path`` is
given. The PNG measures ``figsize * dpi`` pixels exactly. matplotlib is imported by these
functions, never by ``import physioaffect``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .errors import InvalidParameterError

__all__ = [
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_attention",
    "attention_maps",
    "save_png",
]


def _figure(figsize, dpi):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    try:
        w, h = (float(v) for v in figsize)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"`figsize` must be (width, height) in inches, got {figsize!r}") from None
    if not (w > 0 and h > 0) or not (isinstance(dpi, (int, float)) and dpi > 0):
        raise InvalidParameterError(
            f"`figsize` and `dpi` must be positive, got {figsize!r} and {dpi!r}")
    fig = Figure(figsize=(w, h), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, path) -> Path:
    """Write a figure as a PNG of ``figsize * dpi`` pixels; return the path.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Output file; its folder must exist.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InvalidParameterError(f"cannot write {path}: the folder {path.parent} does not exist")
    fig.savefig(path, format="png", dpi=fig.dpi)
    return path


def plot_confusion_matrix(cm, classes=None, *, normalize=None, title=None, path=None,
                          figsize=(5.0, 4.5), dpi=100, cmap="Blues"):
    """Draw a confusion matrix with its counts (or fractions) in the cells.

    Parameters
    ----------
    cm : array-like of shape (n_classes, n_classes) or CVResult
        Counts, rows true labels and columns predictions; or a
        :class:`~physioaffect.evaluation.protocols.CVResult` (its matrix, classes and protocol).
    classes : sequence or None, default=None
        Tick labels; default 0..n_classes - 1.
    normalize : {None, "true", "pred", "all"}, default=None
        Show fractions of each row (recall), column (precision) or the total.
    title : str or None, default=None
        Default ``"confusion matrix"`` and, for a CVResult, its protocol.
    path : str or path-like or None, default=None
        Also write a PNG there.
    figsize : (float, float), default=(5.0, 4.5)
        Inches.
    dpi : int, default=100
    cmap : str, default="Blues"

    Returns
    -------
    matplotlib.figure.Figure
    """
    protocol = getattr(cm, "protocol", None)
    if hasattr(cm, "confusion_matrix"):
        classes = cm.classes if classes is None else classes
        cm = cm.confusion_matrix
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise InvalidParameterError(
            f"`cm` must be a square (n_classes, n_classes) matrix, got shape {cm.shape}")
    k = cm.shape[0]
    labels = [str(c) for c in (range(k) if classes is None else classes)]
    if len(labels) != k:
        raise InvalidParameterError(f"`classes` has {len(labels)} names for {k} classes")
    if normalize not in (None, "true", "pred", "all"):
        raise InvalidParameterError(
            f"`normalize` must be None, 'true', 'pred' or 'all', got {normalize!r}")
    shown = cm
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalize == "true":
            shown = np.nan_to_num(cm / cm.sum(axis=1, keepdims=True))
        elif normalize == "pred":
            shown = np.nan_to_num(cm / cm.sum(axis=0, keepdims=True))
        elif normalize == "all":
            shown = np.nan_to_num(cm / cm.sum())
    fig = _figure(figsize, dpi)
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap=cmap, vmin=0)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xticks(range(k), labels, rotation=45 if max(map(len, labels)) > 3 else 0, ha="right"
                  if max(map(len, labels)) > 3 else "center")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = shown.max() if shown.size else 0
    for i in range(k):
        for j in range(k):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(round(cm[i, j]))}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if top and shown[i, j] > top / 2 else "black")
    ax.set_title(title or ("confusion matrix" + (f"\n{protocol}" if protocol else "")),
                 fontsize=9)
    if path is not None:
        save_png(fig, path)
    return fig


def _as_curves(history) -> dict:
    if hasattr(history, "to_dict") and callable(history.to_dict):
        history = history.to_dict()
    elif hasattr(history, "history_") and not isinstance(history, Mapping):
        return _as_curves(history.history_)
    if not isinstance(history, Mapping):
        raise InvalidParameterError(
            "a history must be a training History, a dict of per-epoch lists or an estimator "
            f"with `history_`, got {type(history).__name__}")
    out = {}
    for key in ("loss", "val_loss", "metric", "val_metric"):
        values = np.asarray(history.get(key, []) or [], dtype=np.float64)
        if values.size and not np.all(np.isnan(values)):
            out[key] = values
    if "loss" not in out:
        raise InvalidParameterError(
            f"the history has no per-epoch 'loss' (keys: {sorted(history)})")
    return out


def plot_learning_curves(histories, *, title=None, path=None, figsize=(8.0, 3.5), dpi=100):
    """Draw training and validation loss and metric per epoch, one line per fold.

    Parameters
    ----------
    histories : History, dict, estimator with ``history_``, CVResult, or a sequence of them
        One run, or one per fold (a :class:`~physioaffect.evaluation.protocols.CVResult` gives
        its ``histories``). A dict holds per-epoch lists under ``loss`` and optionally
        ``val_loss``, ``metric`` and ``val_metric``.
    title : str or None, default=None
    path : str or path-like or None, default=None
        Also write a PNG there.
    figsize : (float, float), default=(8.0, 3.5)
        Inches.
    dpi : int, default=100

    Returns
    -------
    matplotlib.figure.Figure
        Loss on the left, metric on the right (when any run recorded one).
    """
    protocol = getattr(histories, "protocol", None)
    if hasattr(histories, "histories") and not isinstance(histories, Mapping):
        histories = histories.histories
    if isinstance(histories, Sequence) and not isinstance(histories, (str, bytes)):
        runs = [_as_curves(h) for h in histories]
    else:
        runs = [_as_curves(histories)]
    if not runs:
        raise InvalidParameterError("no history to plot (the estimator records no `history_`)")
    has_metric = any("metric" in r or "val_metric" in r for r in runs)
    fig = _figure(figsize, dpi)
    axes = fig.subplots(1, 2 if has_metric else 1, squeeze=False)[0]
    colors = {"loss": "tab:blue", "val_loss": "tab:orange", "metric": "tab:blue",
              "val_metric": "tab:orange"}
    alpha = 1.0 if len(runs) == 1 else max(0.25, 1.0 / np.sqrt(len(runs)))
    for ax, keys, name in zip(axes, (("loss", "val_loss"), ("metric", "val_metric")),
                              ("loss", "metric"), strict=False):
        for key in keys:
            first = True
            for run in runs:
                if key in run:
                    ax.plot(np.arange(len(run[key])), run[key], color=colors[key], alpha=alpha,
                            lw=1.2, label=("validation" if key.startswith("val") else "training")
                            if first else None)
                    first = False
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(title or ("learning curves" + (f" ({len(runs)} folds)" if len(runs) > 1 else "")
                           + (f": {protocol}" if protocol else "")), fontsize=9)
    if path is not None:
        save_png(fig, path)
    return fig


def _module_of(model):
    torch = __import__("torch")
    if isinstance(model, torch.nn.Module):
        return model
    for name in ("module_", "model_", "net_", "module", "model"):
        inner = getattr(model, name, None)
        if isinstance(inner, torch.nn.Module):
            return inner
    raise InvalidParameterError(
        f"`model` must be an RBTransformer module or an estimator holding one, got "
        f"{type(model).__name__}")


def attention_maps(model, X, *, batch_size=256, device="cpu"):
    """Mean electrode x electrode attention of an RBTransformer over a set of token windows.

    Parameters
    ----------
    model : RBTransformer or estimator holding one (in ``module_`` or ``model_``)
        Run in eval mode, without gradients.
    X : array-like of shape (n_windows, n_chans, n_bands)
        Band tokens.
    batch_size : int, default=256
    device : str, default="cpu"

    Returns
    -------
    attention : ndarray of shape (depth, n_heads, n_chans, n_chans)
        Softmax attention averaged over the windows; rows are queries, columns keys, both in the
        model's ``ch_names`` order.
    """
    import torch

    net = _module_of(model)
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3 or len(X) == 0:
        raise InvalidParameterError(
            f"`X` must be (n_windows, n_chans, n_bands) tokens, got shape {X.shape}")
    was_training = net.training
    net.eval()
    total = None
    try:
        with torch.no_grad():
            for start in range(0, len(X), batch_size):
                xb = torch.from_numpy(X[start:start + batch_size]).to(device)
                _, attn = net(xb, return_attention=True)
                part = attn.float().sum(dim=0).cpu().numpy()
                total = part if total is None else total + part
    finally:
        net.train(was_training)
    return total / len(X)


def plot_attention(attention, ch_names=None, *, layer=None, head=None, title=None, path=None,
                   figsize=(6.0, 5.0), dpi=100, cmap="viridis"):
    """Draw an electrode x electrode attention map with channel names on both axes.

    Parameters
    ----------
    attention : array-like of shape (..., n_chans, n_chans)
        Attention matrices, e.g. ``(depth, n_heads, N, N)`` from :func:`attention_maps` or
        ``(batch, depth, n_heads, N, N)`` from ``RBTransformer(x, return_attention=True)``.
        Leading axes are averaged over, after selecting ``layer`` and ``head``.
    ch_names : sequence of str or None, default=None
        Electrode names, in the order of the matrix; default ``ch0``, ``ch1``, ...
    layer, head : int or None, default=None
        Select one block (axis -4) and one head (axis -3) instead of averaging; need at least
        4 and 3 axes respectively.
    title : str or None, default=None
    path : str or path-like or None, default=None
        Also write a PNG there.
    figsize : (float, float), default=(6.0, 5.0)
        Inches.
    dpi : int, default=100
    cmap : str, default="viridis"

    Returns
    -------
    matplotlib.figure.Figure
        Rows are queries (the electrode attending), columns keys (the electrode attended to).
    """
    a = np.asarray(attention, dtype=np.float64)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2] or a.shape[-1] == 0:
        raise InvalidParameterError(
            f"`attention` must end with a square (n_chans, n_chans) matrix, got shape {a.shape}")
    if head is not None:
        if a.ndim < 3 or not 0 <= head < a.shape[-3]:
            raise InvalidParameterError(
                f"`head`={head!r} is outside the {a.shape[-3] if a.ndim >= 3 else 0} heads of "
                f"attention of shape {a.shape}")
        a = a[..., head, :, :]
        if layer is not None:
            a = a[..., None, :, :]
    if layer is not None:
        if a.ndim < 4 or not 0 <= layer < a.shape[-4]:
            raise InvalidParameterError(
                f"`layer`={layer!r} is outside the layers (axis -4) of attention of shape "
                f"{a.shape}")
        a = a[..., layer, :, :, :]
    n = a.shape[-1]
    m = a.reshape(-1, n, n).mean(axis=0)
    names = [f"ch{i}" for i in range(n)] if ch_names is None else [str(c) for c in ch_names]
    if len(names) != n:
        raise InvalidParameterError(f"`ch_names` has {len(names)} names for {n} electrodes")
    fig = _figure(figsize, dpi)
    ax = fig.add_subplot()
    im = ax.imshow(m, cmap=cmap, vmin=0)
    fig.colorbar(im, ax=ax, shrink=0.8, label="attention")
    ax.set_xticks(range(n), names, rotation=90, fontsize=7)
    ax.set_yticks(range(n), names, fontsize=7)
    ax.set_xlabel("key (attended electrode)")
    ax.set_ylabel("query (attending electrode)")
    where = []
    if layer is not None:
        where.append(f"block {layer}")
    if head is not None:
        where.append(f"head {head}")
    ax.set_title(title or ("RBTransformer attention, " + (", ".join(where) if where else
                                                          "mean over blocks and heads")),
                 fontsize=9)
    if path is not None:
        save_png(fig, path)
    return fig
