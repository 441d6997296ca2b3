import warnings

import numpy as np
import pytest

from physioaffect.errors import InvalidParameterError
from physioaffect.evaluation import (
    LeakageWarning,
    LeaveOneSubjectOut,
    RandomWindowKFold,
    TrialTimeBlockKFold,
    WithinSubjectTrialKFold,
    make_groups,
)


def windows(n_subjects=3, n_trials=6, duration=12.0, length=1.0, hop=0.25):
    """Overlapping windows of every (subject, trial): returns groups and labels."""
    onsets = np.arange(0.0, duration - length + 1e-9, hop)
    subject = np.repeat(np.arange(n_subjects), n_trials * len(onsets))
    trial = np.tile(np.repeat(np.arange(n_trials), len(onsets)), n_subjects)
    onset = np.tile(onsets, n_subjects * n_trials)
    rating = (trial + subject) % 3  # one label per (subject, trial)
    return make_groups(subject=subject, trial=trial, onset=onset), rating


def test_make_groups_fields_and_checks():
    g = make_groups(subject=["a", "b"], trial=[1, 1], onset=[0, 0.5])
    assert g.dtype.names == ("subject", "trial", "onset")
    assert g["onset"].dtype == np.float64
    with pytest.raises(InvalidParameterError, match="one length"):
        make_groups(subject=["a"], trial=[1, 2])


def test_within_subject_trial_kfold_keeps_trials_and_subjects_apart():
    g, y = windows()
    cv = WithinSubjectTrialKFold(n_splits=3, shuffle=True, random_state=0)
    folds = list(cv.split(np.zeros(len(g)), y, g))
    assert len(folds) == cv.get_n_splits(groups=g) == 9
    tested = np.zeros(len(g), int)
    for (train, test), subj in zip(folds, cv.fold_subjects(groups=g), strict=True):
        assert len(np.intersect1d(train, test)) == 0
        # one subject per fold
        assert set(g["subject"][train]) == set(g["subject"][test]) == {subj}
        # no (subject, trial) on both sides
        tr = set(zip(g["subject"][train], g["trial"][train], strict=True))
        te = set(zip(g["subject"][test], g["trial"][test], strict=True))
        assert not tr & te
        tested[test] += 1
    assert np.all(tested == 1)  # every window tested exactly once


def test_within_subject_trial_kfold_plain_trial_ids_and_errors():
    trial = np.repeat(np.arange(4), 3)
    folds = list(WithinSubjectTrialKFold(n_splits=2).split(np.zeros(12), groups=trial))
    assert [f[1].tolist() for f in folds] == [list(range(6)), list(range(6, 12))]
    with pytest.raises(InvalidParameterError, match="needs at least that many trials"):
        list(WithinSubjectTrialKFold(n_splits=5).split(np.zeros(12), groups=trial))
    with pytest.raises(InvalidParameterError, match="`groups` is required"):
        list(WithinSubjectTrialKFold().split(np.zeros(12)))


def test_time_blocks_have_no_overlapping_windows_across_folds():
    g, y = windows(n_subjects=2, n_trials=3, duration=60.0)
    length = 1.0
    for gap in (0.0, 0.5):
        cv = TrialTimeBlockKFold(n_splits=10, window_length=length, gap=gap)
        n_folds = 0
        for train, val, test in cv.split_validation(np.zeros(len(g)), groups=g):
            n_folds += 1
            assert len(test) and len(val) and len(train)
            for held in (val, test):
                for key in set(zip(g["subject"][held], g["trial"][held], strict=True)):
                    same = (g["subject"] == key[0]) & (g["trial"] == key[1])
                    tr = np.intersect1d(train, np.flatnonzero(same))
                    te = np.intersect1d(held, np.flatnonzero(same))
                    s_tr, s_te = g["onset"][tr], g["onset"][te]
                    # distance between every train window and every held-out window >= gap
                    dist = np.maximum(s_te[None, :] - (s_tr[:, None] + length),
                                      s_tr[:, None] - (s_te[None, :] + length))
                    assert dist.min() >= gap - 1e-9
        assert n_folds == 10


