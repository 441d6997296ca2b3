"""Cross-validation splitters that keep trials, time blocks or subjects apart.

Every splitter follows scikit-learn's protocol, ``split(X, y=None, groups=None)`` yielding
``(train, test)`` index arrays and ``get_n_splits(X, y, groups)``, so it can be passed as ``cv=`` to
:func:`sklearn.model_selection.cross_val_score` or :class:`~sklearn.model_selection.GridSearchCV`
together with ``groups=``.

Groups
------
A sample (window) is placed by up to three fields: ``subject``, ``trial`` and ``onset`` (window
start in seconds within its trial). ``groups`` may be

- a structured array with those fields, made by :func:`make_groups` (the recommended form);
- a mapping or a pandas DataFrame with those keys or columns;
- an :class:`xarray.DataArray` or :class:`xarray.Dataset` with 1-D coords of those names along the
  sample dim; ``groups=None`` with such an ``X`` reads the coords of ``X``;
- a plain 1-D array of ids, read as the splitter's own unit: trial ids for the trial splitters,
  subject ids for :class:`LeaveOneSubjectOut`.

A trial is identified by the pair (subject, trial) when subjects are given, so trial ids may repeat
across subjects.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from collections.abc import Mapping

import numpy as np
from sklearn.model_selection import BaseCrossValidator, KFold

try:  # routes `groups` to split() when metadata routing is enabled
    from sklearn.model_selection._split import GroupsConsumerMixin
except ImportError:  # pragma: no cover - older or newer layouts
    class GroupsConsumerMixin:  # noqa: D101
        pass

from ..errors import InvalidParameterError, PhysioAffectError

__all__ = [
    "LeakageWarning",
    "make_groups",
    "WithinSubjectTrialKFold",
    "TrialTimeBlockKFold",
    "LeaveOneSubjectOut",
    "RandomWindowKFold",
    "PUBLISHED_PRESETS",
]

_FIELDS = ("subject", "trial", "onset")
_TOL = 1e-9  # seconds: onsets computed from sample counts compare equal within this


class LeakageWarning(UserWarning):
    """A split lets information of the test set reach the training set (e.g. overlapping windows
    of one trial on both sides)."""


def make_groups(*, subject=None, trial=None, onset=None) -> np.ndarray:
    """Bundle per-sample subject ids, trial ids and window onsets into one ``groups`` array.

    Parameters
    ----------
    subject : array-like, shape (n_samples,), optional
        Subject id of each sample (any hashable, sortable values).
    trial : array-like, shape (n_samples,), optional
        Trial id of each sample. With subjects given, trial ids may repeat across subjects.
    onset : array-like of float, shape (n_samples,), optional
        Start of each window in seconds, measured within its trial.

    Returns
    -------
    groups : structured ndarray, shape (n_samples,)
        Fields ``subject``, ``trial`` (object) and ``onset`` (float64) for those given; 1-D, so
        scikit-learn indexes it like any ``groups`` array.

    Examples
    --------
    >>> from physioaffect.evaluation import make_groups
    >>> g = make_groups(subject=["s1", "s1"], trial=[0, 0], onset=[0.0, 1.0])
    >>> g.dtype.names
    ('subject', 'trial', 'onset')
    """
    given = {k: v for k, v in (("subject", subject), ("trial", trial), ("onset", onset))
             if v is not None}
    if not given:
        raise InvalidParameterError("`make_groups` needs at least one of subject, trial, onset")
    arrays = {k: np.asarray(v) for k, v in given.items()}
    lengths = {k: a.shape for k, a in arrays.items()}
    if any(a.ndim != 1 for a in arrays.values()) or len({a.shape for a in arrays.values()}) > 1:
        raise InvalidParameterError(f"subject, trial and onset must be 1-D of one length, got {lengths}")
    n = len(next(iter(arrays.values())))
    dtype = [(k, np.float64 if k == "onset" else object) for k in arrays]
    out = np.empty(n, dtype=dtype)
    for k, a in arrays.items():
        out[k] = _check_onsets(a) if k == "onset" else a
    return out


def _check_onsets(onset) -> np.ndarray:
    try:
        arr = np.asarray(onset, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"`onset` must hold numbers (seconds), got {onset!r}") from None
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError("`onset` holds NaN or inf; expected finite window starts in s")
    return arr


def _n_samples(X):
    if X is None:
        return None
    xr = sys.modules.get("xarray")
    if xr is not None and isinstance(X, xr.Dataset):
        return None  # the sample count then comes from the coords
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape):
        return int(shape[0])
    return len(X)


def _from_xarray(obj, where: str):
    found = {k: obj.coords[k] for k in _FIELDS if k in obj.coords and obj.coords[k].ndim == 1}
    if not found:
        raise InvalidParameterError(
            f"{where} is an xarray object without 1-D coords named 'subject', 'trial' or "
            f"'onset' (coords: {sorted(obj.coords)}); add them or pass `groups`")
    dims = {c.dims[0] for c in found.values()}
    if len(dims) > 1:
        raise InvalidParameterError(
            f"the coords {sorted(found)} of {where} lie along different dims {sorted(dims)}; "
            "expected one sample dim")
    return {k: np.asarray(v.values) for k, v in found.items()}


def _group_table(X, groups, primary: str) -> dict:
    """Return {field: array or None} with every given field of length n_samples."""
    xr = sys.modules.get("xarray")
    is_xr = xr is not None and (lambda o: isinstance(o, (xr.DataArray, xr.Dataset)))
    if groups is None:
        if is_xr and is_xr(X):
            table = _from_xarray(X, "`X`")
        else:
            raise InvalidParameterError(
                "`groups` is required: pass per-sample subject/trial/onset (see make_groups), "
                "or an xarray `X` with those coords")
    elif is_xr and is_xr(groups):
        table = _from_xarray(groups, "`groups`")
    elif isinstance(groups, np.ndarray) and groups.dtype.names:
        unknown = set(groups.dtype.names) - set(_FIELDS)
        if unknown:
            raise InvalidParameterError(
                f"`groups` has fields {groups.dtype.names}; expected among {_FIELDS}")
        table = {k: groups[k] for k in groups.dtype.names}
    elif isinstance(groups, Mapping) or hasattr(groups, "columns"):
        keys = list(groups.keys()) if isinstance(groups, Mapping) else list(groups.columns)
        unknown = set(keys) - set(_FIELDS)
        if unknown:
            raise InvalidParameterError(
                f"`groups` has keys {keys}; expected among {list(_FIELDS)}")
        table = {k: np.asarray(groups[k]) for k in keys}
    else:
        arr = np.asarray(groups)
        if arr.ndim != 1:
            raise InvalidParameterError(
                f"`groups` must be 1-D ({primary} ids) or carry named subject/trial/onset "
                f"fields (see make_groups), got shape {arr.shape}")
        table = {primary: arr}
    lengths = {k: len(v) for k, v in table.items()}
    n = _n_samples(X)
    if len(set(lengths.values())) > 1 or (n is not None and set(lengths.values()) != {n}):
        raise InvalidParameterError(
            f"groups fields must have one entry per sample ({n} samples in X), got lengths "
            f"{lengths}")
    if "onset" in table:
        table["onset"] = _check_onsets(table["onset"])
    return {k: table.get(k) for k in _FIELDS}


def _require(table: dict, fields, splitter: str) -> None:
    missing = [f for f in fields if table[f] is None]
    if missing:
        raise InvalidParameterError(
            f"{splitter} needs per-sample {', '.join(missing)} in `groups`, got fields "
            f"{[k for k, v in table.items() if v is not None]}; build groups with "
            "make_groups(subject=..., trial=..., onset=...)")


def _codes(values) -> tuple[np.ndarray, np.ndarray]:
    uniq, inv = np.unique(np.asarray(values), return_inverse=True)
    return uniq, inv.ravel()


def _trial_codes(table) -> np.ndarray:
    """One integer per (subject, trial) pair."""
    _, t = _codes(table["trial"])
    if table["subject"] is None:
        return t
    _, s = _codes(table["subject"])
    _, code = np.unique(s.astype(np.int64) * (t.max() + 1) + t, return_inverse=True)
    return code.ravel()


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidParameterError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_seconds(value, name: str, *, allow_zero: bool) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = float("nan")
    if not np.isfinite(out) or out < 0 or (out == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidParameterError(f"`{name}` must be a number of seconds {bound}, got {value!r}")
    return out


class _Splitter(GroupsConsumerMixin, BaseCrossValidator):
    _unit = "trial"  # how a plain 1-D groups array is read

    def _table(self, X, groups):
        return _group_table(X, groups, self._unit)

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` index arrays, one pair per fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or xarray object
            Samples (only their number, or an xarray's coords, is used).
        y : array-like, optional
            Ignored; present for scikit-learn compatibility.
        groups : see the module documentation
            Per-sample subject, trial and onset.

        Yields
        ------
        train, test : ndarray of int
            Sorted indices into ``X``.
        """
        for fold in self._folds(X, y, groups):
            yield fold[0], fold[-1]


