"""scikit-learn estimators around the torch models of :mod:`physioaffect.nets`.

- :class:`TorchClassifierBase`: the base every torch classifier of physioaffect derives from.
  It validates inputs (numpy arrays or :class:`xarray.DataArray` with channel coords), encodes
  labels, builds the network, trains it with the one loop of :mod:`physioaffect.training` and
  offers ``fit``, ``partial_fit``, ``predict``, ``predict_proba``, ``score``, ``save`` and
  ``load``.
- :class:`HiSTNClassifier`: HiSTN on raw EEG epochs (METHODS.md section 1).
- :class:`RBTransformerClassifier`: RBTransformer on band differential-entropy tokens
  (METHODS.md section 2).
- :class:`EDAPINN`: the multitask physics-informed EDA net (METHODS.md section 3).
- :class:`SleepApneaClassifier`: the sleep-stage + apnea 1D vision transformer (section 4).
- :class:`TopomapTeacher`, :class:`FaceStudent`, :class:`AudioStudent`: the cross-modal
  distillation bridge from EEG teachers into face and audio students (sections 5, 6a, 6b).

Names load on first use, so importing this package imports neither torch nor scikit-learn.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "TorchClassifierBase": "base",
    "HiSTNClassifier": "eeg",
    "RBTransformerClassifier": "eeg",
    "EDAPINN": "peripheral",
    "eda_pinn_scores": "peripheral",
    "SleepApneaClassifier": "sleep",
    "TopomapTeacher": "distill",
    "FaceStudent": "distill",
    "AudioStudent": "distill",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
