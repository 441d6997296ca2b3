"""Leakage-safe evaluation: splitters, metrics and training targets.

- :mod:`~physioaffect.evaluation.splits`: scikit-learn splitters that keep trials, time blocks or
  subjects apart, and the published random-window protocol under its name (it warns).
- :mod:`~physioaffect.evaluation.metrics`: accuracy, F1, top-k over present labels, Seq2HR, Tri-P,
  Cohen's kappa, CCC and ILSS, as their authors define them.
- :mod:`~physioaffect.evaluation.labels`: Gaussian ordinal label smoothing, binarisation, the
  label-mode correction and the soft-target loss.
- :mod:`~physioaffect.evaluation.protocols`: :func:`cross_validate` under a named protocol, with
  scores per fold, per subject and overall.

Names load on first use; scikit-learn and torch are imported only by the functions that need them.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    # labels
    "gaussian_ordinal_smoothing": "labels",
    "one_hot": "labels",
    "binarise": "labels",
    "mode_corrected_labels": "labels",
    "soft_target_cross_entropy": "labels",
    # metrics
    "accuracy": "metrics",
    "balanced_accuracy": "metrics",
    "macro_f1": "metrics",
    "weighted_f1": "metrics",
    "top_k_accuracy": "metrics",
    "seq2hr": "metrics",
    "tri_p": "metrics",
    "cohen_kappa": "metrics",
    "ccc": "metrics",
    "ilss": "metrics",
    # splits
    "LeakageWarning": "splits",
    "make_groups": "splits",
    "WithinSubjectTrialKFold": "splits",
    "TrialTimeBlockKFold": "splits",
    "LeaveOneSubjectOut": "splits",
    "RandomWindowKFold": "splits",
    "PUBLISHED_PRESETS": "splits",
    # protocols
    "cross_validate": "protocols",
    "CVResult": "protocols",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