class WithinSubjectTrialKFold(_Splitter):
    """K-fold over the trials of each subject: a subject-dependent split with no trial on both
    sides.

    For each subject (in sorted order), that subject's trials are cut into ``n_splits`` groups; each
    fold tests on one group and trains on the subject's other trials. Only samples of one subject
    appear in a fold, so there are ``n_subjects * n_splits`` folds.

    Parameters
    ----------
    n_splits : int, default=5
        Folds per subject; each subject needs at least this many trials.
    shuffle : bool, default=False
        Shuffle each subject's trials before cutting them into folds (otherwise sorted order).
    random_state : int or None, default=None
        Seed of the shuffle.

    Attributes
    ----------
    protocol : str
        The protocol's name, to report with every score.

    See Also
    --------
    TrialTimeBlockKFold : the within-trial blocked protocol of HiSTN.

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.evaluation import WithinSubjectTrialKFold, make_groups
    >>> g = make_groups(subject=np.repeat(["a", "b"], 4), trial=np.tile([0, 0, 1, 1], 2))
    >>> cv = WithinSubjectTrialKFold(n_splits=2)
    >>> [test.tolist() for _, test in cv.split(np.zeros(8), groups=g)]
    [[0, 1], [2, 3], [4, 5], [6, 7]]
    """

    _unit = "trial"

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    @property
    def protocol(self) -> str:
        return f"within-subject trial {self.n_splits}-fold"

    def _subjects(self, table):
        if table["subject"] is None:
            return np.zeros(len(table["trial"]), dtype=np.int64), np.array([None], dtype=object)
        uniq, inv = _codes(table["subject"])
        return inv, uniq

    def _folds(self, X, y, groups):
        n_splits = _check_int(self.n_splits, "n_splits", 2)
        table = self._table(X, groups)
        _require(table, ["trial"], type(self).__name__)
        s_code, s_names = self._subjects(table)
        _, t_code = _codes(table["trial"])
        rng = np.random.default_rng(self.random_state) if self.shuffle else None
        for s in range(len(s_names)):
            rows = np.flatnonzero(s_code == s)
            trials = np.unique(t_code[rows])
            if len(trials) < n_splits:
                raise InvalidParameterError(
                    f"subject {s_names[s]!r} has {len(trials)} trial(s); `n_splits`={n_splits} "
                    "needs at least that many trials per subject")
            if rng is not None:
                trials = rng.permutation(trials)
            for part in np.array_split(trials, n_splits):
                is_test = np.isin(t_code[rows], part)
                yield rows[~is_test], rows[is_test]

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of folds: ``n_splits`` times the number of subjects (``groups`` required)."""
        table = self._table(X, groups)
        n_subjects = 1 if table["subject"] is None else len(np.unique(table["subject"]))
        return _check_int(self.n_splits, "n_splits", 2) * n_subjects

    def fold_subjects(self, X=None, y=None, groups=None) -> np.ndarray:
        """Subject id of each fold, in the order :meth:`split` yields them."""
        table = self._table(X, groups)
        _, names = self._subjects(table)
        return np.repeat(names, _check_int(self.n_splits, "n_splits", 2))


class TrialTimeBlockKFold(_Splitter):
    """HiSTN's within-trial blocked K-fold: consecutive time blocks, with a guard so no window
    straddles folds.

    Each trial's time span, from its first window onset to the end of its last window, is cut into
    ``n_splits`` consecutive blocks of equal length. Fold ``k`` tests on the windows lying entirely
    inside block ``k`` of every trial, and trains on the windows that end at least ``gap`` seconds
    before the block starts or start at least ``gap`` seconds after it ends. A window that crosses a
    block edge is therefore never tested in one fold while it overlaps the training windows.

    Parameters
    ----------
    n_splits : int, default=10
        Number of time blocks per trial (HiSTN: 10 blocks of 6 s in a 60-s trial).
    window_length : float
        Length of every window in seconds (HiSTN: 1.0). Required: the guard depends on it.
    gap : float, default=0.0
        Extra seconds kept free between a training window and the test block (and the validation
        block of :meth:`split_validation`), e.g. to outlast slow autocorrelation.

    Attributes
    ----------
    protocol : str
        The protocol's name, to report with every score.

    Notes
    -----
    The same trial appears on both sides of every fold (that is the subject-dependent protocol of
    HiSTN), but no training window shares a sample with a test window. HiSTN trains a model per
    subject; pass one subject's windows, or pool subjects (trials are then told apart by the pair
    subject, trial).

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.evaluation import TrialTimeBlockKFold, make_groups
    >>> g = make_groups(trial=np.zeros(7, int), onset=np.arange(7) * 0.5)  # 1-s windows, 0.5-s hop
    >>> cv = TrialTimeBlockKFold(n_splits=2, window_length=1.0)  # blocks [0, 2) and [2, 4) s
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.zeros(7), groups=g)]
    [([4, 5, 6], [0, 1, 2]), ([0, 1, 2], [4, 5, 6])]

    Window 3 (1.5-2.5 s) crosses the block edge: it is in no test set and trains in no fold.
    """

    def __init__(self, n_splits=10, *, window_length, gap=0.0):
        self.n_splits = n_splits
        self.window_length = window_length
        self.gap = gap

    @property
    def protocol(self) -> str:
        return f"within-trial time-block {self.n_splits}-fold (guard {self.gap:g} s)"

    def _blocks(self, X, groups):
        n_splits = _check_int(self.n_splits, "n_splits", 2)
        length = _check_seconds(self.window_length, "window_length", allow_zero=False)
        gap = _check_seconds(self.gap, "gap", allow_zero=True)
        table = self._table(X, groups)
        _require(table, ["trial", "onset"], type(self).__name__)
        trial = _trial_codes(table)
        start = table["onset"]
        stop = start + length
        t0 = np.full(trial.max() + 1, np.inf)
        t1 = np.full(trial.max() + 1, -np.inf)
        np.minimum.at(t0, trial, start)
        np.maximum.at(t1, trial, stop)
        block = (t1 - t0) / n_splits
        if np.any(block < length - _TOL):
            k = int(np.argmax(block < length - _TOL))
            raise InvalidParameterError(
                f"a trial spans {t1[k] - t0[k]:g} s, so {n_splits} blocks last "
                f"{block[k]:g} s each, shorter than `window_length`={length:g} s; use fewer "
                "splits or shorter windows")
        return n_splits, gap, trial, start, stop, t0, block

    def _folds(self, X, y, groups, with_validation=False):
        n_splits, gap, trial, start, stop, t0, block = self._blocks(X, groups)

        def inside(k):  # windows entirely within block k of their trial
            lo = t0[trial] + k * block[trial]
            hi = lo + block[trial]
            return (start >= lo - _TOL) & (stop <= hi + _TOL), lo, hi

        def clear_of(lo, hi):  # windows at least `gap` away from [lo, hi)
            return (stop <= lo - gap + _TOL) | (start >= hi + gap - _TOL)

        for k in range(n_splits):
            test, lo, hi = inside(k)
            train = clear_of(lo, hi)
            if with_validation:
                val, vlo, vhi = inside((k - 1) % n_splits)
                train &= clear_of(vlo, vhi)
                yield np.flatnonzero(train), np.flatnonzero(val), np.flatnonzero(test)
            else:
                yield np.flatnonzero(train), np.flatnonzero(test)

    def split_validation(self, X, y=None, groups=None):
        """Yield ``(train, validation, test)``: HiSTN's folds with block ``k - 1`` for validation.

        Fold ``k`` tests on block ``k``, validates on block ``k - 1`` (fold 0 on the last block),
        and trains on the windows clear of both blocks.

        Yields
        ------
        train, validation, test : ndarray of int
        """
        yield from self._folds(X, y, groups, with_validation=True)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of folds (``n_splits``)."""
        return _check_int(self.n_splits, "n_splits", 2)