def test_time_blocks_follow_histn_layout():
    # one 60-s trial of non-overlapping 1-s windows: blocks of 6 s, val = previous block
    g = make_groups(trial=np.zeros(60, int), onset=np.arange(60.0))
    cv = TrialTimeBlockKFold(window_length=1.0)
    folds = list(cv.split_validation(np.zeros(60), groups=g))
    train, val, test = folds[3]
    assert test.tolist() == list(range(18, 24))
    assert val.tolist() == list(range(12, 18))
    assert train.tolist() == list(range(12)) + list(range(24, 60))
    assert folds[0][1].tolist() == list(range(54, 60))  # fold 0 validates on the last block
    # plain split: train = everything clear of the test block
    train, test = next(iter(cv.split(np.zeros(60), groups=g)))
    assert test.tolist() == list(range(6)) and train.tolist() == list(range(6, 60))


def test_time_blocks_drop_straddling_windows_and_check_lengths():
    g = make_groups(trial=np.zeros(7, int), onset=np.arange(7) * 0.5)
    cv = TrialTimeBlockKFold(n_splits=2, window_length=1.0)
    folds = list(cv.split(np.zeros(7), groups=g))
    assert all(3 not in np.r_[tr, te] for tr, te in folds)  # 1.5-2.5 s crosses the 2-s edge
    with pytest.raises(InvalidParameterError, match="shorter than `window_length`"):
        list(TrialTimeBlockKFold(n_splits=10, window_length=1.0).split(np.zeros(7), groups=g))
    with pytest.raises(InvalidParameterError, match="onset"):
        list(cv.split(np.zeros(7), groups=np.zeros(7)))


def test_loso_calibration_moves_first_seconds_to_train():
    g, y = windows(n_subjects=3, n_trials=2, duration=12.0, length=1.0, hop=0.25)
    cv = LeaveOneSubjectOut(calibration_seconds=4.0, window_length=1.0)
    assert cv.get_n_splits(groups=g) == 3
    for s, ((train, test), (other, calib, test3)) in enumerate(
            zip(cv.split(np.zeros(len(g)), y, g), cv.split_calibration(np.zeros(len(g)), y, g), strict=True)):
        np.testing.assert_array_equal(test, test3)
        np.testing.assert_array_equal(train, np.union1d(other, calib))
        assert set(g["subject"][test]) == {s} and set(g["subject"][calib]) == {s}
        assert s not in set(g["subject"][other])
        # calibration = windows ending by 4 s; test = windows starting at 4 s or later
        mine = g["subject"] == s
        np.testing.assert_array_equal(calib, np.flatnonzero(mine & (g["onset"] + 1.0 <= 4.0)))
        np.testing.assert_array_equal(test, np.flatnonzero(mine & (g["onset"] >= 4.0)))
        # windows crossing 4 s are in neither set
        crossing = np.flatnonzero(mine & (g["onset"] > 3.0) & (g["onset"] < 4.0))
        assert len(crossing) == 2 * 3 and not np.isin(crossing, np.r_[train, test]).any()


def test_loso_without_calibration_and_plain_subject_ids():
    subject = np.array([2, 2, 0, 1, 1])
    folds = list(LeaveOneSubjectOut().split(np.zeros(5), groups=subject))
    assert [te.tolist() for _, te in folds] == [[2], [3, 4], [0, 1]]
    with pytest.raises(InvalidParameterError, match="window_length"):
        list(LeaveOneSubjectOut(calibration_seconds=10).split(
            np.zeros(4), groups=make_groups(subject=[0, 0, 1, 1], trial=[0] * 4, onset=[0, 1] * 2)))


