"""Cross-validation under a named protocol, with scores per fold, per subject and overall.

:func:`cross_validate` fits a fresh clone of any scikit-learn estimator on every fold of one of the
splitters of :mod:`physioaffect.evaluation.splits`, chosen by name, and returns a :class:`CVResult`
whose table names the protocol its numbers came from.

Protocols
---------
``"within-subject"``
    :class:`~physioaffect.evaluation.WithinSubjectTrialKFold`: K folds over the trials of each
    subject (no trial on both sides).
``"time-blocks"``
    :class:`~physioaffect.evaluation.TrialTimeBlockKFold`: HiSTN's within-trial blocked K-fold,
    no window straddling a block edge.
``"loso"``
    :class:`~physioaffect.evaluation.LeaveOneSubjectOut`, optionally with the first seconds of each
    test-subject trial moved to training (HiSTN's calibration) and HiSTN's label-mode correction.
``"rbtransformer"`` (a name of :data:`~physioaffect.evaluation.PUBLISHED_PRESETS`)
    :class:`~physioaffect.evaluation.RandomWindowKFold`: the published random-window protocol. It
    leaks (windows of one trial on both sides) and warns with
    :class:`~physioaffect.evaluation.LeakageWarning`; it is only reachable by its name.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidParameterError

__all__ = ["PROTOCOLS", "CVResult", "cross_validate", "make_splitter", "protocol_names"]

#: Leakage-safe protocols by name, with a short description; the published presets of
#: :data:`~physioaffect.evaluation.PUBLISHED_PRESETS` are accepted too, by their names.
PROTOCOLS = {
    "within-subject": "K-fold over the trials of each subject (WithinSubjectTrialKFold)",
    "time-blocks": "HiSTN's within-trial time-block K-fold (TrialTimeBlockKFold)",
    "loso": "leave one subject out, optionally with calibration seconds (LeaveOneSubjectOut)",
}

#: Metrics computed from predicted labels, by name.
_LABEL_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "cohen_kappa",
                  "tri_p")
#: Metrics computed from ``predict_proba``, by name.
_SCORE_METRICS = ("top2_accuracy", "seq2hr")

_DEFAULT_SPLITS = {"within-subject": 5, "time-blocks": 10}


def protocol_names() -> list[str]:
    """Every name :func:`cross_validate` accepts as ``protocol``."""
    from .splits import PUBLISHED_PRESETS

    return [*PROTOCOLS, *PUBLISHED_PRESETS]


def make_splitter(protocol, *, n_splits=None, window_length=None, calibration_seconds=0.0,
                  gap=0.0, shuffle=False, random_state=None):
    """The splitter of a protocol name (see the module documentation).

    Parameters
    ----------
    protocol : str
        One of :data:`PROTOCOLS` or a published preset name (``"rbtransformer"``).
    n_splits : int or None, default=None
        Folds (per subject for ``"within-subject"``; time blocks for ``"time-blocks"``); None
        uses 5 and 10 respectively, or the preset's value.
    window_length : float or None, default=None
        Window length in seconds; required by ``"time-blocks"`` and by ``"loso"`` with
        calibration.
    calibration_seconds : float, default=0.0
        ``"loso"`` only: seconds at the start of each test-subject trial moved to training.
    gap : float, default=0.0
        ``"time-blocks"`` only: seconds kept free around the test block.
    shuffle : bool, default=False
        ``"within-subject"`` only: shuffle each subject's trials before cutting folds.
    random_state : int or None, default=None
        Seed of that shuffle, or of a preset's draw (None keeps the preset's seed).

    Returns
    -------
    splitter
        A scikit-learn splitter with a ``protocol`` attribute.
    """
    from .splits import (
        PUBLISHED_PRESETS,
        LeaveOneSubjectOut,
        RandomWindowKFold,
        TrialTimeBlockKFold,
        WithinSubjectTrialKFold,
    )

    if protocol == "within-subject":
        return WithinSubjectTrialKFold(n_splits or _DEFAULT_SPLITS[protocol], shuffle=shuffle,
                                       random_state=random_state)
    if protocol == "time-blocks":
        if window_length is None:
            raise InvalidParameterError(
                "protocol 'time-blocks' needs `window_length` (seconds), or data whose attrs "
                "give it ('window', or 'window_samples' with 'sfreq')")
        return TrialTimeBlockKFold(n_splits or _DEFAULT_SPLITS[protocol],
                                   window_length=window_length, gap=gap)
    if protocol == "loso":
        if n_splits is not None:
            raise InvalidParameterError(
                "protocol 'loso' has one fold per subject; leave `n_splits` as None, got "
                f"{n_splits!r}")
        return LeaveOneSubjectOut(calibration_seconds,
                                  window_length=window_length if calibration_seconds else None)
    if isinstance(protocol, str) and protocol in PUBLISHED_PRESETS:
        return RandomWindowKFold(protocol, n_splits=n_splits, random_state=random_state)
    raise InvalidParameterError(
        f"`protocol` must be one of {protocol_names()} or a splitter object, got {protocol!r}")


# --------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------

def _is_xarray(obj) -> bool:
    xr = sys.modules.get("xarray")
    return xr is not None and isinstance(obj, (xr.DataArray, xr.Dataset))


def _sample_dim(obj, target):
    for name in ("subject", "trial", "onset", target):
        if isinstance(name, str) and name in obj.coords and obj.coords[name].ndim == 1:
            return obj.coords[name].dims[0]
    return None


def _window_from_attrs(attrs) -> float | None:
    if "window" in attrs:
        try:
            return float(attrs["window"])
        except (TypeError, ValueError):
            return None
    if "window_samples" in attrs and "sfreq" in attrs:
        return float(attrs["window_samples"]) / float(attrs["sfreq"])
    return None


def _from_xarray(data, y, groups, target, variable):
    xr = sys.modules["xarray"]
    if isinstance(data, xr.Dataset):
        dim = _sample_dim(data, target)
        names = [variable] if variable is not None else [
            k for k in data.data_vars if dim is None or dim in data[k].dims]
        if variable is not None and variable not in data.data_vars:
            raise InvalidParameterError(
                f"`variable`={variable!r} is not a data variable of the Dataset; it holds "
                f"{sorted(data.data_vars)}")
        if len(names) != 1:
            raise InvalidParameterError(
                f"the Dataset holds {len(names)} candidate feature variables {sorted(names)}; "
                "name one with `variable`")
        da = data[names[0]]
        coords_of = data
    else:
        da = data
        coords_of = data
    dim = _sample_dim(coords_of, target) or da.dims[0]
    if dim not in da.dims:
        raise InvalidParameterError(
            f"the sample dim {dim!r} of the coords is not a dim of the features {da.dims}")
    da = da.transpose(dim, ...)
    X = np.asarray(da.values)
    if y is None:
        if target not in coords_of.coords and target not in getattr(coords_of, "data_vars", {}):
            raise InvalidParameterError(
                f"no `y` given and the data have no {target!r} coordinate along {dim!r}; pass "
                f"`y` or `target` (coords: {sorted(coords_of.coords)})")
        y = np.asarray(coords_of[target].values)
    if groups is None:
        from .splits import make_groups

        found = {k: np.asarray(coords_of.coords[k].values) for k in ("subject", "trial", "onset")
                 if k in coords_of.coords and coords_of.coords[k].dims == (dim,)}
        groups = make_groups(**found) if found else None
    window = _window_from_attrs(da.attrs) or _window_from_attrs(coords_of.attrs)
    return X, y, groups, window


def _group_fields(X, groups):
    from .splits import _group_table

    if groups is None:
        return {"subject": None, "trial": None, "onset": None}
    return _group_table(X, groups, "trial")


def _subsample(X, idx):
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    return X[idx]


# --------------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------------

def _metric_table(metrics):
    from . import metrics as m

    if isinstance(metrics, (str, Callable)):
        metrics = (metrics,)
    out = {}
    for spec in metrics:
        if callable(spec):
            name = getattr(spec, "__name__", type(spec).__name__)
            out[name] = ("label", spec)
        elif spec in _LABEL_METRICS:
            out[spec] = ("label", getattr(m, spec))
        elif spec == "top2_accuracy":
            out[spec] = ("score", lambda yt, s: m.top_k_accuracy(yt, s, k=2))
        elif spec == "seq2hr":
            out[spec] = ("score", m.seq2hr)
        else:
            raise InvalidParameterError(
                f"unknown metric {spec!r}; expected a callable(y_true, y_pred) or one of "
                f"{list(_LABEL_METRICS + _SCORE_METRICS)}")
    if not out:
        raise InvalidParameterError("`metrics` is empty; name at least one metric")
    return out


def _score(table, y_true, y_pred, proba, classes):
    scores = {}
    for name, (kind, fn) in table.items():
        if kind == "label":
            scores[name] = float(fn(y_true, y_pred))
        else:
            column = np.searchsorted(classes, y_true)
            scores[name] = float(fn(column.astype(np.int64), proba))
    return scores


# --------------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------------

@dataclass
class CVResult:
    """Scores of one cross-validation, per fold, per subject and overall.

    Attributes
    ----------
    protocol : str
        The splitter's protocol name, e.g. ``"within-subject trial 5-fold"``; every number of
        this result comes from it.
    metrics : tuple of str
        Metric names, in the order of the table's columns.
    folds : list of dict
        One dict per fold: ``fold``, ``n_train``, ``n_test``, ``subjects`` (test subjects) and
        one score per metric over the fold's whole test set.
    subjects : ndarray
        Subject ids, sorted (``["all"]`` when the data name no subject).
    subject_scores : dict of {str: ndarray}
        Per metric, the score of each subject: computed on that subject's test windows of each
        fold where it was tested, then averaged over those folds (HiSTN's aggregation).
    subject_n_test : ndarray of int
        Test windows per subject, over all folds.
    classes : ndarray
        Labels, sorted; the rows and columns of :attr:`confusion_matrix`.
    confusion_matrix : ndarray of int, shape (n_classes, n_classes)
        Counts over every fold's test windows; rows are true labels, columns predictions.
    y_true, y_pred : ndarray
        Labels and predictions of every tested window, fold after fold.
    test_index : ndarray of int
        Sample index of each entry of ``y_true``.
    fold_of : ndarray of int
        Fold of each entry of ``y_true``.
    histories : list
        The fitted estimator's ``history_`` of every fold, when it has one (else empty).
    estimators : list
        The fitted estimator of every fold, with ``return_estimators=True`` (else empty).
    splitter : object
        The splitter used.
    """

    protocol: str
    metrics: tuple
    folds: list
    subjects: np.ndarray
    subject_scores: dict
    subject_n_test: np.ndarray
    classes: np.ndarray
    confusion_matrix: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    test_index: np.ndarray
    fold_of: np.ndarray
    histories: list = field(default_factory=list)
    estimators: list = field(default_factory=list)
    splitter: object = None

    def mean(self, metric: str | None = None) -> float:
        """Mean over subjects of a metric (default: the first)."""
        return float(np.mean(self.subject_scores[metric or self.metrics[0]]))

    def std(self, metric: str | None = None) -> float:
        """Population standard deviation (``ddof=0``) over subjects of a metric."""
        return float(np.std(self.subject_scores[metric or self.metrics[0]]))

    def fold_scores(self, metric: str | None = None) -> np.ndarray:
        """Score of every fold over its whole test set."""
        name = metric or self.metrics[0]
        return np.array([f[name] for f in self.folds], dtype=np.float64)

    def per_subject_rows(self) -> list[dict]:
        """The per-subject table as a list of dicts (subject, n_folds, n_test, metrics...)."""
        rows = []
        for i, subject in enumerate(self.subjects):
            n_folds = sum(1 for f in self.folds if _contains(f["subjects"], subject))
            row = {"subject": _plain(subject), "n_folds": n_folds,
                   "n_test": int(self.subject_n_test[i])}
            row.update({m: float(self.subject_scores[m][i]) for m in self.metrics})
            rows.append(row)
        return rows

    def to_csv(self, path) -> None:
        """Write the per-subject table, then the mean and std rows, as CSV."""
        rows = self.per_subject_rows()
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["protocol", self.protocol])
            writer.writerow(["subject", "n_folds", "n_test", *self.metrics])
            for row in rows:
                writer.writerow([row["subject"], row["n_folds"], row["n_test"],
                                 *(f"{row[m]:.6g}" for m in self.metrics)])
            writer.writerow(["mean", "", int(self.subject_n_test.sum()),
                             *(f"{self.mean(m):.6g}" for m in self.metrics)])
            writer.writerow(["std", "", "", *(f"{self.std(m):.6g}" for m in self.metrics)])

    def table(self) -> str:
        """The per-subject table with mean ± std over subjects and over folds, naming the
        protocol."""
        names = [_plain(s) for s in self.subjects]
        width = max(10, *(len(str(n)) + 2 for n in names), 15)
        cols = [max(len(m) + 2, 17) for m in self.metrics]
        head = f"{'subject':<{width}}{'folds':>6}{'test':>8}" + "".join(
            f"{m:>{w}}" for m, w in zip(self.metrics, cols, strict=True))
        lines = [f"protocol: {self.protocol}", head]
        for row in self.per_subject_rows():
            lines.append(f"{row['subject']!s:<{width}}{row['n_folds']:>6d}{row['n_test']:>8d}"
                         + "".join(f"{row[m]:>{w}.3f}"
                                   for m, w in zip(self.metrics, cols, strict=True)))
        n_sub = len(self.subjects)
        lines.append(f"{f'mean ± std ({n_sub} subj.)':<{width + 14}}" + "".join(
            f"{f'{self.mean(m):.3f} ± {self.std(m):.3f}':>{w}}"
            for m, w in zip(self.metrics, cols, strict=True)))
        n_f = len(self.folds)
        lines.append(f"{f'mean ± std ({n_f} folds)':<{width + 14}}" + "".join(
            f"{f'{self.fold_scores(m).mean():.3f} ± {self.fold_scores(m).std():.3f}':>{w}}"
            for m, w in zip(self.metrics, cols, strict=True)))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _contains(values, item) -> bool:
    return any(v == item for v in values)


# --------------------------------------------------------------------------------------------------
# cross_validate
# --------------------------------------------------------------------------------------------------

def cross_validate(estimator, data, *, protocol="within-subject", y=None, groups=None,
                   metrics=("accuracy", "macro_f1"), n_splits=None, window_length=None,
                   calibration_seconds=0.0, gap=0.0, label_correction=False, shuffle=False,
                   random_state=None, target="label", variable=None, fit_params=None,
                   return_estimators=False, verbose=False) -> CVResult:
    """Cross-validate an estimator under a named protocol; scores per fold, subject and overall.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Cloned (:func:`sklearn.base.clone`) and fitted on every fold; ``predict`` gives the
        labels, ``predict_proba`` the scores of the score metrics.
    data : xarray.DataArray, xarray.Dataset or array-like of shape (n_samples, ...)
        The samples. An xarray object carries 1-D coords ``subject``, ``trial``, ``onset`` and
        ``target`` along its sample dim (as the dataset loaders and ``physioaffect preprocess``
        feature files do); its values, sample dim first, are passed to the estimator.
    protocol : str or splitter, default="within-subject"
        ``"within-subject"``, ``"time-blocks"``, ``"loso"`` or a published preset name
        (``"rbtransformer"``, which leaks and warns); or any object with ``split(X, y, groups)``
        (its ``protocol`` attribute, else its class name, names the result).
    y : array-like of shape (n_samples,), optional
        Labels; default the ``target`` coord of ``data``.
    groups : optional
        Per-sample subject, trial and onset (see :func:`~physioaffect.evaluation.make_groups`);
        default the coords of ``data``.
    metrics : sequence of str or callable, default=("accuracy", "macro_f1")
        Names among ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``weighted_f1``,
        ``cohen_kappa``, ``tri_p`` (from labels), ``top2_accuracy`` and ``seq2hr`` (from
        ``predict_proba``), or callables ``f(y_true, y_pred) -> float``.
    n_splits : int or None, default=None
        Folds of the protocol (see :func:`make_splitter`).
    window_length : float or None, default=None
        Window length in seconds; default from the data's attrs (``window``, or
        ``window_samples / sfreq``).
    calibration_seconds : float, default=0.0
        ``"loso"``: seconds at the start of each test-subject trial added to training.
    gap : float, default=0.0
        ``"time-blocks"``: guard in seconds around the test block.
    label_correction : bool, default=False
        ``"loso"``: replace the training labels of the other subjects by the most frequent label
        of their trial (HiSTN's correction, :meth:`LeaveOneSubjectOut.fold_labels`).
    shuffle : bool, default=False
        ``"within-subject"``: shuffle each subject's trials before cutting folds.
    random_state : int or None, default=None
        Seed of that shuffle or of a preset's draw.
    target : str, default="label"
        Coord of ``data`` holding the labels when ``y`` is None.
    variable : str or None, default=None
        Data variable of an ``xarray.Dataset`` ``data`` (default: its only variable along the
        sample dim).
    fit_params : dict or None, default=None
        Extra keyword arguments of every ``fit``.
    return_estimators : bool, default=False
        Keep every fold's fitted estimator in :attr:`CVResult.estimators`.
    verbose : bool, default=False
        Print one line per fold to stderr.

    Returns
    -------
    CVResult
        ``table()`` prints the per-subject scores and the mean ± std over subjects and over
        folds under the protocol's name.

    Raises
    ------
    InvalidParameterError
        Unknown protocol or metric; labels, groups or data of mismatched lengths; groups missing
        what the protocol needs.

    Notes
    -----
    A subject's score is the mean, over the folds that test it, of the metric on its test windows
    in that fold; the overall score is the mean (and population standard deviation) over
    subjects. The row "over folds" gives the mean and standard deviation of the fold scores on
    each fold's whole test set, as RBTransformer reports.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from physioaffect.evaluation import cross_validate, make_groups
    >>> rng = np.random.default_rng(0)
    >>> subject, trial = np.repeat(["a", "b"], 40), np.tile(np.repeat(np.arange(4), 10), 2)
    >>> y = trial % 2
    >>> X = rng.normal(size=(80, 3)) + y[:, None]
    >>> res = cross_validate(LogisticRegression(), X, y=y, n_splits=2,
    ...                      groups=make_groups(subject=subject, trial=trial))
    >>> res.protocol, res.subjects.tolist(), len(res.folds)
    ('within-subject trial 2-fold', ['a', 'b'], 4)
    """
    from sklearn.base import clone

    metric_table = _metric_table(metrics)
    attrs_window = None
    if _is_xarray(data):
        X, y, groups, attrs_window = _from_xarray(data, y, groups, target, variable)
    else:
        X = data if hasattr(data, "iloc") else np.asarray(data)
        if y is None:
            raise InvalidParameterError("`y` is required when `data` is an array (no coords)")
    y = np.asarray(y)
    n = len(X)
    if y.ndim != 1 or len(y) != n:
        raise InvalidParameterError(
            f"`y` must be 1-D with one label per sample ({n}), got shape {y.shape}")
    if n == 0:
        raise InvalidParameterError("`data` holds no sample")
    window = window_length if window_length is not None else attrs_window
    if isinstance(protocol, str):
        splitter = make_splitter(protocol, n_splits=n_splits, window_length=window,
                                 calibration_seconds=calibration_seconds, gap=gap,
                                 shuffle=shuffle, random_state=random_state)
    elif hasattr(protocol, "split"):
        splitter = protocol
    else:
        raise InvalidParameterError(
            f"`protocol` must be one of {protocol_names()} or a splitter object, got {protocol!r}")
    if label_correction and not hasattr(splitter, "fold_labels"):
        raise InvalidParameterError(
            "`label_correction` applies to protocol 'loso' only (LeaveOneSubjectOut.fold_labels)")
    name = getattr(splitter, "protocol", None) or type(splitter).__name__
    table = _group_fields(X, groups)
    subj = table["subject"]
    if subj is None:
        subj = np.full(n, "all", dtype=object)
    subjects, subj_code = np.unique(np.asarray(subj), return_inverse=True)
    subj_code = subj_code.ravel()
    classes = np.unique(y)
    fit_params = dict(fit_params or {})
    needs_proba = any(kind == "score" for kind, _ in metric_table.values())

    folds, parts, histories, fitted = [], [], [], []
    sums = {m: np.zeros(len(subjects)) for m in metric_table}
    counts = np.zeros(len(subjects), dtype=np.int64)
    n_test = np.zeros(len(subjects), dtype=np.int64)
    for k, (train, test) in enumerate(splitter.split(X, y, groups)):
        train, test = np.asarray(train), np.asarray(test)
        if len(train) == 0 or len(test) == 0:
            raise InvalidParameterError(
                f"fold {k} of {name} has {len(train)} training and {len(test)} test samples; "
                "every fold needs both")
        y_train = y[train]
        if label_correction:
            y_train = splitter.fold_labels(y, groups if groups is not None else X, train, test)
        est = clone(estimator)
        try:
            est.fit(_subsample(X, train), y_train, **fit_params)
            y_pred = np.asarray(est.predict(_subsample(X, test)))
        except ValueError as exc:
            if isinstance(exc, InvalidParameterError):
                raise
            held = ", ".join(map(str, subjects[np.unique(subj_code[test])][:5]))
            raise InvalidParameterError(
                f"fold {k} of {name} (test subject(s) {held}; {len(train)} training windows, "
                f"labels {np.unique(y_train).tolist()[:10]}): {type(estimator).__name__} "
                f"failed: {exc}") from exc
        proba = None
        if needs_proba:
            proba = _aligned_proba(est, _subsample(X, test), classes)
        fold = {"fold": k, "n_train": int(len(train)), "n_test": int(len(test))}
        fold.update(_score(metric_table, y[test], y_pred, proba, classes))
        fold_subjects = []
        for s in np.unique(subj_code[test]):
            rows = subj_code[test] == s
            sc = _score(metric_table, y[test][rows], y_pred[rows],
                        None if proba is None else proba[rows], classes)
            for m in metric_table:
                sums[m][s] += sc[m]
            counts[s] += 1
            n_test[s] += int(rows.sum())
            fold_subjects.append(_plain(subjects[s]))
        fold["subjects"] = fold_subjects
        folds.append(fold)
        parts.append((test, y[test], y_pred, np.full(len(test), k)))
        if getattr(est, "history_", None) is not None:
            histories.append(est.history_)
        if return_estimators:
            fitted.append(est)
        if verbose:
            scores = ", ".join(f"{m} {fold[m]:.3f}" for m in metric_table)
            print(f"fold {k}: {len(train)} train, {len(test)} test; {scores}", file=sys.stderr)
    if not folds:
        raise InvalidParameterError(f"{name} yielded no fold for these data")
    tested = counts > 0
    subjects = subjects[tested]
    subject_scores = {m: sums[m][tested] / counts[tested] for m in metric_table}
    test_index = np.concatenate([p[0] for p in parts])
    y_true = np.concatenate([p[1] for p in parts])
    y_pred = np.concatenate([p[2] for p in parts])
    from sklearn.metrics import confusion_matrix

    all_labels = np.unique(np.concatenate([classes, np.unique(y_pred)]))
    cm = confusion_matrix(y_true, y_pred, labels=all_labels)
    return CVResult(protocol=name, metrics=tuple(metric_table), folds=folds, subjects=subjects,
                    subject_scores=subject_scores, subject_n_test=n_test[tested],
                    classes=all_labels, confusion_matrix=cm, y_true=y_true, y_pred=y_pred,
                    test_index=test_index, fold_of=np.concatenate([p[3] for p in parts]),
                    histories=histories, estimators=fitted, splitter=splitter)


def _aligned_proba(est, X, classes):
    if not hasattr(est, "predict_proba"):
        raise InvalidParameterError(
            f"the score metrics (top2_accuracy, seq2hr) need `predict_proba`; "
            f"{type(est).__name__} has none")
    proba = np.asarray(est.predict_proba(X), dtype=np.float64)
    est_classes = np.asarray(getattr(est, "classes_", classes))
    out = np.zeros((len(proba), len(classes)))
    for j, c in enumerate(est_classes):
        where = np.flatnonzero(classes == c)
        if where.size:
            out[:, where[0]] = proba[:, j]
    return out

