"""FER classes and their target cells on the valence x arousal grid (no torch needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ...errors import InvalidParameterError

__all__ = ["FER_CLASSES", "DEFAULT_FER_CELLS", "fer_cell_mapping"]

#: The eight FERPlus classes, in FERPlus order.
FER_CLASSES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")

#: Default target cell (valence bin, arousal bin) of each FER class on a 5 x 5 grid, bins from low
#: (0) to high (4). From the circumplex placement of the categories: happiness high valence and
#: fairly high arousal, surprise high arousal and positive-leaning valence, sadness low valence and
#: low arousal, anger, fear and disgust negative with high to moderate arousal, contempt mildly
#: negative and calm, neutral in the centre. Every class gets its own cell.
DEFAULT_FER_CELLS = {
    "neutral": (2, 2),
    "happiness": (4, 3),
    "surprise": (3, 4),
    "sadness": (1, 0),
    "anger": (0, 3),
    "disgust": (0, 1),
    "fear": (1, 4),
    "contempt": (1, 1),
}


def fer_cell_mapping(classes: Sequence[str] = FER_CLASSES, mapping: Mapping | None = None,
                     grid_shape=(5, 5)) -> np.ndarray:
    """Flat target cell of each FER class.

    Parameters
    ----------
    classes : sequence of str, default=FER_CLASSES
        Class names in the order of the classifier's outputs.
    mapping : dict of str to (int, int) or int, optional
        Cell of each class as (valence bin, arousal bin) or a flat index; default
        :data:`DEFAULT_FER_CELLS` (for a 5 x 5 grid).
    grid_shape : (int, int), default=(5, 5)

    Returns
    -------
    ndarray of int, shape (n_classes,)
        ``iv * n_arousal + ia`` per class.

    Examples
    --------
    >>> fer_cell_mapping(["sadness", "happiness"])
    array([ 5, 23])
    """
    nv, na = (int(g) for g in grid_shape)
    mapping = DEFAULT_FER_CELLS if mapping is None else mapping
    out = []
    for name in classes:
        if name not in mapping:
            raise InvalidParameterError(
                f"class {name!r} has no target cell; `cell_map` names {sorted(mapping)}")
        cell = mapping[name]
        if isinstance(cell, (tuple, list, np.ndarray)):
            iv, ia = (int(c) for c in cell)
            if not (0 <= iv < nv and 0 <= ia < na):
                raise InvalidParameterError(
                    f"cell {tuple(cell)} of class {name!r} is outside the {nv} x {na} grid")
            out.append(iv * na + ia)
        else:
            c = int(cell)
            if not 0 <= c < nv * na:
                raise InvalidParameterError(f"cell {c} of class {name!r} is outside [0, {nv * na - 1}]")
            out.append(c)
    return np.asarray(out, dtype=np.int64)