class LeaveOneSubjectOut(_Splitter):
    """Leave-one-subject-out, optionally moving the test subject's first seconds to training.

    Fold ``k`` tests on subject ``k`` (sorted order). With ``calibration_seconds > 0``, the windows
    lying entirely within the first ``calibration_seconds`` of each of that subject's trials (from
    the trial's first onset) join the training set, the windows starting at or after that time are
    tested, and the windows that cross it are left out of both.

    Parameters
    ----------
    calibration_seconds : float, default=0.0
        Seconds at the start of each test-subject trial used for calibration (HiSTN: 10).
    window_length : float or None, default=None
        Window length in seconds; required when ``calibration_seconds > 0``.

    Attributes
    ----------
    protocol : str
        The protocol's name, to report with every score.

    See Also
    --------
    physioaffect.evaluation.mode_corrected_labels : HiSTN's label correction, applied per fold by
        :meth:`fold_labels`.

    Notes
    -----
    HiSTN's subject-independent protocol pre-trains on the other subjects with the labels corrected
    to each trial's most frequent label (:meth:`fold_labels`), then fine-tunes on the calibration
    windows (:meth:`split_calibration` keeps the two apart) and tests on the rest of the trial.

    Examples
    --------
    >>> import numpy as np
    >>> from physioaffect.evaluation import LeaveOneSubjectOut, make_groups
    >>> g = make_groups(subject=[0, 0, 0, 1, 1, 1], trial=[0] * 6, onset=[0, 1, 2] * 2)
    >>> cv = LeaveOneSubjectOut(calibration_seconds=1.0, window_length=1.0)
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.zeros(6), groups=g)]
    [([0, 3, 4, 5], [1, 2]), ([0, 1, 2, 3], [4, 5])]
    """

    _unit = "subject"

    def __init__(self, calibration_seconds=0.0, *, window_length=None):
        self.calibration_seconds = calibration_seconds
        self.window_length = window_length

    @property
    def protocol(self) -> str:
        cal = _check_seconds(self.calibration_seconds, "calibration_seconds", allow_zero=True)
        return "leave-one-subject-out" + (f" + {cal:g} s calibration" if cal else "")

    def _folds(self, X, y, groups, three=False):
        cal = _check_seconds(self.calibration_seconds, "calibration_seconds", allow_zero=True)
        table = self._table(X, groups)
        _require(table, ["subject"] + (["trial", "onset"] if cal else []), type(self).__name__)
        names, s_code = _codes(table["subject"])
        if len(names) < 2:
            raise InvalidParameterError(
                f"leave-one-subject-out needs at least 2 subjects, got {len(names)}")
        if cal:
            if self.window_length is None:
                raise InvalidParameterError(
                    "`window_length` is required with `calibration_seconds` > 0: it decides "
                    "which windows end before the calibration time")
            length = _check_seconds(self.window_length, "window_length", allow_zero=False)
            trial = _trial_codes(table)
            start = table["onset"]
            t0 = np.full(trial.max() + 1, np.inf)
            np.minimum.at(t0, trial, start)
            edge = t0[trial] + cal
            is_cal = start + length <= edge + _TOL
            is_rest = start >= edge - _TOL
        for s in range(len(names)):
            mine = s_code == s
            others = np.flatnonzero(~mine)
            if cal:
                calib = np.flatnonzero(mine & is_cal)
                test = np.flatnonzero(mine & is_rest)
            else:
                calib = np.empty(0, dtype=np.int64)
                test = np.flatnonzero(mine)
            if len(test) == 0:
                raise InvalidParameterError(
                    f"subject {names[s]!r} has no window starting after its "
                    f"{cal:g}-s calibration; shorten `calibration_seconds`")
            if three:
                yield others, calib, test
            else:
                yield np.union1d(others, calib), test

    def split_calibration(self, X, y=None, groups=None):
        """Yield ``(train, calibration, test)``: other subjects, the test subject's first seconds,
        and the rest of the test subject's windows.

        Yields
        ------
        train, calibration, test : ndarray of int
            Disjoint sorted indices; ``calibration`` is empty when ``calibration_seconds`` is 0.
        """
        yield from self._folds(X, y, groups, three=True)

    def fold_labels(self, y, groups, train, test, X=None) -> np.ndarray:
        """Labels for the training rows of one fold, with HiSTN's label-mode correction.

        The rows of ``train`` that belong to subjects other than the test subject get the most
        frequent label of their trial over those subjects (ties: lowest class); the test subject's
        calibration rows keep their own labels.

        Parameters
        ----------
        y : array-like of int, shape (n_samples,)
        groups : see the module documentation
            Needs subject and trial.
        train, test : array-like of int
            One fold's indices, as yielded by :meth:`split`.
        X : optional
            Only read when ``groups`` is None (an xarray with coords).

        Returns
        -------
        y_train : ndarray, shape (len(train),)
            ``y[train]`` with the correction applied.
        """
        from .labels import mode_corrected_labels

        table = _group_table(X if X is not None else None, groups, self._unit)
        _require(table, ["subject", "trial"], f"{type(self).__name__}.fold_labels")
        y = np.asarray(y)
        train = np.asarray(train, dtype=np.int64)
        subject = table["subject"]
        test_subjects = np.unique(subject[np.asarray(test, dtype=np.int64)])
        out = y[train].copy()
        pre = ~np.isin(subject[train], test_subjects)
        if pre.any():
            rows = train[pre]
            out[pre] = mode_corrected_labels(y[rows], subject[rows], table["trial"][rows])
        return out

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of folds: the number of subjects (``groups`` required)."""
        table = self._table(X, groups)
        _require(table, ["subject"], type(self).__name__)
        return len(np.unique(table["subject"]))


#: Published random-window protocols, by name: the settings their authors used.
PUBLISHED_PRESETS = {
    "rbtransformer": {"n_splits": 5, "random_state": 23, "drop_fraction": 0.1},
}


class RandomWindowKFold(_Splitter):
    """A published protocol: K-fold over shuffled windows, pooled over subjects and trials.

    Offered only to reproduce published numbers, under the preset's name. Windows of one trial
    land on both sides of every fold; when windows overlap (RBTransformer: 512-sample windows at a
    117-sample hop share 77 % of their samples) the test score measures memorisation of nearly
    identical training windows, not generalisation. :meth:`split` warns with
    :class:`LeakageWarning` every time.

    Parameters
    ----------
    preset : {"rbtransformer"}
        The published protocol. ``"rbtransformer"``: 5 folds, ``KFold(shuffle=True,
        random_state=23)``, after dropping 10 % of all windows at random once.
    n_splits, random_state, drop_fraction : optional
        Override the preset's value when not None. ``drop_fraction`` of the windows are left out
        of every fold (drawn once with ``random_state``; the authors' draw is not reproduced).

    Attributes
    ----------
    protocol : str
        The protocol's name, to report with every score.

    See Also
    --------
    WithinSubjectTrialKFold, LeaveOneSubjectOut : leakage-free alternatives.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from physioaffect.evaluation import RandomWindowKFold
    >>> cv = RandomWindowKFold("rbtransformer")
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     folds = list(cv.split(np.zeros(100)))
    >>> len(folds), w[0].category.__name__
    (5, 'LeakageWarning')
    """

    _unit = "trial"

    def __init__(self, preset, *, n_splits=None, random_state=None, drop_fraction=None):
        self.preset = preset
        self.n_splits = n_splits
        self.random_state = random_state
        self.drop_fraction = drop_fraction

    def _settings(self):
        if self.preset not in PUBLISHED_PRESETS:
            raise InvalidParameterError(
                f"`preset` must name a published protocol, one of {sorted(PUBLISHED_PRESETS)}, "
                f"got {self.preset!r}")
        s = dict(PUBLISHED_PRESETS[self.preset])
        for key in s:
            if getattr(self, key) is not None:
                s[key] = getattr(self, key)
        s["n_splits"] = _check_int(s["n_splits"], "n_splits", 2)
        drop = s["drop_fraction"]
        if not (isinstance(drop, numbers.Real) and 0 <= drop < 1):
            raise InvalidParameterError(f"`drop_fraction` must be in [0, 1), got {drop!r}")
        return s

    @property
    def protocol(self) -> str:
        s = self._settings()
        return (f"{self.preset} random-window {s['n_splits']}-fold "
                "(published; windows of one trial on both sides: leaks)")

    def _folds(self, X, y, groups):
        s = self._settings()
        n = _n_samples(X)
        if n is None:
            raise PhysioAffectError("RandomWindowKFold needs an `X` with a length")
        warnings.warn(
            f"{self.protocol}: random window-level folds put overlapping windows of one trial in "
            "train and test, so the score overstates generalisation; use WithinSubjectTrialKFold "
            "or LeaveOneSubjectOut for a leakage-free estimate",
            LeakageWarning, stacklevel=3)
        rng = np.random.default_rng(s["random_state"])
        n_keep = n - int(round(s["drop_fraction"] * n))
        kept = np.sort(rng.permutation(n)[:n_keep])
        kf = KFold(s["n_splits"], shuffle=True, random_state=s["random_state"])
        for train, test in kf.split(kept):
            yield kept[train], kept[test]

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of folds of the preset."""
        return self._settings()["n_splits"]
