"""Metrics of the published protocols, each defined as its authors computed it.

All take numpy-compatible arrays and return Python floats (fractions in [0, 1], not percent), except
:func:`ilss`, which takes accuracies in percent as the RBTransformer authors define it.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import InvalidParameterError

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "weighted_f1",
    "top_k_accuracy",
    "seq2hr",
    "tri_p",
    "cohen_kappa",
    "ccc",
    "ilss",
]


def _labels_pair(y_true, y_pred):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise InvalidParameterError(
            "`y_true` and `y_pred` must be 1-D arrays of one length, got shapes "
            f"{y_true.shape} and {y_pred.shape}")
    if y_true.size == 0:
        raise InvalidParameterError("`y_true` is empty; a metric needs at least one sample")
    return y_true, y_pred


def _scores(y_true, y_score):
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_score.ndim != 2 or y_true.ndim != 1 or len(y_true) != len(y_score):
        raise InvalidParameterError(
            "`y_true` must be 1-D (n_samples,) and `y_score` 2-D (n_samples, n_classes), got "
            f"shapes {y_true.shape} and {y_score.shape}")
    if y_true.size == 0:
        raise InvalidParameterError("`y_true` is empty; a metric needs at least one sample")
    if y_true.dtype.kind not in "iu" or y_true.min() < 0 or y_true.max() >= y_score.shape[1]:
        raise InvalidParameterError(
            f"`y_true` must hold class indices 0..{y_score.shape[1] - 1} (the columns of "
            f"`y_score`), got values {np.unique(y_true)[:10]}")
    return y_true.astype(np.int64), y_score


def _ranked(y_score):
    """Columns by decreasing score; ties go to the lower class index (as argmax does)."""
    return np.argsort(-y_score, axis=1, kind="stable")


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Examples
    --------
    >>> from physioaffect.evaluation import accuracy
    >>> accuracy([0, 1, 2, 2], [0, 1, 1, 2])
    0.75
    """
    y_true, y_pred = _labels_pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean over the classes present in ``y_true`` of the per-class recall (bACC).

    Examples
    --------
    >>> from physioaffect.evaluation import balanced_accuracy
    >>> balanced_accuracy([0, 0, 0, 1], [0, 0, 1, 1])  # (2/3 + 1) / 2
    0.8333333333333333
    """
    from sklearn.metrics import balanced_accuracy_score

    y_true, y_pred = _labels_pair(y_true, y_pred)
    return float(balanced_accuracy_score(y_true, y_pred))


def macro_f1(y_true, y_pred, *, present_only: bool = False) -> float:
    """Unweighted mean of the per-class F1 scores.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_samples,)
        True and predicted labels.
    present_only : bool, default=False
        Average over the labels present in ``y_true`` only ("present-only macro-F1", used when a
        model's label set is larger than the test set's). By default, every label seen in
        ``y_true`` or ``y_pred`` counts, as in :func:`sklearn.metrics.f1_score`.

    Returns
    -------
    f1 : float
        A class never predicted and never true contributes nothing; a class with no true positive
        contributes 0 (``zero_division=0``).

    Examples
    --------
    >>> from physioaffect.evaluation import macro_f1
    >>> round(macro_f1([0, 0, 1, 1], [0, 1, 1, 1]), 4)  # (2/3 + 4/5) / 2
    0.7333
    """
    from sklearn.metrics import f1_score

    y_true, y_pred = _labels_pair(y_true, y_pred)
    labels = np.unique(y_true) if present_only else None
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def weighted_f1(y_true, y_pred) -> float:
    """Mean of the per-class F1 scores weighted by each class's support in ``y_true``.

    This is the "F1" that HiSTN reports.

    Examples
    --------
    >>> from physioaffect.evaluation import weighted_f1
    >>> round(weighted_f1([0, 0, 0, 1], [0, 0, 1, 1]), 4)  # 3/4 * 4/5 + 1/4 * 2/3
    0.7667
    """
    from sklearn.metrics import f1_score

    y_true, y_pred = _labels_pair(y_true, y_pred)
    return float(f1_score(y_true, y_pred, average="weighted", zero_division=0))


def top_k_accuracy(y_true, y_score, k: int = 2, *, present_only: bool = True) -> float:
    """Fraction of samples whose true class is among the ``k`` highest-scored classes.

    Parameters
    ----------
    y_true : array-like of int, shape (n_samples,)
        True class indices, i.e. column indices of ``y_score``.
    y_score : array-like, shape (n_samples, n_classes)
        Scores or probabilities.
    k : int, default=2
        Number of top classes that count as a hit.
    present_only : bool, default=True
        Rank only the columns of the labels present in ``y_true``, as HiSTN computes top-1 and
        top-2 accuracy. With False every column competes.

    Returns
    -------
    score : float

    Notes
    -----
    Ties rank the lower class index first, so ``k=1`` equals the accuracy of the argmax.

    Examples
    --------
    >>> from physioaffect.evaluation import top_k_accuracy
    >>> p = [[0.5, 0.4, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4]]
    >>> top_k_accuracy([2, 2], p, k=2)  # columns 0 and 3 are absent from y_true: only 2 competes
    1.0
    >>> top_k_accuracy([2, 2], p, k=2, present_only=False)
    0.5
    """
    y_true, y_score = _scores(y_true, y_score)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise InvalidParameterError(f"`k` must be an integer >= 1, got {k!r}")
    columns = np.unique(y_true) if present_only else np.arange(y_score.shape[1])
    sub = y_score[:, columns]
    position = np.searchsorted(columns, y_true)  # y_true's column inside `sub`
    ranked = _ranked(sub)[:, :k]
    return float(np.mean((ranked == position[:, None]).any(axis=1)))


def seq2hr(y_true, y_score) -> float:
    """Sequential top-2 hit rate: the top-2 classes are adjacent and the truth is one of them.

    .. math:: \\mathrm{Seq2HR} = \\frac{1}{N} \\sum_i 1[|r_{1,i} - r_{2,i}| = 1]
                                 \\cdot 1[y_i \\in \\{r_{1,i}, r_{2,i}\\}]

    with :math:`r_1, r_2` the indices of the largest and second-largest scores (ties: lower index
    first), over all columns of ``y_score``.

    Parameters
    ----------
    y_true : array-like of int, shape (n_samples,)
        True ordinal class indices.
    y_score : array-like, shape (n_samples, n_classes)
        Predicted probabilities (or scores) of the ordinal classes in order.

    Returns
    -------
    score : float

    References
    ----------
    .. [1] D. Kuang, Y. Song, C. Michoski, "HiSTN", arXiv:2408.15255, 2024.

    Examples
    --------
    >>> from physioaffect.evaluation import seq2hr
    >>> p = [[0.6, 0.3, 0.1], [0.6, 0.1, 0.3], [0.1, 0.3, 0.6]]
    >>> seq2hr([1, 0, 0], p)  # hit; top-2 not adjacent; adjacent but truth outside
    0.3333333333333333
    """
    y_true, y_score = _scores(y_true, y_score)
    if y_score.shape[1] < 2:
        raise InvalidParameterError(
            f"`y_score` needs at least 2 class columns for a top-2 rate, got {y_score.shape[1]}")
    ranked = _ranked(y_score)
    r1, r2 = ranked[:, 0], ranked[:, 1]
    hit = (np.abs(r1 - r2) == 1) & ((y_true == r1) | (y_true == r2))
    return float(np.mean(hit))


def tri_p(y_true, y_pred) -> float:
    """Fraction of predictions within one ordinal class of the truth (``|pred - true| <= 1``).

    HiSTN's "Tri-P": one minus the share of the confusion matrix outside its tridiagonal band.
    Computed here from the label distance, so it holds whichever classes appear in the test set.

    Examples
    --------
    >>> from physioaffect.evaluation import tri_p
    >>> tri_p([0, 2, 4, 4], [1, 2, 2, 3])
    0.75
    """
    y_true, y_pred = _labels_pair(y_true, y_pred)
    if y_true.dtype.kind not in "iuf" or y_pred.dtype.kind not in "iuf":
        raise InvalidParameterError(
            f"`y_true` and `y_pred` must hold ordinal class indices, got dtypes {y_true.dtype} "
            f"and {y_pred.dtype}")
    return float(np.mean(np.abs(y_pred.astype(np.float64) - y_true.astype(np.float64)) <= 1))


def cohen_kappa(y_true, y_pred, *, weights: str | None = None) -> float:
    """Cohen's kappa: agreement beyond chance, :math:`(p_o - p_e) / (1 - p_e)`.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_samples,)
    weights : {None, "linear", "quadratic"}, default=None
        Unweighted by default (the sleep-staging paper's kappa).

    Examples
    --------
    >>> from physioaffect.evaluation import cohen_kappa
    >>> cohen_kappa([0, 0, 1, 1], [0, 0, 1, 0])  # p_o = 3/4, p_e = 1/2
    0.5
    """
    from sklearn.metrics import cohen_kappa_score

    if weights not in (None, "linear", "quadratic"):
        raise InvalidParameterError(
            f"`weights` must be None, 'linear' or 'quadratic', got {weights!r}")
    y_true, y_pred = _labels_pair(y_true, y_pred)
    return float(cohen_kappa_score(y_true, y_pred, weights=weights))


def ccc(y_true, y_pred, *, multioutput: str = "uniform_average"):
    r"""Lin's concordance correlation coefficient.

    .. math:: \rho_c = \frac{2 \sigma_{xy}}{\sigma_x^2 + \sigma_y^2 + (\mu_x - \mu_y)^2}

    with population (1/N) moments, computed per column.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_samples,) or (n_samples, n_outputs)
    multioutput : {"uniform_average", "raw_values"}, default="uniform_average"
        Mean over outputs, or one value per output.

    Returns
    -------
    ccc : float or ndarray of shape (n_outputs,)
        1 for perfect agreement, 0 for none, -1 for perfect disagreement. A zero denominator
        (both inputs constant and equal) gives 1.

    Examples
    --------
    >>> from physioaffect.evaluation import ccc
    >>> ccc([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    >>> round(ccc([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]), 6)  # 2*(2/3) / (2/3 + 2/3 + 1) = 4/7
    0.571429
    """
    if multioutput not in ("uniform_average", "raw_values"):
        raise InvalidParameterError(
            f"`multioutput` must be 'uniform_average' or 'raw_values', got {multioutput!r}")
    x = np.asarray(y_true, dtype=np.float64)
    y = np.asarray(y_pred, dtype=np.float64)
    if x.shape != y.shape or x.ndim not in (1, 2) or x.shape[0] == 0:
        raise InvalidParameterError(
            "`y_true` and `y_pred` must share a non-empty shape (n_samples,) or "
            f"(n_samples, n_outputs), got {x.shape} and {y.shape}")
    x2 = x.reshape(len(x), -1)
    y2 = y.reshape(len(y), -1)
    mx, my = x2.mean(axis=0), y2.mean(axis=0)
    vx, vy = x2.var(axis=0), y2.var(axis=0)
    cov = ((x2 - mx) * (y2 - my)).mean(axis=0)
    den = vx + vy + (mx - my) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, 2.0 * cov / np.where(den > 0, den, 1.0), 1.0)
    if multioutput == "raw_values" and x.ndim == 2:
        return out
    return float(out.mean())


def ilss(mean: float, std: float, *, lam: float = 71.0, eps: float = 1e-10) -> float:
    r"""Inter-fold accuracy-stability score of RBTransformer.

    .. math:: \mathrm{ILSS}(\mu, \sigma) = \frac{\sqrt{\mu}}{10}
              \min\left(-\log_{10}\left(\frac{\sigma}{1 + \lambda \mu^{2.5}} + \varepsilon\right),
              10\right)

    Parameters
    ----------
    mean : float
        Mean accuracy over folds, **in percent** (e.g. 99.5).
    std : float
        Standard deviation of the fold accuracies, in percent (``numpy.std`` of the fold
        accuracies).
    lam : float, default=71.0
        The :math:`\lambda` of the definition.
    eps : float, default=1e-10
        Keeps the logarithm finite when ``std`` is 0.

    Returns
    -------
    score : float
        Grows with the mean accuracy and with stability across folds; at most
        :math:`\sqrt{\mu}` (reached when the log term saturates at 10).

    References
    ----------
    .. [1] N. Kumar, D. Bhandari, G. Maragatham, "RBTransformer", arXiv:2511.13954, 2025.

    Examples
    --------
    >>> from physioaffect.evaluation import ilss
    >>> round(ilss(100.0, 0.0), 4)  # saturated: sqrt(100) / 10 * 10
    10.0
    """
    try:
        mu, sigma = float(mean), float(std)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"`mean` and `std` must be numbers, got {mean!r} and {std!r}") from None
    if not (np.isfinite(mu) and 0 <= mu <= 100):
        raise InvalidParameterError(f"`mean` must be an accuracy in percent (0-100), got {mean!r}")
    if not (np.isfinite(sigma) and sigma >= 0):
        raise InvalidParameterError(f"`std` must be a finite number >= 0 (percent), got {std!r}")
    term = -np.log10(sigma / (1.0 + lam * mu**2.5) + eps)
    return float(np.sqrt(mu) / 10.0 * min(term, 10.0))
