import math

import numpy as np
import pytest

from physioaffect.errors import InvalidParameterError
from physioaffect.evaluation import (
    accuracy,
    balanced_accuracy,
    ccc,
    cohen_kappa,
    ilss,
    macro_f1,
    seq2hr,
    top_k_accuracy,
    tri_p,
    weighted_f1,
)

Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0])


def test_accuracy():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)


def test_balanced_accuracy():
    # recalls: class 0: 1/2, class 1: 2/2, class 2: 1/2
    assert balanced_accuracy(Y_TRUE, Y_PRED) == pytest.approx((0.5 + 1 + 0.5) / 3)


def test_macro_and_weighted_f1_by_hand():
    # class 0: tp 1, fp 1, fn 1 -> P 1/2, R 1/2, F1 1/2
    # class 1: tp 2, fp 1, fn 0 -> P 2/3, R 1,   F1 4/5
    # class 2: tp 1, fp 0, fn 1 -> P 1,   R 1/2, F1 2/3
    f = np.array([1 / 2, 4 / 5, 2 / 3])
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx(f.mean())
    assert weighted_f1(Y_TRUE, Y_PRED) == pytest.approx(f.mean())  # equal supports
    # unequal supports: true (0, 0, 0, 1), pred (0, 0, 1, 1): F1_0 = 4/5 (x3), F1_1 = 2/3 (x1)
    assert weighted_f1([0, 0, 0, 1], [0, 0, 1, 1]) == pytest.approx((3 * 0.8 + 2 / 3) / 4)


def test_macro_f1_present_only():
    # class 2 is predicted but never true: its F1 is 0 and counts unless present_only
    y_true, y_pred = [0, 0, 1, 1], [0, 2, 1, 1]
    f0, f1 = 2 * 1 * 0.5 / 1.5, 1.0
    assert macro_f1(y_true, y_pred) == pytest.approx((f0 + f1 + 0) / 3)
    assert macro_f1(y_true, y_pred, present_only=True) == pytest.approx((f0 + f1) / 2)


def test_top_k_over_present_labels_by_hand():
    p = np.array([[0.40, 0.10, 0.30, 0.20],
                  [0.05, 0.50, 0.15, 0.30],
                  [0.10, 0.20, 0.30, 0.40]])
    y = np.array([2, 1, 2])  # labels present: 1 and 2
    # present columns (1, 2): rows (0.10, 0.30), (0.50, 0.15), (0.20, 0.30) -> top-1 = 2, 1, 2
    assert top_k_accuracy(y, p, k=1) == 1.0
    # all columns: top-1 = 0, 1, 3 -> only row 1 right; top-2 = {0,2}, {1,3}, {3,2} -> all hit
    assert top_k_accuracy(y, p, k=1, present_only=False) == pytest.approx(1 / 3)
    assert top_k_accuracy(y, p, k=2, present_only=False) == 1.0
    assert top_k_accuracy([0], [[0.1, 0.9]], k=2, present_only=False) == 1.0


def test_top_1_equals_argmax_accuracy_with_ties():
    p = np.array([[0.5, 0.5, 0.0], [0.2, 0.4, 0.4]])
    y = np.array([1, 2])
    assert top_k_accuracy(y, p, k=1, present_only=False) == accuracy(y, p.argmax(axis=1)) == 0.0


def test_seq2hr_by_hand():
    p = np.array([[0.6, 0.3, 0.1, 0.0, 0.0],   # r1=0, r2=1 adjacent; y=1 -> hit
                  [0.1, 0.2, 0.6, 0.0, 0.1],   # r1=2, r2=1 adjacent; y=2 -> hit
                  [0.5, 0.0, 0.4, 0.1, 0.0],   # r1=0, r2=2 not adjacent -> miss
                  [0.0, 0.0, 0.1, 0.5, 0.4],   # r1=3, r2=4 adjacent; y=1 -> miss
                  [0.0, 0.0, 0.0, 0.3, 0.7]])  # r1=4, r2=3 adjacent; y=3 -> hit
    y = np.array([1, 2, 2, 1, 3])
    assert seq2hr(y, p) == pytest.approx(3 / 5)


def test_tri_p_by_hand():
    # |pred - true| = 0, 1, 2, 4, 1 -> 3 of 5 within one class
    assert tri_p([0, 1, 2, 4, 3], [0, 2, 4, 0, 2]) == pytest.approx(3 / 5)
    # holds whatever classes appear (no 5x5 assumption)
    assert tri_p([7, 8], [8, 10]) == 0.5


def test_cohen_kappa_by_hand():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    p_o = 4 / 6
    # marginals true (3, 2, 1)/6, pred (2, 2, 2)/6
    p_e = (3 * 2 + 2 * 2 + 1 * 2) / 36
    assert cohen_kappa(y_true, y_pred) == pytest.approx((p_o - p_e) / (1 - p_e))


def test_ccc_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([2.0, 2.0, 4.0, 4.0])
    # means 2.5, 3; population variances 1.25, 1; covariance (1.5*1 + .5*1 + .5*1 + 1.5*1)/4 = 1
    assert ccc(x, y) == pytest.approx(2 * 1 / (1.25 + 1 + 0.25))
    assert ccc(x, x) == 1.0
    assert ccc(x, -x + 5) == pytest.approx(-1.0)  # same mean, mirrored
    both = ccc(np.c_[x, x], np.c_[y, x], multioutput="raw_values")
    np.testing.assert_allclose(both, [0.8, 1.0])
    assert ccc(np.c_[x, x], np.c_[y, x]) == pytest.approx(0.9)


def test_ilss_by_hand():
    mu, sigma = 99.5, 0.05
    inner = sigma / (1 + 71 * mu**2.5) + 1e-10
    expected = math.sqrt(mu) / 10 * min(-math.log10(inner), 10)
    assert ilss(mu, sigma) == pytest.approx(expected)
    assert ilss(mu, sigma) == pytest.approx(8.1205, abs=1e-3)
    assert ilss(100.0, 0.0) == pytest.approx(10.0)  # saturated
    assert ilss(90.0, 5.0) < ilss(90.0, 0.5) < ilss(95.0, 0.5)


def test_metric_input_errors():
    with pytest.raises(InvalidParameterError, match="one length"):
        accuracy([0, 1], [0])
    with pytest.raises(InvalidParameterError, match="percent"):
        ilss(0.995, -1)
    with pytest.raises(InvalidParameterError, match="class indices"):
        seq2hr([3], [[0.5, 0.5]])
