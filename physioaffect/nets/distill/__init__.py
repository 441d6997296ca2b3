"""Cross-modal distillation: EEG teachers, the valence x arousal prototype grid, the losses of
NeuroGaze-Distill and Music2Emo, and the face and audio students (METHODS.md sections 5, 6a, 6b).

- :mod:`.topomap`: DE topographic maps (:class:`Topomap`) and the topomap teacher
  (:class:`TopomapCNN`).
- :mod:`.prototypes`: :class:`PrototypeGrid` (build, fill, NetCDF with provenance) and
  :func:`embed`, the embeddings of any trained model (HiSTN, RBTransformer, TopomapCNN, ...).
- :mod:`.losses`: Proto-KD, D-Geo, logit KD, CCC.
- :mod:`.face`: :class:`ResNet` / :func:`resnet18` in plain torch and :class:`FaceStudentNet`.
- :mod:`.audio`: :class:`LogMel` and :class:`AudioStudentNet`.

Names load on first use; importing this package does not import torch.
"""

from __future__ import annotations

from ..._lazy import lazy_exports

_EXPORTS = {
    "FER_CLASSES": "_fer",
    "DEFAULT_FER_CELLS": "_fer",
    "fer_cell_mapping": "_fer",
    "PrototypeGrid": "prototypes",
    "embed": "prototypes",
    "fill_from_neighbours": "prototypes",
    "scalp_coordinates": "topomap",
    "Topomap": "topomap",
    "TopomapCNN": "topomap",
    "proto_kd_cosine": "losses",
    "proto_kd_soft": "losses",
    "cell_targets": "losses",
    "dgeo_loss": "losses",
    "dgeo_weight": "losses",
    "logit_kd_loss": "losses",
    "mix_kd": "losses",
    "ccc": "losses",
    "ccc_loss": "losses",
    "BasicBlock": "face",
    "ResNet": "face",
    "resnet18": "face",
    "FaceStudentNet": "face",
    "LogMel": "audio",
    "mel_filterbank": "audio",
    "AudioCNN": "audio",
    "AudioStudentNet": "audio",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