def test_loso_fold_labels_apply_mode_correction_to_training_subjects_only():
    # 4 subjects, 1 trial, 2 windows each; ratings 0, 2, 2, 1; calibration = first window
    subject = np.repeat([0, 1, 2, 3], 2)
    g = make_groups(subject=subject, trial=np.zeros(8, int), onset=np.tile([0.0, 1.0], 4))
    y = np.repeat([0, 2, 2, 1], 2)
    cv = LeaveOneSubjectOut(calibration_seconds=1.0, window_length=1.0)
    train, test = next(iter(cv.split(np.zeros(8), y, g)))  # test subject 0
    assert train.tolist() == [0, 2, 3, 4, 5, 6, 7] and test.tolist() == [1]
    y_train = cv.fold_labels(y, g, train, test)
    # subjects 1-3 rated 2, 2, 1 -> mode 2; subject 0's calibration window keeps its own 0
    np.testing.assert_array_equal(y_train, [0, 2, 2, 2, 2, 2, 2])


def test_random_window_kfold_is_a_named_preset_that_warns():
    cv = RandomWindowKFold("rbtransformer")
    assert cv.get_n_splits() == 5 and "leaks" in cv.protocol
    with pytest.warns(LeakageWarning, match="overlapping windows"):
        folds = list(cv.split(np.zeros(200)))
    tests = np.concatenate([te for _, te in folds])
    assert len(tests) == len(np.unique(tests)) == 180  # 10 % dropped once
    with pytest.warns(LeakageWarning):
        again = list(cv.split(np.zeros(200)))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    with pytest.warns(LeakageWarning):
        full = list(RandomWindowKFold("rbtransformer", drop_fraction=0.0).split(np.zeros(200)))
    assert sum(len(te) for _, te in full) == 200
    with pytest.raises(InvalidParameterError, match="published protocol"):
        list(RandomWindowKFold("kfold").split(np.zeros(10)))


def test_groups_from_xarray_coords_dataframe_and_dict():
    xr = pytest.importorskip("xarray")
    pd = pytest.importorskip("pandas")
    g, y = windows(n_subjects=2, n_trials=4, duration=4.0)
    n = len(g)
    da = xr.DataArray(np.zeros((n, 2)), dims=("window", "feature"),
                      coords={"subject": ("window", g["subject"].astype(int)),
                              "trial": ("window", g["trial"].astype(int)),
                              "onset": ("window", g["onset"])})
    cv = WithinSubjectTrialKFold(n_splits=2)
    ref = [te.tolist() for _, te in cv.split(np.zeros(n), groups=g)]
    assert [te.tolist() for _, te in cv.split(da)] == ref
    frame = pd.DataFrame({"subject": g["subject"], "trial": g["trial"]})
    assert [te.tolist() for _, te in cv.split(np.zeros(n), groups=frame)] == ref
    as_dict = {"subject": list(g["subject"]), "trial": list(g["trial"])}
    assert [te.tolist() for _, te in cv.split(np.zeros(n), groups=as_dict)] == ref
    with pytest.raises(InvalidParameterError, match="one entry per sample"):
        list(cv.split(np.zeros(n + 1), groups=g))


def test_splitters_work_with_sklearn_cross_validation():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, cross_val_score

    g, y = windows(n_subjects=3, n_trials=6, duration=4.0, hop=0.5)
    rng = np.random.default_rng(0)
    X = 0.3 * rng.normal(size=(len(g), 3)) + y[:, None]
    cvs = [WithinSubjectTrialKFold(n_splits=3), LeaveOneSubjectOut(),
           LeaveOneSubjectOut(calibration_seconds=1.0, window_length=1.0),
           TrialTimeBlockKFold(n_splits=2, window_length=1.0)]
    for cv in cvs:
        scores = cross_val_score(LogisticRegression(), X, y, groups=g, cv=cv)
        assert len(scores) == cv.get_n_splits(X, y, g) and np.all(scores > 0.5)
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=cvs[0]).fit(X, y, groups=g)
    assert search.best_params_["C"] in (0.1, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        assert len(cross_val_score(LogisticRegression(), X, y, cv=RandomWindowKFold("rbtransformer"))) == 5


def test_repr_and_protocol_names():
    assert "n_splits=10" in repr(TrialTimeBlockKFold(window_length=1.0))
    assert LeaveOneSubjectOut(10, window_length=1.0).protocol == "leave-one-subject-out + 10 s calibration"
    assert WithinSubjectTrialKFold().protocol == "within-subject trial 5-fold"
