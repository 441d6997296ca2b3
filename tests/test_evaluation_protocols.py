"""cross_validate: protocols by name, per-subject aggregation, tables and leakage warnings."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from physioaffect.errors import InvalidParameterError
from physioaffect.evaluation import (
    LeakageWarning,
    LeaveOneSubjectOut,
    TrialTimeBlockKFold,
    WithinSubjectTrialKFold,
    accuracy,
    cross_validate,
    macro_f1,
    make_groups,
    top_k_accuracy,
)
from physioaffect.evaluation.protocols import CVResult, make_splitter


def _study(rng, n_subjects=3, n_trials=6, n_windows=5, n_features=4):
    """Windows of trials of subjects, labels by trial, features shifted by the label."""
    subject = np.repeat([f"s{i}" for i in range(n_subjects)], n_trials * n_windows)
    trial = np.tile(np.repeat(np.arange(n_trials), n_windows), n_subjects)
    onset = np.tile(np.arange(n_windows) * 1.0, n_subjects * n_trials)
    y = (trial % 2).astype(np.int64)
    X = rng.normal(size=(len(y), n_features)) + 0.8 * y[:, None]
    return X, y, make_groups(subject=subject, trial=trial, onset=onset)


def test_dummy_known_answer():
    # subject a: trials labelled 0,0,0,1; subject b: 1,1,0,1; two windows per trial.
    labels = {"a": [0, 0, 0, 1], "b": [1, 1, 0, 1]}
    subject = np.repeat(["a", "b"], 8)
    trial = np.tile(np.repeat(np.arange(4), 2), 2)
    y = np.concatenate([np.repeat(labels["a"], 2), np.repeat(labels["b"], 2)])
    res = cross_validate(DummyClassifier(strategy="most_frequent"), np.zeros((16, 1)), y=y,
                         groups=make_groups(subject=subject, trial=trial), n_splits=2,
                         metrics=("accuracy",))
    # a: fold 1 trains on (0, 1) -> tie -> 0, tests (0, 0): 1.0; fold 2 trains on 0s, tests
    # (0, 1): 0.5. b: fold 1 trains on (0, 1) -> 0, tests (1, 1): 0.0; fold 2 trains on 1s,
    # tests (0, 1): 0.5.
    np.testing.assert_allclose(res.subject_scores["accuracy"], [0.75, 0.25])
    assert res.mean() == pytest.approx(0.5)
    assert res.std() == pytest.approx(0.25)
    np.testing.assert_allclose(res.fold_scores(), [1.0, 0.5, 0.0, 0.5])
    assert res.subjects.tolist() == ["a", "b"]
    np.testing.assert_array_equal(res.confusion_matrix, [[6, 2], [6, 2]])


def test_within_subject_equals_hand_loop(rng):
    X, y, groups = _study(rng)
    est = LogisticRegression()
    res = cross_validate(est, X, y=y, groups=groups, protocol="within-subject", n_splits=3)
    cv = WithinSubjectTrialKFold(3)
    per = {}
    for (train, test), subj in zip(cv.split(X, y, groups), cv.fold_subjects(X, y, groups),
                                   strict=True):
        pred = clone(est).fit(X[train], y[train]).predict(X[test])
        per.setdefault(subj, []).append((accuracy(y[test], pred), macro_f1(y[test], pred)))
    expected = np.array([np.mean(per[s], axis=0) for s in sorted(per)])
    np.testing.assert_allclose(res.subject_scores["accuracy"], expected[:, 0])
    np.testing.assert_allclose(res.subject_scores["macro_f1"], expected[:, 1])
    assert res.protocol == cv.protocol == "within-subject trial 3-fold"
    assert len(res.folds) == 9
    assert res.confusion_matrix.sum() == len(y)  # every window tested once
    assert sorted(res.test_index.tolist()) == list(range(len(y)))


def test_time_blocks_pooled_per_subject_equals_hand_loop(rng):
    X, y, groups = _study(rng, n_windows=8)
    res = cross_validate(LogisticRegression(), X, y=y, groups=groups, protocol="time-blocks",
                         n_splits=4, window_length=1.0)
    cv = TrialTimeBlockKFold(4, window_length=1.0)
    sums, counts = {}, {}
    for train, test in cv.split(X, y, groups):
        pred = LogisticRegression().fit(X[train], y[train]).predict(X[test])
        for s in np.unique(groups["subject"][test]):
            rows = groups["subject"][test] == s
            sums[s] = sums.get(s, 0.0) + accuracy(y[test][rows], pred[rows])
            counts[s] = counts.get(s, 0) + 1
    np.testing.assert_allclose(res.subject_scores["accuracy"],
                               [sums[s] / counts[s] for s in sorted(sums)])
    assert res.protocol.startswith("within-trial time-block 4-fold")
    assert all(f["subjects"] == ["s0", "s1", "s2"] for f in res.folds)


def test_loso_with_label_correction_equals_hand_loop(rng):
    X, y, groups = _study(rng)
    flip = (groups["subject"] == "s1") & (groups["trial"] >= 4)
    y = np.where(flip, 1 - y, y)  # s1 disagrees with the others' label on trials 4 and 5
    res = cross_validate(LogisticRegression(), X, y=y, groups=groups, protocol="loso",
                         label_correction=True, metrics=("accuracy",))
    cv = LeaveOneSubjectOut()
    expected = []
    for train, test in cv.split(X, y, groups):
        y_train = cv.fold_labels(y, groups, train, test)
        pred = LogisticRegression().fit(X[train], y_train).predict(X[test])
        expected.append(accuracy(y[test], pred))
    np.testing.assert_allclose(res.subject_scores["accuracy"], expected)
    assert res.protocol == "leave-one-subject-out"


def test_loso_calibration_reads_window_from_attrs(rng):
    X, y, groups = _study(rng, n_windows=6)
    da = xr.DataArray(X, dims=("window", "feature"),
                      coords={"subject": ("window", groups["subject"].astype(str)),
                              "trial": ("window", groups["trial"].astype(int)),
                              "onset": ("window", groups["onset"]), "label": ("window", y)},
                      attrs={"window": 1.0})
    res = cross_validate(LogisticRegression(), da, protocol="loso", calibration_seconds=2.0)
    assert res.protocol == "leave-one-subject-out + 2 s calibration"
    # the first 2 s of each test-subject trial train: 4 of 6 windows per trial are tested
    assert res.subject_n_test.tolist() == [6 * 4] * 3


def test_xarray_input_equals_arrays(rng):
    X, y, groups = _study(rng)
    X3 = X.reshape(len(X), 2, 2)
    da = xr.DataArray(X3, dims=("window", "channel", "band"),
                      coords={"subject": ("window", groups["subject"].astype(str)),
                              "trial": ("window", groups["trial"].astype(int)),
                              "onset": ("window", groups["onset"]), "label": ("window", y)})
    flat = LogisticRegression()
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    est = make_pipeline(FunctionTransformer(lambda a: a.reshape(len(a), -1)), flat)
    a = cross_validate(est, da, n_splits=2)
    b = cross_validate(flat, X, y=y, groups=groups, n_splits=2)
    np.testing.assert_allclose(a.subject_scores["accuracy"], b.subject_scores["accuracy"])
    ds = da.to_dataset(name="de")
    c = cross_validate(est, ds, n_splits=2)
    np.testing.assert_allclose(c.subject_scores["accuracy"], b.subject_scores["accuracy"])


def test_table_names_protocol_and_csv(rng, tmp_path):
    X, y, groups = _study(rng)
    res = cross_validate(LogisticRegression(), X, y=y, groups=groups, n_splits=2)
    text = res.table()
    assert text.splitlines()[0] == "protocol: within-subject trial 2-fold"
    for s in ("s0", "s1", "s2"):
        assert any(line.startswith(s) for line in text.splitlines())
    assert f"{res.mean():.3f} ± {res.std():.3f}" in text
    assert "(3 subj.)" in text and "(6 folds)" in text
    assert str(res) == text
    res.to_csv(tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0] == "protocol,within-subject trial 2-fold"
    assert lines[1] == "subject,n_folds,n_test,accuracy,macro_f1"
    assert [line.split(",")[0] for line in lines[2:]] == ["s0", "s1", "s2", "mean", "std"]
    assert float(lines[5].split(",")[3]) == pytest.approx(res.mean(), abs=1e-5)


def test_published_preset_warns_and_says_so(rng):
    X, y, groups = _study(rng)
    with pytest.warns(LeakageWarning):
        res = cross_validate(LogisticRegression(), X, y=y, groups=groups,
                             protocol="rbtransformer")
    assert "leaks" in res.protocol and "published" in res.protocol
    assert res.table().splitlines()[0].startswith("protocol: rbtransformer random-window 5-fold")
    assert len(res.folds) == 5
    assert res.confusion_matrix.sum() == len(y) - round(0.1 * len(y))  # 10 % dropped


def test_leaky_protocol_only_by_name(rng):
    X, y, groups = _study(rng)
    for name in ("random", "kfold", "random-window", "leaky"):
        with pytest.raises(InvalidParameterError, match="protocol"):
            cross_validate(LogisticRegression(), X, y=y, groups=groups, protocol=name)


def test_score_metrics_use_aligned_proba(rng):
    X, y, groups = _study(rng)
    y = np.where(groups["trial"] % 3 == 0, 2, y) + 10  # classes 10, 11, 12
    res = cross_validate(LogisticRegression(), X, y=y, groups=groups, protocol="loso",
                         metrics=("top2_accuracy", "accuracy"))
    cv = LeaveOneSubjectOut()
    expected = []
    for train, test in cv.split(X, y, groups):
        est = LogisticRegression().fit(X[train], y[train])
        expected.append(top_k_accuracy(np.searchsorted(est.classes_, y[test]),
                                       est.predict_proba(X[test]), k=2))
    np.testing.assert_allclose(res.subject_scores["top2_accuracy"], expected)
    assert res.classes.tolist() == [10, 11, 12]


class _WithHistory(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.history_ = {"loss": [1.0, 0.5], "val_loss": [1.2, 0.9]}
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_histories_and_estimators_collected(rng):
    X, y, groups = _study(rng)
    res = cross_validate(_WithHistory(), X, y=y, groups=groups, protocol="loso",
                         return_estimators=True)
    assert len(res.histories) == 3 and res.histories[0]["loss"] == [1.0, 0.5]
    assert len(res.estimators) == 3 and all(hasattr(e, "classes_") for e in res.estimators)
    assert isinstance(res, CVResult)


@pytest.mark.parametrize("kwargs, match", [
    ({"protocol": "nope"}, "protocol"),
    ({"metrics": ("nope",)}, "unknown metric"),
    ({"metrics": ()}, "empty"),
    ({"protocol": "time-blocks"}, "window_length"),
    ({"protocol": "loso", "n_splits": 3}, "n_splits"),
    ({"protocol": "within-subject", "label_correction": True}, "loso"),
])
def test_bad_parameters(rng, kwargs, match):
    X, y, groups = _study(rng)
    with pytest.raises(InvalidParameterError, match=match):
        cross_validate(LogisticRegression(), X, y=y, groups=groups, **kwargs)


def test_bad_data(rng):
    X, y, groups = _study(rng)
    with pytest.raises(InvalidParameterError, match="one label per sample"):
        cross_validate(LogisticRegression(), X, y=y[:-1], groups=groups)
    with pytest.raises(InvalidParameterError, match="`y` is required"):
        cross_validate(LogisticRegression(), X, groups=groups)
    with pytest.raises(InvalidParameterError, match="groups"):
        cross_validate(LogisticRegression(), X, y=y)
    with pytest.raises(InvalidParameterError, match="failed: "):  # one class in a training fold
        cross_validate(LogisticRegression(), X, y=np.zeros_like(y), groups=groups)


def test_splitter_object_and_make_splitter(rng):
    X, y, groups = _study(rng)
    res = cross_validate(LogisticRegression(), X, y=y, groups=groups,
                         protocol=WithinSubjectTrialKFold(2))
    assert res.protocol == "within-subject trial 2-fold"
    assert make_splitter("time-blocks", window_length=1.0, gap=0.5).protocol == \
        "within-trial time-block 10-fold (guard 0.5 s)"


def test_imports_stay_light():
    code = ("import sys, physioaffect, physioaffect.evaluation as e; e.cross_validate; "
            "import physioaffect.plotting; "
            "print(sorted(m for m in ('matplotlib', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
