"""Label schemes of the published protocols: ratings to binary or multi-class labels.

RBTransformer's schemes (METHODS.md section 2.2), also used by HiSTN for DREAMER (section 1.1):

========  ==========================  ==================================================
dataset   ``"binary"``                ``"multiclass"``
========  ==========================  ==================================================
DEAP      rating >= 5.0 -> 1, else 0  ``int(rating) - 1`` -> 9 classes (ratings 1-9, real)
DREAMER   rating >= 3.0 -> 1, else 0  ``rating - 1`` -> 5 classes (ratings 1-5)
SEED      not defined                 emotion (-1, 0, 1) + 1 -> 3 classes
========  ==========================  ==================================================

A missing (NaN) rating gives the label -1 (the published code draws a random class instead).
"""

from __future__ import annotations

import numpy as np

from physioaffect._validation import check_choice
from physioaffect.errors import InvalidParameterError

__all__ = ["SCHEMES", "RATINGS", "make_labels", "n_classes"]

#: Rating names of each dataset, in the order of the files.
RATINGS = {
    "deap": ("valence", "arousal", "dominance", "liking"),
    "dreamer": ("valence", "arousal", "dominance"),
    "seed": ("emotion",),
}

#: Per dataset and scheme: threshold (binary) or (offset, number of classes) (multi-class).
SCHEMES = {
    "deap": {"binary": 5.0, "multiclass": (1, 9)},
    "dreamer": {"binary": 3.0, "multiclass": (1, 5)},
    "seed": {"multiclass": (-1, 3)},
}


def n_classes(dataset, scheme):
    """Number of classes of a label scheme (2 for ``"binary"``)."""
    dataset = check_choice(dataset, tuple(SCHEMES), "dataset", ignore_case=True)
    rule = _rule(dataset, scheme)
    return 2 if scheme == "binary" else rule[1]


def _rule(dataset, scheme):
    schemes = SCHEMES[dataset]
    if scheme not in schemes:
        raise InvalidParameterError(
            f"`scheme` for {dataset} must be one of {sorted(schemes)}, got {scheme!r}")
    return schemes[scheme]


def make_labels(ratings, dataset, scheme):
    """Class labels from ratings, by the scheme of a dataset.

    Parameters
    ----------
    ratings : array-like of float
        Self-assessment ratings (DEAP 1-9, DREAMER 1-5) or SEED emotions (-1, 0, 1).
    dataset : {"deap", "dreamer", "seed"}
        Whose thresholds apply.
    scheme : {"binary", "multiclass"}
        ``"binary"``: rating at or above the threshold (DEAP 5, DREAMER 3) is 1, else 0.
        ``"multiclass"``: ``int(rating) - 1`` (DEAP 0-8, DREAMER 0-4) or ``emotion + 1`` (SEED 0-2).

    Returns
    -------
    ndarray of int64
        Same shape as ``ratings``; -1 where a rating is NaN.

    Raises
    ------
    InvalidParameterError
        Unknown dataset or scheme, or a rating outside the dataset's range.

    Examples
    --------
    >>> make_labels([1.0, 4.99, 5.0, 9.0], "deap", "binary").tolist()
    [0, 0, 1, 1]
    >>> make_labels([1.0, 4.99, 5.0, 9.0], "deap", "multiclass").tolist()
    [0, 3, 4, 8]
    """
    dataset = check_choice(dataset, tuple(SCHEMES), "dataset", ignore_case=True)
    rule = _rule(dataset, scheme)
    values = np.asarray(ratings, dtype=np.float64)
    missing = np.isnan(values)
    labels = np.full(values.shape, -1, dtype=np.int64)
    ok = values[~missing]
    if scheme == "binary":
        labels[~missing] = (ok >= rule).astype(np.int64)
        return labels
    offset, count = rule
    classes = np.trunc(ok).astype(np.int64) - offset
    bad = (classes < 0) | (classes >= count)
    if bad.any():
        low, high = offset, offset + count - 1
        raise InvalidParameterError(
            f"{dataset} ratings must lie in [{low}, {high}] for the multi-class scheme, got "
            f"{ok[bad][0]!r}")
    labels[~missing] = classes
    return labels
