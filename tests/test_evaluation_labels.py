import numpy as np
import pytest
import torch

from physioaffect.errors import InvalidParameterError
from physioaffect.evaluation import (
    binarise,
    gaussian_ordinal_smoothing,
    mode_corrected_labels,
    one_hot,
    soft_target_cross_entropy,
)

torch.set_num_threads(1)


def test_smoothing_values_of_methods_section_1_5():
    q = gaussian_ordinal_smoothing([0, 2], n_classes=5, sigma=0.5)
    np.testing.assert_allclose(q[0], [0.8805, 0.1192, 0.0003, 0.0, 0.0], atol=5e-5)
    np.testing.assert_allclose(q[1], [0.0003, 0.1065, 0.7866, 0.1065, 0.0003], atol=5e-5)


def test_smoothing_by_hand_and_rows_sum_to_one():
    # y = 1 of 3 classes, sigma = 1: weights exp(-1/2), 1, exp(-1/2)
    e = np.exp(-0.5)
    np.testing.assert_allclose(gaussian_ordinal_smoothing([1], 3, sigma=1.0)[0],
                               np.array([e, 1.0, e]) / (1 + 2 * e))
    q = gaussian_ordinal_smoothing(np.arange(5), 5)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    np.testing.assert_allclose(q, q[::-1, ::-1])  # symmetric scale
    assert np.all(q.argmax(axis=1) == np.arange(5))


def test_smoothing_rejects_bad_input():
    with pytest.raises(InvalidParameterError, match="class indices in 0..4"):
        gaussian_ordinal_smoothing([5], 5)
    with pytest.raises(InvalidParameterError, match="sigma"):
        gaussian_ordinal_smoothing([0], 5, sigma=0)
    with pytest.raises(InvalidParameterError, match="n_classes"):
        gaussian_ordinal_smoothing([0], 1)
    with pytest.raises(InvalidParameterError, match="integer"):
        gaussian_ordinal_smoothing([0.5], 5)


def test_one_hot():
    np.testing.assert_array_equal(one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])


def test_binarise_thresholds_and_refuses_nan():
    np.testing.assert_array_equal(binarise([1, 2.99, 3, 5], threshold=3.0), [0, 0, 1, 1])
    with pytest.raises(InvalidParameterError, match="NaN"):
        binarise([1.0, np.nan], threshold=5.0)


def test_mode_correction_by_hand():
    # trial 0: subjects give 0, 2, 2 -> mode 2; trial 1: 1, 3 tie with one each -> lowest (1)
    subjects = np.array(["a", "a", "b", "c", "a", "b"])
    trials = np.array([0, 0, 0, 0, 1, 1])
    labels = np.array([0, 0, 2, 2, 1, 3])
    np.testing.assert_array_equal(mode_corrected_labels(labels, subjects, trials), [2, 2, 2, 2, 1, 1])


def test_mode_correction_counts_subjects_not_windows():
    # subject a has 3 windows with label 0, subjects b and c one window with 1: mode over subjects is 1
    out = mode_corrected_labels([0, 0, 0, 1, 1], ["a", "a", "a", "b", "c"], [0] * 5)
    np.testing.assert_array_equal(out, [1] * 5)


def test_mode_correction_rejects_varying_label_within_trial():
    with pytest.raises(InvalidParameterError, match="constant within one"):
        mode_corrected_labels([0, 1], ["a", "a"], [0, 0])


def test_soft_target_cross_entropy_by_hand():
    logits = torch.tensor([[0.0, np.log(3.0)], [0.0, 0.0]])
    # softmax rows: (1/4, 3/4) and (1/2, 1/2)
    q = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    l0 = -(0.5 * np.log(0.25) + 0.5 * np.log(0.75))
    l1 = -np.log(0.5)
    assert float(soft_target_cross_entropy(logits, q)) == pytest.approx((l0 + l1) / 2, rel=1e-6)
    w = torch.tensor([2.0, 5.0])  # argmax classes 0 (tie -> first) and 0
    assert float(soft_target_cross_entropy(logits, q, weight=w)) == pytest.approx(
        (2 * l0 + 2 * l1) / 2, rel=1e-6)
    none = soft_target_cross_entropy(logits, q, reduction="none")
    np.testing.assert_allclose(none.numpy(), [l0, l1], rtol=1e-6)


def test_soft_target_cross_entropy_equals_torch_for_one_hot():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(6, 4, generator=g)
    y = torch.tensor([0, 1, 2, 3, 1, 0])
    q = torch.nn.functional.one_hot(y, 4).float()
    assert torch.allclose(soft_target_cross_entropy(z, q), torch.nn.functional.cross_entropy(z, y))
