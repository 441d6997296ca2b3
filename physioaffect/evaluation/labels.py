"""Training targets: Gaussian ordinal label smoothing, binarisation, label-mode correction and the
soft-target loss.

numpy in, numpy out; :func:`soft_target_cross_entropy` alone works on torch tensors and imports torch
when it runs.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_positive
from ..errors import InvalidParameterError

__all__ = [
    "gaussian_ordinal_smoothing",
    "one_hot",
    "binarise",
    "mode_corrected_labels",
    "soft_target_cross_entropy",
]


def _check_n_classes(n_classes) -> int:
    if (isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral)
            or n_classes < 2):
        raise InvalidParameterError(f"`n_classes` must be an integer >= 2, got {n_classes!r}")
    return int(n_classes)


def _check_class_labels(labels, n_classes: int, name: str = "labels") -> np.ndarray:
    arr = np.asarray(labels)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise InvalidParameterError(
                f"`{name}` must hold integer class indices 0..{n_classes - 1}; got non-integer "
                f"values such as {arr[~(np.isfinite(arr) & (arr == np.round(arr)))].ravel()[:3]}")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iu":
        raise InvalidParameterError(
            f"`{name}` must hold integer class indices 0..{n_classes - 1}, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        bad = arr[(arr < 0) | (arr >= n_classes)].ravel()[0]
        raise InvalidParameterError(
            f"`{name}` must hold class indices in 0..{n_classes - 1} (n_classes={n_classes}), "
            f"got {int(bad)}")
    return arr


def gaussian_ordinal_smoothing(labels, n_classes: int, sigma: float = 0.5) -> np.ndarray:
    r"""Smooth ordinal class labels into Gaussian target distributions.

    Each label :math:`y` becomes the distribution

    .. math:: q_k(y) = \frac{\exp(-(k - y)^2 / (2\sigma^2))}
                            {\sum_{j=0}^{K-1} \exp(-(j - y)^2 / (2\sigma^2))},
              \quad k = 0, \dots, K - 1,

    so neighbouring ordinal classes share some of the target mass. Rows at the ends of the scale
    renormalise over the classes that exist.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Class indices in ``0 .. n_classes - 1`` (for ratings 1-5, pass ``rating - 1``).
    n_classes : int
        Number of ordinal classes K (>= 2).
    sigma : float, default=0.5
        Spread of the Gaussian in class units. HiSTN uses 0.5.

    Returns
    -------
    targets : ndarray of float64, shape (n_samples, n_classes)
        One distribution per label; each row sums to 1.

    See Also
    --------
    soft_target_cross_entropy : the loss these targets are meant for.

    Notes
    -----
    HiSTN (Kuang et al. 2024) trains on these targets and keeps plain one-hot targets for validation
    and hard labels for the test metrics.

    References
    ----------
    .. [1] D. Kuang, Y. Song, C. Michoski, "HiSTN: Hierarchical spatial-temporal network for
       EEG-based affective computing", arXiv:2408.15255, 2024.

    Examples
    --------
    >>> from physioaffect.evaluation import gaussian_ordinal_smoothing
    >>> q = gaussian_ordinal_smoothing([0, 2], n_classes=5)
    >>> q.round(4).tolist()
    [[0.8805, 0.1192, 0.0003, 0.0, 0.0], [0.0003, 0.1065, 0.7866, 0.1065, 0.0003]]
    """
    n_classes = _check_n_classes(n_classes)
    sigma = check_positive(sigma, "sigma")
    y = _check_class_labels(labels, n_classes)
    k = np.arange(n_classes, dtype=np.float64)
    # one row per class, then a lookup: each class's distribution is computed once
    table = np.exp(-((k[None, :] - k[:, None]) ** 2) / (2.0 * sigma**2))
    table /= table.sum(axis=1, keepdims=True)
    return table[y]


def one_hot(labels, n_classes: int) -> np.ndarray:
    """Return one-hot rows (float64, shape (n_samples, n_classes)) for class indices ``labels``.

    Examples
    --------
    >>> from physioaffect.evaluation import one_hot
    >>> one_hot([1, 0], 3)
    array([[0., 1., 0.],
           [1., 0., 0.]])
    """
    n_classes = _check_n_classes(n_classes)
    y = _check_class_labels(labels, n_classes)
    return np.eye(n_classes)[y]


def binarise(ratings, threshold: float) -> np.ndarray:
    """Binarise ratings: 1 where ``rating >= threshold``, else 0.

    Parameters
    ----------
    ratings : array-like of float
        Self-assessment ratings (e.g. DEAP 1-9, DREAMER 1-5).
    threshold : float
        Ratings at or above it become class 1. RBTransformer uses 5.0 for DEAP and 3.0 for DREAMER.

    Returns
    -------
    labels : ndarray of int64, same shape as ``ratings``

    Raises
    ------
    InvalidParameterError
        If a rating is NaN or infinite: a missing rating has no class (it is never drawn at random).

    Examples
    --------
    >>> from physioaffect.evaluation import binarise
    >>> binarise([1.0, 4.99, 5.0, 9.0], threshold=5.0)
    array([0, 0, 1, 1])
    """
    try:
        arr = np.asarray(ratings, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"`ratings` must be numeric, got {ratings!r}: {exc}") from None
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"`threshold` must be a number, got {threshold!r}") from None
    if not np.isfinite(threshold):
        raise InvalidParameterError(f"`threshold` must be finite, got {threshold}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidParameterError(
            f"`ratings` holds {int(bad.sum())} NaN or inf value(s) (first at index {where}); "
            "drop those samples or impute the ratings before binarising")
    return (arr >= threshold).astype(np.int64)


def mode_corrected_labels(labels, subjects, trials) -> np.ndarray:
    """Replace each subject's label of a trial by the most frequent label of that trial.

    For every trial (stimulus), the labels the subjects gave it are counted once per subject and the
    most frequent one (ties: the lowest class) replaces every subject's label for that trial. This
    is the label correction of HiSTN's subject-independent protocol, applied to the training
    subjects of each leave-one-subject-out fold.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Class index per sample (window); constant within one (subject, trial).
    subjects : array-like, shape (n_samples,)
        Subject id per sample.
    trials : array-like, shape (n_samples,)
        Trial (stimulus) id per sample, shared across subjects: trial ``t`` of every subject is the
        same stimulus.

    Returns
    -------
    corrected : ndarray of int64, shape (n_samples,)

    Raises
    ------
    InvalidParameterError
        If lengths differ, labels are not integers >= 0, or a (subject, trial) carries two labels.

    See Also
    --------
    LeaveOneSubjectOut.fold_labels : applies this to the training subjects of one fold.

    Examples
    --------
    >>> from physioaffect.evaluation import mode_corrected_labels
    >>> mode_corrected_labels([0, 1, 1, 2], subjects=[0, 1, 2, 3], trials=[7, 7, 7, 7])
    array([1, 1, 1, 1])
    """
    y = np.asarray(labels)
    subjects = np.asarray(subjects)
    trials = np.asarray(trials)
    if not (y.ndim == subjects.ndim == trials.ndim == 1) or not (
            len(y) == len(subjects) == len(trials)):
        raise InvalidParameterError(
            "`labels`, `subjects` and `trials` must be 1-D of one length, got shapes "
            f"{y.shape}, {subjects.shape}, {trials.shape}")
    if len(y) == 0:
        return y.astype(np.int64)
    y = _check_class_labels(y, int(np.max(y)) + 1 if y.dtype.kind in "iuf" else 2)
    _, s_code = np.unique(subjects, return_inverse=True)
    t_values, t_code = np.unique(trials, return_inverse=True)
    pair = s_code.astype(np.int64) * len(t_values) + t_code
    pairs, first = np.unique(pair, return_index=True)
    # one label per (subject, trial): check it is constant
    lab_of_pair = dict(zip(pairs.tolist(), y[first].tolist(), strict=True))
    mismatch = y != np.array([lab_of_pair[p] for p in pair.tolist()])
    if mismatch.any():
        i = int(np.argmax(mismatch))
        raise InvalidParameterError(
            f"`labels` must be constant within one (subject, trial); subject {subjects[i]!r} "
            f"trial {trials[i]!r} carries labels {lab_of_pair[int(pair[i])]} and {int(y[i])}")
    n_classes = int(y.max()) + 1
    counts = np.zeros((len(t_values), n_classes), dtype=np.int64)
    np.add.at(counts, (pairs % len(t_values), y[first]), 1)
    mode = counts.argmax(axis=1)  # argmax returns the first maximum: ties go to the lowest class
    return mode[t_code].astype(np.int64)


def soft_target_cross_entropy(logits, targets, *, weight=None, reduction: str = "mean"):
    r"""Cross-entropy between target distributions and the softmax of ``logits`` (torch).

    .. math:: \ell_i = -w_{c_i} \sum_k q_{ik} \log \operatorname{softmax}(z_i)_k

    where :math:`c_i = \arg\max_k q_{ik}` picks the class weight of sample i (all 1 without
    ``weight``).

    Parameters
    ----------
    logits : torch.Tensor, shape (n_samples, n_classes)
        Unnormalised scores.
    targets : torch.Tensor, shape (n_samples, n_classes)
        Target distributions (rows summing to 1), e.g. from :func:`gaussian_ordinal_smoothing`.
    weight : torch.Tensor, shape (n_classes,), optional
        Class weights; each sample's loss is multiplied by the weight of its target's argmax class.
    reduction : {"mean", "sum", "none"}, default="mean"
        ``"mean"`` divides the sum by the number of samples (not by the sum of weights).

    Returns
    -------
    loss : torch.Tensor
        A scalar, or shape (n_samples,) with ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> from physioaffect.evaluation import soft_target_cross_entropy
    >>> z = torch.zeros(1, 2)
    >>> round(float(soft_target_cross_entropy(z, torch.tensor([[0.5, 0.5]]))), 4)
    0.6931
    """
    import torch

    if reduction not in ("mean", "sum", "none"):
        raise InvalidParameterError(
            f"`reduction` must be one of 'mean', 'sum', 'none', got {reduction!r}")
    if logits.shape != targets.shape or logits.ndim != 2:
        raise InvalidParameterError(
            "`logits` and `targets` must both have shape (n_samples, n_classes), got "
            f"{tuple(logits.shape)} and {tuple(targets.shape)}")
    logp = torch.log_softmax(logits.float(), dim=-1)
    targets = targets.to(logp.dtype)
    loss = -(targets * logp).sum(dim=-1)
    if weight is not None:
        loss = loss * weight.to(loss)[targets.argmax(dim=-1)]
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
